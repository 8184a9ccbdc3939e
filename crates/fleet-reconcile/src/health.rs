//! Health: kstatus's rules (cli-utils `pkg/kstatus/status`) with Flux's
//! Job override, and the wait kustomize-controller runs after an apply
//! (poll until every object is Current, fail fast on a Failed one, give up
//! at the timeout with Flux's message).

use crate::apply::{Resolver, api_for};
use crate::cel_expr::HealthExprs;
use fleet_model::ObjectId;
use kube::Client;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An object's kstatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Reconciled and healthy.
    Current,
    /// Still getting there.
    InProgress,
    /// Stuck or failed.
    Failed,
    /// Being deleted.
    Terminating,
    /// Not in the cluster.
    NotFound,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Current => "Current",
            Status::InProgress => "InProgress",
            Status::Failed => "Failed",
            Status::Terminating => "Terminating",
            Status::NotFound => "NotFound",
        })
    }
}

fn int(object: &Value, pointer: &str, default: i64) -> i64 {
    object
        .pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(default)
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The condition of `kind` in `status.conditions`: (status, reason).
fn condition<'a>(object: &'a Value, kind: &str) -> Option<(&'a str, &'a str)> {
    object
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        .map(|c| {
            (
                c.get("status").and_then(Value::as_str).unwrap_or(""),
                c.get("reason").and_then(Value::as_str).unwrap_or(""),
            )
        })
}

fn in_progress(message: String) -> (Status, String) {
    (Status::InProgress, message)
}

/// What holds for every object before its kind's rules (kstatus's generic
/// ones, and the `healthCheckExprs` gate): being deleted is Terminating, and
/// a generation the controller has not observed yet is InProgress.
pub(crate) fn not_yet_observed(object: &Value) -> Option<(Status, String)> {
    if object
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        return Some((
            Status::Terminating,
            "Resource scheduled for deletion".to_string(),
        ));
    }
    let generation = object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)?;
    let observed = object
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64)?;
    (generation != observed).then(|| {
        in_progress(format!(
            "{} generation is {generation}, but latest observed generation is {observed}",
            text(object, "/kind")
        ))
    })
}

/// The kstatus of a live object, and why.
///
/// ```
/// use fleet_reconcile::health::{status_of, Status};
/// let job = serde_json::json!({"apiVersion": "batch/v1", "kind": "Job",
///     "metadata": {"generation": 1}, "status": {"conditions": [{"type": "Failed", "status": "True"}]}});
/// assert_eq!(status_of(&job).0, Status::Failed);
/// ```
pub fn status_of(object: &Value) -> (Status, String) {
    if let Some(decided) = not_yet_observed(object) {
        return decided;
    }
    let kind = text(object, "/kind");
    let group = text(object, "/apiVersion")
        .rsplit_once('/')
        .map_or("", |(g, _)| g);
    let generation = object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64);
    let observed = object
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64);
    if let Some(("True", reason)) = condition(object, "Reconciling") {
        return in_progress(format!("Reconciling: {reason}"));
    }
    if let Some(("True", reason)) = condition(object, "Stalled") {
        return (Status::Failed, format!("Stalled: {reason}"));
    }
    match (group, kind) {
        ("apps" | "extensions", "Deployment") => deployment(object),
        ("apps", "StatefulSet") => stateful_set(object),
        ("apps" | "extensions", "DaemonSet") => daemon_set(object, generation, observed),
        ("", "Pod") => pod(object),
        ("", "PersistentVolumeClaim") => {
            let phase = object
                .pointer("/status/phase")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            if phase == "Bound" {
                (Status::Current, "PVC is Bound".to_string())
            } else {
                in_progress(format!("PVC is not Bound. phase: {phase}"))
            }
        }
        ("", "Service") => {
            let load_balancer = text(object, "/spec/type") == "LoadBalancer";
            if load_balancer && text(object, "/spec/clusterIP").is_empty() {
                in_progress("ClusterIP not set".to_string())
            } else {
                (Status::Current, "Service is ready".to_string())
            }
        }
        ("batch", "Job") => job(object),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(object),
        ("", "Secret" | "ConfigMap") | ("batch", "CronJob") | ("policy", "PodDisruptionBudget") => {
            (Status::Current, "Resource is always ready".to_string())
        }
        _ => match condition(object, "Ready") {
            Some(("True", _)) => (Status::Current, "Resource is Ready".to_string()),
            Some((_, reason)) => in_progress(format!("Ready: {reason}")),
            None => (Status::Current, "Resource is current".to_string()),
        },
    }
}

