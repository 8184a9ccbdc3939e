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

use crate::apply::{
    RECONCILE_KEY, Resolver, SSA_KEY, annotation, api_for, metadata_value, with_namespace,
};
use crate::drift::has_drifted;
use crate::inventory::Inventory;
use crate::reconcile::{
    LocalApply, LocalApplyError, ReconcileError, SourceTree, build_objects, live_kustomization,
};
use fleet_model::ObjectId;
use fleet_model::flux::kustomization::Kustomization;
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
    /// With `--recursive`: the Kustomizations of the build that exist in
    /// the cluster and have differences of their own, each with its report.
    pub children: Vec<(ObjectId, DiffReport)>,
}

impl DiffReport {
    /// Whether nothing differs, here or in any child.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.children.iter().all(|(_, c)| c.is_empty())
    }
}

impl fmt::Display for DiffReport {
    /// `flux diff`'s shape: created and drifted objects, then each changed
    /// child Kustomization (`📁 Kustomization/ns/name changed` and its own
    /// report), then the deletions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entry = |f: &mut fmt::Formatter<'_>, e: &DiffEntry| -> fmt::Result {
            writeln!(f, "► {} {}", e.id, e.action)?;
            if let Some(diff) = &e.diff {
                write!(f, "{diff}")?;
            }
            Ok(())
        };
        for e in self
            .entries
            .iter()
            .filter(|e| e.action != DiffAction::Deleted)
        {
            entry(f, e)?;
        }
        for (id, child) in self.children.iter().filter(|(_, c)| !c.is_empty()) {
            writeln!(f, "📁 {id} changed")?;
            write!(f, "{child}")?;
        }
        for e in self
            .entries
            .iter()
            .filter(|e| e.action == DiffAction::Deleted)
        {
            entry(f, e)?;
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
    let defined_namespaces: std::collections::BTreeSet<&str> = objects
        .iter()
        .filter(|o| {
            o.get("kind").and_then(Value::as_str) == Some("Namespace")
                && o.get("apiVersion").and_then(Value::as_str) == Some("v1")
        })
        .filter_map(|o| o.pointer("/metadata/name").and_then(Value::as_str))
        .collect();
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
        let resolved = resolver.resolve(&id).await;
        // The id as the apply records it (no namespace when cluster-scoped).
        let id = with_namespace(&id, resolved.as_ref().map(|(_, caps)| caps.scope.clone()));
        desired.push(id.clone());
        let excluded = |o: &Value| {
            metadata_value(o, RECONCILE_KEY) == Some("disabled")
                || annotation(o, SSA_KEY) == Some("Ignore")
        };
        if excluded(object) {
            continue;
        }
        let Some((resource, caps)) = resolved else {
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
        let dry_run = match api.patch(&id.name, &params, &Patch::Apply(object)).await {
            Ok(dry_run) => dry_run,
            // Its Namespace comes with this build: it would be created.
            Err(kube::Error::Api(status))
                if status.code == 404
                    && live.is_none()
                    && id
                        .namespace
                        .as_deref()
                        .is_some_and(|ns| defined_namespaces.contains(ns)) =>
            {
                report.entries.push(DiffEntry {
                    id,
                    action: DiffAction::Created,
                    diff: None,
                });
                continue;
            }
            Err(e) => return Err(kube_error("dry-run", e)),
        };
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
    diff_local_recursive(client, request, None).await
}

/// Where `--recursive` finds the sources of child Kustomizations:
/// `Kind/namespace/name` (Flux's `--local-sources`) to a local directory.
/// A child reading the same source as its parent resolves against the
/// parent's source root (the `--path` directory with the parent's
/// `spec.path` taken off) when the map does not name it.
pub type LocalSources = std::collections::BTreeMap<String, std::path::PathBuf>;

/// [`diff_local`], and with `local_sources` also every Kustomization of
/// the build that exists in the cluster, built from its local source and
/// diffed in turn (`flux diff ks --recursive`), each once.
pub async fn diff_local_recursive(
    client: &kube::Client,
    request: &LocalApply,
    local_sources: Option<&LocalSources>,
) -> Result<DiffReport, LocalApplyError> {
    let (ks, _live, dir) = crate::reconcile::local_target(client, request).await?;
    let mut visited = std::collections::BTreeSet::new();
    diff_kustomization(
        client,
        ks,
        dir,
        &request.options,
        local_sources,
        &mut visited,
    )
    .await
    .map_err(LocalApplyError::Reconcile)
}

/// The `Kind/namespace/name` of the source `ks` reads.
fn source_key(ks: &Kustomization) -> String {
    let r = &ks.spec.source_ref;
    let kind = serde_json::to_value(r.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let namespace = r
        .namespace
        .clone()
        .or_else(|| ks.metadata.namespace.clone())
        .unwrap_or_default();
    format!("{kind}/{namespace}/{}", r.name)
}

fn diff_kustomization<'a>(
    client: &'a kube::Client,
    ks: Kustomization,
    dir: std::path::PathBuf,
    options: &'a crate::reconcile::ReconcileOptions,
    local_sources: Option<&'a LocalSources>,
    visited: &'a mut std::collections::BTreeSet<(String, String)>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<DiffReport, ReconcileError>> + 'a>> {
    Box::pin(async move {
        let namespace = ks.metadata.namespace.clone().unwrap_or_default();
        let name = ks.metadata.name.clone().unwrap_or_default();
        visited.insert((namespace, name));
        let source = SourceTree {
            fs: &fleet_kustomize::fs::DiskFs,
            dir: dir.to_string_lossy().into_owned(),
            revision: crate::reconcile::local_revision(&dir),
        };
        // Objects go where the Kustomization sends them: a workload
        // cluster through its kubeConfig Secret, as the service account.
        let target = crate::target::target_client(client, &ks, &options.access).await?;
        let (objects, _) = build_objects(client, &ks, &source, options).await?;
        let previous = ks
            .status
            .as_ref()
            .and_then(|s| s.inventory.as_ref())
            .and_then(|i| Inventory::from_status(i).ok());
        let mut report =
            diff_objects(&target, &objects, previous.as_ref(), &options.field_manager).await?;
        let Some(local_sources) = local_sources else {
            return Ok(report);
        };
        for object in &objects {
            let is_kustomization = object.get("kind").and_then(Value::as_str)
                == Some("Kustomization")
                && object
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with("kustomize.toolkit.fluxcd.io/"));
            if !is_kustomization {
                continue;
            }
            let mut child: Kustomization = serde_json::from_value(object.clone()).map_err(|e| {
                ReconcileError::Inputs(format!("a Kustomization of the build: {e}"))
            })?;
            let child_ns = child.metadata.namespace.clone().unwrap_or_default();
            let child_name = child.metadata.name.clone().unwrap_or_default();
            if visited.contains(&(child_ns.clone(), child_name.clone())) {
                continue;
            }
            // Only Kustomizations the cluster has (a created one has
            // nothing to compare with yet), with their stored state.
            let Some(live) = live_kustomization(&target, &child_ns, &child_name)
                .await
                .map_err(|e| {
                    ReconcileError::Inputs(format!(
                        "reading Kustomization {child_ns}/{child_name}: {e}"
                    ))
                })?
            else {
                continue;
            };
            child.status = live.status;
            child.metadata.generation = live.metadata.generation;
            let key = source_key(&child);
            let root = match local_sources.get(&key) {
                Some(path) => path.clone(),
                None if key == source_key(&ks) => {
                    fleet_kustomize::flux::local::source_root_of(&dir, ks.spec.path())
                        .map(std::path::PathBuf::from)
                        .map_err(|e| ReconcileError::Inputs(e.to_string()))?
                }
                None => {
                    return Err(ReconcileError::Inputs(format!(
                        "cannot get local path for {key} of kustomization {child_name}: name it with --local-sources {key}=DIR"
                    )));
                }
            };
            let child_dir = root.join(child.spec.path().trim_start_matches("./"));
            let id = ObjectId::new(
                object
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                "Kustomization",
                Some(child_ns.as_str()),
                &child_name,
            );
            let child_report = diff_kustomization(
                &target,
                child,
                child_dir,
                options,
                Some(local_sources),
                visited,
            )
            .await?;
            report.children.push((id, child_report));
        }
        Ok(report)
    })
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
