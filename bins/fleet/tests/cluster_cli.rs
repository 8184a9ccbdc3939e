//! `fleet cluster template vars|render` end to end.

use std::path::PathBuf;
use std::process::Command;

fn fleet(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("running fleet: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

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
