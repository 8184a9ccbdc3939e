//! # fleet-reconcile
//!
//! The reconciler: Git sources, the reconcile loop, inventory and pruning,
//! health assessment, image update automation, and the cluster back-ends
//! (kube-rs, and an embedded one for local runs and tests).
//!
//! Depends on `fleet-model` (ids, Flux objects, conditions) and
//! `fleet-kustomize` (rendering). Git revisions are read with gix
//! ([`git_tree`]); the Kubernetes client and the async runtime arrive with
//! the reconcile loop.
//!
//! [`plan`] is `fleet plan`: a repository rendered at two revisions and
//! compared per cluster, per Flux Kustomization, per object, offline.
//!
//! The first piece is the inventory arithmetic Flux's kustomize-controller
//! uses to decide what to prune: exactly the objects the last successful
//! apply recorded and the new desired state no longer contains.
//!
//! ```
//! use fleet_reconcile::inventory::Inventory;
//! use fleet_model::ObjectId;
//! let old = Inventory::from_ids([
//!     ObjectId::new("apps/v1", "Deployment", Some("web"), "frontend"),
//!     ObjectId::new("v1", "ConfigMap", Some("web"), "settings-abc"),
//! ]);
//! let new = Inventory::from_ids([ObjectId::new("apps/v1", "Deployment", Some("web"), "frontend")]);
//! let stale: Vec<String> = old.stale_against(&new).map(|id| id.to_string()).collect();
//! assert_eq!(stale, ["ConfigMap/web/settings-abc"]);
//! ```

pub mod git_tree;
pub mod inventory;
pub mod plan;
