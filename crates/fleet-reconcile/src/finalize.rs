//! What happens to a Kustomization's objects when the Kustomization is
//! deleted: kustomize-controller's `finalize`, by `spec.deletionPolicy`.
//!
//! - `MirrorPrune` (the default) deletes the inventory's objects when
//!   `spec.prune` is true and leaves them otherwise; `Delete` deletes them;
//!   `WaitForTermination` deletes them and then waits (polling, up to the
//!   Kustomization's timeout) until they are gone, going on after the
//!   timeout; `Orphan` leaves them.
//! - A suspended Kustomization, or one with an empty inventory, deletes
//!   nothing.
//! - Deletion is pruning: reverse apply order, background propagation,
//!   only objects still carrying the Kustomization's owner labels, never
//!   `prune: disabled`. A failed deletion is an error (retry; the
//!   finalizer stays), as in Flux.
//! - Objects are deleted where they were applied: a workload cluster
//!   through `spec.kubeConfig`, as `spec.serviceAccountName`. When the
//!   service account to impersonate is gone from the cluster the
//!   Kustomization lives in, the objects are orphaned (Flux logs them and
//!   lets go).
//!
//! Then [`remove_finalizer`] lets the API server delete the Kustomization.
//!
//! ```no_run
//! # async fn run(client: kube::Client, ks: fleet_model::flux::kustomization::Kustomization) -> Result<(), fleet_reconcile::finalize::FinalizeError> {
//! use fleet_reconcile::finalize::{FinalizeOptions, finalize, remove_finalizer};
//! let done = finalize(&client, &ks, &FinalizeOptions::default()).await?;
//! print!("{}", done.changes);
//! remove_finalizer(&client, &ks).await?;
//! # Ok(())
//! # }
//! ```

use crate::apply::{Resolver, api_for};
use crate::changeset::{Action, ChangeSet};
use crate::inventory::Inventory;
use crate::prune::{Owner, PruneError, prune};
use crate::target::{Access, TargetError, impersonated_user, target_client};
use fleet_model::ObjectId;
use fleet_model::flux::kustomization::{DeletionPolicy, Kustomization};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, Patch, PatchParams};
use std::time::{Duration, Instant};

/// The finalizer kustomize-controller puts on every Kustomization.
pub const FINALIZER: &str = "finalizers.fluxcd.io";

/// How to finalize.
#[derive(Debug, Clone)]
pub struct FinalizeOptions {
    /// How to reach workload clusters and impersonate service accounts.
    pub access: Access,
    /// How often to look while waiting for termination (Flux: 2 s).
    pub wait_interval: Duration,
    /// Overrides the wait's timeout (default: the Kustomization's).
    pub timeout: Option<Duration>,
}

impl Default for FinalizeOptions {
    fn default() -> Self {
        FinalizeOptions {
            access: Access::default(),
            wait_interval: Duration::from_secs(2),
            timeout: None,
        }
    }
}

/// What [`finalize`] did.
#[derive(Debug, Default)]
pub struct Finalized {
    /// Deleted objects and those kept (another owner, `prune: disabled`).
    pub changes: ChangeSet,
    /// Why the objects were left alone, when they were.
    pub orphaned: Option<&'static str>,
    /// Under `WaitForTermination`, the objects still there at the timeout
    /// (the finalizer goes anyway, as in Flux).
    pub not_terminated: Vec<ObjectId>,
}

/// Why finalizing failed; the finalizer must stay and the caller retry.
#[derive(Debug, thiserror::Error)]
pub enum FinalizeError {
    /// The cluster of the objects cannot be reached.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// Some objects could not be deleted.
    #[error("pruning for deleted resource failed: {0}")]
    Prune(#[from] PruneError),
    /// The stored inventory does not parse.
    #[error("the inventory of Kustomization {0} does not parse: {1}")]
    Inventory(String, String),
    /// The timeout does not parse.
    #[error("spec.timeout: {0}")]
    Timeout(String),
    /// Talking to the API server failed.
    #[error("{context}: {error}")]
    Kube {
        /// What was being done.
        context: String,
        /// The error.
        error: Box<kube::Error>,
    },
}

/// Whether deleting `ks` deletes its objects (kustomize-controller's
/// `finalizerShouldDeleteResources`); `None` when it does, else why not.
pub fn orphan_reason(ks: &Kustomization) -> Option<&'static str> {
    if ks.spec.suspend {
        return Some("the Kustomization is suspended");
    }
    let entries = ks
        .status
        .as_ref()
        .and_then(|s| s.inventory.as_ref())
        .map_or(0, |i| i.entries.len());
    if entries == 0 {
        return Some("the inventory is empty");
    }
    match ks.spec.deletion_policy() {
        DeletionPolicy::MirrorPrune if !ks.spec.prune => {
            Some("deletionPolicy MirrorPrune with prune: false")
        }
        DeletionPolicy::Orphan => Some("deletionPolicy Orphan"),
        _ => None,
    }
}

