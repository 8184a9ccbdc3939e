//! kube-rs clients for workload clusters, built from the
//! `<cluster>-kubeconfig` Secrets Cluster API writes.
//!
//! [`WorkloadClients::for_secret`] reads the Secret from the management
//! cluster on every call (one GET) and reuses the client built from it only
//! while the Secret's `resourceVersion` is unchanged (through
//! [`ClientCache`]): a rotated kubeconfig is picked up at the next call,
//! never used stale.
//!
//! The kubeconfig is sanitised as Flux's controllers do for remote clusters
//! (`fluxcd/pkg/runtime/client`): it must be self-contained (no paths to
//! certificate, key or token files on the controller's disk), `exec`
//! credential plugins are dropped unless [`AccessOptions::allow_exec`], and
//! `insecure-skip-tls-verify` is ignored unless
//! [`AccessOptions::allow_insecure_tls`]. Requests time out after
//! [`AccessOptions::timeout`] (30 s, Flux's default). An HTTP proxy is
//! used when the kubeconfig names one (`proxy-url`) or `HTTPS_PROXY` is
//! set, as client-go does.
//!
//! ```no_run
//! # async fn run(management: kube::Client) -> Result<(), fleet_capi::workload::WorkloadError> {
//! use fleet_capi::workload::{AccessOptions, WorkloadClients};
//! let clients = WorkloadClients::new(AccessOptions::default());
//! let (edge, _built) = clients.for_secret(&management, "fleet", "edge-1-kubeconfig", None).await?;
//! let version = edge.apiserver_version().await;
//! # let _ = version;
//! # Ok(())
//! # }
//! ```

use crate::client_cache::{ClientCache, ClientError, KubeconfigSecret};
use k8s_openapi::api::core::v1::Secret;
use kube::config::{AuthInfo, Kubeconfig};
use std::time::Duration;

/// How far a kubeconfig from a Secret is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessOptions {
    /// Run `users[].user.exec` credential plugins (Flux:
    /// `--insecure-kubeconfig-exec`). Off by default: a Secret's author
    /// would otherwise run programs on the controller.
    pub allow_exec: bool,
    /// Honour `insecure-skip-tls-verify` (Flux: `--insecure-kubeconfig-tls`).
    pub allow_insecure_tls: bool,
    /// Timeout of each request.
    pub timeout: Duration,
}

impl Default for AccessOptions {
    fn default() -> Self {
        AccessOptions {
            allow_exec: false,
            allow_insecure_tls: false,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why a workload-cluster client could not be had.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The Secret could not be read from the management cluster.
    #[error("reading Secret {namespace}/{name} from the management cluster: {error}{hint}")]
    Fetch {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The API error.
        error: Box<kube::Error>,
        /// What to check.
        hint: &'static str,
    },
    /// The Secret's kubeconfig is unusable.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// Why a kubeconfig does not give a client.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Not a kubeconfig kube-rs can read.
    #[error(transparent)]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    /// The kubeconfig names a file on the controller's disk.
    #[error(
        "{what} '{entry}' references {field} (a file path); a kubeconfig in a Secret must be self-contained: use {inline} instead"
    )]
    FileReference {
        /// `cluster` or `user`.
        what: &'static str,
        /// The entry's name.
        entry: String,
        /// The offending field.
        field: &'static str,
        /// The inline field to use.
        inline: &'static str,
    },
    /// kube-rs refused the configuration (TLS material, proxy, ...).
    #[error(transparent)]
    Client(#[from] kube::Error),
    /// Called outside a Tokio runtime (the client spawns a worker task).
    #[error("a kube-rs client can only be built inside a Tokio runtime")]
    NoRuntime,
}

/// Builds a client from a kubeconfig's text, sanitised by `options` (see
/// the module documentation). Must run inside a Tokio runtime.
pub fn client_from_kubeconfig(
    text: &str,
    options: &AccessOptions,
) -> Result<kube::Client, BuildError> {
    client_from_config(config_from_kubeconfig(text, options)?)
}

/// A client from a configuration; must run inside a Tokio runtime (the
/// client spawns a worker task).
fn client_from_config(config: kube::Config) -> Result<kube::Client, BuildError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(BuildError::NoRuntime);
    }
    Ok(kube::Client::try_from(config)?)
}

