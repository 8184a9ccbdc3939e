//! `fleet plan` end to end on a Git copy of the example fleet: exit codes,
//! the plan of a cluster added with `fleet cluster new`, and the output
//! formats.

mod support;

use std::path::Path;
use std::process::Command;
use support::{example_fleet_copy, fleet};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap_or_else(|e| panic!("running git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The example fleet committed on `main`, on a branch `change`.
fn example_repo(test: &str) -> std::path::PathBuf {
    let repo = example_fleet_copy(test);
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "fleet"]);
    git(&repo, &["checkout", "-q", "-b", "change"]);
    repo
}

#[test]
fn exit_codes_are_0_unchanged_1_changed_2_on_error() {
    let repo = example_repo("plan-exit");
    let dir = repo.to_string_lossy();
    let (code, stdout, stderr) = fleet(&["plan", &dir], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.ends_with("No changes: 4 cluster(s), 11 Kustomization(s) render the same.\n"),
        "{stdout}"
    );

    let overlay = repo.join("infrastructure/staging/kustomization.yaml");
    let text = std::fs::read_to_string(&overlay).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &overlay,
        text.replace("retention.time=2d", "retention.time=3d"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, stderr) = fleet(&["plan", &dir, "--cluster", "staging"], &[]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("staging  flux-system/infrastructure          0  1  0\n")
            && stdout.contains("staging  flux-system/staging-infrastructure  0  1  0\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-        - --storage.tsdb.retention.time=2d\n")
            && stdout.contains("+        - --storage.tsdb.retention.time=3d\n"),
        "{stdout}"
    );

    let (code, stdout, stderr) = fleet(&["plan", &dir, "--base", "no-such-rev"], &[]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.starts_with("error: revision 'no-such-rev' does not exist in "),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&repo);
}

#[test]
fn a_cluster_added_with_fleet_cluster_new_is_planned_as_a_new_cluster() {
    let repo = example_repo("plan-cluster-new");
    let dir = repo.to_string_lossy();
    let (code, _, stderr) = fleet(
        &[
            "cluster",
            "new",
            "edge-1",
            "--repo",
            &dir,
            "--template",
            "cluster-templates/docker",
            "--set",
            "KUBERNETES_VERSION=v1.31.2",
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, json, stderr) = fleet(&["plan", &dir, "-o", "json"], &[]);
    assert_eq!(code, 1, "{stderr}");
    let (code, quick, stderr) = fleet(&["plan", &dir, "-o", "json", "--changed-only"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(json, quick, "--changed-only differs from the full plan");

    let plan: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(plan["head"]["rev"], "work tree");
    let mut lines = Vec::new();
    for cluster in plan["clusters"].as_array().into_iter().flatten() {
        for k in cluster["kustomizations"].as_array().into_iter().flatten() {
            for change in k["changes"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "{} ({}) {} ({}) {} {}",
                    cluster["name"].as_str().unwrap_or(""),
                    cluster["presence"].as_str().unwrap_or(""),
                    k["name"].as_str().unwrap_or(""),
                    k["presence"].as_str().unwrap_or(""),
                    change["action"].as_str().unwrap_or(""),
                    change["object"].as_str().unwrap_or("")
                ));
            }
        }
    }
    assert_eq!(
        lines,
        [
            "edge-1 (added) flux-system/edge-1-infrastructure (added) added ClusterIssuer/cert-manager/letsencrypt",
            "edge-1 (added) flux-system/edge-1-infrastructure (added) added ConfigMap/ingress-nginx/ingress-nginx-controller-khg2754h2h",
            "edge-1 (added) flux-system/edge-1-infrastructure (added) added ConfigMap/observability/prometheus-config-6kmghhmghc",
            "edge-1 (added) flux-system/edge-1-infrastructure (added) added Deployment/cert-manager/cert-manager",
            "edge-1 (added) flux-system/edge-1-infrastructure (added) added Deployment/ingress-nginx/ingress-nginx-controller",
            "edge-1 (added) flux-system/edge-1-infrastructure (added) added Namespace/cert-manager",
            "edge-1 (added) flux-system/edge-1-infrastructure (added) added Namespace/ingress-nginx",
            "edge-1 (added) flux-system/edge-1-infrastructure (added) added Namespace/observability",
            "edge-1 (added) flux-system/edge-1-infrastructure (added) added Service/ingress-nginx/ingress-nginx-controller",
            "edge-1 (added) flux-system/edge-1-infrastructure (added) added Service/observability/prometheus",
            "edge-1 (added) flux-system/edge-1-infrastructure (added) added ServiceAccount/ingress-nginx/ingress-nginx",
            "edge-1 (added) flux-system/edge-1-infrastructure (added) added StatefulSet/observability/prometheus",
            "management (kept) flux-system/edge-1-cluster (added) added Cluster/fleet-clusters/edge-1",
            "management (kept) flux-system/edge-1-cluster (added) added DockerCluster/fleet-clusters/edge-1",
            "management (kept) flux-system/edge-1-cluster (added) added DockerMachineTemplate/fleet-clusters/edge-1-control-plane",
            "management (kept) flux-system/edge-1-cluster (added) added DockerMachineTemplate/fleet-clusters/edge-1-workers",
            "management (kept) flux-system/edge-1-cluster (added) added KubeadmConfigTemplate/fleet-clusters/edge-1-workers",
            "management (kept) flux-system/edge-1-cluster (added) added KubeadmControlPlane/fleet-clusters/edge-1-control-plane",
            "management (kept) flux-system/edge-1-cluster (added) added MachineDeployment/fleet-clusters/edge-1-workers",
            "management (kept) flux-system/edge-1-cluster (added) added MachineHealthCheck/fleet-clusters/edge-1-workers",
            "management (kept) flux-system/workload-clusters (kept) added Kustomization/flux-system/edge-1-cluster",
            "management (kept) flux-system/workload-clusters (kept) added Kustomization/flux-system/edge-1-infrastructure",
        ]
    );
    let edge = &plan["clusters"][0];
    assert_eq!(edge["images"].as_array().map(Vec::len), Some(3));

    let (code, markdown, _) = fleet(&["plan", &dir, "-o", "markdown"], &[]);
    assert_eq!(code, 1);
    assert!(
        markdown.contains("| edge-1 | `flux-system/edge-1-infrastructure` | 12 | 0 | 0 | added |")
            && markdown.contains("<details><summary><b>edge-1</b> (added): +12 ~0 −0</summary>"),
        "{markdown}"
    );
    let _ = std::fs::remove_dir_all(&repo);
}

#[test]
fn the_default_path_is_the_current_directory_at_the_work_tree_top() {
    // gix names the work tree relative to the current directory (the
    // empty path at its top); files must still line up with the base's.
    let repo = example_repo("plan-cwd");
    let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(["plan", "--cluster", "production-eu"])
        .current_dir(&repo)
        .output()
        .unwrap_or_else(|e| panic!("running fleet: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.ends_with("No changes: 1 cluster(s), 3 Kustomization(s) render the same.\n"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&repo);
}