fn deployment(o: &Value) -> (Status, String) {
    if let Some((_, "ProgressDeadlineExceeded")) = condition(o, "Progressing") {
        return (Status::Failed, "Progress deadline exceeded".to_string());
    }
    let spec = int(o, "/spec/replicas", 1);
    let replicas = int(o, "/status/replicas", 0);
    let updated = int(o, "/status/updatedReplicas", 0);
    let ready = int(o, "/status/readyReplicas", 0);
    let available = int(o, "/status/availableReplicas", 0);
    if spec > replicas {
        return in_progress(format!("Replicas: {replicas}/{spec}"));
    }
    if spec > updated {
        return in_progress(format!("Updated: {updated}/{spec}"));
    }
    if replicas > spec {
        return in_progress(format!("Pending termination: {}", replicas - spec));
    }
    if updated > available {
        return in_progress(format!("Available: {available}/{updated}"));
    }
    if spec > ready {
        return in_progress(format!("Ready: {ready}/{spec}"));
    }
    let no_deadline = o.pointer("/spec/progressDeadlineSeconds").is_none();
    let progressing =
        no_deadline || condition(o, "Progressing") == Some(("True", "NewReplicaSetAvailable"));
    if !progressing {
        return in_progress("ReplicaSet not Available".to_string());
    }
    if !matches!(condition(o, "Available"), Some(("True", _))) {
        return in_progress("Deployment not Available".to_string());
    }
    (
        Status::Current,
        format!("Deployment is available. Replicas: {replicas}"),
    )
}

fn stateful_set(o: &Value) -> (Status, String) {
    if text(o, "/spec/updateStrategy/type") == "OnDelete" {
        return (
            Status::Current,
            "StatefulSet is using the ondelete update strategy".to_string(),
        );
    }
    let spec = int(o, "/spec/replicas", 1);
    let ready = int(o, "/status/readyReplicas", 0);
    let current = int(o, "/status/currentReplicas", 0);
    let updated = int(o, "/status/updatedReplicas", 0);
    let replicas = int(o, "/status/replicas", 0);
    let partition = int(o, "/spec/updateStrategy/rollingUpdate/partition", -1);
    if spec > replicas {
        return in_progress(format!("Replicas: {replicas}/{spec}"));
    }
    if spec > ready {
        return in_progress(format!("Ready: {ready}/{spec}"));
    }
    if replicas > spec {
        return in_progress(format!("Pending termination: {}", replicas - spec));
    }
    if partition != -1 {
        if updated < spec - partition {
            return in_progress(format!("updated: {updated}/{}", spec - partition));
        }
        return (
            Status::Current,
            format!("Partition rollout complete. updated: {updated}"),
        );
    }
    if spec > current {
        return in_progress(format!("current: {current}/{spec}"));
    }
    if text(o, "/status/currentRevision") != text(o, "/status/updateRevision") {
        return in_progress("Waiting for updated revision to match current".to_string());
    }
    (
        Status::Current,
        format!("All replicas scheduled as expected. Replicas: {replicas}"),
    )
}

fn daemon_set(o: &Value, generation: Option<i64>, observed: Option<i64>) -> (Status, String) {
    if generation.is_none() {
        return in_progress("DaemonSet metadata.generation not found".to_string());
    }
    if observed.is_none() {
        return in_progress("DaemonSet status.observedGeneration not found".to_string());
    }
    let desired = int(o, "/status/desiredNumberScheduled", -1);
    if desired == -1 {
        return in_progress("Missing .status.desiredNumberScheduled".to_string());
    }
    for (field, label) in [
        ("/status/currentNumberScheduled", "Current"),
        ("/status/updatedNumberScheduled", "Updated"),
        ("/status/numberAvailable", "Available"),
        ("/status/numberReady", "Ready"),
    ] {
        let n = int(o, field, 0);
        if desired > n {
            return in_progress(format!("{label}: {n}/{desired}"));
        }
    }
    (
        Status::Current,
        format!("All replicas scheduled as expected. Replicas: {desired}"),
    )
}

