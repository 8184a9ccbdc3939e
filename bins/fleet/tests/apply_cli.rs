//! `fleet apply ks` against a real control plane (fleet-testenv): Flux's
//! change-set lines, an unchanged second run, `--wait`, `-o json`, and a
//! failing build's exit code.

use std::path::Path;
use std::process::{Command, Output};

fn fleet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running fleet: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, rel: &str, content: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(&path, content).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[tokio::test]
async fn apply_ks_prints_flux_change_set_lines_and_exits_by_outcome() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-2").await;
    let ns = t.name.clone();
    let kubeconfig = env.cluster("workload-2").kubeconfig.display().to_string();
    let dir = std::env::temp_dir().join(format!("fleet-apply-cli-{ns}"));
    let _ = std::fs::remove_dir_all(&dir);
    write(
        &dir,
        "ks.yaml",
        &format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: web\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
        ),
    );
    write(
        &dir,
        "apps/web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n",
    );
    let path = dir.join("apps").display().to_string();
    let file = dir.join("ks.yaml").display().to_string();
    let base = [
        "apply",
        "ks",
        "web",
        "--path",
        &path,
        "--kustomization-file",
        &file,
        "--kubeconfig",
        &kubeconfig,
    ];

    let mut args = base.to_vec();
    args.extend(["--wait", "--timeout", "2m"]);
    let first = fleet(&args);
    assert!(
        first.status.success(),
        "{}{}",
        text(&first.stdout),
        text(&first.stderr)
    );
    assert_eq!(
        text(&first.stdout),
        format!(
            "Service/{ns}/web created\nDeployment/{ns}/web created\nKustomization flux-system/web is not in the cluster: nothing pruned, no status written\n"
        )
    );

    let mut args = base.to_vec();
    args.extend(["-o", "json"]);
    let second = fleet(&args);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let doc: serde_json::Value =
        serde_json::from_slice(&second.stdout).unwrap_or_else(|e| panic!("{e}"));
    let actions: Vec<&str> = doc["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .filter_map(|c| c["action"].as_str())
        .collect();
    assert_eq!(actions, ["unchanged", "unchanged"]);
    assert_eq!(doc["inCluster"], false);
    assert_eq!(doc["ready"], true);

    // fleet diff ks: nothing differs, then a changed image and a new Secret.
    let diff_base = [
        "diff",
        "ks",
        "web",
        "--path",
        &path,
        "--kustomization-file",
        &file,
        "--kubeconfig",
        &kubeconfig,
    ];
    let same = fleet(&diff_base);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stderr));
    assert!(text(&same.stdout).is_empty(), "{}", text(&same.stdout));
    let web = std::fs::read_to_string(dir.join("apps/web.yaml")).unwrap_or_else(|e| panic!("{e}"));
    write(
        &dir,
        "apps/web.yaml",
        &web.replace("nginx:1.27", "nginx:1.28"),
    );
    write(
        &dir,
        "apps/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\nstringData:\n  token: hunter2\n",
    );
    let changed = fleet(&diff_base);
    assert_eq!(changed.status.code(), Some(1), "{}", text(&changed.stderr));
    let out = text(&changed.stdout);
    assert!(
        out.contains(&format!("► Deployment/{ns}/web drifted\n")),
        "{out}"
    );
    assert!(out.contains("-        image: nginx:1.27\n"), "{out}");
    assert!(out.contains("+        image: nginx:1.28\n"), "{out}");
    assert!(
        out.contains(&format!("► Secret/{ns}/token created\n")),
        "{out}"
    );
    assert!(!out.contains("hunter2"), "{out}");
    // A dry-run changes nothing.
    let again = fleet(&diff_base);
    assert_eq!(text(&again.stdout), out);
    std::fs::remove_file(dir.join("apps/secret.yaml")).unwrap_or_else(|e| panic!("{e}"));

    write(&dir, "apps/broken.yaml", "kind: [\n");
    let failed = fleet(&base);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stderr));
    // Nothing applied: no change-set lines, only the note about pruning.
    assert!(
        !["created", "configured", "unchanged", "deleted"]
            .iter()
            .any(|a| text(&failed.stdout).contains(a)),
        "{}",
        text(&failed.stdout)
    );
    assert!(
        text(&failed.stderr).contains("broken.yaml"),
        "{}",
        text(&failed.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
