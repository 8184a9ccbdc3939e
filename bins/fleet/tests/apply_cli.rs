//! `fleet apply ks` against a real control plane (fleet-testenv): Flux's
//! change-set lines, an unchanged second run, `--wait`, `-o json`, and a
//! failing build's exit code; a SOPS-encrypted Secret decrypted with the
//! key Secret read from the cluster.

#[path = "../../../crates/fleet-kustomize/tests/support/sops_writer.rs"]
mod sops_writer;

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

#[tokio::test]
async fn apply_ks_decrypts_sops_with_the_key_secret_from_the_cluster_and_applies_nothing_without_it()
 {
    use k8s_openapi::api::core::v1::{ConfigMap, Secret};
    use kube::api::{Api, PostParams};
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    assert!(
        sops_writer::age_available(),
        "Debian's age (age-keygen) is needed to make the test's SOPS files"
    );
    let t = env.namespace("management").await;
    let ns = t.name.clone();
    let kubeconfig = env.cluster("management").kubeconfig.display().to_string();
    let dir = std::env::temp_dir().join(format!("fleet-apply-sops-{ns}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let (identity, recipient) = sops_writer::age_keygen(&dir, "identity");
    let mut writer = sops_writer::SopsWriter::new(&recipient, [9u8; 32]);
    writer.encrypted_regex = Some("^(data|stringData)$".into());
    write(
        &dir,
        "apps/db.yaml",
        &writer.yaml("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n"),
    );
    write(
        &dir,
        "apps/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n",
    );
    write(
        &dir,
        "ks.yaml",
        &format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"
        ),
    );
    let path = dir.join("apps").display().to_string();
    let file = dir.join("ks.yaml").display().to_string();
    let args = [
        "apply",
        "ks",
        "app",
        "-n",
        &ns,
        "--path",
        &path,
        "--kustomization-file",
        &file,
        "--kubeconfig",
        &kubeconfig,
    ];

    // The key Secret is not there yet: a build failure, nothing applied.
    let missing = fleet(&args);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing.stdout));
    let output = format!("{}{}", text(&missing.stdout), text(&missing.stderr));
    assert!(
        output.contains(&format!("decryption Secret '{ns}/sops-age'")),
        "{output}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    assert!(
        cms.get_opt("settings")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none(),
        "a failed build applies nothing"
    );

    let key: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "sops-age"}, "stringData": {"age.agekey": identity}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let secrets: Api<Secret> = Api::namespaced(t.client.clone(), &ns);
    secrets
        .create(&PostParams::default(), &key)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let applied = fleet(&args);
    assert!(
        applied.status.success(),
        "{}{}",
        text(&applied.stdout),
        text(&applied.stderr)
    );
    assert!(
        text(&applied.stdout).contains(&format!("Secret/{ns}/db created")),
        "{}",
        text(&applied.stdout)
    );
    let db = secrets.get("db").await.unwrap_or_else(|e| panic!("{e}"));
    let password = db
        .data
        .unwrap_or_default()
        .get("password")
        .map(|b| String::from_utf8_lossy(&b.0).into_owned());
    assert_eq!(
        password.as_deref(),
        Some("hunter2"),
        "decrypted before the apply"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
