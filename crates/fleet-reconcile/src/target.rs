//! The cluster a Kustomization's objects go to, and as whom: the cluster
//! the Kustomization lives in, or a workload cluster through the
//! kubeconfig Secret of `spec.kubeConfig.secretRef`; as the caller, or
//! impersonating `spec.serviceAccountName` (Flux's
//! `fluxcd/pkg/runtime/client` impersonator).
//!
//! - The kubeconfig Secret is read from the Kustomization's namespace on
//!   every reconcile; the client built from it is reused only while the
//!   Secret's `resourceVersion` holds ([`WorkloadClients`]), so a rotated
//!   kubeconfig is used at once, never a stale one, and a cluster whose
//!   Secret did not change costs no client build (Flux rebuilds the client
//!   and runs API discovery on every reconcile).
//! - `spec.serviceAccountName` (else [`Access::default_service_account`])
//!   impersonates `system:serviceaccount:<namespace>:<name>`, the
//!   namespace being the Kustomization's. With a kubeConfig the service
//!   account must exist on the workload cluster, as in Flux.
//! - Inputs of the build (`substituteFrom`, the decryption Secret) and the
//!   Kustomization's status stay on the cluster the Kustomization lives in.
//!
//! ```no_run
//! # async fn run(client: kube::Client, ks: fleet_model::flux::kustomization::Kustomization) -> Result<(), fleet_reconcile::target::TargetError> {
//! use fleet_reconcile::target::{Access, target_client};
//! let access = Access::default();
//! let target = target_client(&client, &ks, &access).await?;
//! # let _ = target;
//! # Ok(())
//! # }
//! ```

use crate::apply::DiscoveryCache;
use fleet_capi::workload::{AccessOptions, WorkloadClients, WorkloadError, impersonating};
use fleet_model::flux::kustomization::Kustomization;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What reconcile may use to reach clusters other than through the
/// caller's own client.
#[derive(Debug, Clone)]
pub struct Access {
    /// The configuration of the caller's client, needed to impersonate a
    /// service account on that cluster; without it such a Kustomization
    /// fails with [`TargetError::NoConfig`].
    pub management_config: Option<kube::Config>,
    /// Workload-cluster clients, shared across reconciles (the controller
    /// keeps one set for its lifetime).
    pub workload: Arc<WorkloadClients>,
    /// The service account to impersonate when a Kustomization names none
    /// (Flux: `--default-service-account`).
    pub default_service_account: Option<String>,
    /// What discovery found, per cluster (`""` for the caller's, the
    /// kubeconfig Secret's `namespace/name` for a workload cluster), kept
    /// across reconciles; a rebuilt workload client starts afresh.
    pub discovery: Arc<Mutex<HashMap<String, Arc<DiscoveryCache>>>>,
}

impl Access {
    /// The discovery cache of `cluster`; a fresh one when `reset`.
    fn discovery_for(&self, cluster: &str, reset: bool) -> Arc<DiscoveryCache> {
        let Ok(mut caches) = self.discovery.lock() else {
            return Arc::new(DiscoveryCache::default());
        };
        if reset {
            caches.remove(cluster);
        }
        Arc::clone(caches.entry(cluster.to_string()).or_default())
    }
}

/// The client a Kustomization's objects go through, and what discovery
/// already knows about that cluster.
#[derive(Clone)]
pub struct Target {
    /// The client (impersonating when asked).
    pub client: kube::Client,
    /// The cluster's discovery cache.
    pub discovery: Arc<DiscoveryCache>,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            management_config: None,
            workload: Arc::new(WorkloadClients::new(AccessOptions::default())),
            default_service_account: None,
            discovery: Arc::default(),
        }
    }
}

/// Why the target cluster cannot be reached.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The kubeconfig Secret is missing, unreadable or unusable.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// Impersonation asked for without the caller's configuration.
    #[error(
        "impersonating service account '{user}' needs the configuration of the cluster's client (Access::management_config)"
    )]
    NoConfig {
        /// The user to impersonate.
        user: String,
    },
    /// The impersonating client could not be built.
    #[error("building a client impersonating '{user}': {error}")]
    Client {
        /// The user to impersonate.
        user: String,
        /// What kube-rs said.
        error: kube::Error,
    },
    /// `spec.kubeConfig` without a `secretRef` (a cloud provider's
    /// secret-less workload identity).
    #[error(
        "spec.kubeConfig without secretRef (a cloud provider's workload identity) is not supported; put the cluster's kubeconfig in a Secret and name it in spec.kubeConfig.secretRef"
    )]
    WorkloadIdentity,
}

/// The user `ks` acts as: `system:serviceaccount:<ns>:<sa>` for its
/// `spec.serviceAccountName`, else for `default_service_account`.
pub fn impersonated_user(ks: &Kustomization, access: &Access) -> Option<String> {
    let account = ks
        .spec
        .service_account_name
        .as_deref()
        .filter(|s| !s.is_empty())
        .or(access.default_service_account.as_deref())?;
    let namespace = ks.metadata.namespace.as_deref().unwrap_or("default");
    Some(format!("system:serviceaccount:{namespace}:{account}"))
}

/// The client `ks`'s objects are applied, pruned and health-checked
/// with. `client` is the cluster the Kustomization lives in.
pub async fn target_client(
    client: &kube::Client,
    ks: &Kustomization,
    access: &Access,
) -> Result<kube::Client, TargetError> {
    Ok(target(client, ks, access).await?.client)
}

/// [`target_client`] with the target cluster's discovery cache.
pub async fn target(
    client: &kube::Client,
    ks: &Kustomization,
    access: &Access,
) -> Result<Target, TargetError> {
    let user = impersonated_user(ks, access);
    if let Some(kube_config) = &ks.spec.kube_config {
        let Some(secret) = &kube_config.secret_ref else {
            return Err(TargetError::WorkloadIdentity);
        };
        let namespace = ks.metadata.namespace.as_deref().unwrap_or("default");
        let (remote, built) = access
            .workload
            .for_secret_as(
                client,
                namespace,
                &secret.name,
                secret.key.as_deref(),
                user.as_deref(),
            )
            .await?;
        let cluster = format!("{namespace}/{}", secret.name);
        return Ok(Target {
            client: remote,
            discovery: access.discovery_for(&cluster, built),
        });
    }
    let discovery = access.discovery_for("", false);
    let Some(user) = user else {
        return Ok(Target {
            client: client.clone(),
            discovery,
        });
    };
    let Some(config) = &access.management_config else {
        return Err(TargetError::NoConfig { user });
    };
    let impersonated = kube::Client::try_from(impersonating(config, &user))
        .map_err(|error| TargetError::Client { user, error })?;
    Ok(Target {
        client: impersonated,
        discovery,
    })
}
