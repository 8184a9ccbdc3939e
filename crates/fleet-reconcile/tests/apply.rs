//! Staged server-side apply on a real control plane (fleet-testenv).

use fleet_reconcile::apply::{ApplyError, ApplyOptions, apply_staged};
use fleet_reconcile::changeset::Action;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

fn config_map(ns: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data})
}

fn deployment(ns: &str, name: &str, app: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": app}},
            "template": {"metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "web", "image": "registry.example/web:1.0"}]}}}})
}

fn lines(changes: &fleet_reconcile::changeset::ChangeSet) -> Vec<String> {
    changes.entries.iter().map(ToString::to_string).collect()
}

async fn apply(client: &kube::Client, objects: &[Value]) -> fleet_reconcile::changeset::ChangeSet {
    apply_staged(client, objects, &ApplyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("apply failed: {e}"))
}

async fn resource_version<K>(api: &Api<K>, name: &str) -> String
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let object = api
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("reading {name}: {e}"));
    object.meta().resource_version.clone().unwrap_or_default()
}

#[tokio::test]
async fn the_first_apply_creates_in_stages_and_the_second_changes_nothing() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-1").await;
    let app_ns = format!("{}-app", t.name);
    let objects = vec![
        deployment(&app_ns, "web", "web"),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": app_ns},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
        config_map(&app_ns, "settings", json!({"color": "blue"})),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": app_ns}}),
    ];
    let first = apply(&t.client, &objects).await;
    assert_eq!(
        lines(&first),
        [
            format!("Namespace/{app_ns} created"),
            format!("ConfigMap/{app_ns}/settings created"),
            format!("Service/{app_ns}/web created"),
            format!("Deployment/{app_ns}/web created"),
        ]
    );
    // Controllers write the Deployment's status, so its resourceVersion
    // moves on its own; the objects no controller touches show whether the
    // second apply wrote anything, and the Deployment's generation that its
    // spec was not changed.
    let deployments: Api<Deployment> = Api::namespaced(t.client.clone(), &app_ns);
    let config_maps: Api<ConfigMap> = Api::namespaced(t.client.clone(), &app_ns);
    let services: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(t.client.clone(), &app_ns);
    let generation = |d: Deployment| d.metadata.generation.unwrap_or_default();
    let before = (
        resource_version(&config_maps, "settings").await,
        resource_version(&services, "web").await,
        generation(
            deployments
                .get("web")
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        ),
    );
    let second = apply(&t.client, &objects).await;
    assert!(
        second.entries.iter().all(|c| c.action == Action::Unchanged),
        "{second}"
    );
    assert_eq!(second.entries.len(), 4);
    assert!(!second.changed());
    let after = (
        resource_version(&config_maps, "settings").await,
        resource_version(&services, "web").await,
        generation(
            deployments
                .get("web")
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        ),
    );
    assert_eq!(before, after, "an unchanged object is not written again");
    // The objects belong to the field manager.
    let live = config_maps
        .get("settings")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let managers: Vec<_> = live
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, ["fleet"]);
}

#[tokio::test]
async fn a_crd_and_its_custom_objects_apply_together() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-2").await;
    let group = format!("{}.apply.fleet.example", t.name);
    let objects = vec![
        json!({"apiVersion": format!("{group}/v1"), "kind": "Gadget",
            "metadata": {"name": "g1", "namespace": t.name}, "spec": {"size": 2}}),
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("gadgets.{group}")},
            "spec": {"group": group, "scope": "Namespaced",
                "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]}}),
    ];
    let first = apply(&t.client, &objects).await;
    assert_eq!(
        lines(&first),
        [
            format!("CustomResourceDefinition/gadgets.{group} created"),
            format!("Gadget/{}/g1 created", t.name),
        ]
    );
    let second = apply(&t.client, &objects).await;
    assert!(!second.changed(), "{second}");
}

