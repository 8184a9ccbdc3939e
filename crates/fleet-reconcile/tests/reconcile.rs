//! One reconcile of a Flux Kustomization on a real control plane
//! (fleet-testenv), through `apply_local`, the code `fleet apply ks` and the
//! controller share: first apply, an unchanged re-apply, prune through the
//! inventory written to the Kustomization's status, and a failed build
//! that applies and prunes nothing.

use fleet_model::condition::{Conditions, HEALTHY, READY};
use fleet_model::flux::kustomization::Kustomization;
use fleet_reconcile::changeset::Action;
use fleet_reconcile::reconcile::{
    LocalApply, ReconcileOptions, apply_local, live_kustomization, reason,
};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Installs Flux's Kustomization CRD (from `config/crd/`) into the cluster,
/// waiting until it is Established.
async fn install_kustomization_crd(client: &kube::Client) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/crd/kustomize.toolkit.fluxcd.io_kustomizations.yaml");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let crd = fleet_model::yaml::parse_one(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .to_json_value()
        .unwrap_or_else(|e| panic!("{e}"));
    fleet_reconcile::apply::apply_staged(
        client,
        &[crd],
        &fleet_reconcile::apply::ApplyOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("installing the Kustomization CRD: {e}"));
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn config_map(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

fn tree(ns: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-reconcile-{ns}"));
    let _ = std::fs::remove_dir_all(&dir);
    write(&dir, "apps/a.yaml", &config_map("a", "${greeting}"));
    write(&dir, "apps/b.yaml", &config_map("b", "two"));
    dir
}

fn request(ns: &str, dir: &Path) -> LocalApply {
    LocalApply {
        name: "apps".into(),
        namespace: ns.into(),
        path: dir.join("apps"),
        kustomization_file: None,
        options: ReconcileOptions {
            health_interval: Duration::from_millis(200),
            ..ReconcileOptions::default()
        },
    }
}

#[tokio::test]
async fn apply_reapply_prune_and_a_failed_build_through_the_kustomization_status() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("management").await;
    let ns = t.name.as_str();
    let client = &t.client;
    install_kustomization_crd(client).await;
    let ks: Kustomization = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": ns},
        "spec": {"interval": "10m", "path": "./apps", "prune": true, "wait": true,
            "targetNamespace": ns,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            "postBuild": {"substituteFrom": [
                {"kind": "ConfigMap", "name": "vars"},
                {"kind": "Secret", "name": "absent", "optional": true}]}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    Api::<Kustomization>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &ks)
        .await
        .unwrap_or_else(|e| panic!("creating the Kustomization: {e}"));
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let vars: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "vars"}, "data": {"greeting": "hello"}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    cms.create(&PostParams::default(), &vars)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tree(ns);

    // First apply: both created, substituted from the cluster's ConfigMap,
    // health checked, status written with the inventory.
    let first = apply_local(client, &request(ns, &dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(first.in_cluster);
    if let Err(e) = &first.outcome.result {
        panic!("first apply failed: {e}");
    }
    assert_eq!(
        first.outcome.changes.to_string(),
        format!("ConfigMap/{ns}/a created\nConfigMap/{ns}/b created\n")
    );
    let a = cms.get("a").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.data.unwrap_or_default().get("value").map(String::as_str),
        Some("hello")
    );
    let live = live_kustomization(client, ns, "apps")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the Kustomization is gone"));
    let status = live.status.unwrap_or_default();
    let ready = status
        .conditions
        .get(READY)
        .cloned()
        .unwrap_or_else(|| panic!("no Ready"));
    assert_eq!(ready.reason, reason::SUCCEEDED);
    assert_eq!(ready.message, "Applied revision: local");
    assert!(
        status.conditions.is_true(HEALTHY),
        "{:?}",
        status.conditions
    );
    assert_eq!(status.last_applied_revision.as_deref(), Some("local"));
    let ids: Vec<String> = status
        .inventory
        .unwrap_or_default()
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        ids,
        [format!("{ns}_a__ConfigMap"), format!("{ns}_b__ConfigMap")]
    );
    assert_eq!(status.history.len(), 1);
    // The history records how long the reconcile took, as Flux's does.
    assert_ne!(status.history[0].last_reconciled_duration.as_str(), "0s");

    // Unchanged: nothing sent, no resourceVersion moves.
    let before = cms.get("b").await.unwrap_or_else(|e| panic!("{e}"));
    let second = apply_local(client, &request(ns, &dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(second.outcome.result.is_ok());
    assert_eq!(second.outcome.changes.count(Action::Unchanged), 2);
    let after = cms.get("b").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        before.metadata.resource_version,
        after.metadata.resource_version
    );

    // Nothing differs; then b leaves the tree: `fleet diff ks` reports it
    // deleted through the stored inventory, changing nothing.
    let same = fleet_reconcile::diff::diff_local(client, &request(ns, &dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(same.entries.is_empty(), "{same}");
    std::fs::remove_file(dir.join("apps/b.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let diff = fleet_reconcile::diff::diff_local(client, &request(ns, &dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(diff.to_string(), format!("► ConfigMap/{ns}/b deleted\n"));
    assert!(
        cms.get_opt("b")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    );
    let third = apply_local(client, &request(ns, &dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(third.outcome.result.is_ok());
    assert!(
        third
            .outcome
            .changes
            .to_string()
            .contains(&format!("ConfigMap/{ns}/b deleted")),
        "{}",
        third.outcome.changes
    );
    assert!(
        cms.get_opt("b")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );

    // A broken file: the build fails, nothing is applied or pruned, and the
    // status says BuildFailed while keeping the inventory.
    write(&dir, "apps/c.yaml", "kind: [\n");
    std::fs::remove_file(dir.join("apps/a.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let failed = apply_local(client, &request(ns, &dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = failed
        .outcome
        .result
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(err.reason(), reason::BUILD_FAILED, "{err}");
    assert!(failed.outcome.changes.entries.is_empty());
    assert!(
        cms.get_opt("a")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    );
    let live = live_kustomization(client, ns, "apps")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("gone"));
    let status = live.status.unwrap_or_default();
    let ready = status
        .conditions
        .get(READY)
        .cloned()
        .unwrap_or_else(|| panic!("no Ready"));
    assert_eq!(ready.reason, reason::BUILD_FAILED);
    assert_eq!(status.inventory.unwrap_or_default().entries.len(), 1);
    assert_eq!(status.last_applied_revision.as_deref(), Some("local"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn without_the_object_in_the_cluster_nothing_is_pruned_and_the_file_is_used() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-1").await;
    let ns = t.name.as_str();
    let dir = tree(ns);
    write(
        &dir,
        "ks.yaml",
        &format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: {ns}\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substitute:\n      greeting: hi\n"
        ),
    );
    let mut req = request(ns, &dir);
    req.kustomization_file = Some(dir.join("ks.yaml"));
    let applied = apply_local(&t.client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!applied.in_cluster);
    if let Err(e) = &applied.outcome.result {
        panic!("{e}");
    }
    assert_eq!(applied.outcome.changes.count(Action::Created), 2);
    // Dropping a file without a stored inventory deletes nothing.
    std::fs::remove_file(dir.join("apps/b.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let again = apply_local(&t.client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.outcome.changes.count(Action::Deleted), 0);
    let cms: Api<ConfigMap> = Api::namespaced(t.client.clone(), ns);
    assert!(
        cms.get_opt("b")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Creates a namespace named `name` in a cluster (the same name on
/// several clusters, as a workload Kustomization's targetNamespace needs).
async fn create_namespace(client: &kube::Client, name: &str) {
    let namespace: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(json!({"metadata": {"name": name}}))
            .unwrap_or_else(|e| panic!("{e}"));
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
}

/// A Secret holding a cluster's kubeconfig under `value`, as Cluster API
/// writes `<cluster>-kubeconfig`.
fn kubeconfig_secret(env: &fleet_testenv::TestEnv, cluster: &str) -> serde_json::Value {
    let path = &env.cluster(cluster).kubeconfig;
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    json!({"metadata": {"name": "edge-kubeconfig"}, "stringData": {"value": text}})
}

#[tokio::test]
async fn a_workload_cluster_through_its_kubeconfig_secret_and_again_after_the_secret_is_rotated() {
    use k8s_openapi::api::core::v1::Secret;
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("management").await;
    let ns = t.name.as_str();
    let management = &t.client;
    install_kustomization_crd(management).await;
    let one = env.client("workload-1").await;
    let two = env.client("workload-2").await;
    create_namespace(&one, ns).await;
    create_namespace(&two, ns).await;
    let ks: Kustomization = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": ns},
        "spec": {"interval": "10m", "path": "./apps", "prune": true, "targetNamespace": ns,
            "kubeConfig": {"secretRef": {"name": "edge-kubeconfig"}},
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            "postBuild": {"substitute": {"greeting": "remote"}}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    Api::<Kustomization>::namespaced(management.clone(), ns)
        .create(&PostParams::default(), &ks)
        .await
        .unwrap_or_else(|e| panic!("creating the Kustomization: {e}"));
    let dir = tree(ns);
    // One request (one set of workload clients) for every apply below, as
    // the controller keeps one for its lifetime.
    let req = request(ns, &dir);

    // No Secret yet: nothing reaches any cluster, and the status says why.
    let missing = apply_local(management, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = missing
        .outcome
        .result
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("must fail without the kubeconfig Secret"));
    assert_eq!(err.reason(), reason::RECONCILIATION_FAILED, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("Secret {ns}/edge-kubeconfig"))
            && message.contains("<cluster>-kubeconfig"),
        "{message}"
    );
    assert!(missing.outcome.changes.entries.is_empty());

    let secrets: Api<Secret> = Api::namespaced(management.clone(), ns);
    let secret: Secret = serde_json::from_value(kubeconfig_secret(env, "workload-1"))
        .unwrap_or_else(|e| panic!("{e}"));
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Applied to workload-1, not to the management cluster; the status
    // (inventory included) is written on the management cluster.
    let first = apply_local(management, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = &first.outcome.result {
        panic!("apply to workload-1 failed: {e}");
    }
    assert_eq!(
        first.outcome.changes.to_string(),
        format!("ConfigMap/{ns}/a created\nConfigMap/{ns}/b created\n")
    );
    let on_one: Api<ConfigMap> = Api::namespaced(one.clone(), ns);
    let a = on_one.get("a").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.data.unwrap_or_default().get("value").map(String::as_str),
        Some("remote")
    );
    let on_management: Api<ConfigMap> = Api::namespaced(management.clone(), ns);
    assert!(
        on_management
            .get_opt("a")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none(),
        "nothing lands on the management cluster"
    );
    let live = live_kustomization(management, ns, "apps")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("gone"));
    let status = live.status.unwrap_or_default();
    assert!(status.conditions.is_true(READY), "{:?}", status.conditions);
    assert_eq!(status.inventory.unwrap_or_default().entries.len(), 2);

    // Again with the Secret unchanged: the cached client, nothing sent.
    let again = apply_local(management, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(again.outcome.result.is_ok());
    assert_eq!(again.outcome.changes.count(Action::Unchanged), 2);

    // The Secret is rotated (here: to another cluster's kubeconfig). The
    // next reconcile uses the new kubeconfig at once, never the stale one.
    let rotated: Secret = serde_json::from_value(kubeconfig_secret(env, "workload-2"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut current = secrets
        .get("edge-kubeconfig")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    current.data = None;
    current.string_data = rotated.string_data;
    secrets
        .replace("edge-kubeconfig", &PostParams::default(), &current)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let after = apply_local(management, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = &after.outcome.result {
        panic!("apply after the rotation failed: {e}");
    }
    assert_eq!(
        after.outcome.changes.count(Action::Created),
        2,
        "{}",
        after.outcome.changes
    );
    let on_two: Api<ConfigMap> = Api::namespaced(two.clone(), ns);
    assert!(
        on_two
            .get_opt("b")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    );
    // `fleet diff ks` goes through the same Secret: nothing differs on workload-2.
    let diff = fleet_reconcile::diff::diff_local(management, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(diff.entries.is_empty(), "{diff}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_service_account_is_impersonated_and_applies_only_what_it_may() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("management").await;
    let ns = t.name.as_str();
    let client = &t.client;
    let dir = tree(ns);
    write(
        &dir,
        "ks.yaml",
        &format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: {ns}\nspec:\n  interval: 10m\n  path: ./apps\n  prune: false\n  targetNamespace: {ns}\n  serviceAccountName: deployer\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substitute:\n      greeting: hi\n"
        ),
    );
    let mut req = request(ns, &dir);
    req.kustomization_file = Some(dir.join("ks.yaml"));

    // Without the cluster's configuration there is no one to impersonate
    // from: a clear error, nothing applied.
    let unconfigured = apply_local(client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = unconfigured
        .outcome
        .result
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert!(
        err.to_string()
            .contains(&format!("system:serviceaccount:{ns}:deployer")),
        "{err}"
    );

    req.options.access.management_config = Some(env.config("management").await);
    // The service account may do nothing yet: the apply is refused as it.
    let refused = apply_local(client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = refused
        .outcome
        .result
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("an account without rights must not apply"));
    assert_eq!(err.reason(), reason::RECONCILIATION_FAILED, "{err}");
    assert!(err.to_string().contains("forbidden"), "{err}");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    assert!(
        cms.get_opt("a")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );

    // Allowed ConfigMaps in this namespace, it applies them.
    let role: k8s_openapi::api::rbac::v1::Role = serde_json::from_value(json!({
        "metadata": {"name": "deployer"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                   "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    Api::<k8s_openapi::api::rbac::v1::Role>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &role)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let binding: k8s_openapi::api::rbac::v1::RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "deployer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    Api::<k8s_openapi::api::rbac::v1::RoleBinding>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &binding)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let allowed = apply_local(client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = &allowed.outcome.result {
        panic!("the service account may apply ConfigMaps: {e}");
    }
    assert_eq!(allowed.outcome.changes.count(Action::Created), 2);
    // The objects were applied as the service account (its field manager
    // entry is the same; the audit trail is the API server's): the apply
    // really went through impersonation, as the refusal above shows.
    assert!(
        cms.get_opt("a")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn depends_on_waits_for_a_ready_dependency_and_a_cycle_stalls_every_member() {
    use fleet_model::condition::STALLED;
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("management").await;
    let ns = t.name.as_str();
    let client = &t.client;
    install_kustomization_crd(client).await;
    let dir = tree(ns);
    write(&dir, "infra/infra.yaml", &config_map("infra", "base"));
    let kustomizations: Api<Kustomization> = Api::namespaced(client.clone(), ns);
    for (name, path, deps) in [
        ("infra", "./infra", vec![]),
        ("apps", "./apps", vec!["infra"]),
        ("lost", "./apps", vec!["nowhere"]),
        ("x", "./apps", vec!["y"]),
        ("y", "./apps", vec!["z"]),
        ("z", "./apps", vec!["x"]),
    ] {
        let deps: Vec<serde_json::Value> = deps.iter().map(|d| json!({"name": d})).collect();
        let ks: Kustomization = serde_json::from_value(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"interval": "10m", "path": path, "prune": true, "targetNamespace": ns,
                "dependsOn": deps,
                "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                "postBuild": {"substitute": {"greeting": "hi"}}}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        kustomizations
            .create(&PostParams::default(), &ks)
            .await
            .unwrap_or_else(|e| panic!("creating {name}: {e}"));
    }
    let apply = |name: &str, path: &str| {
        let mut req = request(ns, &dir);
        req.name = name.to_string();
        req.path = dir.join(path);
        req
    };
    let ready_of = |ks: Option<Kustomization>| {
        let status = ks.and_then(|k| k.status).unwrap_or_default();
        (status.conditions, status.last_attempted_revision)
    };

    // apps waits for infra, which has not reconciled: nothing applied.
    let waiting = apply_local(client, &apply("apps", "apps"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = waiting
        .outcome
        .result
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("must wait"));
    assert_eq!(err.reason(), reason::DEPENDENCY_NOT_READY);
    assert_eq!(
        err.to_string(),
        format!("dependency '{ns}/infra' is not ready")
    );
    assert!(waiting.outcome.changes.entries.is_empty());
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    assert!(
        cms.get_opt("a")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    let (conditions, attempted) = ready_of(
        live_kustomization(client, ns, "apps")
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(
        conditions.get(READY).map(|c| c.reason.as_str()),
        Some(reason::DEPENDENCY_NOT_READY)
    );
    assert_eq!(attempted, None, "nothing was attempted");

    // infra reconciles; then apps goes ahead.
    let infra = apply_local(client, &apply("infra", "infra"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(infra.outcome.result.is_ok(), "{:?}", infra.outcome.result);
    let apps = apply_local(client, &apply("apps", "apps"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = &apps.outcome.result {
        panic!("apps after infra: {e}");
    }
    assert_eq!(apps.outcome.changes.count(Action::Created), 2);

    // A dependency that does not exist, in kustomize-controller's words.
    let lost = apply_local(client, &apply("lost", "apps"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = lost
        .outcome
        .result
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("must wait"));
    assert_eq!(
        err.to_string(),
        format!("unable to get '{ns}/nowhere' dependency: not found")
    );

    // x -> y -> z -> x: each member is Stalled, naming the whole cycle the
    // same way, and applies nothing.
    let expected = format!(
        "dependency cycle: {ns}/x -> {ns}/y -> {ns}/z -> {ns}/x; remove one of these dependsOn entries"
    );
    for member in ["x", "y", "z"] {
        let stalled = apply_local(client, &apply(member, "apps"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let err = stalled
            .outcome
            .result
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("{member} is on a cycle"));
        assert_eq!(err.reason(), reason::DEPENDENCY_CYCLE);
        assert_eq!(err.to_string(), expected, "{member}");
        assert!(stalled.outcome.changes.entries.is_empty());
        let (conditions, _) = ready_of(
            live_kustomization(client, ns, member)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let stalled = conditions
            .get(STALLED)
            .cloned()
            .unwrap_or_else(|| panic!("{member}: no Stalled condition: {conditions:?}"));
        assert_eq!(stalled.reason, reason::DEPENDENCY_CYCLE);
        assert_eq!(stalled.message, expected);
        assert!(!conditions.is_true(READY));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_kubectl_edit_is_reverted_under_override_and_kept_under_merge() {
    use kube::api::{Patch, PatchParams};
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-2").await;
    let ns = t.name.as_str();
    let client = &t.client;
    let dir = tree(ns);
    write(
        &dir,
        "apps/b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  annotations:\n    kustomize.toolkit.fluxcd.io/ssa: Merge\ndata:\n  value: two\n",
    );
    write(
        &dir,
        "ks.yaml",
        &format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: {ns}\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substitute:\n      greeting: hi\n"
        ),
    );
    let mut req = request(ns, &dir);
    req.kustomization_file = Some(dir.join("ks.yaml"));
    let first = apply_local(client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.outcome.changes.count(Action::Created), 2);

    // What `kubectl edit` does: an Update by the manager kubectl-edit that
    // adds a data key and a label fleet does not set.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let edit = json!({"metadata": {"labels": {"edited": "by-hand"}}, "data": {"extra": "x"}});
    let by_kubectl = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    for name in ["a", "b"] {
        cms.patch(name, &by_kubectl, &Patch::Merge(&edit))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    let again = apply_local(client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = &again.outcome.result {
        panic!("{e}");
    }
    assert_eq!(
        again.outcome.changes.to_string(),
        format!("ConfigMap/{ns}/a configured\nConfigMap/{ns}/b unchanged\n")
    );
    let a = cms.get("a").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.data.clone().unwrap_or_default().get("extra"),
        None,
        "Override reverts the edit"
    );
    assert_eq!(
        a.metadata.labels.clone().unwrap_or_default().get("edited"),
        None
    );
    let managers: Vec<String> = a
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers, ["fleet"], "kubectl's entry was taken over");
    let b = cms.get("b").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        b.data.unwrap_or_default().get("extra").map(String::as_str),
        Some("x"),
        "Merge keeps other managers' fields"
    );

    // Nothing left to clean: the next apply sends nothing.
    let third = apply_local(client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(third.outcome.changes.count(Action::Unchanged), 2);
    let a_after = cms.get("a").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.metadata.resource_version,
        a_after.metadata.resource_version
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn deleting_a_kustomization_follows_its_deletion_policy() {
    use fleet_model::flux::kustomization::DeletionPolicy;
    use fleet_reconcile::finalize::{FINALIZER, FinalizeOptions, finalize, remove_finalizer};
    use kube::api::{DeleteParams, Patch, PatchParams};
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("management").await;
    let ns = t.name.as_str();
    let client = &t.client;
    install_kustomization_crd(client).await;
    let dir = tree(ns);
    write(
        &dir,
        "apps/b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\ndata:\n  value: two\n",
    );
    let kustomizations: Api<Kustomization> = Api::namespaced(client.clone(), ns);
    let ks: Kustomization = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": ns, "finalizers": [FINALIZER]},
        "spec": {"interval": "10m", "path": "./apps", "prune": true, "targetNamespace": ns,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            "postBuild": {"substitute": {"greeting": "hi"}}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    kustomizations
        .create(&PostParams::default(), &ks)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let applied = apply_local(client, &request(ns, &dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        applied.outcome.result.is_ok(),
        "{:?}",
        applied.outcome.result
    );
    let live = kustomizations
        .get("apps")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let exists = |name: &'static str| {
        let cms = cms.clone();
        async move {
            cms.get_opt(name)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some()
        }
    };
    let options = FinalizeOptions {
        wait_interval: Duration::from_millis(200),
        ..FinalizeOptions::default()
    };

    // Policies that leave the objects.
    let mut kept = live.clone();
    kept.spec.prune = false;
    let mut orphan = live.clone();
    orphan.spec.deletion_policy = Some(DeletionPolicy::Orphan);
    let mut suspended = live.clone();
    suspended.spec.suspend = true;
    for (what, ks) in [
        ("MirrorPrune without prune", kept),
        ("Orphan", orphan),
        ("suspended", suspended),
    ] {
        let done = finalize(client, &ks, &options)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(done.orphaned.is_some(), "{what}");
        assert!(done.changes.entries.is_empty(), "{what}");
    }
    assert!(exists("a").await);

    // WaitForTermination: an object held by a finalizer of its own is
    // waited for until the timeout, then let go.
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata": {"finalizers": ["example.com/hold"]}})),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut waiting = live.clone();
    waiting.spec.deletion_policy = Some(DeletionPolicy::WaitForTermination);
    let started = std::time::Instant::now();
    let done = finalize(
        client,
        &waiting,
        &FinalizeOptions {
            timeout: Some(Duration::from_secs(2)),
            ..options.clone()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(
        done.changes.to_string(),
        format!("ConfigMap/{ns}/b unchanged\nConfigMap/{ns}/a deleted\n")
    );
    let held: Vec<String> = done
        .not_terminated
        .iter()
        .map(|id| id.name.clone())
        .collect();
    assert_eq!(held, ["a"]);
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!exists("a").await, "gone once its own finalizer is");

    // The whole flow: the Kustomization is deleted, its finalizer keeps it
    // until finalize has deleted what it owns (not b, prune: disabled).
    let again = apply_local(client, &request(ns, &dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(again.outcome.result.is_ok(), "{:?}", again.outcome.result);
    kustomizations
        .delete("apps", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let terminating = kustomizations
        .get("apps")
        .await
        .unwrap_or_else(|e| panic!("held by its finalizer: {e}"));
    assert!(terminating.metadata.deletion_timestamp.is_some());
    let done = finalize(client, &terminating, &options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.orphaned, None);
    assert_eq!(done.changes.count(Action::Deleted), 1);
    assert!(!exists("a").await);
    assert!(exists("b").await, "prune: disabled is never deleted");
    remove_finalizer(client, &terminating)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        kustomizations
            .get_opt("apps")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none(),
        "the API server deletes it once the finalizer is gone"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn health_check_exprs_decide_a_custom_resource_and_a_ready_expr_a_dependency() {
    use fleet_model::condition::STALLED;
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("management").await;
    let ns = t.name.as_str();
    let client = &t.client;
    let dir = tree(ns);
    // A CRD (cluster-scoped, named for this test) and one object of it, in one build.
    let plural = format!("widgets{}", ns.replace('-', ""));
    let group = "example.com";
    write(
        &dir,
        "widgets/crd.yaml",
        &format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {plural}.{group}\nspec:\n  group: {group}\n  names:\n    kind: W{ns_kind}\n    plural: {plural}\n    singular: w{ns_kind_lower}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    subresources:\n      status: {{}}\n    schema:\n      openAPIV3Schema:\n        type: object\n        x-kubernetes-preserve-unknown-fields: true\n",
            ns_kind = ns.replace('-', ""),
            ns_kind_lower = ns.replace('-', "").to_lowercase(),
        ),
    );
    let kind = format!("W{}", ns.replace('-', ""));
    write(
        &dir,
        "widgets/w.yaml",
        &format!("apiVersion: {group}/v1\nkind: {kind}\nmetadata:\n  name: w\nspec:\n  size: 1\n"),
    );
    let ks_file = |exprs: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: widgets\n  namespace: {ns}\nspec:\n  interval: 10m\n  path: ./widgets\n  prune: false\n  wait: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  healthCheckExprs:\n  - apiVersion: {group}/v1\n    kind: {kind}\n{exprs}"
        )
    };
    let exprs = "    current: \"status.?phase.orValue('') == 'Ready'\"\n    failed: \"status.?phase.orValue('') == 'Broken'\"\n";
    write(&dir, "ks.yaml", &ks_file(exprs));
    let mut req = request(ns, &dir);
    req.name = "widgets".into();
    req.path = dir.join("widgets");
    req.kustomization_file = Some(dir.join("ks.yaml"));
    req.options.timeout = Some(Duration::from_secs(3));

    // No status yet: the current expression is false until the timeout.
    let waiting = apply_local(client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = waiting
        .outcome
        .result
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("no status: not healthy"));
    assert_eq!(err.reason(), reason::HEALTH_CHECK_FAILED);
    assert_eq!(
        err.to_string(),
        format!("timeout waiting for: [{kind}/{ns}/w status: 'InProgress']")
    );

    // The failed expression is true: fail fast, well before the timeout.
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", &kind), &plural);
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    let set_phase = |phase: &'static str| {
        let widgets = widgets.clone();
        async move {
            widgets
                .patch_status(
                    "w",
                    &PatchParams::default(),
                    &Patch::Merge(&json!({"status": {"phase": phase}})),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    };
    set_phase("Broken").await;
    req.options.timeout = Some(Duration::from_secs(30));
    let started = std::time::Instant::now();
    let broken = apply_local(client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = broken
        .outcome
        .result
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("Broken is failed"));
    assert_eq!(
        err.to_string(),
        format!("failed early due to stalled resources: [{kind}/{ns}/w status: 'Failed']")
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    set_phase("Ready").await;
    let healthy = apply_local(client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = &healthy.outcome.result {
        panic!("Ready is current: {e}");
    }
    assert!(healthy.outcome.status.conditions.is_true(HEALTHY));

    // An expression that does not compile stalls, and nothing is applied.
    write(
        &dir,
        "ks.yaml",
        &ks_file("    current: \"status.phase == \"\n"),
    );
    let invalid = apply_local(client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = invalid
        .outcome
        .result
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("must stall"));
    assert_eq!(err.reason(), reason::INVALID_CEL_EXPRESSION);
    assert!(invalid.outcome.changes.entries.is_empty());
    assert!(invalid.outcome.status.conditions.is_true(STALLED));

    // readyExpr replaces the built-in dependency check: `eager` goes ahead
    // although `infra` never reconciled; `strict` waits.
    install_kustomization_crd(client).await;
    let kustomizations: Api<Kustomization> = Api::namespaced(client.clone(), ns);
    for (name, ready_expr) in [
        ("infra", None),
        (
            "eager",
            Some("dep.metadata.name == 'infra' && self.metadata.name == 'eager'"),
        ),
        (
            "strict",
            Some("has(dep.status) && dep.status.lastAppliedRevision == 'local'"),
        ),
    ] {
        let deps = match ready_expr {
            Some(expr) => json!([{"name": "infra", "readyExpr": expr}]),
            None => json!([]),
        };
        let ks: Kustomization = serde_json::from_value(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"interval": "10m", "path": "./apps", "prune": false, "targetNamespace": ns,
                "dependsOn": deps,
                "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                "postBuild": {"substitute": {"greeting": "hi"}}}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        kustomizations
            .create(&PostParams::default(), &ks)
            .await
            .unwrap_or_else(|e| panic!("creating {name}: {e}"));
    }
    let by_name = |name: &str| {
        let mut req = request(ns, &dir);
        req.name = name.to_string();
        req
    };
    let eager = apply_local(client, &by_name("eager"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(eager.outcome.result.is_ok(), "{:?}", eager.outcome.result);
    let strict = apply_local(client, &by_name("strict"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = strict
        .outcome
        .result
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("strict waits"));
    assert_eq!(err.reason(), reason::DEPENDENCY_NOT_READY);
    assert_eq!(
        err.to_string(),
        format!("dependency '{ns}/infra' is not ready according to readyExpr eval")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_recursive_diff_descends_into_child_kustomizations_the_cluster_has() {
    use fleet_reconcile::diff::{LocalSources, diff_local_recursive};
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("management").await;
    let ns = t.name.as_str();
    let client = &t.client;
    install_kustomization_crd(client).await;
    // A repository: clusters/root holds the child Kustomization `apps`,
    // which reads ./apps of the same source.
    let dir = tree(ns);
    let child = |source: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: {ns}\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: {source}\n  postBuild:\n    substitute:\n      greeting: hi\n"
        )
    };
    write(&dir, "clusters/root/apps.yaml", &child("flux-system"));
    let root: Kustomization = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "root", "namespace": ns},
        "spec": {"interval": "10m", "path": "./clusters/root", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    Api::<Kustomization>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &root)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut root_req = request(ns, &dir);
    root_req.name = "root".into();
    root_req.path = dir.join("clusters/root");
    let applied = apply_local(client, &root_req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        applied.outcome.result.is_ok(),
        "{:?}",
        applied.outcome.result
    );
    let apps = apply_local(client, &request(ns, &dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(apps.outcome.result.is_ok(), "{:?}", apps.outcome.result);

    // The child's tree changes: only a recursive diff sees it.
    write(&dir, "apps/b.yaml", &config_map("b", "three"));
    let sources = LocalSources::new();
    let flat = diff_local_recursive(client, &root_req, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(flat.is_empty(), "{flat}");
    let deep = diff_local_recursive(client, &root_req, Some(&sources))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!deep.is_empty());
    let text = deep.to_string();
    assert!(
        text.starts_with(&format!(
            "📁 Kustomization/{ns}/apps changed\n► ConfigMap/{ns}/b drifted\n"
        )),
        "{text}"
    );
    assert!(text.contains("-  value: two\n+  value: three\n"), "{text}");

    // A child on another source needs --local-sources.
    write(&dir, "clusters/root/apps.yaml", &child("elsewhere"));
    let err = diff_local_recursive(client, &root_req, Some(&sources))
        .await
        .err()
        .unwrap_or_else(|| panic!("an unknown source must fail"));
    assert!(
        err.to_string().contains(&format!(
            "cannot get local path for GitRepository/{ns}/elsewhere of kustomization apps"
        )),
        "{err}"
    );
    let mut named = LocalSources::new();
    named.insert(format!("GitRepository/{ns}/elsewhere"), dir.clone());
    let found = diff_local_recursive(client, &root_req, Some(&named))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        found
            .to_string()
            .contains(&format!("► ConfigMap/{ns}/b drifted")),
        "{found}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_status_reports_each_phase_while_reconciling() {
    use futures::StreamExt;
    use kube::api::{WatchEvent, WatchParams};
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("management").await;
    let ns = t.name.clone();
    let client = t.client.clone();
    install_kustomization_crd(&client).await;
    let ks: Kustomization = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": ns},
        "spec": {"interval": "10m", "path": "./apps", "prune": true, "wait": true,
            "targetNamespace": ns,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            "postBuild": {"substitute": {"greeting": "hi"}}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let api: Api<Kustomization> = Api::namespaced(client.clone(), &ns);
    let created = api
        .create(&PostParams::default(), &ks)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let version = created.metadata.resource_version.unwrap_or_default();
    // Every status the reconcile writes, as a watch sees them.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let params = WatchParams::default().fields("metadata.name=apps");
    let stream = api
        .watch(&params, &version)
        .await
        .unwrap_or_else(|e| panic!("watching: {e}"));
    let watcher = tokio::spawn({
        let seen = std::sync::Arc::clone(&seen);
        async move {
            let mut stream = stream.boxed();
            while let Some(Ok(event)) = stream.next().await {
                if let WatchEvent::Modified(ks) = event {
                    let conditions = ks.status.unwrap_or_default().conditions;
                    if let (Some(c), Ok(mut seen)) = (
                        conditions.get(fleet_model::condition::RECONCILING),
                        seen.lock(),
                    ) {
                        seen.push(c.message.clone());
                    }
                }
            }
        }
    });
    let dir = tree(&ns);
    let applied = apply_local(&client, &request(&ns, &dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        applied.outcome.result.is_ok(),
        "{:?}",
        applied.outcome.result
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    watcher.abort();
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    let timeout = "9m30s";
    let expected: Vec<String> = [
        "Building manifests",
        "Detecting drift",
        "Running health checks",
    ]
    .iter()
    .map(|phase| format!("{phase} for revision local with a timeout of {timeout}"))
    .collect();
    let mut found = seen.clone();
    found.dedup();
    assert_eq!(found, expected, "{seen:?}");
    // Done: Ready, and no Reconciling condition left.
    let done = api.get("apps").await.unwrap_or_else(|e| panic!("{e}"));
    let conditions = done.status.unwrap_or_default().conditions;
    assert!(conditions.is_true(READY));
    assert!(
        conditions
            .get(fleet_model::condition::RECONCILING)
            .is_none()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Installs a CRD from `config/crd/` and waits until it is Established.
async fn install_crd(client: &kube::Client, file: &str) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/crd")
        .join(file);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let crd = fleet_model::yaml::parse_one(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .to_json_value()
        .unwrap_or_else(|e| panic!("{e}"));
    fleet_reconcile::apply::apply_staged(
        client,
        &[crd],
        &fleet_reconcile::apply::ApplyOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("installing {}: {e}", file.display()));
}

#[tokio::test]
async fn a_kustomization_reconciles_from_its_git_repository_artifact() {
    use fleet_model::flux::source::GitRepository;
    use fleet_reconcile::artifact::reconcile_from_storage;
    use fleet_reconcile::source::{self, FetchOutcome, GitSource, Reference, Storage};
    use fleet_testenv::git::Workdir;
    use kube::api::{Patch, PatchParams};
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("management").await;
    let ns = t.name.as_str();
    let client = &t.client;
    install_kustomization_crd(client).await;
    install_crd(client, "source.toolkit.fluxcd.io_gitrepositories.yaml").await;
    let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let work = Workdir::new(root.path(), "fleet");
    work.write(&[
        ("apps/a.yaml", &config_map("a", "${greeting}")),
        ("apps/b.yaml", &config_map("b", "two")),
    ]);
    let commit = work.commit("apps");
    work.push();
    let ks: Kustomization = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": ns, "generation": 1},
        "spec": {"interval": "10m", "path": "./apps", "prune": true, "targetNamespace": ns,
            "sourceRef": {"kind": "GitRepository", "name": "fleet"},
            "postBuild": {"substitute": {"greeting": "from-git"}}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let storage = Storage::new(root.path().join("storage"));
    let options = ReconcileOptions {
        health_interval: Duration::from_millis(200),
        ..ReconcileOptions::default()
    };
    let failure = |outcome: &fleet_reconcile::reconcile::Outcome| {
        let err = outcome
            .result
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("must fail"));
        assert_eq!(err.reason(), reason::ARTIFACT_FAILED, "{err}");
        assert!(outcome.changes.entries.is_empty());
        err.to_string()
    };

    // No GitRepository yet.
    let missing = reconcile_from_storage(client, &ks, &storage, &options).await;
    assert_eq!(
        failure(&missing),
        format!("Source 'GitRepository/{ns}/fleet' not found")
    );

    // The GitRepository exists but has no artifact.
    let repository: GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "fleet", "namespace": ns},
        // Flux's CRD admits http(s) and ssh URLs only; this test fetches
        // the same repository over file:// itself below.
        "spec": {"interval": "1m", "url": "https://git.example/fleet.git",
                 "ref": {"branch": "main"}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let repositories: Api<GitRepository> = Api::namespaced(client.clone(), ns);
    repositories
        .create(&PostParams::default(), &repository)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let not_ready = reconcile_from_storage(client, &ks, &storage, &options).await;
    assert_eq!(
        failure(&not_ready),
        format!("Source 'GitRepository/{ns}/fleet' is not ready, artifact not found")
    );

    // Fetched into the storage and recorded in the status, as
    // source-controller does: the Kustomization applies that revision.
    let git = GitSource::new(
        format!("file://{}", work.bare.display()),
        Reference::Branch("main".into()),
    );
    let FetchOutcome::Stored(fetched) =
        source::fetch(&git, &storage, ns, "fleet", None).unwrap_or_else(|e| panic!("{e}"))
    else {
        panic!("a first fetch stores an artifact");
    };
    let mut status = fleet_model::flux::source::GitRepositoryStatus::default();
    source::record(&mut status, &git, &fetched);
    repositories
        .patch_status(
            "fleet",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": status})),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let applied = reconcile_from_storage(client, &ks, &storage, &options).await;
    if let Err(e) = &applied.result {
        panic!("{e}");
    }
    assert_eq!(applied.changes.count(Action::Created), 2);
    let revision = format!("main@sha1:{commit}");
    assert_eq!(
        applied.status.last_applied_revision.as_deref(),
        Some(revision.as_str())
    );
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let a = cms.get("a").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.data.unwrap_or_default().get("value").map(String::as_str),
        Some("from-git")
    );

    // A spec.path the artifact lacks, and an artifact whose bytes changed.
    let mut elsewhere = ks.clone();
    elsewhere.spec.path = Some("./nowhere".into());
    let lost = reconcile_from_storage(client, &elsewhere, &storage, &options).await;
    assert_eq!(failure(&lost), "kustomization path not found: ./nowhere");
    let mut file = std::fs::read(&fetched.local_path).unwrap_or_else(|e| panic!("{e}"));
    if let Some(last) = file.last_mut() {
        *last ^= 0xff;
    }
    std::fs::write(&fetched.local_path, file).unwrap_or_else(|e| panic!("{e}"));
    let tampered = reconcile_from_storage(client, &ks, &storage, &options).await;
    assert!(
        failure(&tampered).contains("does not match"),
        "{:?}",
        tampered.result
    );
}

#[tokio::test]
async fn a_diff_of_objects_in_a_namespace_the_build_creates_reports_them_created() {
    use fleet_reconcile::diff::{DiffAction, diff_objects};
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-1").await;
    let fresh = format!("{}-fresh", t.name);
    let objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": fresh}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "namespace": fresh}, "data": {"k": "v"}}),
    ];
    let report = diff_objects(&t.client, &objects, None, "fleet")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let actions: Vec<(String, DiffAction)> = report
        .entries
        .iter()
        .map(|e| (e.id.to_string(), e.action))
        .collect();
    assert_eq!(
        actions,
        [
            (format!("Namespace/{fresh}"), DiffAction::Created),
            (format!("ConfigMap/{fresh}/c"), DiffAction::Created),
        ]
    );
    // A namespace nobody creates is an error, as the apply would be.
    let err = diff_objects(&t.client, &objects[1..], None, "fleet")
        .await
        .err()
        .unwrap_or_else(|| panic!("a missing namespace must fail"));
    assert!(err.to_string().contains("not found"), "{err}");
}

#[tokio::test]
async fn a_second_reconcile_of_known_kinds_runs_no_api_discovery() {
    use std::sync::{Arc, Mutex};
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("management").await;
    let ns = t.name.as_str();
    // A client that records the path of every request it sends.
    let paths = Arc::new(Mutex::new(Vec::<String>::new()));
    let recorder = Arc::clone(&paths);
    let client = kube::client::ClientBuilder::try_from(env.config("management").await)
        .unwrap_or_else(|e| panic!("{e}"))
        .with_layer(&tower::util::MapRequestLayer::new(move |request| {
            record_path(&recorder, &request);
            request
        }))
        .build();
    let dir = tree(ns);
    write(
        &dir,
        "ks.yaml",
        &format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: {ns}\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  wait: true\n  targetNamespace: {ns}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substitute:\n      greeting: hi\n"
        ),
    );
    let mut req = request(ns, &dir);
    req.kustomization_file = Some(dir.join("ks.yaml"));
    // Discovery asks for a group/version's resource list: /api/v1 or
    // /apis/GROUP/VERSION, nothing after.
    let discovery = |paths: &[String]| -> Vec<String> {
        paths
            .iter()
            .filter(|p| {
                let parts: Vec<&str> = p.trim_matches('/').split('/').collect();
                matches!(parts.as_slice(), ["api", _] | ["apis", _, _])
            })
            .cloned()
            .collect()
    };
    let first = apply_local(&client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(first.outcome.result.is_ok(), "{:?}", first.outcome.result);
    let seen = paths.lock().map(|p| p.clone()).unwrap_or_default();
    assert!(
        !discovery(&seen).is_empty(),
        "the first reconcile discovers: {seen:?}"
    );
    if let Ok(mut p) = paths.lock() {
        p.clear();
    }
    let second = apply_local(&client, &req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(second.outcome.result.is_ok(), "{:?}", second.outcome.result);
    assert_eq!(second.outcome.changes.count(Action::Unchanged), 2);
    let seen = paths.lock().map(|p| p.clone()).unwrap_or_default();
    assert_eq!(discovery(&seen), Vec::<String>::new(), "{seen:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Keeps the path of a request a test client sends.
fn record_path<B>(paths: &std::sync::Mutex<Vec<String>>, request: &http::Request<B>) {
    if let Ok(mut paths) = paths.lock() {
        paths.push(request.uri().path().to_string());
    }
}
