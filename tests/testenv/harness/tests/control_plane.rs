//! The test environment is a real control plane: these tests show the
//! server-side behaviour fleet's reconciler relies on (apply, conflicts,
//! CRDs, garbage collection, namespace deletion, workload controllers on
//! fake nodes) and the Cluster API kubeconfig Secrets of its workload
//! clusters.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use serde_json::json;
use std::time::{Duration, Instant};

fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    match serde_json::from_value(value) {
        Ok(v) => v,
        Err(e) => panic!("test object does not deserialize: {e}"),
    }
}

/// Polls `check` every 200 ms until it returns `Some`, for at most `secs`.
async fn eventually<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn condition_true(conditions: Option<&serde_json::Value>, kind: &str) -> bool {
    conditions
        .and_then(|c| c.as_array())
        .is_some_and(|c| c.iter().any(|c| c["type"] == kind && c["status"] == "True"))
}

/// The release the Go module pins, read from tests/testenv/go.mod.
fn pinned_kubernetes() -> String {
    let go_mod = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../go.mod"))
        .unwrap_or_default();
    go_mod
        .lines()
        .find_map(|l| l.trim().strip_prefix("k8s.io/kubernetes "))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("tests/testenv/go.mod requires no k8s.io/kubernetes"))
}

#[tokio::test]
async fn every_cluster_answers_kube_rs_and_kubectl_with_the_pinned_release() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let pinned = pinned_kubernetes();
    assert_eq!(env.manifest().kubernetes, pinned);
    assert_eq!(
        env.clusters().len(),
        3,
        "a management and two workload clusters"
    );
    let kubectl = std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok();
    for cluster in env.clusters() {
        let client = env.client(&cluster.name).await;
        let version = client
            .apiserver_version()
            .await
            .unwrap_or_else(|e| panic!("{}: /version: {e}", cluster.name));
        assert_eq!(version.git_version, pinned, "{}", cluster.name);
        let nodes = Api::<Node>::all(client).list(&ListParams::default()).await;
        let nodes = nodes.unwrap_or_else(|e| panic!("{}: nodes: {e}", cluster.name));
        assert_eq!(nodes.items.len(), 2, "{}: two kwok nodes", cluster.name);

        if !kubectl {
            eprintln!("kubectl not found: the kubectl half of this test is skipped");
            continue;
        }
        let out = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&cluster.kubeconfig)
            .args(["version", "-o", "json"])
            .output()
            .unwrap_or_else(|e| panic!("running kubectl: {e}"));
        assert!(
            out.status.success(),
            "kubectl version: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let answer: serde_json::Value =
            from_json(serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null));
        assert_eq!(
            answer["serverVersion"]["gitVersion"],
            pinned.as_str(),
            "{}",
            cluster.name
        );
    }
    // The clusters are separate: each API server has its own port and data.
    let servers: std::collections::BTreeSet<_> = env.clusters().iter().map(|c| &c.server).collect();
    assert_eq!(servers.len(), 3);
}

#[tokio::test]
async fn server_side_apply_conflicts_between_field_managers_unless_forced() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let ns = env.namespace("management").await;
    let api: Api<ConfigMap> = Api::namespaced(ns.client.clone(), &ns.name);
    let object = |value: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"key": value}});
    api.patch(
        "shared",
        &PatchParams::apply("first"),
        &Patch::Apply(object("one")),
    )
    .await
    .unwrap_or_else(|e| panic!("first apply: {e}"));
    let conflict = api
        .patch(
            "shared",
            &PatchParams::apply("second"),
            &Patch::Apply(object("two")),
        )
        .await;
    match conflict {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 409, "{status:?}");
            assert!(status.message.contains("conflict"), "{}", status.message);
            assert!(
                status.message.contains("first"),
                "names the owner: {}",
                status.message
            );
        }
        other => panic!("expected a 409 conflict, got {other:?}"),
    }
    assert_eq!(
        api.get("shared")
            .await
            .ok()
            .and_then(|c| c.data)
            .and_then(|d| d.get("key").cloned())
            .as_deref(),
        Some("one")
    );
    let forced = api
        .patch(
            "shared",
            &PatchParams::apply("second").force(),
            &Patch::Apply(object("two")),
        )
        .await
        .unwrap_or_else(|e| panic!("forced apply: {e}"));
    assert_eq!(
        forced.data.and_then(|d| d.get("key").cloned()).as_deref(),
        Some("two")
    );
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"second".to_string()), "{managers:?}");
    assert!(
        !managers.contains(&"first".to_string()),
        "the field moved to the forcing manager: {managers:?}"
    );
}