#[tokio::test]
async fn a_dry_run_failure_applies_nothing_and_names_every_failing_object() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("management").await;
    let new_ns = format!("{}-never", t.name);
    let mut broken = deployment(&t.name, "broken", "a");
    broken["spec"]["template"]["metadata"]["labels"]["app"] = json!("b"); // selector does not match
    let objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": new_ns}}),
        config_map(&t.name, "fine", json!({"a": "1"})),
        broken,
        json!({"apiVersion": "nowhere.example/v1", "kind": "Phantom", "metadata": {"name": "p", "namespace": t.name}}),
    ];
    let error = apply_staged(&t.client, &objects, &ApplyOptions::default()).await;
    let Err(ApplyError::DryRun { failures, partial }) = error else {
        panic!("expected dry-run failures, got {error:?}");
    };
    assert!(!partial, "nothing was applied before the failure");
    assert_eq!(failures.len(), 2, "{failures:?}");
    let text = failures.join("\n");
    assert!(
        text.contains(&format!(
            "Deployment/{}/broken dry-run failed (Invalid)",
            t.name
        )),
        "{text}"
    );
    assert!(
        text.contains("`selector` does not match template `labels`"),
        "{text}"
    );
    assert!(text.contains(&format!("Phantom/{}/p dry-run failed: no matches for kind \"Phantom\" in version \"nowhere.example/v1\"", t.name)), "{text}");
    // Nothing of the build reached the cluster, not even the first stage.
    let namespaces: Api<Namespace> = Api::all(t.client.clone());
    assert!(
        namespaces
            .get_opt(&new_ns)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    let config_maps: Api<ConfigMap> = Api::namespaced(t.client.clone(), &t.name);
    assert!(
        config_maps
            .get_opt("fine")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
}

#[tokio::test]
async fn drift_is_reverted_and_skip_annotations_are_honoured() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-1").await;
    let mut keep = config_map(&t.name, "keep", json!({"v": "1"}));
    keep["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"});
    let mut never = config_map(&t.name, "never", json!({"v": "1"}));
    never["metadata"]["labels"] = json!({"kustomize.toolkit.fluxcd.io/reconcile": "disabled"});
    let objects = vec![config_map(&t.name, "owned", json!({"v": "1"})), keep, never];
    let first = apply(&t.client, &objects).await;
    assert_eq!(
        lines(&first),
        [
            format!("ConfigMap/{}/keep created", t.name),
            format!("ConfigMap/{}/never skipped", t.name),
            format!("ConfigMap/{}/owned created", t.name),
        ]
    );
    // Someone else edits both objects.
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), &t.name);
    for name in ["owned", "keep"] {
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"v": "edited"}})),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let second = apply(&t.client, &objects).await;
    assert_eq!(
        lines(&second),
        [
            format!("ConfigMap/{}/keep skipped", t.name),
            format!("ConfigMap/{}/never skipped", t.name),
            format!("ConfigMap/{}/owned configured", t.name),
        ]
    );
    let value = |c: ConfigMap| c.data.and_then(|d| d.get("v").cloned()).unwrap_or_default();
    assert_eq!(
        value(api.get("owned").await.unwrap_or_else(|e| panic!("{e}"))),
        "1"
    );
    assert_eq!(
        value(api.get("keep").await.unwrap_or_else(|e| panic!("{e}"))),
        "edited"
    );
    assert!(
        api.get_opt("never")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
}

