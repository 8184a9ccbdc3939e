//! The set of objects a reconciliation applied, as Flux records it in
//! `status.inventory`, and the difference that decides pruning.

use crate::changeset::{Action, ChangeSet};
use fleet_model::ObjectId;
use fleet_model::flux::kustomization::{ResourceInventory, ResourceRef};
use std::collections::HashSet;

/// Objects applied by one reconciliation, in apply order (as Flux writes
/// `status.inventory`), without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inventory {
    ids: Vec<ObjectId>,
}

/// The identity Flux compares inventories by: group, kind, namespace, name
/// (not the version).
fn key(id: &ObjectId) -> (&str, &str, Option<&str>, &str) {
    (&id.group, &id.kind, id.namespace.as_deref(), &id.name)
}

/// An inventory entry that is not a valid `<namespace>_<name>_<group>_<kind>` id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "inventory entry {id:?} (version {version:?}) is not of the form <namespace>_<name>_<group>_<kind>"
)]
pub struct BadEntry {
    /// The entry's id.
    pub id: String,
    /// The entry's version.
    pub version: String,
}

impl Inventory {
    /// Builds an inventory from object ids, in their order; a repeated
    /// object is kept once.
    pub fn from_ids(ids: impl IntoIterator<Item = ObjectId>) -> Inventory {
        let mut unique: Vec<ObjectId> = Vec::new();
        let mut seen = HashSet::new();
        for id in ids {
            let owned = (
                id.group.clone(),
                id.kind.clone(),
                id.namespace.clone(),
                id.name.clone(),
            );
            if seen.insert(owned) {
                unique.push(id);
            }
        }
        Inventory { ids: unique }
    }

    /// The inventory of an apply: every object of its change set, skipped
    /// ones included, in apply order (kustomize-controller `AddChangeSet`).
    pub fn from_change_set(changes: &ChangeSet) -> Inventory {
        Inventory::from_ids(
            changes
                .entries
                .iter()
                .filter(|c| c.action != Action::Deleted)
                .map(|c| c.id.clone()),
        )
    }

    /// Reads a Kustomization's `status.inventory`.
    pub fn from_status(status: &ResourceInventory) -> Result<Inventory, BadEntry> {
        status
            .entries
            .iter()
            .map(|e| {
                e.object_id().ok_or_else(|| BadEntry {
                    id: e.id.clone(),
                    version: e.version.clone(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Inventory::from_ids)
    }

    /// Writes the inventory in `status.inventory` form.
    pub fn to_status(&self) -> ResourceInventory {
        ResourceInventory {
            entries: self.ids.iter().map(ResourceRef::from).collect(),
        }
    }

    /// The ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &ObjectId> {
        self.ids.iter()
    }

    /// How many objects.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Objects in `self` (the last applied set) that `desired` no longer has:
    /// what pruning deletes. An object whose API version changed is the same
    /// object and is not stale; so is a cluster-scoped object an older
    /// inventory recorded with a namespace (a kind is either namespaced or
    /// not, so the same group, kind and name without one is that object).
    pub fn stale_against<'a>(
        &'a self,
        desired: &'a Inventory,
    ) -> impl Iterator<Item = &'a ObjectId> {
        let wanted: HashSet<_> = desired.ids.iter().map(key).collect();
        self.ids.iter().filter(move |id| {
            let mut unscoped = (*id).clone();
            unscoped.namespace = None;
            !wanted.contains(&key(id)) && !wanted.contains(&key(&unscoped))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_scoped_object_recorded_with_a_namespace_is_not_stale() {
        let old = Inventory::from_ids([
            ObjectId::new(
                "cert-manager.io/v1",
                "ClusterIssuer",
                Some("cert-manager"),
                "le",
            ),
            ObjectId::new("v1", "ConfigMap", Some("a"), "gone"),
        ]);
        let new = Inventory::from_ids([ObjectId::new(
            "cert-manager.io/v1",
            "ClusterIssuer",
            None,
            "le",
        )]);
        let stale: Vec<String> = old.stale_against(&new).map(ToString::to_string).collect();
        assert_eq!(stale, ["ConfigMap/a/gone"]);
    }

    #[test]
    fn status_round_trips_and_orders_entries() {
        let inv = Inventory::from_ids([
            ObjectId::new("v1", "Service", Some("b"), "x"),
            ObjectId::new("apps/v1", "Deployment", Some("a"), "x"),
        ]);
        let status = inv.to_status();
        let ids: Vec<_> = status.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["b_x__Service", "a_x_apps_Deployment"]);
        assert_eq!(Inventory::from_status(&status), Ok(inv));
    }

    #[test]
    fn a_version_change_is_not_a_prune() {
        let old = Inventory::from_ids([ObjectId::new(
            "autoscaling/v1",
            "HorizontalPodAutoscaler",
            Some("a"),
            "h",
        )]);
        let new = Inventory::from_ids([ObjectId::new(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            Some("a"),
            "h",
        )]);
        assert_eq!(old.stale_against(&new).count(), 0);
    }

    #[test]
    fn malformed_entries_are_reported() {
        let status = ResourceInventory {
            entries: vec![ResourceRef {
                id: "nonsense".into(),
                version: "v1".into(),
            }],
        };
        assert!(Inventory::from_status(&status).is_err());
    }
}