/// The configuration [`client_from_kubeconfig`] builds its client from:
/// the kubeconfig's current context, sanitised by `options`.
pub fn config_from_kubeconfig(
    text: &str,
    options: &AccessOptions,
) -> Result<kube::Config, BuildError> {
    let kubeconfig = Kubeconfig::from_yaml(text)?;
    reject_file_references(&kubeconfig)?;
    let mut config = kube::Config::try_from(kubeconfig)?;
    config.auth_info = sanitised_auth(&config.auth_info, options);
    config.accept_invalid_certs &= options.allow_insecure_tls;
    config.read_timeout = Some(options.timeout);
    config.connect_timeout = Some(options.timeout);
    config.write_timeout = Some(options.timeout);
    Ok(config)
}

/// `config` acting as `user` (`Impersonate-User`), as Flux's
/// `spec.serviceAccountName` does with `system:serviceaccount:NS:NAME`.
pub fn impersonating(config: &kube::Config, user: &str) -> kube::Config {
    let mut config = config.clone();
    config.auth_info.impersonate = Some(user.to_string());
    config.auth_info.impersonate_groups = None;
    config
}

/// Keeps what Flux keeps of a kubeconfig user: basic auth, token, inline
/// client certificate and key, and `exec` only when allowed.
/// Impersonation and `auth-provider` are dropped.
fn sanitised_auth(user: &AuthInfo, options: &AccessOptions) -> AuthInfo {
    AuthInfo {
        username: user.username.clone(),
        password: user.password.clone(),
        token: user.token.clone(),
        client_certificate_data: user.client_certificate_data.clone(),
        client_key_data: user.client_key_data.clone(),
        exec: user.exec.clone().filter(|_| options.allow_exec),
        ..AuthInfo::default()
    }
}

/// Flux's `ValidateKubeConfig`: paths on the controller's disk are refused.
fn reject_file_references(kubeconfig: &Kubeconfig) -> Result<(), BuildError> {
    for named in &kubeconfig.clusters {
        if named
            .cluster
            .as_ref()
            .is_some_and(|c| c.certificate_authority.is_some())
        {
            return Err(BuildError::FileReference {
                what: "cluster",
                entry: named.name.clone(),
                field: "certificate-authority",
                inline: "certificate-authority-data",
            });
        }
    }
    for named in &kubeconfig.auth_infos {
        let Some(user) = &named.auth_info else {
            continue;
        };
        let offending = [
            (user.token_file.is_some(), "tokenFile", "token"),
            (
                user.client_certificate.is_some(),
                "client-certificate",
                "client-certificate-data",
            ),
            (user.client_key.is_some(), "client-key", "client-key-data"),
        ];
        if let Some((_, field, inline)) = offending.into_iter().find(|(set, _, _)| *set) {
            return Err(BuildError::FileReference {
                what: "user",
                entry: named.name.clone(),
                field,
                inline,
            });
        }
    }
    Ok(())
}

/// The parts of a core/v1 Secret the client cache needs; `key` is
/// `spec.kubeConfig.secretRef.key`, if set.
pub fn kubeconfig_secret(secret: &Secret, key: Option<&str>) -> KubeconfigSecret {
    KubeconfigSecret {
        namespace: secret.metadata.namespace.clone().unwrap_or_default(),
        name: secret.metadata.name.clone().unwrap_or_default(),
        resource_version: secret.metadata.resource_version.clone().unwrap_or_default(),
        data: secret
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        key: key.map(str::to_string),
    }
}