fn pod(o: &Value) -> (Status, String) {
    match text(o, "/status/phase") {
        "Succeeded" => (
            Status::Current,
            "Pod has completed successfully".to_string(),
        ),
        "Failed" => (
            Status::Current,
            "Pod has completed, but not successfully".to_string(),
        ),
        "Running" if matches!(condition(o, "Ready"), Some(("True", _))) => {
            (Status::Current, "Pod is Ready".to_string())
        }
        "Running" => {
            let crashing: Vec<&str> = o
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| {
                    c.pointer("/state/waiting/reason").and_then(Value::as_str)
                        == Some("CrashLoopBackOff")
                })
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect();
            if crashing.is_empty() {
                in_progress("Pod is running but is not Ready".to_string())
            } else {
                (
                    Status::Failed,
                    format!("Containers in CrashLoop state: {}", crashing.join(",")),
                )
            }
        }
        _ => in_progress("Pod is in the Pending phase".to_string()),
    }
}

/// Flux's Job rule (fluxcd/pkg `runtime/statusreaders/job.go`): done only
/// when Complete, failed when Failed; a suspended Job is current.
fn job(o: &Value) -> (Status, String) {
    if o.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return (Status::Current, "Job is suspended".to_string());
    }
    if let Some(("True", reason)) = condition(o, "Failed") {
        return (
            Status::Failed,
            format!(
                "Job Failed. failed: {}, reason: {reason}",
                int(o, "/status/failed", 0)
            ),
        );
    }
    if let Some(("True", _)) = condition(o, "Complete") {
        return (
            Status::Current,
            format!(
                "Job Completed. succeeded: {}",
                int(o, "/status/succeeded", 0)
            ),
        );
    }
    in_progress("Job in progress".to_string())
}

fn crd(o: &Value) -> (Status, String) {
    if let Some(("False", reason)) = condition(o, "NamesAccepted") {
        return (Status::Failed, format!("Names not accepted: {reason}"));
    }
    match condition(o, "Established") {
        Some(("True", _)) => (Status::Current, "CRD is established".to_string()),
        Some(("False", reason)) if reason != "Installing" => {
            (Status::Failed, format!("CRD is not established: {reason}"))
        }
        _ => in_progress("Install in progress".to_string()),
    }
}

/// How to wait.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// How often to look (Flux: 5 s).
    pub interval: Duration,
    /// When to give up (`spec.timeout`, else interval − 30 s, at least 30 s).
    pub timeout: Duration,
    /// `healthCheckExprs`: the kinds whose health CEL decides instead of
    /// kstatus.
    pub expressions: Arc<[HealthExprs]>,
    /// Kinds already discovered on this cluster.
    pub discovery: Option<Arc<crate::apply::DiscoveryCache>>,
}

/// Why the wait ended without every object Current.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// Some objects were still not Current at the timeout.
    #[error("timeout waiting for: [{}]", .0.join(", "))]
    Timeout(Vec<String>),
    /// An object Failed; the wait stopped early.
    #[error("failed early due to stalled resources: [{}]", .0.join(", "))]
    Failed(Vec<String>),
}

fn entry(id: &ObjectId, status: Status) -> String {
    format!("{id} status: '{status}'")
}

