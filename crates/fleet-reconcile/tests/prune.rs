//! Pruning on a real control plane (fleet-testenv): what the last
//! inventory had and the new build lacks is deleted, but only while this
//! Kustomization still owns it.

use fleet_reconcile::apply::{ApplyOptions, apply_staged};
use fleet_reconcile::inventory::Inventory;
use fleet_reconcile::prune::{Owner, prune};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

fn owned(ns: &str, name: &str, owner: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": {
            "kustomize.toolkit.fluxcd.io/name": owner,
            "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}},
        "data": {"v": "1"}})
}

#[tokio::test]
async fn prune_deletes_only_what_this_kustomization_still_owns_in_reverse_order() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-1").await;
    let ns = t.name.as_str();
    let mut kept = owned(ns, "kept", "apps");
    kept["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/prune": "disabled"});
    let first = vec![
        owned(ns, "stays", "apps"),
        owned(ns, "dropped", "apps"),
        owned(ns, "adopted", "apps"),
        owned(ns, "vanished", "apps"),
        kept,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dropped", "namespace": ns,
            "labels": {"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}},
            "spec": {"ports": [{"port": 80}]}}),
    ];
    let options = ApplyOptions::default();
    let applied = apply_staged(&t.client, &first, &options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let old = Inventory::from_change_set(&applied);
    let ids: Vec<String> = old
        .to_status()
        .entries
        .iter()
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(
        ids[0],
        format!("{ns}_adopted__ConfigMap"),
        "apply order: ConfigMaps by name, then the Service"
    );
    assert_eq!(ids[5], format!("{ns}_dropped__Service"));

    // Another Kustomization takes one over; another is deleted by hand.
    let api: Api<ConfigMap> = Api::namespaced(t.client.clone(), ns);
    let relabel = json!({"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/name": "other"}}});
    api.patch("adopted", &PatchParams::default(), &Patch::Merge(relabel))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    api.delete("vanished", &Default::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let second = vec![owned(ns, "stays", "apps")];
    let applied = apply_staged(&t.client, &second, &options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let new = Inventory::from_change_set(&applied);
    let stale: Vec<_> = old.stale_against(&new).cloned().collect();
    let owner = Owner {
        name: "apps".to_string(),
        namespace: "flux-system".to_string(),
    };
    let changes = prune(&t.client, &stale, &owner)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<String> = changes.entries.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            format!("Service/{ns}/dropped deleted"),
            format!("ConfigMap/{ns}/vanished deleted"),
            format!("ConfigMap/{ns}/kept unchanged"),
            format!("ConfigMap/{ns}/dropped deleted"),
            format!("ConfigMap/{ns}/adopted unchanged"),
        ]
    );
    let exists = |name: &'static str| {
        let api = api.clone();
        async move {
            api.get_opt(name)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some()
        }
    };
    assert!(exists("stays").await);
    assert!(exists("kept").await, "prune: disabled");
    assert!(
        exists("adopted").await,
        "owned by another Kustomization now"
    );
    // Deletion is asynchronous only through finalizers; a ConfigMap has none.
    assert!(!exists("dropped").await);
}