#[tokio::test]
async fn a_crd_becomes_established_and_serves_custom_objects() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let ns = env.namespace("workload-1").await;
    let group = format!("{}.testenv.fleet.example", ns.name);
    let crd_name = format!("widgets.{group}");
    let crds: Api<CustomResourceDefinition> = Api::all(ns.client.clone());
    crds.create(
        &PostParams::default(),
        &from_json(json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": crd_name},
            "spec": {
                "group": group,
                "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
                "scope": "Namespaced",
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {"size": {"type": "integer", "minimum": 1}}}}}}}]
            }
        })),
    )
    .await
    .unwrap_or_else(|e| panic!("creating the CRD: {e}"));
    eventually("the CRD to be Established", 60, || async {
        let crd = crds.get(&crd_name).await.ok()?;
        let conditions = serde_json::to_value(crd.status?.conditions?).ok()?;
        condition_true(Some(&conditions), "Established").then_some(())
    })
    .await;

    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(&group, "v1", "Widget"));
    let widgets: Api<DynamicObject> = Api::namespaced_with(ns.client.clone(), &ns.name, &resource);
    let widget: DynamicObject = from_json(json!({
        "apiVersion": format!("{group}/v1"), "kind": "Widget",
        "metadata": {"name": "w1"}, "spec": {"size": 3}
    }));
    // Discovery of a new CRD takes a moment to reach the handler chain.
    eventually("the custom object to be created", 30, || async {
        widgets.create(&PostParams::default(), &widget).await.ok()
    })
    .await;
    let read = widgets
        .get("w1")
        .await
        .unwrap_or_else(|e| panic!("reading the widget: {e}"));
    assert_eq!(read.data["spec"]["size"], 3);
    // The schema is enforced by the server.
    let invalid: DynamicObject = from_json(json!({
        "apiVersion": format!("{group}/v1"), "kind": "Widget",
        "metadata": {"name": "w2"}, "spec": {"size": 0}
    }));
    let refused = widgets.create(&PostParams::default(), &invalid).await;
    assert!(
        matches!(refused, Err(kube::Error::Api(ref s)) if s.code == 422),
        "{refused:?}"
    );
    crds.delete(&crd_name, &DeleteParams::default()).await.ok();
}

#[tokio::test]
async fn deleting_an_owner_deletes_its_dependents() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let ns = env.namespace("management").await;
    let api: Api<ConfigMap> = Api::namespaced(ns.client.clone(), &ns.name);
    let owner = api
        .create(
            &PostParams::default(),
            &from_json(json!({"metadata": {"name": "owner"}})),
        )
        .await
        .unwrap_or_else(|e| panic!("creating the owner: {e}"));
    let uid = owner.metadata.uid.unwrap_or_default();
    api.create(
        &PostParams::default(),
        &from_json(
            json!({"metadata": {"name": "dependent", "ownerReferences": [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}]}}),
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("creating the dependent: {e}"));
    api.delete("owner", &DeleteParams::background())
        .await
        .unwrap_or_else(|e| panic!("deleting the owner: {e}"));
    eventually(
        "the garbage collector to delete the dependent",
        90,
        || async {
            matches!(api.get("dependent").await, Err(kube::Error::Api(ref s)) if s.code == 404)
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn deleting_a_namespace_deletes_the_objects_in_it() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let ns = env.namespace("workload-2").await;
    let api: Api<ConfigMap> = Api::namespaced(ns.client.clone(), &ns.name);
    api.create(
        &PostParams::default(),
        &from_json(json!({"metadata": {"name": "inside"}})),
    )
    .await
    .unwrap_or_else(|e| panic!("creating the ConfigMap: {e}"));
    let namespaces: Api<Namespace> = Api::all(ns.client.clone());
    namespaces
        .delete(&ns.name, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("deleting the namespace: {e}"));
    eventually(
        "the namespace controller to empty and remove the namespace",
        90,
        || async {
            matches!(namespaces.get(&ns.name).await, Err(kube::Error::Api(ref s)) if s.code == 404)
                .then_some(())
        },
    )
    .await;
    assert!(matches!(api.get("inside").await, Err(kube::Error::Api(ref s)) if s.code == 404));
}

#[tokio::test]
async fn a_deployment_becomes_available_with_ready_pods_on_fake_nodes() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let ns = env.namespace("workload-1").await;
    let deployments: Api<Deployment> = Api::namespaced(ns.client.clone(), &ns.name);
    deployments
        .create(
            &PostParams::default(),
            &from_json(json!({
                "metadata": {"name": "web"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "web", "image": "registry.example/web:1.0"}]}}}
            })),
        )
        .await
        .unwrap_or_else(|e| panic!("creating the Deployment: {e}"));
    eventually(
        "the Deployment to be Available with 2 ready replicas",
        120,
        || async {
            let d = deployments.get("web").await.ok()?;
            let status = serde_json::to_value(d.status?).ok()?;
            (status["readyReplicas"] == 2
                && status["availableReplicas"] == 2
                && condition_true(status.get("conditions"), "Available"))
            .then_some(())
        },
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let pods = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pods.items.len(), 2);
    for pod in pods.items {
        let node = pod.spec.and_then(|s| s.node_name).unwrap_or_default();
        assert!(
            node.starts_with("kwok-node-"),
            "scheduled onto a fake node: {node:?}"
        );
        let status = serde_json::to_value(pod.status).unwrap_or_default();
        assert_eq!(status["phase"], "Running");
        assert!(condition_true(status.get("conditions"), "Ready"));
    }
}