/// Waits until every object in `ids` is Current (a Job only once Complete),
/// stopping early when one is Failed.
pub async fn wait_for(
    client: &Client,
    ids: &[ObjectId],
    options: &WaitOptions,
) -> Result<(), HealthError> {
    let mut resolver = Resolver::with_cache(client.clone(), options.discovery.clone());
    let started = Instant::now();
    loop {
        let mut pending = Vec::new();
        let mut failed = Vec::new();
        for id in ids {
            let status = match resolver.resolve(id).await {
                None => Status::NotFound,
                Some((resource, caps)) => match api_for(client, &resource, &caps, id)
                    .get_opt(&id.name)
                    .await
                {
                    Ok(Some(live)) => {
                        let live = serde_json::to_value(live).unwrap_or_default();
                        let api_version = id.api_version();
                        match options
                            .expressions
                            .iter()
                            .find(|e| e.applies_to(&api_version, &id.kind))
                        {
                            Some(expressions) => expressions.status(&live).0,
                            None => status_of(&live).0,
                        }
                    }
                    Ok(None) => Status::NotFound,
                    Err(_) => Status::InProgress,
                },
            };
            match status {
                Status::Current => {}
                Status::Failed => failed.push(entry(id, status)),
                other => pending.push(entry(id, other)),
            }
        }
        if !failed.is_empty() {
            return Err(HealthError::Failed(failed));
        }
        if pending.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= options.timeout {
            return Err(HealthError::Timeout(pending));
        }
        tokio::time::sleep(
            options
                .interval
                .min(options.timeout.saturating_sub(started.elapsed())),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployments_are_current_only_when_every_replica_is_available() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"generation": 2}, "spec": {"replicas": 2, "progressDeadlineSeconds": 600},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1,
                "conditions": [{"type": "Available", "status": "False"}, {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]}});
        assert_eq!(
            status_of(&d),
            (Status::InProgress, "Available: 1/2".to_string())
        );
        d["status"]["readyReplicas"] = json!(2);
        d["status"]["availableReplicas"] = json!(2);
        assert_eq!(status_of(&d).1, "ReplicaSet not Available");
        d["status"]["conditions"] = json!([{"type": "Available", "status": "True"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]);
        assert_eq!(
            status_of(&d),
            (
                Status::Current,
                "Deployment is available. Replicas: 2".to_string()
            )
        );
        d["metadata"]["generation"] = json!(3);
        assert_eq!(
            status_of(&d).1,
            "Deployment generation is 3, but latest observed generation is 2"
        );
        d["metadata"]["generation"] = json!(2);
        d["status"]["conditions"] = json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]);
        assert_eq!(status_of(&d).0, Status::Failed);
    }

    #[test]
    fn jobs_are_done_only_when_complete_as_flux_overrides() {
        let running = json!({"apiVersion": "batch/v1", "kind": "Job", "status": {"active": 1}});
        assert_eq!(status_of(&running).0, Status::InProgress);
        let complete = json!({"apiVersion": "batch/v1", "kind": "Job",
            "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(status_of(&complete).0, Status::Current);
        let suspended = json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {"suspend": true}});
        assert_eq!(status_of(&suspended).0, Status::Current);
    }

    #[test]
    fn generic_conditions_decide_for_unknown_kinds() {
        let ks = |conditions: Value| {
            json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"generation": 1}, "status": {"observedGeneration": 1, "conditions": conditions}})
        };
        assert_eq!(
            status_of(&ks(json!([{"type": "Ready", "status": "True"}]))).0,
            Status::Current
        );
        assert_eq!(
            status_of(&ks(
                json!([{"type": "Ready", "status": "False", "reason": "BuildFailed"}])
            ))
            .0,
            Status::InProgress
        );
        assert_eq!(
            status_of(&ks(
                json!([{"type": "Stalled", "status": "True", "reason": "X"}])
            ))
            .0,
            Status::Failed
        );
        assert_eq!(
            status_of(&ks(
                json!([{"type": "Reconciling", "status": "True", "reason": "Progressing"}])
            ))
            .0,
            Status::InProgress
        );
        assert_eq!(status_of(&ks(json!([]))).0, Status::Current);
        let deleting = json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}});
        assert_eq!(status_of(&deleting).0, Status::Terminating);
    }

    #[test]
    fn pods_pvcs_services_and_crds() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running",
            "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(
            status_of(&pod),
            (
                Status::Failed,
                "Containers in CrashLoop state: app".to_string()
            )
        );
        let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}});
        assert_eq!(status_of(&pvc).0, Status::InProgress);
        let lb = json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}});
        assert_eq!(status_of(&lb).0, Status::InProgress);
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "status": {"conditions": [{"type": "NamesAccepted", "status": "False", "reason": "ListKindConflict"}]}});
        assert_eq!(status_of(&crd).0, Status::Failed);
    }
}
