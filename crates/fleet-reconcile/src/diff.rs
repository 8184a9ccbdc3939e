//! `fleet diff ks`: what a reconcile of a local tree would change, found
//! by server-side dry-run against the live cluster, in `flux diff
//! kustomization`'s shape (`► Deployment/apps/web drifted` with a diff,
//! `created`, and `deleted` for what the stored inventory has and the
//! build no longer does). Nothing is changed on the cluster.
//!
//! ```no_run
//! # async fn run(client: kube::Client) -> Result<(), fleet_reconcile::reconcile::LocalApplyError> {
//! use fleet_reconcile::diff::diff_local;
//! use fleet_reconcile::reconcile::{LocalApply, ReconcileOptions};
//! let request = LocalApply {
//!     name: "apps".into(),
//!     namespace: "flux-system".into(),
//!     path: "clusters/staging/apps".into(),
//!     kustomization_file: None,
//!     options: ReconcileOptions::default(),
//! };
//! let report = diff_local(&client, &request).await?;
//! print!("{report}");
//! # Ok(()) }
//! ```

use crate::apply::{RECONCILE_KEY, Resolver, SSA_KEY, annotation, api_for, metadata_value};
use crate::drift::has_drifted;
use crate::inventory::Inventory;
use crate::reconcile::{LocalApply, LocalApplyError, ReconcileError, SourceTree, build_objects};
use fleet_model::ObjectId;
use kube::api::{Patch, PatchParams};
use serde_json::Value;
use std::fmt;

/// What a reconcile would do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffAction {
    /// It does not exist and would be created.
    Created,
    /// It differs from the desired state and would be applied.
    Drifted,
    /// The stored inventory has it, the build does not: it would be pruned.
    Deleted,
}

impl fmt::Display for DiffAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiffAction::Created => "created",
            DiffAction::Drifted => "drifted",
            DiffAction::Deleted => "deleted",
        })
    }
}

/// One difference.
#[derive(Debug, Clone)]
pub struct DiffEntry {
    /// The object.
    pub id: ObjectId,
    /// What would happen.
    pub action: DiffAction,
    /// For a drifted object, a unified diff of the live object and the
    /// dry-run result (server-managed metadata left out, Secret values
    /// masked).
    pub diff: Option<String>,
}

/// Every difference, in build order, then the deletions.
#[derive(Debug, Clone, Default)]
pub struct DiffReport {
    /// The differences; empty when the cluster matches the tree.
    pub entries: Vec<DiffEntry>,
}

impl fmt::Display for DiffReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            writeln!(f, "► {} {}", e.id, e.action)?;
            if let Some(diff) = &e.diff {
                write!(f, "{diff}")?;
            }
        }
        Ok(())
    }
}

/// Dry-runs `objects` against the cluster and compares with the live
/// objects; `previous` is the stored inventory (its objects the build
/// lacks are reported `deleted` while they exist).
pub async fn diff_objects(
    client: &kube::Client,
    objects: &[Value],
    previous: Option<&Inventory>,
    field_manager: &str,
) -> Result<DiffReport, ReconcileError> {
    let mut resolver = Resolver::new(client.clone());
    let mut report = DiffReport::default();
    let mut desired = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        let field = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or("");
        if field("/kind").is_empty() || field("/metadata/name").is_empty() {
            return Err(ReconcileError::Inputs(format!(
                "object {index} of the build has no kind or metadata.name"
            )));
        }
        let namespace = Some(field("/metadata/namespace")).filter(|n| !n.is_empty());
        let id = ObjectId::new(
            field("/apiVersion"),
            field("/kind"),
            namespace,
            field("/metadata/name"),
        );
        desired.push(id.clone());
        let excluded = |o: &Value| {
            metadata_value(o, RECONCILE_KEY) == Some("disabled")
                || annotation(o, SSA_KEY) == Some("Ignore")
        };
        if excluded(object) {
            continue;
        }
        let Some((resource, caps)) = resolver.resolve(&id).await else {
            // The kind is not served yet (its CRD comes with this build).
            report.entries.push(DiffEntry {
                id,
                action: DiffAction::Created,
                diff: None,
            });
            continue;
        };
        let api = api_for(client, &resource, &caps, &id);
        let kube_error =
            |what: &str, e: kube::Error| ReconcileError::Inputs(format!("{id} {what} failed: {e}"));
        let live = match api.get_opt(&id.name).await {
            Ok(live) => live
                .map(serde_json::to_value)
                .transpose()
                .map_err(|e| ReconcileError::Inputs(format!("{id}: {e}")))?,
            Err(e) => return Err(kube_error("reading the live object", e)),
        };
        if live.as_ref().is_some_and(excluded)
            || (live.is_some() && annotation(object, SSA_KEY) == Some("IfNotPresent"))
        {
            continue;
        }
        let params = PatchParams::apply(field_manager).force().dry_run();
        let dry_run = api
            .patch(&id.name, &params, &Patch::Apply(object))
            .await
            .map_err(|e| kube_error("dry-run", e))?;
        let dry_run = serde_json::to_value(dry_run)
            .map_err(|e| ReconcileError::Inputs(format!("{id}: {e}")))?;
        match live {
            None => report.entries.push(DiffEntry {
                id,
                action: DiffAction::Created,
                diff: None,
            }),
            Some(live) if has_drifted(&live, &dry_run) => {
                let diff = unified(&live, &dry_run, &id);
                report.entries.push(DiffEntry {
                    id,
                    action: DiffAction::Drifted,
                    diff: Some(diff),
                });
            }
            Some(_) => {}
        }
    }
    if let Some(previous) = previous {
        let new = Inventory::from_ids(desired);
        for id in previous.stale_against(&new) {
            let exists = match resolver.resolve(id).await {
                Some((resource, caps)) => api_for(client, &resource, &caps, id)
                    .get_opt(&id.name)
                    .await
                    .map_err(|e| ReconcileError::Inputs(format!("{id}: {e}")))?
                    .is_some(),
                None => false,
            };
            if exists {
                report.entries.push(DiffEntry {
                    id: id.clone(),
                    action: DiffAction::Deleted,
                    diff: None,
                });
            }
        }
    }
    Ok(report)
}