#[tokio::test]
async fn an_immutable_change_fails_without_force_and_recreates_with_it() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-2").await;
    apply(&t.client, &[deployment(&t.name, "web", "v1")]).await;
    let api: Api<Deployment> = Api::namespaced(t.client.clone(), &t.name);
    let uid = |d: Deployment| d.metadata.uid.unwrap_or_default();
    let old_uid = uid(api.get("web").await.unwrap_or_else(|e| panic!("{e}")));

    let changed = [deployment(&t.name, "web", "v2")]; // spec.selector is immutable
    let refused = apply_staged(&t.client, &changed, &ApplyOptions::default()).await;
    let Err(ApplyError::DryRun { failures, .. }) = refused else {
        panic!("expected an immutable-field failure, got {refused:?}");
    };
    assert!(failures[0].contains("field is immutable"), "{failures:?}");
    assert_eq!(
        old_uid,
        uid(api.get("web").await.unwrap_or_else(|e| panic!("{e}")))
    );

    let forced = ApplyOptions {
        force: true,
        ..ApplyOptions::default()
    };
    let changes = apply_staged(&t.client, &changed, &forced)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        lines(&changes),
        [format!("Deployment/{}/web created", t.name)]
    );
    let new = api.get("web").await.unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(old_uid, uid(new.clone()), "recreated");
    let selector = new.spec.selector.match_labels.unwrap_or_default();
    assert_eq!(selector.get("app").map(String::as_str), Some("v2"));
}

/// The unchanged re-apply skips dry-runs it can prove would change
/// nothing; a field dropped from the manifest, a value changed in the
/// cluster, or an object applied by another manager still goes to the
/// server and is applied.
#[tokio::test]
async fn an_unchanged_reapply_is_exact_about_dropped_fields_and_edits() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-1").await;
    let ns = t.name.as_str();
    let objects = vec![
        config_map(ns, "settings", json!({"color": "blue", "size": "large"})),
        deployment(ns, "web", "web"),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
    ];
    apply(&t.client, &objects).await;
    let cms: Api<ConfigMap> = Api::namespaced(t.client.clone(), ns);
    let deployments: Api<Deployment> = Api::namespaced(t.client.clone(), ns);
    let before = resource_version(&cms, "settings").await;
    let again = apply(&t.client, &objects).await;
    assert_eq!(again.count(Action::Unchanged), 3, "{again}");
    assert_eq!(resource_version(&cms, "settings").await, before);

    // `size` leaves the manifest: fleet owns it, so it is removed.
    let dropped = vec![
        config_map(ns, "settings", json!({"color": "blue"})),
        objects[1].clone(),
        objects[2].clone(),
    ];
    let applied = apply(&t.client, &dropped).await;
    assert_eq!(
        lines(&applied),
        [
            format!("ConfigMap/{ns}/settings configured"),
            format!("Service/{ns}/web unchanged"),
            format!("Deployment/{ns}/web unchanged"),
        ]
    );
    let settings = cms.get("settings").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.data.unwrap_or_default().get("size"), None);

    // A value changed in the cluster is put back.
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let reverted = apply(&t.client, &dropped).await;
    assert_eq!(reverted.count(Action::Configured), 1, "{reverted}");
    let web = deployments
        .get("web")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(web.spec.replicas, Some(1));

    // Another field manager has never applied these: each is dry-run and
    // found unchanged, and it becomes an owner.
    let other = ApplyOptions {
        field_manager: "kustomize-controller".into(),
        ..ApplyOptions::default()
    };
    let taken = apply_staged(&t.client, &dropped, &other)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(taken.count(Action::Unchanged), 3, "{taken}");
}

/// A namespace on a cluster-scoped object (a kustomize `namespace:` that
/// does not know a custom kind is cluster-scoped puts one there) is not
/// part of its id: the change set and inventory name it without.
#[tokio::test]
async fn a_cluster_scoped_object_has_no_namespace_in_its_id() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-2").await;
    let name = format!("{}-reader", t.name);
    let objects = vec![
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": name, "namespace": t.name},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
    ];
    let first = apply(&t.client, &objects).await;
    assert_eq!(lines(&first), [format!("ClusterRole/{name} created")]);
    let again = apply(&t.client, &objects).await;
    assert_eq!(lines(&again), [format!("ClusterRole/{name} unchanged")]);
    // The diff names it the same way: nothing differs, nothing is stale.
    let inventory = fleet_reconcile::inventory::Inventory::from_change_set(&again);
    let diff = fleet_reconcile::diff::diff_objects(&t.client, &objects, Some(&inventory), "fleet")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(diff.is_empty(), "{diff}");
}
