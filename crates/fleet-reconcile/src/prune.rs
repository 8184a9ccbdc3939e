//! Pruning: deleting what the last apply recorded and the new build no
//! longer has, as kustomize-controller does it (fluxcd/pkg `ssa`
//! `DeleteAll`): in reverse apply order, only while the live object still
//! carries this Kustomization's owner labels, never when it is marked
//! `prune: disabled` (or kept out of reconciling), and an object already
//! gone counts as deleted.

use crate::apply::{
    DiscoveryCache, RECONCILE_KEY, Resolver, SSA_KEY, annotation, api_for, metadata_value,
};
use crate::changeset::{Action, ChangeSet};
use crate::order::compare;
use fleet_model::ObjectId;
use kube::Client;
use kube::api::DeleteParams;

/// Label or annotation that, set to `disabled`, keeps an object from being pruned.
pub const PRUNE_KEY: &str = "kustomize.toolkit.fluxcd.io/prune";
/// Owner label naming the Kustomization.
pub const NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
/// Owner label naming the Kustomization's namespace.
pub const NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";

/// The Kustomization whose objects are pruned: only objects labelled with
/// it are deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The Kustomization's name.
    pub name: String,
    /// The Kustomization's namespace.
    pub namespace: String,
}

/// Pruning failed for some objects; the others were handled.
#[derive(Debug, thiserror::Error)]
#[error("delete failed, errors: {}", .errors.join("; "))]
pub struct PruneError {
    /// What happened to the objects that were handled.
    pub changes: ChangeSet,
    /// The objects that could not be deleted (to keep in the inventory, so
    /// the next reconcile tries again).
    pub survivors: Vec<ObjectId>,
    /// One message per failure.
    pub errors: Vec<String>,
}

/// Deletes `stale` objects (background propagation) that still belong to
/// `owner`. Objects another Kustomization adopted, or marked to be kept, are
/// reported `unchanged`.
pub async fn prune(
    client: &Client,
    stale: &[ObjectId],
    owner: &Owner,
) -> Result<ChangeSet, PruneError> {
    prune_with(client, stale, owner, None).await
}

/// [`prune`] with the cluster's [`DiscoveryCache`].
pub async fn prune_with(
    client: &Client,
    stale: &[ObjectId],
    owner: &Owner,
    discovery: Option<std::sync::Arc<DiscoveryCache>>,
) -> Result<ChangeSet, PruneError> {
    let mut order: Vec<&ObjectId> = stale.iter().collect();
    order.sort_by(|a, b| compare(b, a));
    let mut resolver = Resolver::with_cache(client.clone(), discovery);
    let mut changes = ChangeSet::default();
    let mut survivors = Vec::new();
    let mut errors = Vec::new();
    for id in order {
        let Some((resource, caps)) = resolver.resolve(id).await else {
            // The kind is no longer served (its CRD went first): nothing is left to delete.
            changes.push(id.clone(), Action::Deleted);
            continue;
        };
        let api = api_for(client, &resource, &caps, id);
        let live = match api.get_opt(&id.name).await {
            Ok(Some(live)) => live,
            Ok(None) => {
                changes.push(id.clone(), Action::Deleted);
                continue;
            }
            Err(e) => {
                errors.push(format!("{id} query failed, error: {e}"));
                survivors.push(id.clone());
                continue;
            }
        };
        let live = serde_json::to_value(live).unwrap_or_default();
        let label = |key: &str| {
            live.pointer("/metadata/labels")
                .and_then(|l| l.get(key))
                .and_then(|v| v.as_str())
        };
        let owned = label(NAME_LABEL) == Some(owner.name.as_str())
            && label(NAMESPACE_LABEL) == Some(owner.namespace.as_str());
        let kept = metadata_value(&live, PRUNE_KEY) == Some("disabled")
            || metadata_value(&live, RECONCILE_KEY) == Some("disabled")
            || annotation(&live, SSA_KEY) == Some("Ignore");
        if !owned || kept {
            changes.push(id.clone(), Action::Unchanged);
            continue;
        }
        match api.delete(&id.name, &DeleteParams::background()).await {
            Ok(_) => changes.push(id.clone(), Action::Deleted),
            Err(kube::Error::Api(s)) if s.code == 404 => changes.push(id.clone(), Action::Deleted),
            Err(e) => {
                errors.push(format!("{id} delete failed, error: {e}"));
                survivors.push(id.clone());
            }
        }
    }
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(PruneError {
            changes,
            survivors,
            errors,
        })
    }
}
