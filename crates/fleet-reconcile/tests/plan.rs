//! `fleet_reconcile::plan` on small fleet repositories made with `git` in
//! a temporary directory: each change has a known effect, and the plan is
//! asserted exactly (every cluster, Kustomization and object it names).
//! Every plan is computed twice, in full and with `changed_only`, and the
//! two must be identical.

use std::path::PathBuf;
use std::process::Command;

use fleet_reconcile::plan::{Plan, PlanError, PlanOptions, plan, plan_counting_builds};

/// A Git repository in the temporary directory, removed on drop.
struct Repo {
    dir: PathBuf,
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Repo {
    fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .args(args)
            .current_dir(&self.dir)
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

    fn write(&self, path: &str, text: &str) {
        let file = self.dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(file, text).unwrap_or_else(|e| panic!("{e}"));
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.join(path)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Replaces `from` (which must be there) with `to` in a file.
    fn edit(&self, path: &str, from: &str, to: &str) {
        let text = self.read(path);
        assert!(text.contains(from), "{path} has no {from:?}");
        self.write(path, &text.replacen(from, to, 1));
    }

    fn remove(&self, path: &str) {
        std::fs::remove_file(self.dir.join(path)).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Commits everything on the current branch.
    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    fn options(&self) -> PlanOptions {
        PlanOptions::new(&self.dir)
    }
}

const FLUX_SYSTEM: &str = "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: https://git.example.com/fleet.git
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m
  path: ./clusters/CLUSTER
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
";

/// A fleet in both layouts: the management cluster renders `workloads/`
/// (one Kustomization per workload cluster, applied through
/// `<name>-kubeconfig`, with `fleet-settings` substituted), and `dev` is
/// bootstrapped on its own from `clusters/dev/`.
const FLEET: &[(&str, &str)] = &[
    (
        "clusters/management/flux-system.yaml",
        "FLUX_SYSTEM:management",
    ),
    (
        "clusters/management/fleet-settings.yaml",
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: fleet-settings
  namespace: flux-system
data:
  log_level: info
",
    ),
    (
        "clusters/management/workloads.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: workloads
  namespace: flux-system
spec:
  interval: 10m
  path: ./workloads
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  postBuild:
    substituteFrom:
    - kind: ConfigMap
      name: fleet-settings
",
    ),
    ("workloads/eu.yaml", "WORKLOAD:eu:eu-west-1"),
    ("workloads/us.yaml", "WORKLOAD:us:us-east-1"),
    (
        "apps/base/kustomization.yaml",
        "resources:
- deployment.yaml
- settings.yaml
- cache.yaml
",
    ),
    (
        "apps/base/deployment.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: web
        image: example.com/web:1.0.0
        env:
        - name: LOG_LEVEL
          value: ${log_level:=warn}
",
    ),
    (
        "apps/base/settings.yaml",
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: apps
data:
  cluster: ${cluster_name}
  region: ${region:=none}
",
    ),
    (
        "apps/base/cache.yaml",
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: cache
  namespace: apps
data:
  size: 1Gi
",
    ),
    ("apps/eu/kustomization.yaml", "resources:\n- ../base\n"),
    ("apps/us/kustomization.yaml", "resources:\n- ../base\n"),
    (
        "apps/dev/kustomization.yaml",
        "resources:\n- ../base\n- secret.yaml\n",
    ),
    ("apps/dev/secret.yaml", SOPS_SECRET_1),
    ("clusters/dev/flux-system.yaml", "FLUX_SYSTEM:dev"),
    (
        "clusters/dev/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/dev
  prune: false
  sourceRef:
    kind: GitRepository
    name: flux-system
  decryption:
    provider: sops
    secretRef:
      name: sops-age
  postBuild:
    substitute:
      cluster_name: dev
",
    ),
];

/// A SOPS-encrypted Secret (age recipient), as `sops --encrypt` writes it.
const SOPS_SECRET_1: &str = "apiVersion: v1
kind: Secret
metadata:
    name: db
    namespace: apps
stringData:
    password: ENC[AES256_GCM,data:0bYl2zc=,iv:pXQ0cm6QnMkdMhE0PL3nWtbbdn2Y0UiMHcHWS2XU8xw=,tag:DUmt1bzkEdoP9zZcdE9c4A==,type:str]
sops:
    age:
        - recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBvbmUKb25lCi0tLSBvbmUK
            -----END AGE ENCRYPTED FILE-----
    lastmodified: \"2026-01-01T00:00:00Z\"
    mac: ENC[AES256_GCM,data:b25lb25lb25lb25lb25lb25l,iv:b25lb25lb25lb25lb25lb25lb25lb25lb25lb25lb24=,tag:b25lb25lb25lb25lb25lbw==,type:str]
    encrypted_regex: ^(data|stringData)$
    version: 3.9.4
";

/// The same Secret with a new password.
const SOPS_SECRET_2: &str = "apiVersion: v1
kind: Secret
metadata:
    name: db
    namespace: apps
stringData:
    password: ENC[AES256_GCM,data:UGFzc1dvcmQy,iv:dHdvdHdvdHdvdHdvdHdvdHdvdHdvdHdvdHdvdHdvdHc=,tag:dHdvdHdvdHdvdHdvdHdvdw==,type:str]
sops:
    age:
        - recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSB0d28KdHdvCi0tLSB0d28K
            -----END AGE ENCRYPTED FILE-----
    lastmodified: \"2026-02-02T00:00:00Z\"
    mac: ENC[AES256_GCM,data:dHdvdHdvdHdvdHdvdHdvdHdv,iv:dHdvdHdvdHdvdHdvdHdvdHdvdHdvdHdvdHdvdHdvdHc=,tag:dHdvdHdvdHdvdHdvdHdvdw==,type:str]
    encrypted_regex: ^(data|stringData)$
    version: 3.9.4
";

impl Repo {
    fn write_fleet_file(&self, path: &str, text: &str) {
        let text = if let Some(cluster) = text.strip_prefix("FLUX_SYSTEM:") {
            FLUX_SYSTEM.replace("CLUSTER", cluster)
        } else if let Some(spec) = text.strip_prefix("WORKLOAD:") {
            let (name, region) = spec.split_once(':').unwrap_or((spec, ""));
            workload(name, region)
        } else {
            text.to_string()
        };
        self.write(path, &text);
    }
}

/// A workload cluster's Kustomization, rendered by the management one.
fn workload(name: &str, region: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}-apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/{name}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  kubeConfig:
    secretRef:
      name: {name}-kubeconfig
  postBuild:
    substitute:
      cluster_name: {name}
      region: {region}
      log_level: ${{log_level}}
"
    )
}

/// The plan in full and with `changed_only` (twice: the first may make
/// the base's snapshot, the second reads it), which must be identical.
fn plan_both(opts: &PlanOptions) -> Plan {
    let full = plan(opts).unwrap_or_else(|e| panic!("plan: {e}"));
    for run in ["first", "second"] {
        let quick = plan(&PlanOptions {
            changed_only: true,
            ..opts.clone()
        })
        .unwrap_or_else(|e| panic!("plan --changed-only ({run} run): {e}"));
        assert_eq!(
            full, quick,
            "--changed-only ({run} run) differs from the full plan"
        );
    }
    full
}

/// Every change of a plan, one line each: `cluster Kustomization action
/// object [fields]`, then images, findings and failures.
fn lines(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for cluster in &plan.clusters {
        if cluster.presence != fleet_reconcile::plan::Presence::Kept {
            out.push(format!("{} {:?}", cluster.name, cluster.presence));
        }
        for k in &cluster.kustomizations {
            if k.presence != fleet_reconcile::plan::Presence::Kept {
                out.push(format!("{} {} {:?}", cluster.name, k.name, k.presence));
            }
            if let Some(error) = &k.broken {
                out.push(format!("{} {} broken: {error}", cluster.name, k.name));
            }
            for c in &k.changes {
                let mut line = format!("{} {} {:?} {}", cluster.name, k.name, c.action, c.object);
                if !c.fields.is_empty() {
                    line.push_str(&format!(" {}", c.fields.join(",")));
                }
                if c.masked {
                    line.push_str(" (masked)");
                }
                out.push(line);
            }
        }
        for image in &cluster.images {
            out.push(format!(
                "{} image {} {}: {:?} -> {:?}",
                cluster.name, image.object, image.container, image.from, image.to
            ));
        }
        for f in &cluster.findings {
            out.push(format!(
                "{} finding {} {} {}",
                cluster.name, f.rule, f.object, f.message
            ));
        }
    }
    for failure in &plan.failures {
        out.push(format!(
            "failure {} {}",
            failure.kustomization, failure.error
        ));
    }
    out
}

/// The fleet committed on `main`, and a branch `change` checked out.
fn fleet_repo(test: &str) -> Repo {
    let dir = std::env::temp_dir().join(format!("fleet-plan-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let repo = Repo { dir };
    repo.git(&["init", "-q", "-b", "main"]);
    for (path, text) in FLEET {
        repo.write_fleet_file(path, text);
    }
    repo.commit("fleet");
    repo.git(&["checkout", "-q", "-b", "change"]);
    repo
}

#[test]
fn nothing_changed_is_an_empty_plan_over_every_cluster() {
    let repo = fleet_repo("nothing");
    let plan = plan_both(&repo.options());
    assert!(!plan.has_changes());
    let clusters: Vec<&str> = plan.clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(clusters, ["dev", "eu", "management", "us"]);
    let kustomizations: Vec<(String, String, usize)> = plan
        .clusters
        .iter()
        .flat_map(|c| {
            c.kustomizations
                .iter()
                .map(|k| (c.name.clone(), k.name.clone(), k.unchanged))
        })
        .collect();
    assert_eq!(
        kustomizations,
        [
            ("dev".into(), "flux-system/apps".into(), 4),
            ("dev".into(), "flux-system/flux-system".into(), 3),
            ("eu".into(), "flux-system/eu-apps".into(), 3),
            ("management".into(), "flux-system/flux-system".into(), 4),
            ("management".into(), "flux-system/workloads".into(), 2),
            ("us".into(), "flux-system/us-apps".into(), 3),
        ]
    );
}

#[test]
fn a_base_change_touches_every_cluster() {
    let repo = fleet_repo("base-change");
    repo.edit("apps/base/deployment.yaml", "web:1.0.0", "web:1.1.0");
    repo.commit("web 1.1.0");
    let plan = plan_both(&repo.options());
    assert_eq!(
        lines(&plan),
        [
            "dev flux-system/apps Changed Deployment/apps/web spec.template.spec.containers[0].image",
            "dev image Deployment/apps/web web: Some(\"example.com/web:1.0.0\") -> Some(\"example.com/web:1.1.0\")",
            "eu flux-system/eu-apps Changed Deployment/apps/web spec.template.spec.containers[0].image",
            "eu image Deployment/apps/web web: Some(\"example.com/web:1.0.0\") -> Some(\"example.com/web:1.1.0\")",
            "us flux-system/us-apps Changed Deployment/apps/web spec.template.spec.containers[0].image",
            "us image Deployment/apps/web web: Some(\"example.com/web:1.0.0\") -> Some(\"example.com/web:1.1.0\")",
        ]
    );
    let diff = &plan.clusters[1].kustomizations[0].changes[0].diff;
    assert!(
        diff.contains(
            "-        image: example.com/web:1.0.0\n+        image: example.com/web:1.1.0\n"
        ),
        "{diff}"
    );
}

#[test]
fn an_overlay_change_touches_one_cluster() {
    let repo = fleet_repo("overlay-change");
    repo.write(
        "apps/eu/kustomization.yaml",
        "resources:\n- ../base\nreplicas:\n- name: web\n  count: 3\n",
    );
    repo.commit("eu: 3 replicas");
    let plan = plan_both(&repo.options());
    assert_eq!(
        lines(&plan),
        ["eu flux-system/eu-apps Changed Deployment/apps/web spec.replicas"]
    );
}

#[test]
fn a_template_variable_changed_for_one_cluster() {
    let repo = fleet_repo("variable");
    repo.edit(
        "workloads/us.yaml",
        "region: us-east-1",
        "region: us-west-2",
    );
    repo.commit("us moves west");
    let plan = plan_both(&repo.options());
    assert_eq!(
        lines(&plan),
        [
            "management flux-system/workloads Changed Kustomization/flux-system/us-apps spec.postBuild.substitute.region",
            "us flux-system/us-apps Changed ConfigMap/apps/settings data.region",
        ]
    );
}

#[test]
fn a_fleet_settings_value_reaches_every_cluster_through_substitute_from() {
    let repo = fleet_repo("settings");
    repo.edit(
        "clusters/management/fleet-settings.yaml",
        "log_level: info",
        "log_level: debug",
    );
    repo.commit("debug everywhere");
    let plan = plan_both(&repo.options());
    assert_eq!(
        lines(&plan),
        [
            "eu flux-system/eu-apps Changed Deployment/apps/web spec.template.spec.containers[0].env[0].value",
            "management flux-system/flux-system Changed ConfigMap/flux-system/fleet-settings data.log_level",
            "management flux-system/workloads Changed Kustomization/flux-system/eu-apps spec.postBuild.substitute.log_level",
            "management flux-system/workloads Changed Kustomization/flux-system/us-apps spec.postBuild.substitute.log_level",
            "us flux-system/us-apps Changed Deployment/apps/web spec.template.spec.containers[0].env[0].value",
        ]
    );
}

#[test]
fn a_removed_object_is_pruned_under_prune_true_and_orphaned_under_prune_false() {
    let repo = fleet_repo("removed");
    repo.remove("apps/base/cache.yaml");
    repo.edit("apps/base/kustomization.yaml", "- cache.yaml\n", "");
    repo.commit("no cache");
    let plan = plan_both(&repo.options());
    assert_eq!(
        lines(&plan),
        [
            "dev flux-system/apps Orphaned ConfigMap/apps/cache",
            "eu flux-system/eu-apps Pruned ConfigMap/apps/cache",
            "us flux-system/us-apps Pruned ConfigMap/apps/cache",
        ]
    );
}

#[test]
fn a_sops_secret_change_is_reported_with_its_values_masked() {
    let repo = fleet_repo("sops");
    repo.write("apps/dev/secret.yaml", SOPS_SECRET_2);
    repo.commit("rotate the password");
    let plan = plan_both(&repo.options());
    assert_eq!(
        lines(&plan),
        [
            "dev flux-system/apps Changed Secret/apps/db stringData.password,sops.age[0].enc,sops.lastmodified,sops.mac",
        ]
    );
    let change = &plan.clusters[0].kustomizations[0].changes[0];
    assert!(
        change.diff.contains("password: '**SOPS**'"),
        "{}",
        change.diff
    );
    assert!(
        !change.diff.contains("UGFzc1dvcmQy") && !change.diff.contains("0bYl2zc="),
        "a value's ciphertext is shown:\n{}",
        change.diff
    );
    let shown = plan_both(&PlanOptions {
        show_secrets: true,
        ..repo.options()
    });
    let change = &shown.clusters[0].kustomizations[0].changes[0];
    assert!(
        change
            .diff
            .contains("+  password: ENC[AES256_GCM,data:UGFzc1dvcmQy"),
        "{}",
        change.diff
    );
}

#[test]
fn a_change_that_breaks_one_kustomization_is_reported_and_the_others_still_planned() {
    let repo = fleet_repo("broken");
    repo.write(
        "apps/us/kustomization.yaml",
        "resources:\n- ../base\n- missing.yaml\n",
    );
    repo.edit("apps/base/deployment.yaml", "replicas: 1", "replicas: 2");
    repo.commit("break us");
    let plan = plan_both(&repo.options());
    let lines = lines(&plan);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(
        lines[0],
        "dev flux-system/apps Changed Deployment/apps/web spec.replicas"
    );
    assert_eq!(
        lines[1],
        "eu flux-system/eu-apps Changed Deployment/apps/web spec.replicas"
    );
    assert!(
        lines[2].starts_with("us flux-system/us-apps broken: ")
            && lines[2].contains("missing.yaml"),
        "{}",
        lines[2]
    );
    let us = &plan.clusters[3].kustomizations[0];
    assert_eq!(
        us.origin,
        "clusters/management/flux-system.yaml:11 (via flux-system/flux-system > flux-system/workloads)"
    );
}

#[test]
fn uncommitted_edits_in_the_work_tree_are_the_default_head() {
    let repo = fleet_repo("work-tree");
    repo.write(
        "apps/us/kustomization.yaml",
        "resources:\n- ../base\nreplicas:\n- name: web\n  count: 2\n",
    );
    let plan = plan_both(&repo.options());
    assert_eq!(plan.head.rev, "work tree");
    assert_eq!(plan.head.commit, None);
    assert_eq!(
        lines(&plan),
        ["us flux-system/us-apps Changed Deployment/apps/web spec.replicas"]
    );
    // The same revision at head: nothing changes.
    let committed = plan_both(&PlanOptions {
        head: Some("HEAD".into()),
        ..repo.options()
    });
    assert!(!committed.has_changes(), "{:#?}", lines(&committed));
}

#[test]
fn a_base_revision_that_does_not_exist_is_a_clear_error() {
    let repo = fleet_repo("no-base");
    let err = plan(&PlanOptions {
        base: Some("no-such-branch".into()),
        ..repo.options()
    })
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        err.starts_with("revision 'no-such-branch' does not exist in "),
        "{err}"
    );
}

#[test]
fn a_cluster_filter_keeps_the_named_clusters_and_refuses_unknown_ones() {
    let repo = fleet_repo("filter");
    repo.edit("apps/base/deployment.yaml", "web:1.0.0", "web:2.0.0");
    repo.commit("web 2");
    let plan = plan_both(&PlanOptions {
        clusters: vec!["eu".into()],
        ..repo.options()
    });
    let names: Vec<&str> = plan.clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["eu"]);
    let err = plan_result_error(&PlanOptions {
        clusters: vec!["mars".into()],
        ..repo.options()
    });
    assert_eq!(
        err,
        "cluster 'mars' is in neither revision (clusters: dev, eu, management, us)"
    );
}

fn plan_result_error(opts: &PlanOptions) -> String {
    match plan(opts) {
        Err(e @ PlanError::UnknownCluster { .. }) => e.to_string(),
        other => panic!("expected an unknown cluster, got {other:?}"),
    }
}

#[test]
fn markdown_and_json_show_the_same_plan() {
    let repo = fleet_repo("formats");
    repo.edit("apps/base/deployment.yaml", "web:1.0.0", "web:1.1.0");
    repo.remove("apps/base/cache.yaml");
    repo.edit("apps/base/kustomization.yaml", "- cache.yaml\n", "");
    repo.write("apps/dev/secret.yaml", SOPS_SECRET_2);
    repo.commit("web 1.1.0, no cache, new password");
    let plan = plan_both(&PlanOptions {
        base: Some("main".into()),
        head: Some("change".into()),
        ..repo.options()
    });
    let mut redacted = plan.clone();
    redacted.base.commit = Some("base-commit".into());
    redacted.head.commit = Some("head-commit".into());
    insta::assert_snapshot!("plan_markdown", redacted.to_markdown(60_000));
    insta::assert_snapshot!("plan_json", redacted.to_json());
    insta::assert_snapshot!("plan_text", redacted.to_text());
}

#[test]
fn markdown_over_the_size_cap_cuts_cluster_details_and_says_which() {
    let repo = fleet_repo("cap");
    repo.edit("apps/base/deployment.yaml", "web:1.0.0", "web:1.1.0");
    repo.commit("web 1.1.0");
    let plan = plan_both(&repo.options());
    let full = plan.to_markdown(60_000);
    let capped = plan.to_markdown(2_000);
    assert!(capped.len() <= 2_000, "{} characters", capped.len());
    assert!(full.contains("<summary><b>us</b>"));
    assert!(
        capped.contains("| us | `flux-system/us-apps` | 0 | 1 | 0 |"),
        "{capped}"
    );
    assert!(
        capped.contains("were cut to keep this comment under 2000 characters"),
        "{capped}"
    );
}

#[test]
fn changed_only_rebuilds_at_head_only_the_kustomizations_whose_inputs_changed() {
    let repo = fleet_repo("rebuilds");
    repo.write(
        "apps/eu/kustomization.yaml",
        "resources:\n- ../base\nreplicas:\n- name: web\n  count: 3\n",
    );
    repo.commit("eu: 3 replicas");
    let (_, full) = plan_counting_builds(&repo.options()).unwrap_or_else(|e| panic!("{e}"));
    let quick = || {
        plan_counting_builds(&PlanOptions {
            changed_only: true,
            ..repo.options()
        })
        .unwrap_or_else(|e| panic!("{e}"))
        .1
    };
    // Six Kustomizations (both flux-systems, workloads, eu-apps, us-apps,
    // apps), and `apps` once more on its own: its file sorts before the
    // flux-system that renders it.
    assert_eq!((full.base, full.head), (7, 7));
    // The first run renders the base in full and keeps its snapshot; then
    // only eu-apps is built again at head, and once more at the base to
    // show its objects.
    let first = quick();
    assert_eq!(
        (first.base, first.head),
        (8, 1),
        "only eu-apps is built again"
    );
    // The second reads the snapshot: eu-apps at both revisions.
    let second = quick();
    assert_eq!((second.base, second.head), (1, 1), "the snapshot is read");
    // A snapshot that does not read is made again.
    let kept = repo.dir.join(".git/fleet/plan");
    for entry in std::fs::read_dir(&kept).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        std::fs::write(&path, "{damaged").unwrap_or_else(|e| panic!("{e}"));
    }
    let third = quick();
    assert_eq!(
        (third.base, third.head),
        (8, 1),
        "a damaged snapshot is replaced"
    );
}

