//! # fleet-reconcile
//!
//! The reconciler: Git sources, the reconcile loop, inventory and pruning,
//! health assessment, image update automation, and the cluster back-ends
//! (kube-rs, and an embedded one for local runs and tests).
//!
//! Depends on `fleet-model` (ids, Flux objects, conditions) and
//! `fleet-kustomize` (rendering); reads Git revisions with gix
//! ([`git_tree`]) and talks to clusters through kube-rs.
//!
//! [`plan`] is `fleet plan`: a repository rendered at two revisions and
//! compared per cluster, per Flux Kustomization, per object, offline.
//!
//! [`source`] is source-controller's GitRepository: a reference fetched
//! with gix, Flux's revision strings, a content-addressed tar.gz artifact in
//! a storage directory, nothing fetched when the remote did not move.
//!
//! Pieces so far:
//! - [`apply::apply_staged`]: kustomize-controller's staged server-side
//!   apply (definitions, classes, the rest; dry-run first, drift detection,
//!   skip and force annotations), returning a [`changeset::ChangeSet`];
//! - [`prune::prune`]: deleting what the last inventory had and the build
//!   no longer has, only while the Kustomization still owns it;
//! - [`health`]: kstatus with Flux's Job rule, and the post-apply wait
//!   (fail fast, Flux's timeout message);
//! - [`order`]: Flux's stages and apply order;
//! - [`drift`]: whether a dry-run differs from the live object;
//! - [`inventory`]: the inventory arithmetic Flux uses to decide what to
//!   prune: exactly the objects the last successful apply recorded and the
//!   new desired state no longer contains.
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

pub mod apply;
pub mod artifact;
pub mod automation;
pub mod cel_expr;
pub mod changeset;
pub mod cleanup;
pub mod depends;
pub mod diff;
pub mod drift;
pub mod finalize;
pub mod git_tree;
pub mod health;
pub mod inventory;
pub mod order;
pub mod plan;
pub mod prune;
pub mod reconcile;
pub mod source;
pub mod target;
pub mod unchanged;
pub mod validate;
