//! `kustomize.toolkit.fluxcd.io/v1` Kustomization.

// kube's `printcolumn(…)` attributes repeat `type_ = "string"` by design.
#![allow(clippy::duplicated_attributes)]

use super::meta::{
    CustomHealthCheck, Image, KubeConfigReference, LocalObjectReference,
    NamespacedObjectKindReference, Patch, ReconcileRequestStatus, Selector, Snapshot,
};
use crate::GoDuration;
use crate::condition::Condition;
use indexmap::IndexMap;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The API group of Flux's kustomize controller.
pub const GROUP: &str = "kustomize.toolkit.fluxcd.io";

/// What happens to applied objects when the Kustomization is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete if `prune` is true, orphan otherwise (the default).
    #[default]
    MirrorPrune,
    /// Delete.
    Delete,
    /// Delete and wait until the objects are gone.
    WaitForTermination,
    /// Leave the objects in the cluster.
    Orphan,
}

/// The kinds a Kustomization can take its source from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum SourceKind {
    /// An OCI artifact.
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// A Git repository.
    #[default]
    GitRepository,
    /// An S3-compatible bucket.
    Bucket,
    /// An artifact produced outside Flux.
    ExternalArtifact,
}

/// The kinds `postBuild.substituteFrom` reads variables from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum SubstituteKind {
    /// A ConfigMap's `data`.
    #[default]
    ConfigMap,
    /// A Secret's `data` (base64-decoded) or `stringData`.
    Secret,
}

/// The only decryption provider Flux supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DecryptionProvider {
    /// Mozilla SOPS.
    #[default]
    Sops,
}

/// Desired state of a Flux Kustomization.
#[derive(CustomResource, Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1",
    kind = "Kustomization",
    plural = "kustomizations",
    namespaced,
    status = "KustomizationStatus",
    shortname = "ks",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    ),
    derive = "PartialEq",
    derive = "Default",
    doc = "Kustomization is the Schema for the kustomizations API."
)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// Labels and annotations applied to every object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// Kustomizations that must be ready first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependencyReference>,
    /// Decryption of SOPS-encrypted manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// How often to reconcile.
    pub interval: GoDuration,
    /// How soon to retry after a failure; `interval` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<GoDuration>,
    /// The remote cluster to apply to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,
    /// The directory in the source; its root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Steps after the kustomize build: variable substitution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_build: Option<PostBuild>,
    /// Garbage-collect objects removed from the source.
    pub prune: bool,
    /// What deleting the Kustomization does to its objects; `MirrorPrune` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Objects whose health gates readiness.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<NamespacedObjectKindReference>,
    /// Prefix for every object's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name_prefix: Option<String>,
    /// Suffix for every object's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name_suffix: Option<String>,
    /// Strategic-merge and JSON 6902 patches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    /// Image name, tag and digest overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    /// The ServiceAccount to impersonate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Where the manifests come from.
    pub source_ref: CrossNamespaceSourceReference,
    /// Suspends reconciliation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Sets or overrides every namespaced object's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub target_namespace: Option<String>,
    /// Timeout for validation, apply and health checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<GoDuration>,
    /// Recreate objects whose immutable fields changed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schemars(extend("default" = false))]
    pub force: bool,
    /// Wait for every applied object to become healthy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wait: bool,
    /// Paths of kustomize Components to add.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Drop components that do not exist instead of failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_missing_components: bool,
    /// CEL health checks for custom resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_check_exprs: Vec<CustomHealthCheck>,
    /// Changes to ignore during drift detection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift_ignore_rules: Vec<DriftIgnoreRule>,
}

impl KustomizationSpec {
    /// The deletion policy, defaulting to `MirrorPrune`.
    pub fn deletion_policy(&self) -> DeletionPolicy {
        self.deletion_policy.unwrap_or_default()
    }

    /// The path in the source, `./` when unset.
    pub fn path(&self) -> &str {
        self.path
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or("./")
    }

