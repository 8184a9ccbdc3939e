//! The management cluster: a kube-rs client from a kubeconfig, and the
//! Cluster API objects [`crate::summary`] reads, listed from it (Clusters,
//! MachineDeployments, Machines and the control planes the Clusters refer
//! to, each at the version the server prefers).
//!
//! ```no_run
//! # async fn run() -> Result<(), fleet_capi::management::ManagementError> {
//! use fleet_capi::management::{client, cluster_objects};
//! use fleet_capi::summary::summarize_objects;
//! let management = client(None, None).await?;
//! let listed = cluster_objects(&management, Some("fleet")).await?;
//! for summary in summarize_objects(&listed.objects) {
//!     println!("{} {}", summary.name, summary.phase);
//! }
//! # Ok(())
//! # }
//! ```

use fleet_model::Value;
use kube::api::{Api, DynamicObject, ListParams, TypeMeta};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::ApiResource;
use std::collections::BTreeSet;
use std::path::Path;

/// The Cluster API group.
pub const CAPI_GROUP: &str = "cluster.x-k8s.io";
/// The kinds listed from it.
pub const CAPI_KINDS: [&str; 3] = ["Cluster", "MachineDeployment", "Machine"];

/// Why the management cluster could not be reached or read. kube-rs's
/// messages hold their own causes, so they are kept as text, not chained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManagementError {
    /// The kubeconfig file cannot be read.
    #[error("reading the kubeconfig {}: {message}", path.display())]
    ReadKubeconfig {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// No usable configuration (no file, no context, no in-cluster config).
    #[error(
        "loading the management cluster's kubeconfig (pass --kubeconfig FILE, or --from FILE to read saved objects): {0}"
    )]
    Config(String),
    /// The client could not be built.
    #[error("building the Kubernetes client: {0}")]
    Client(String),
    /// The API group is not served.
    #[error(
        "discovering API group {group} (is its provider installed in the management cluster?): {message}"
    )]
    Discovery {
        /// The group.
        group: String,
        /// What the server said.
        message: String,
    },
    /// The group serves no such kind.
    #[error("the API group {group} serves no kind {kind}")]
    NoKind {
        /// The group.
        group: String,
        /// The kind.
        kind: String,
    },
    /// A LIST failed.
    #[error("listing {plural}: {message}")]
    List {
        /// The resource.
        plural: String,
        /// What the server said.
        message: String,
    },
}

