//! `fleet cluster template vars|render`, `fleet cluster new` and `fleet validate` end to end.

use std::path::PathBuf;
use std::process::Command;

mod support;
use support::{example_fleet_copy, fleet};

fn template(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-cluster-cli-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("cluster-template.yaml");
    std::fs::write(
        &file,
        "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata:\n  name: ${CLUSTER_NAME}\n  namespace: ${ NAMESPACE }\nspec:\n  clusterNetwork:\n    pods:\n      cidrBlocks: ${POD_CIDR:=[\"192.168.0.0/16\"]}\n  topology:\n    version: ${KUBERNETES_VERSION}\n    workers:\n      replicas: ${WORKER_MACHINE_COUNT:=2}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    file
}

#[test]
fn vars_lists_required_and_optional_variables() {
    let file = template("vars");
    let path = file.display().to_string();
    let (code, out, err) = fleet(&["cluster", "template", "vars", &path], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "Required Variables:\n  - CLUSTER_NAME\n  - KUBERNETES_VERSION\n  - NAMESPACE\n\nOptional Variables:\n  - POD_CIDR             (defaults to [\"192.168.0.0/16\"])\n  - WORKER_MACHINE_COUNT (defaults to 2)\n"
    );
    let (_, json, _) = fleet(&["cluster", "template", "vars", &path, "-o", "json"], &[]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(v["NAMESPACE"], serde_json::Value::Null);
    assert_eq!(v["WORKER_MACHINE_COUNT"], "2");
}

#[test]
fn render_takes_values_from_set_environment_and_vars_file() {
    let file = template("render");
    let path = file.display().to_string();
    let vars = file.with_file_name("vars.yaml");
    std::fs::write(
        &vars,
        "NAMESPACE: from-file\nKUBERNETES_VERSION: v1.30.0\nWORKER_MACHINE_COUNT: 5\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let vars_path = vars.display().to_string();
    let (code, out, err) = fleet(
        &[
            "cluster",
            "template",
            "render",
            &path,
            "--set",
            "CLUSTER_NAME=edge-1",
            "--vars-file",
            &vars_path,
        ],
        &[("KUBERNETES_VERSION", "v1.31.2")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("name: edge-1\n  namespace: from-file\n"),
        "{out}"
    );
    assert!(
        out.contains("version: v1.31.2\n") && out.contains("replicas: 5\n"),
        "{out}"
    );
    assert!(out.contains("cidrBlocks: [\"192.168.0.0/16\"]"), "{out}");

    let (code, _, err) = fleet(
        &[
            "cluster",
            "template",
            "render",
            &path,
            "--set",
            "CLUSTER_NAME=x",
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("value for variables [KUBERNETES_VERSION, NAMESPACE] is not set"),
        "{err}"
    );
    let (code, _, err) = fleet(
        &[
            "cluster",
            "template",
            "render",
            &path,
            "--set",
            "CLUSTER_NAM=x",
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("the template has no variable CLUSTER_NAM"),
        "{err}"
    );
}

const WRONG: &str = "apiVersion: cluster.x-k8s.io/v1beta1
kind: MachineDeployment
metadata:
  name: workers
  namespace: fleet
  annotations:
    cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size: \"5\"
    cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size: \"3\"
spec:
  clusterName: edge-1
  replicas: 4
  selector:
    matchLabels: {}
  template:
    spec:
      clusterName: edge-1
      bootstrap:
        configRef:
          apiVersion: bootstrap.cluster.x-k8s.io/v1beta1
          kind: KubeadmConfigTemplate
          name: workers
      infrastructureRef:
        apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
        kind: DockerMachineTemplate
        name: workers
---
apiVersion: cluster.x-k8s.io/v1beta1
kind: MachineHealthCheck
metadata:
  name: workers
  namespace: fleet
spec:
  clusterName: edge-1
  maxUnhealthy: \"40.5%\"
  selector:
    matchLabels: {}
";

#[test]
fn validate_reports_findings_and_fails_on_errors() {
    let dir = std::env::temp_dir().join(format!("fleet-validate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("workers.yaml"), WRONG).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("settings.yml"), "scrape_interval: 30s\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.display().to_string();
    let (code, out, err) = fleet(&["validate", &path], &[]);
    assert_eq!(code, 1, "{err}");
    let file = dir.join("workers.yaml").display().to_string();
    for want in [
        format!(
            "{file}:1: error[autoscaler/min-greater-than-max] MachineDeployment/fleet/workers: min size 5 is greater than max size 3"
        ),
        format!("{file}:1: warning[autoscaler/replicas-in-git] MachineDeployment/fleet/workers:"),
        format!("{file}:26: error[mhc/max-unhealthy] MachineHealthCheck/fleet/workers:"),
        "2 objects checked: 2 error(s), 1 warning(s)".to_string(),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
    let (code, json, _) = fleet(&["validate", &path, "-o", "json"], &[]);
    let items: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!((code, items.as_array().map(Vec::len)), (1, Some(3)));
    let (code, out, err) = fleet(
        &[
            "validate",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/fleet"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn new_cluster_scaffolds_one_folder_that_builds() {
    let repo = example_fleet_copy("cluster-new");
    let root = repo.display().to_string();
    let new = |name: &str, extra: &[&str]| {
        let mut args = vec![
            "cluster",
            "new",
            name,
            "--repo",
            &root,
            "--template",
            "cluster-templates/docker",
            "--overlay",
            "infrastructure/staging",
        ];
        args.extend_from_slice(extra);
        fleet(&args, &[])
    };
    // CLUSTER_NAME is the name: a different value is refused, not dropped.
    let (code, out, err) = new(
        "edge-1",
        &[
            "--set",
            "KUBERNETES_VERSION=v1.31.2",
            "--set",
            "CLUSTER_NAME=other",
        ],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("CLUSTER_NAME is the cluster's name, \"edge-1\"; --set CLUSTER_NAME=other would be ignored"),
        "{err}"
    );
    assert!(!repo.join("workloads/edge-1").exists(), "nothing written");
    let (code, out, err) = new(
        "edge-1",
        &[
            "--set",
            "KUBERNETES_VERSION=v1.31.2",
            "--set",
            "CONTROL_PLANE_MACHINE_COUNT=3",
            "--set",
            "CLUSTER_NAME=edge-1",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    let folder = repo.join("workloads/edge-1");
    let cluster = std::fs::read_to_string(folder.join("cluster.yaml")).unwrap_or_default();
    assert!(
        cluster.contains("path: ./cluster-templates/docker\n")
            && cluster.contains("      CONTROL_PLANE_MACHINE_COUNT: \"3\"\n"),
        "{cluster}"
    );
    let workloads = std::fs::read_to_string(folder.join("workloads.yaml")).unwrap_or_default();
    assert!(
        workloads.contains("  dependsOn:\n  - name: edge-1-cluster\n")
            && workloads.contains("      name: edge-1-kubeconfig\n"),
        "{workloads}"
    );

    // Refusals leave the repository as it was.
    let before: Vec<_> = std::fs::read_dir(repo.join("workloads"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    for (name, extra, want) in [
        (
            "edge-1",
            &["--set", "KUBERNETES_VERSION=v1.31.2"][..],
            "already exists",
        ),
        (
            "Edge_2",
            &["--set", "KUBERNETES_VERSION=v1.31.2"][..],
            "not a DNS-1123 label",
        ),
        (
            "edge-2",
            &[][..],
            "variables [KUBERNETES_VERSION] have no default",
        ),
        (
            "edge-2",
            &["--set", "KUBERNETES_VERSION=1.31"][..],
            "is not a Kubernetes version",
        ),
        (
            "edge-2",
            &["--set", "KUBERNETES_VERSION=v1.31.2", "--set", "WORKERS=3"][..],
            "the template has no variable WORKERS",
        ),
    ] {
        let (code, _, err) = new(name, extra);
        assert_eq!(code, 2, "{name} {extra:?}");
        assert!(
            err.contains(want) && err.contains("nothing was written"),
            "{err}"
        );
    }
    let after: Vec<_> = std::fs::read_dir(repo.join("workloads"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(before, after);

    // The new cluster's CAPI objects render with its values and pass the lint rules.
    let ks = folder.join("cluster.yaml").display().to_string();
    let template = repo.join("cluster-templates/docker").display().to_string();
    let (code, rendered, err) = fleet(
        &[
            "build",
            "ks",
            "edge-1-cluster",
            "--path",
            &template,
            "--kustomization-file",
            &ks,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        !rendered.contains("${")
            && rendered.contains("  name: edge-1\n  namespace: fleet-clusters\n")
            && rendered.contains("version: v1.31.2"),
        "{rendered}"
    );
    let rendered_file = repo.join("rendered.yaml");
    std::fs::write(&rendered_file, &rendered).unwrap_or_else(|e| panic!("{e}"));
    let (code, out, _) = fleet(&["validate", &rendered_file.display().to_string()], &[]);
    assert_eq!(code, 0, "{out}");

    // The management cluster's chain picks the folder up.
    let settings = repo
        .join("clusters/management/fleet-settings.yaml")
        .display()
        .to_string();
    let parent = repo
        .join("clusters/management/workload-clusters.yaml")
        .display()
        .to_string();
    let workloads_dir = repo.join("workloads").display().to_string();
    let (code, all, err) = fleet(
        &[
            "build",
            "ks",
            "workload-clusters",
            "--path",
            &workloads_dir,
            "--kustomization-file",
            &parent,
            "--substitute-from",
            &settings,
            "--recursive",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        all.contains("kind: MachineHealthCheck")
            && all.contains("kustomize.toolkit.fluxcd.io/name: edge-1-infrastructure"),
        "{all}"
    );

    // Where no Flux step is involved, the output matches kubectl kustomize.
    let folder_arg = folder.display().to_string();
    let ours = fleet(&["build", &folder_arg], &[]).1;
    match Command::new("kubectl")
        .args(["kustomize", &folder_arg])
        .output()
    {
        Ok(theirs) if theirs.status.success() => {
            assert_eq!(ours, String::from_utf8_lossy(&theirs.stdout))
        }
        _ => eprintln!("kubectl not available: differential check skipped"),
    }
    let _ = std::fs::remove_dir_all(&repo);
}

#[test]
fn validate_renders_a_repository_as_flux_would() {
    let repo = example_fleet_copy("validate-flux");
    let root = repo.display().to_string();
    let (code, _, err) = fleet(
        &[
            "cluster",
            "new",
            "edge-1",
            "--repo",
            &root,
            "--template",
            "cluster-templates/docker",
            "--overlay",
            "infrastructure/staging",
            "--set",
            "KUBERNETES_VERSION=v1.31.2",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = fleet(&["validate", &root], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.ends_with("(13 Flux Kustomizations rendered): 0 error(s), 0 warning(s)\n"),
        "{out}"
    );

    // A value that is only wrong once substituted: the new cluster's name
    // as its Kustomization passes it to the shared template.
    let cluster = repo.join("workloads/edge-1/cluster.yaml");
    let text = std::fs::read_to_string(&cluster).unwrap_or_default();
    assert!(text.contains("CLUSTER_NAME: \"edge-1\""), "{text}");
    std::fs::write(
        &cluster,
        text.replace("CLUSTER_NAME: \"edge-1\"", "CLUSTER_NAME: \"Edge_1\""),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // And a Kustomization whose path does not exist.
    std::fs::write(
        repo.join("clusters/staging/typo.yaml"),
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: typo\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n  path: ./infrastructure/stagin\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = fleet(&["validate", &root], &[]);
    assert_eq!(code, 1, "{out}{err}");
    let management = repo
        .join("clusters/management/flux-system.yaml")
        .display()
        .to_string();
    let typo = repo
        .join("clusters/staging/typo.yaml")
        .display()
        .to_string();
    for want in [
        format!(
            "{management}:13: Kustomization flux-system/edge-1-cluster (via flux-system/flux-system > flux-system/workload-clusters): error[capi/cluster-name] Cluster/fleet-clusters/Edge_1: cluster name \"Edge_1\" is not a DNS-1123 label"
        ),
        format!(
            "{typo}:1: error[flux/build] Kustomization/flux-system/typo: Kustomization flux-system/typo: spec.path './infrastructure/stagin' is not a directory in the source; fix spec.path"
        ),
        ": 2 error(s), 0 warning(s)".to_string(),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
    // The template itself is checked in its rendered form only: its
    // `${CLUSTER_NAME}` text is not reported.
    assert!(
        !out.contains("cluster-templates/docker/cluster.yaml"),
        "{out}"
    );

    // From a subdirectory, spec.paths still resolve from the repository's top.
    let clusters = repo.join("clusters").display().to_string();
    let (code, sub, err) = fleet(&["validate", &clusters], &[]);
    assert_eq!(code, 1, "{sub}{err}");
    assert!(
        sub.contains("error[capi/cluster-name] Cluster/fleet-clusters/Edge_1")
            && sub.contains(": 2 error(s), 0 warning(s)"),
        "{sub}"
    );
    let _ = std::fs::remove_dir_all(&repo);
}

#[test]
fn template_parse_errors_name_file_and_line() {
    let dir = std::env::temp_dir().join(format!("fleet-cluster-cli-parse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("broken.yaml");
    std::fs::write(&file, "kind: Cluster\nmetadata:\n  name: ${CLUSTER_NAME\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let path = file.display().to_string();
    let (code, _, err) = fleet(&["cluster", "template", "vars", &path], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("{path}: line 3: the template does not parse")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn render_refuses_output_that_is_not_yaml_or_grows_keys() {
    let dir = std::env::temp_dir().join(format!("fleet-cluster-cli-inject-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("t.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${CLUSTER_NAME}\ndata:\n  k: ${VALUE}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = file.display().to_string();
    let render = |value: &str| {
        let set = format!("VALUE={value}");
        fleet(
            &[
                "cluster",
                "template",
                "render",
                &path,
                "--set",
                "CLUSTER_NAME=a",
                "--set",
                &set,
            ],
            &[],
        )
    };
    let (code, out, err) = render("[unclosed");
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty());
    assert!(err.contains("is not valid YAML at line 7"), "{err}");
    let (code, _, err) = render("x\ninjected: true");
    assert_eq!(code, 2);
    assert!(
        err.contains("has keys the template does not at the top: injected"),
        "{err}"
    );
    let (code, _, err) = render("x\n---\nkind: Secret");
    assert_eq!(code, 2);
    assert!(
        err.contains("has 2 YAML documents where the template has 1"),
        "{err}"
    );
    // A value may still be a structure where the template has a value.
    let (code, out, err) = render("{a: b}");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("  k: {a: b}\n"), "{out}");
}
