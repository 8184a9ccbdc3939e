//! The post-apply health wait on a real control plane (fleet-testenv,
//! whose kwok nodes run Pods to Ready and end Jobs as told).

use fleet_model::ObjectId;
use fleet_reconcile::apply::{ApplyOptions, apply_staged};
use fleet_reconcile::health::{HealthError, WaitOptions, wait_for};
use serde_json::json;
use std::time::{Duration, Instant};

fn options(timeout: u64) -> WaitOptions {
    WaitOptions {
        expressions: Vec::new().into(),
        discovery: None,
        interval: Duration::from_millis(500),
        timeout: Duration::from_secs(timeout),
    }
}

#[tokio::test]
async fn a_deployment_on_fake_nodes_becomes_healthy() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-1").await;
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": t.name},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.example/web:1.0"}]}}}});
    apply_staged(&t.client, &[deployment], &ApplyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id = ObjectId::new("apps/v1", "Deployment", Some(&t.name), "web");
    wait_for(&t.client, &[id], &options(120))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_failing_job_fails_the_wait_before_the_timeout_and_a_missing_object_times_out() {
    let Some(env) = fleet_testenv::shared() else {
        return;
    };
    let t = env.namespace("workload-2").await;
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": t.name},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"annotations": {"fleet-testenv/outcome": "failed"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "registry.example/run:1"}]}}}});
    apply_staged(&t.client, &[job], &ApplyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let id = ObjectId::new("batch/v1", "Job", Some(&t.name), "migrate");
    let result = wait_for(&t.client, &[id], &options(90)).await;
    let Err(error @ HealthError::Failed(_)) = result else {
        panic!("expected a failed Job, got {result:?}")
    };
    assert_eq!(
        error.to_string(),
        format!(
            "failed early due to stalled resources: [Job/{}/migrate status: 'Failed']",
            t.name
        )
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "failed fast: {:?}",
        started.elapsed()
    );

    let missing = ObjectId::new("v1", "ConfigMap", Some(&t.name), "never");
    let result = wait_for(&t.client, &[missing], &options(1)).await;
    let Err(error @ HealthError::Timeout(_)) = result else {
        panic!("expected a timeout, got {result:?}")
    };
    assert_eq!(
        error.to_string(),
        format!(
            "timeout waiting for: [ConfigMap/{}/never status: 'NotFound']",
            t.name
        )
    );
}