/// A client for the cluster a kubeconfig names: `kubeconfig` (default:
/// `$KUBECONFIG`, then `~/.kube/config`, then the in-cluster
/// configuration) at `context` (default: its current context).
pub async fn client(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<kube::Client, ManagementError> {
    let config = config(kubeconfig, context).await?;
    kube::Client::try_from(config).map_err(|e| ManagementError::Client(e.to_string()))
}

/// The configuration [`client`] builds its client from; keep it to derive
/// other clients of the same cluster (impersonating a service account, say).
pub async fn config(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<kube::Config, ManagementError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let config = match kubeconfig {
        Some(path) => {
            let file =
                Kubeconfig::read_from(path).map_err(|e| ManagementError::ReadKubeconfig {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
            kube::Config::from_custom_kubeconfig(file, &options).await
        }
        None => kube::Config::from_kubeconfig(&options).await,
    }
    .map_err(|e| ManagementError::Config(e.to_string()))?;
    Ok(config)
}

/// The API resource serving `kind` in `group`, at the server's preferred
/// version.
pub async fn resource(
    client: &kube::Client,
    group: &str,
    kind: &str,
) -> Result<ApiResource, ManagementError> {
    let api_group =
        kube::discovery::group(client, group)
            .await
            .map_err(|e| ManagementError::Discovery {
                group: group.to_string(),
                message: e.to_string(),
            })?;
    let (resource, _) =
        api_group
            .recommended_kind(kind)
            .ok_or_else(|| ManagementError::NoKind {
                group: group.to_string(),
                kind: kind.to_string(),
            })?;
    Ok(resource)
}

/// Every object of `resource` (in `namespace`, or all namespaces), with
/// `apiVersion` and `kind` set.
pub async fn list(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
) -> Result<Vec<Value>, ManagementError> {
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    };
    let listed = api
        .list(&ListParams::default())
        .await
        .map_err(|e| ManagementError::List {
            plural: resource.plural.clone(),
            message: e.to_string(),
        })?;
    let mut out = Vec::with_capacity(listed.items.len());
    for mut object in listed.items {
        // List items of built-in kinds carry no apiVersion/kind.
        object.types.get_or_insert_with(|| TypeMeta {
            api_version: resource.api_version.clone(),
            kind: resource.kind.clone(),
        });
        let json = serde_json::to_value(&object).map_err(|e| ManagementError::List {
            plural: resource.plural.clone(),
            message: e.to_string(),
        })?;
        out.push(Value::from(json));
    }
    Ok(out)
}

/// What [`cluster_objects`] listed.
#[derive(Debug, Clone, Default)]
pub struct ClusterObjects {
    /// The objects.
    pub objects: Vec<Value>,
    /// Control-plane kinds that could not be listed (their provider is
    /// missing, say): their Clusters read as "not ready" rather than
    /// hiding every other cluster.
    pub warnings: Vec<ManagementError>,
}

/// Clusters, MachineDeployments and Machines, and the control planes the
/// Clusters refer to, from the management cluster.
pub async fn cluster_objects(
    client: &kube::Client,
    namespace: Option<&str>,
) -> Result<ClusterObjects, ManagementError> {
    let mut out = ClusterObjects::default();
    for kind in CAPI_KINDS {
        let resource = resource(client, CAPI_GROUP, kind).await?;
        out.objects
            .extend(list(client, &resource, namespace).await?);
    }
    for (group, kind) in control_plane_kinds(&out.objects) {
        match resource(client, &group, &kind).await {
            Ok(resource) => out
                .objects
                .extend(list(client, &resource, namespace).await?),
            Err(e) => out.warnings.push(e),
        }
    }
    Ok(out)
}

/// The (group, kind) of every control plane the Clusters among `objects`
/// refer to: v1beta1 names it by `apiVersion`, v1beta2 by `apiGroup`.
pub fn control_plane_kinds(objects: &[Value]) -> BTreeSet<(String, String)> {
    objects
        .iter()
        .filter_map(|o| o.pointer(&["spec", "controlPlaneRef"]))
        .filter_map(|r| {
            let kind = r.get("kind")?.as_str()?;
            let group = match r.get("apiGroup").and_then(Value::as_str) {
                Some(group) => group,
                None => fleet_model::id::split_api_version(r.get("apiVersion")?.as_str()?).0,
            };
            // Control planes are never in the core group.
            (!group.is_empty()).then(|| (group.to_string(), kind.to_string()))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn control_planes_are_named_by_api_version_or_api_group() {
        let text = "kind: Cluster\nspec:\n  controlPlaneRef:\n    apiVersion: controlplane.cluster.x-k8s.io/v1beta1\n    kind: KubeadmControlPlane\n---\nkind: Cluster\nspec:\n  controlPlaneRef:\n    apiGroup: controlplane.example.io\n    kind: K3sControlPlane\n---\nkind: Cluster\nspec:\n  controlPlaneRef:\n    apiVersion: v1\n    kind: ConfigMap\n";
        let objects: Vec<Value> = fleet_model::yaml::parse_documents(text)
            .expect("yaml")
            .into_iter()
            .map(|d| d.value)
            .collect();
        let kinds: Vec<(String, String)> = control_plane_kinds(&objects).into_iter().collect();
        assert_eq!(
            kinds,
            [
                (
                    "controlplane.cluster.x-k8s.io".to_string(),
                    "KubeadmControlPlane".to_string()
                ),
                (
                    "controlplane.example.io".to_string(),
                    "K3sControlPlane".to_string()
                ),
            ]
        );
    }
}