#[test]
fn a_new_lint_finding_at_head_is_reported_with_its_kustomization() {
    let repo = fleet_repo("finding");
    repo.write(
        "apps/eu/workers.yaml",
        "apiVersion: cluster.x-k8s.io/v1beta1
kind: MachineDeployment
metadata:
  name: workers
  namespace: apps
  annotations:
    cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size: \"5\"
    cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size: \"3\"
spec:
  clusterName: eu
  template:
    spec:
      clusterName: eu
      bootstrap:
        configRef: {apiVersion: bootstrap.cluster.x-k8s.io/v1beta1, kind: KubeadmConfigTemplate, name: workers}
      infrastructureRef: {apiVersion: infrastructure.cluster.x-k8s.io/v1beta1, kind: DockerMachineTemplate, name: workers}
",
    );
    repo.write(
        "apps/eu/kustomization.yaml",
        "resources:\n- ../base\n- workers.yaml\n",
    );
    repo.commit("eu workers");
    let plan = plan_both(&repo.options());
    assert_eq!(
        lines(&plan),
        [
            "eu flux-system/eu-apps Added MachineDeployment/apps/workers",
            "eu finding autoscaler/min-greater-than-max MachineDeployment/apps/workers min size 5 is greater than max size 3",
        ]
    );
}

/// A head whose YAML holds objects but no Kustomization, ConfigMap or
/// Secret (what a snapshot keeps) finds its source root as the full plan
/// does: from head, not from the base.
#[test]
fn a_head_without_kept_objects_finds_its_source_root_as_the_full_plan_does() {
    let dir = std::env::temp_dir().join(format!("fleet-plan-root-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let repo = Repo { dir };
    repo.git(&["init", "-q", "-b", "main"]);
    // The fleet lives in `fleet/`, its paths start at the repository's top.
    repo.write("fleet/clusters/sync.yaml", &format!("{FLUX_SYSTEM}---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./fleet/apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"));
    repo.write(
        "fleet/apps/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  replicas: 1\n",
    );
    repo.commit("fleet");
    repo.git(&["checkout", "-q", "-b", "change"]);
    let opts = PlanOptions::new(repo.dir.join("fleet"));
    // Keeps the base's snapshot, made with the root at the top.
    assert!(!plan_both(&opts).has_changes());
    // Head drops the Kustomization: its YAML holds a Deployment only.
    repo.remove("fleet/clusters/sync.yaml");
    let planned = plan_both(&opts);
    assert!(planned.has_changes());
}