    /// The timeout as kustomize-controller computes it: `spec.timeout`, or
    /// the interval less 30s, and never under 30s.
    pub fn timeout(&self) -> Result<Duration, crate::duration::DurationError> {
        let floor = Duration::from_secs(30);
        let d = match &self.timeout {
            Some(t) => t.to_std()?,
            None => self.interval.to_std()?.saturating_sub(floor),
        };
        Ok(d.max(floor))
    }

    /// The retry interval, defaulting to the interval.
    pub fn retry_interval(&self) -> &GoDuration {
        self.retry_interval.as_ref().unwrap_or(&self.interval)
    }
}

/// Labels and annotations for every object.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct CommonMetadata {
    /// Annotations to add (overriding existing keys).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub annotations: IndexMap<String, String>,
    /// Labels to add (overriding existing keys).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
}

/// A Kustomization this one depends on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReference {
    /// Name of the Kustomization.
    pub name: String,
    /// Its namespace; this Kustomization's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A CEL expression replacing the built-in readiness check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_expr: Option<String>,
}

/// A rule excluding JSON Pointer paths from drift detection.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct DriftIgnoreRule {
    /// RFC 6901 JSON Pointers to ignore.
    pub paths: Vec<String>,
    /// The objects the rule applies to; all when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

/// How manifests are decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    /// The decryption engine.
    pub provider: DecryptionProvider,
    /// The ServiceAccount for cloud KMS authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The Secret holding private keys (PGP, age) or KMS credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// Actions after the kustomize build.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// Variables and their values; these win over `substituteFrom`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub substitute: IndexMap<String, String>,
    /// ConfigMaps and Secrets to read variables from, later ones winning.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitute_from: Vec<SubstituteReference>,
    /// When to substitute: only when there are variables (the default), or
    /// always, so that `${var:=default}` expressions apply without any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substitute_strategy: Option<SubstituteStrategy>,
}

/// When post-build substitution runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum SubstituteStrategy {
    /// Only when `substitute` or `substituteFrom` supplied at least one variable.
    #[default]
    WithVariables,
    /// On every object, so defaults apply even without variables.
    Always,
}

/// A ConfigMap or Secret holding substitution variables.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct SubstituteReference {
    /// `ConfigMap` or `Secret`.
    pub kind: SubstituteKind,
    /// Its name, in the Kustomization's namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Proceed without it when it does not exist.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schemars(extend("default" = false))]
    pub optional: bool,
}

/// The source a Kustomization reads.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    pub kind: SourceKind,
    /// Name of the source.
    pub name: String,
    /// Namespace of the source; the Kustomization's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Observed state of a Flux Kustomization.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationStatus {
    /// The last handled reconcile request.
    #[serde(flatten)]
    pub reconcile_request: ReconcileRequestStatus,
    /// The last generation reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The source revision last applied successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// The origin revision last applied (e.g. an OCI artifact's source revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_origin_revision: Option<String>,
    /// The revision of the last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The objects applied by the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
    /// Snapshots of recent reconciliations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Snapshot>,
}

/// The objects a Kustomization applied.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ResourceInventory {
    /// One entry per object.
    pub entries: Vec<ResourceRef>,
}

/// An inventory entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ResourceRef {
    /// `<namespace>_<name>_<group>_<kind>`.
    pub id: String,
    /// The object's API version.
    #[serde(rename = "v")]
    pub version: String,
}

impl ResourceRef {
    /// The entry as an object id.
    pub fn object_id(&self) -> Option<crate::ObjectId> {
        crate::ObjectId::from_inventory(&self.id, &self.version)
    }
}

impl From<&crate::ObjectId> for ResourceRef {
    fn from(id: &crate::ObjectId) -> Self {
        ResourceRef {
            id: id.inventory_id(),
            version: id.version.clone(),
        }
    }
}