/// Deletes (or leaves) `ks`'s objects by its deletion policy. `client` is
/// the cluster the Kustomization lives in.
pub async fn finalize(
    client: &kube::Client,
    ks: &Kustomization,
    options: &FinalizeOptions,
) -> Result<Finalized, FinalizeError> {
    if let Some(reason) = orphan_reason(ks) {
        return Ok(Finalized {
            orphaned: Some(reason),
            ..Finalized::default()
        });
    }
    let namespace = ks.metadata.namespace.as_deref().unwrap_or("default");
    let name = ks.metadata.name.as_deref().unwrap_or_default();
    if ks.spec.kube_config.is_none()
        && let Some(account) = impersonated_account(ks, &options.access)
    {
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
        let found = accounts
            .get_opt(&account)
            .await
            .map_err(|error| FinalizeError::Kube {
                context: format!("reading ServiceAccount {namespace}/{account}"),
                error: Box::new(error),
            })?;
        if found.is_none() {
            return Ok(Finalized {
                orphaned: Some("the service account to impersonate is gone"),
                ..Finalized::default()
            });
        }
    }
    let inventory = ks
        .status
        .as_ref()
        .and_then(|s| s.inventory.as_ref())
        .map(Inventory::from_status)
        .transpose()
        .map_err(|e| FinalizeError::Inventory(format!("{namespace}/{name}"), e.to_string()))?
        .unwrap_or_default();
    let ids: Vec<ObjectId> = inventory.ids().cloned().collect();
    let target = target_client(client, ks, &options.access).await?;
    let owner = Owner {
        name: name.to_string(),
        namespace: namespace.to_string(),
    };
    let changes = prune(&target, &ids, &owner).await?;
    let mut not_terminated = Vec::new();
    if ks.spec.deletion_policy() == DeletionPolicy::WaitForTermination {
        let deleted: Vec<ObjectId> = changes
            .entries
            .iter()
            .filter(|c| c.action == Action::Deleted)
            .map(|c| c.id.clone())
            .collect();
        let timeout = match options.timeout {
            Some(t) => t,
            None => ks
                .spec
                .timeout()
                .map_err(|e| FinalizeError::Timeout(e.to_string()))?,
        };
        not_terminated = wait_until_gone(&target, deleted, options.wait_interval, timeout).await?;
    }
    Ok(Finalized {
        changes,
        orphaned: None,
        not_terminated,
    })
}

/// The service account name `ks` acts as, if any.
fn impersonated_account(ks: &Kustomization, access: &Access) -> Option<String> {
    impersonated_user(ks, access).and_then(|user| user.rsplit(':').next().map(str::to_string))
}

/// Polls until every object in `ids` is gone or `timeout` passes; returns
/// those still there.
async fn wait_until_gone(
    client: &kube::Client,
    mut ids: Vec<ObjectId>,
    interval: Duration,
    timeout: Duration,
) -> Result<Vec<ObjectId>, FinalizeError> {
    let deadline = Instant::now() + timeout;
    let mut resolver = Resolver::new(client.clone());
    loop {
        let mut left = Vec::new();
        for id in ids {
            let Some((resource, caps)) = resolver.resolve(&id).await else {
                continue;
            };
            let api = api_for(client, &resource, &caps, &id);
            match api.get_opt(&id.name).await {
                Ok(None) => {}
                Ok(Some(_)) => left.push(id),
                Err(error) => {
                    return Err(FinalizeError::Kube {
                        context: format!("waiting for {id} to terminate"),
                        error: Box::new(error),
                    });
                }
            }
        }
        if left.is_empty() || Instant::now() >= deadline {
            return Ok(left);
        }
        ids = left;
        tokio::time::sleep(interval.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Removes [`FINALIZER`] from the Kustomization in the cluster (guarded by
/// its `resourceVersion`), so the API server can delete it.
pub async fn remove_finalizer(
    client: &kube::Client,
    ks: &Kustomization,
) -> Result<(), FinalizeError> {
    let namespace = ks.metadata.namespace.as_deref().unwrap_or("default");
    let name = ks.metadata.name.as_deref().unwrap_or_default();
    let finalizers = ks.metadata.finalizers.clone().unwrap_or_default();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let kept: Vec<String> = finalizers.into_iter().filter(|f| f != FINALIZER).collect();
    let patch = serde_json::json!({"metadata": {
        "finalizers": kept,
        "resourceVersion": ks.metadata.resource_version,
    }});
    let api: Api<Kustomization> = Api::namespaced(client.clone(), namespace);
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|error| FinalizeError::Kube {
            context: format!("removing the finalizer of Kustomization {namespace}/{name}"),
            error: Box::new(error),
        })?;
    Ok(())
}