/// A workload cluster's client and the configuration it was built from.
struct Remote {
    config: kube::Config,
    client: kube::Client,
}

/// Clients for workload clusters, one per kubeconfig Secret, rebuilt when
/// the Secret changes.
#[derive(Default)]
pub struct WorkloadClients {
    cache: ClientCache<Remote>,
    options: AccessOptions,
}

impl std::fmt::Debug for WorkloadClients {
    // kube::Client has no Debug; the options are what tells instances apart.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkloadClients")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl WorkloadClients {
    /// An empty set of clients using `options` for every kubeconfig.
    pub fn new(options: AccessOptions) -> Self {
        WorkloadClients {
            cache: ClientCache::default(),
            options,
        }
    }

    /// The client for a Secret already read; also says whether it was
    /// built now (a new or changed Secret) rather than reused.
    pub fn for_kubeconfig(
        &self,
        secret: &KubeconfigSecret,
    ) -> Result<(kube::Client, bool), ClientError> {
        self.for_kubeconfig_as(secret, None)
    }

    /// Like [`for_kubeconfig`](Self::for_kubeconfig), acting as
    /// `impersonate` when set (a client derived from the cached
    /// configuration, so it follows the Secret's rotations too).
    pub fn for_kubeconfig_as(
        &self,
        secret: &KubeconfigSecret,
        impersonate: Option<&str>,
    ) -> Result<(kube::Client, bool), ClientError> {
        let (remote, built) = self.cache.client(secret, |text| {
            let config = config_from_kubeconfig(text, &self.options)?;
            let client = client_from_config(config.clone())?;
            Ok::<_, BuildError>(Remote { config, client })
        })?;
        let Some(user) = impersonate else {
            return Ok((kube::Client::clone(&remote.client), built));
        };
        let client = client_from_config(impersonating(&remote.config, user)).map_err(|e| {
            ClientError::Build {
                namespace: secret.namespace.clone(),
                name: secret.name.clone(),
                message: format!("impersonating {user}: {e}"),
            }
        })?;
        Ok((client, built))
    }

    /// Reads the Secret `namespace/name` through `management` and returns
    /// the client for the kubeconfig in it (key `key`, else `value`, else
    /// `value.yaml`), fresh whenever the Secret changed since the last call;
    /// also says whether it was built now.
    pub async fn for_secret(
        &self,
        management: &kube::Client,
        namespace: &str,
        name: &str,
        key: Option<&str>,
    ) -> Result<(kube::Client, bool), WorkloadError> {
        self.for_secret_as(management, namespace, name, key, None)
            .await
    }

    /// Like [`for_secret`](Self::for_secret), acting as `impersonate` on
    /// the workload cluster when set.
    pub async fn for_secret_as(
        &self,
        management: &kube::Client,
        namespace: &str,
        name: &str,
        key: Option<&str>,
        impersonate: Option<&str>,
    ) -> Result<(kube::Client, bool), WorkloadError> {
        let api: kube::Api<Secret> = kube::Api::namespaced(management.clone(), namespace);
        let secret = api.get(name).await.map_err(|source| {
            let hint = match &source {
                kube::Error::Api(status) if status.code == 404 => {
                    "; Cluster API writes <cluster>-kubeconfig once the control plane is initialised: check the Cluster's status, or the name in spec.kubeConfig.secretRef"
                }
                kube::Error::Api(status) if status.code == 403 => {
                    "; the controller's service account needs get on secrets in that namespace"
                }
                _ => "",
            };
            WorkloadError::Fetch {
                namespace: namespace.to_string(),
                name: name.to_string(),
                error: Box::new(source),
                hint,
            }
        })?;
        Ok(self.for_kubeconfig_as(&kubeconfig_secret(&secret, key), impersonate)?)
    }

    /// Drops the clients of a deleted Secret.
    pub fn forget(&self, namespace: &str, name: &str) {
        self.cache.forget(namespace, name);
    }
}
