//! Types shared by both Cluster API versions.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Fields fleet does not type, kept as read so that writing an object back
/// loses nothing.
pub type Extra = IndexMap<String, serde_json::Value>;

/// The API group of Cluster API's core types.
pub const GROUP: &str = "cluster.x-k8s.io";
/// The API group of the kubeadm control plane provider.
pub const CONTROL_PLANE_GROUP: &str = "controlplane.cluster.x-k8s.io";
/// The label every Cluster API object carries with its cluster's name.
pub const CLUSTER_NAME_LABEL: &str = "cluster.x-k8s.io/cluster-name";
/// The annotation that pauses reconciliation of an object.
pub const PAUSED_ANNOTATION: &str = "cluster.x-k8s.io/paused";
/// The annotation that exempts a Machine from MachineHealthCheck remediation.
pub const SKIP_REMEDIATION_ANNOTATION: &str = "cluster.x-k8s.io/skip-remediation";
/// The annotation that asks a MachineHealthCheck to remediate a Machine.
pub const REMEDIATE_MACHINE_ANNOTATION: &str = "cluster.x-k8s.io/remediate-machine";
/// The label marking control-plane Machines.
pub const CONTROL_PLANE_LABEL: &str = "cluster.x-k8s.io/control-plane";

/// An integer or a string such as `"40%"` (`intstr.IntOrString`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// An integer.
    Int(i64),
    /// A string, usually a percentage.
    String(String),
}

impl fmt::Display for IntOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrString::Int(i) => write!(f, "{i}"),
            IntOrString::String(s) => f.write_str(s),
        }
    }
}

/// A reference to another object (`corev1.ObjectReference`), as v1beta1 uses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Fields not typed here (uid, resourceVersion, fieldPath).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A reference by API group, kind and name, as v1beta2 uses
/// (`ContractVersionedObjectReference`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractVersionedObjectReference {
    /// API group, e.g. `infrastructure.cluster.x-k8s.io`.
    pub api_group: String,
    /// Kind.
    pub kind: String,
    /// Name, in the referrer's namespace.
    pub name: String,
}

impl ContractVersionedObjectReference {
    /// Converts a v1beta1 reference by dropping the version and namespace.
    pub fn from_v1beta1(r: &ObjectReference) -> ContractVersionedObjectReference {
        let api_group = r
            .api_version
            .as_deref()
            .map(|v| crate::id::split_api_version(v).0.to_string())
            .unwrap_or_default();
        ContractVersionedObjectReference {
            api_group,
            kind: r.kind.clone().unwrap_or_default(),
            name: r.name.clone().unwrap_or_default(),
        }
    }
}

/// Labels and annotations (Cluster API's `ObjectMeta` for templates).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TemplateMeta {
    /// Labels.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub annotations: IndexMap<String, String>,
}

/// Host and port of an API server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ApiEndpoint {
    /// Host name or address.
    #[serde(default)]
    pub host: String,
    /// Port.
    #[serde(default)]
    pub port: i32,
}

/// CIDR blocks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkRanges {
    /// The CIDR blocks.
    #[serde(default)]
    pub cidr_blocks: Vec<String>,
}

/// A cluster's network settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterNetwork {
    /// The API server port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_server_port: Option<i32>,
    /// Service CIDRs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<NetworkRanges>,
    /// Pod CIDRs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<NetworkRanges>,
    /// The service DNS domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_domain: Option<String>,
}

/// A ClusterClass variable value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClusterVariable {
    /// Variable name.
    pub name: String,
    /// Its value, any JSON.
    pub value: serde_json::Value,
    /// Fields not typed here.
    #[serde(flatten)]
    pub extra: Extra,
}