/// The live object and the dry-run result as YAML, server-managed
/// metadata and `status` left out, Secret values masked, as a unified diff.
fn unified(live: &Value, dry_run: &Value, id: &ObjectId) -> String {
    let clean = |v: &Value| {
        let mut v = v.clone();
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in [
                "managedFields",
                "resourceVersion",
                "generation",
                "uid",
                "creationTimestamp",
            ] {
                meta.remove(key);
            }
        }
        if let Some(map) = v.as_object_mut() {
            map.remove("status");
        }
        v
    };
    let (mut before, mut after) = (clean(live), clean(dry_run));
    if id.kind == "Secret" && id.group.is_empty() {
        mask_secret_pair(&mut before, &mut after);
    }
    let text = |v: &Value| fleet_model::yaml::to_string(&fleet_model::Value::from(v.clone()));
    let (before, after) = (text(&before), text(&after));
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header("live", "merged")
        .to_string()
}

/// Secret values replaced by a mask: the live side's all `*****`, the
/// merged side's `***** (changed)` where the value differs, so a changed
/// value shows as a changed line without showing either value.
fn mask_secret_pair(before: &mut Value, after: &mut Value) {
    for field in ["data", "stringData"] {
        let old = before.get(field).cloned();
        if let Some(map) = before.get_mut(field).and_then(Value::as_object_mut) {
            for value in map.values_mut() {
                *value = Value::String("*****".into());
            }
        }
        if let Some(map) = after.get_mut(field).and_then(Value::as_object_mut) {
            for (key, value) in map.iter_mut() {
                let same = old.as_ref().and_then(|o| o.get(key)) == Some(&*value);
                *value = Value::String(if same { "*****" } else { "***** (changed)" }.into());
            }
        }
    }
}

/// `fleet diff ks`: builds the local tree as [`crate::reconcile::apply_local`]
/// would, then dry-runs it against the cluster and reports the
/// differences; with the Kustomization in the cluster, its stored
/// inventory gives the deletions. A Kustomization with `spec.kubeConfig`
/// is diffed against its workload cluster (`flux diff` skips those).
pub async fn diff_local(
    client: &kube::Client,
    request: &LocalApply,
) -> Result<DiffReport, LocalApplyError> {
    let (ks, _live, dir) = crate::reconcile::local_target(client, request).await?;
    let source = SourceTree {
        fs: &fleet_kustomize::fs::DiskFs,
        dir: dir.to_string_lossy().into_owned(),
        revision: crate::reconcile::local_revision(&dir),
    };
    let diff = async {
        // Objects go where the Kustomization sends them: a workload
        // cluster through its kubeConfig Secret, as the service account.
        let target = crate::target::target_client(client, &ks, &request.options.access).await?;
        let (objects, _) = build_objects(client, &ks, &source, &request.options).await?;
        let client = &target;
        let previous = ks
            .status
            .as_ref()
            .and_then(|s| s.inventory.as_ref())
            .and_then(|i| Inventory::from_status(i).ok());
        diff_objects(
            client,
            &objects,
            previous.as_ref(),
            &request.options.field_manager,
        )
        .await
    };
    diff.await.map_err(LocalApplyError::Reconcile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_drifted_secret_shows_which_values_changed_but_not_the_values() {
        let live = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "a", "resourceVersion": "5", "uid": "u",
                         "managedFields": [{"manager": "fleet"}]},
            "data": {"kept": "a2VwdA==", "rotated": "b2xk"}});
        let dry_run = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "a", "resourceVersion": "5", "uid": "u"},
            "data": {"kept": "a2VwdA==", "rotated": "bmV3"}});
        let id = ObjectId::new("v1", "Secret", Some("a"), "s");
        let diff = unified(&live, &dry_run, &id);
        assert!(diff.contains("-  rotated: '*****'\n"), "{diff}");
        assert!(diff.contains("+  rotated: '***** (changed)'\n"), "{diff}");
        assert!(!diff.contains("kept: '***** (changed)'"), "{diff}");
        for secret in ["b2xk", "bmV3", "a2VwdA=="] {
            assert!(!diff.contains(secret), "{diff}");
        }
        assert!(
            !diff.contains("managedFields") && !diff.contains("resourceVersion"),
            "{diff}"
        );
    }
}