/// Fake nodes renew their Leases, as kubelets do: without that the
/// node-lifecycle controller finds them NotReady after its grace period
/// (40 s) and marks their Pods not Ready, so any test running longer than
/// that would see healthy workloads turn unhealthy.
#[tokio::test]
async fn every_fake_node_renews_its_lease() {
    use k8s_openapi::api::coordination::v1::Lease;
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    for cluster in env.clusters() {
        let client = env.client(&cluster.name).await;
        let nodes: Api<Node> = Api::all(client.clone());
        let leases: Api<Lease> = Api::namespaced(client, "kube-node-lease");
        let names: Vec<String> = nodes
            .list(&ListParams::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect();
        assert!(!names.is_empty(), "{} has nodes", cluster.name);
        for name in names {
            let first = eventually(&format!("a Lease for {name}"), 30, || async {
                leases.get_opt(&name).await.ok()??.spec?.renew_time
            })
            .await;
            eventually(&format!("{name}'s Lease renewed"), 30, || async {
                let renewed = leases.get_opt(&name).await.ok()??.spec?.renew_time?;
                (renewed != first).then_some(())
            })
            .await;
        }
    }
}

#[tokio::test]
async fn a_job_completes_or_fails_as_told() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let ns = env.namespace("management").await;
    let jobs: Api<Job> = Api::namespaced(ns.client.clone(), &ns.name);
    for (name, annotations) in [
        ("succeeds", json!({})),
        ("fails", json!({"fleet-testenv/outcome": "failed"})),
    ] {
        jobs.create(
            &PostParams::default(),
            &from_json(json!({
                "metadata": {"name": name},
                "spec": {"backoffLimit": 0, "template": {"metadata": {"annotations": annotations},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "registry.example/run:1"}]}}}
            })),
        )
        .await
        .unwrap_or_else(|e| panic!("creating Job {name}: {e}"));
    }
    for (name, expected, other) in [
        ("succeeds", "Complete", "Failed"),
        ("fails", "Failed", "Complete"),
    ] {
        let status = eventually(&format!("Job {name} to end"), 120, || async {
            let status = serde_json::to_value(jobs.get(name).await.ok()?.status?).ok()?;
            (condition_true(status.get("conditions"), "Complete")
                || condition_true(status.get("conditions"), "Failed"))
            .then_some(status)
        })
        .await;
        assert!(
            condition_true(status.get("conditions"), expected),
            "Job {name}: {status}"
        );
        assert!(
            !condition_true(status.get("conditions"), other),
            "Job {name}: {status}"
        );
    }
}

#[tokio::test]
async fn the_kubeconfig_secret_opens_its_workload_cluster_through_fleet_capi() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let management = env.client("management").await;
    let clients = fleet_capi::workload::WorkloadClients::default();
    let namespace = env.manifest().namespace.clone();
    for workload in &env.clusters()[1..] {
        let secret = workload
            .secret
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no Secret", workload.name));
        assert_eq!(secret, format!("{}-kubeconfig", workload.name));
        let (client, built) = clients
            .for_secret(&management, &namespace, secret, None)
            .await
            .unwrap_or_else(|e| panic!("client from {secret}: {e}"));
        assert!(built);
        // The client reaches that cluster, not another: a namespace made
        // through it is seen by the cluster's own kubeconfig only.
        let marker = format!("t{}-{}-marker", std::process::id(), workload.name);
        Api::<Namespace>::all(client.clone())
            .create(
                &PostParams::default(),
                &from_json(json!({"metadata": {"name": marker}})),
            )
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", workload.name));
        let direct = Api::<Namespace>::all(env.client(&workload.name).await);
        assert!(direct.get(&marker).await.is_ok(), "{}", workload.name);
        let elsewhere = Api::<Namespace>::all(management.clone());
        assert!(
            elsewhere.get(&marker).await.is_err(),
            "not in the management cluster"
        );
        // Unchanged Secret: the client is reused.
        let (_, built) = clients
            .for_secret(&management, &namespace, secret, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!built);
    }
}
