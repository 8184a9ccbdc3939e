//! `image.toolkit.fluxcd.io/v1` ImageRepository, ImagePolicy and
//! ImageUpdateAutomation (GA since Flux 2.7), with a reader for the
//! `v1beta2` manifests older repositories carry.

// kube's `printcolumn(…)` attributes repeat `type_ = "string"` by design.
#![allow(clippy::duplicated_attributes)]

use super::meta::{
    AccessFrom, LabelSelector, LocalObjectReference, NamespacedObjectReference,
    ReconcileRequestStatus,
};
use super::source::GitRepositoryRef;
use crate::GoDuration;
use crate::condition::Condition;
use crate::value::Value;
use indexmap::IndexMap;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group of Flux's image controllers.
pub const GROUP: &str = "image.toolkit.fluxcd.io";

/// The default `exclusionList` of an ImageRepository: cosign signature tags.
pub const DEFAULT_EXCLUSION_LIST: &[&str] = &["^.*\\.sig$"];

/// How to authenticate to the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegistryProvider {
    /// Credentials from `secretRef` or the ServiceAccount (the default).
    #[default]
    Generic,
    /// Amazon ECR.
    Aws,
    /// Azure ACR.
    Azure,
    /// Google Artifact Registry / GCR.
    Gcp,
}

/// Desired state of an ImageRepository: which image to scan, how often.
#[derive(CustomResource, Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImageRepository",
    plural = "imagerepositories",
    namespaced,
    status = "ImageRepositoryStatus",
    shortname = "imgrepo",
    shortname = "imagerepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-images",
    printcolumn(name = "Image", type_ = "string", json_path = ".spec.image"),
    printcolumn(
        name = "Tags",
        type_ = "string",
        json_path = ".status.lastScanResult.tagCount"
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
    printcolumn(
        name = "Last scan",
        type_ = "string",
        json_path = ".status.lastScanResult.scanTime",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    derive = "Default",
    doc = "ImageRepository is the Schema for the imagerepositories API"
)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepositorySpec {
    /// The image repository, e.g. `ghcr.io/org/app`.
    pub image: String,
    /// How often to scan.
    pub interval: GoDuration,
    /// Scan timeout; `interval` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<GoDuration>,
    /// A `docker-registry` Secret with registry credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// The Secret with proxy settings for the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// A ServiceAccount whose image pull secrets are used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub service_account_name: Option<String>,
    /// A Secret with `tls.crt`/`tls.key` and/or `ca.crt` for the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Suspends scanning.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Which namespaces' ImagePolicies may refer to this repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// Regular expressions of tags to ignore; `^.*\.sig$` when unset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 25), extend("default" = ["^.*\\.sig$"]))]
    pub exclusion_list: Vec<String>,
    /// The authentication provider; `generic` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generic"))]
    pub provider: Option<RegistryProvider>,
    /// Allow plain-HTTP registries.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

impl ImageRepositorySpec {
    /// The exclusion list, defaulting to signature tags.
    pub fn exclusion_list(&self) -> Vec<String> {
        if self.exclusion_list.is_empty() {
            DEFAULT_EXCLUSION_LIST
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            self.exclusion_list.clone()
        }
    }

    /// The provider, defaulting to `generic`.
    pub fn provider(&self) -> RegistryProvider {
        self.provider.unwrap_or_default()
    }
}

/// The outcome of the last scan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanResult {
    /// A stable hash of the scanned tags.
    #[serde(default)]
    pub revision: String,
    /// How many tags were found.
    pub tag_count: i64,
    /// When the scan ran.
    #[serde(default)]
    pub scan_time: String,
    /// The first ten tags in descending alphabetical order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latest_tags: Vec<String>,
}

/// Observed state of an ImageRepository.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageRepositoryStatus {
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last generation reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The image name with implied parts made explicit (`docker.io/library/alpine`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical_image_name: Option<String>,
    /// The last scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan_result: Option<ScanResult>,
    /// The exclusion list used for the last scan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_exclusion_list: Vec<String>,
    /// The last handled reconcile request.
    #[serde(flatten)]
    pub reconcile_request: ReconcileRequestStatus,
}

/// When to record the digest of the chosen image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum ReflectionPolicy {
    /// Always refresh the digest (needs `interval`).
    Always,
    /// Set it when empty and the image did not change.
    IfNotPresent,
    /// Never set it (the default).
    #[default]
    Never,
}

/// Sort order for alphabetical and numerical policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Ascending: the last tag wins (Z, 9).
    #[default]
    Asc,
    /// Descending: the first tag wins (A, 0).
    Desc,
}

/// Desired state of an ImagePolicy: how to pick the latest tag.
#[derive(CustomResource, Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImagePolicy",
    plural = "imagepolicies",
    namespaced,
    status = "ImagePolicyStatus",
    shortname = "imgpol",
    shortname = "imagepol",
    printcolumn(name = "Image", type_ = "string", json_path = ".status.latestRef.name"),
    printcolumn(name = "Tag", type_ = "string", json_path = ".status.latestRef.tag"),
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
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    derive = "Default",
    doc = "ImagePolicy is the Schema for the imagepolicies API"
)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicySpec {
    /// The ImageRepository whose tags are considered.
    pub image_repository_ref: NamespacedObjectReference,
    /// The selection rule.
    pub policy: ImagePolicyChoice,
    /// A regular expression (and capture to extract) that tags must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<TagFilter>,
    /// When to record the chosen image's digest; `Never` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Never"))]
    pub digest_reflection_policy: Option<ReflectionPolicy>,
    /// How often to refresh the digest with `Always`; 10m when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<GoDuration>,
    /// Suspends reconciliation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

impl ImagePolicySpec {
    /// The digest reflection policy, defaulting to `Never`.
    pub fn digest_reflection_policy(&self) -> ReflectionPolicy {
        self.digest_reflection_policy.unwrap_or_default()
    }
}

/// One of the policy kinds (exactly one should be set).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ImagePolicyChoice {
    /// The highest tag within a SemVer range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<SemVerPolicy>,
    /// Tags in alphabetical order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alphabetical: Option<AlphabeticalPolicy>,
    /// Tags in numerical order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerical: Option<NumericalPolicy>,
}

/// A SemVer range (Masterminds syntax).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct SemVerPolicy {
    /// The range, e.g. `>=1.0.0 <2.0.0` or `^1.2`.
    pub range: String,
}

/// Alphabetical ordering.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct AlphabeticalPolicy {
    /// `asc` (the default) picks the last tag; `desc` the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "asc"))]
    pub order: Option<SortOrder>,
}

/// Numerical ordering.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct NumericalPolicy {
    /// `asc` (the default) picks the highest number; `desc` the lowest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "asc"))]
    pub order: Option<SortOrder>,
}

/// Filters tags before ordering.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct TagFilter {
    /// A regular expression tags must match.
    #[serde(default)]
    pub pattern: String,
    /// A template of capture groups (`$ts`, `$1`) whose expansion is ordered instead of the tag.
    #[serde(default)]
    pub extract: String,
}

/// An image reference: name, tag and optional digest.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ImageRef {
    /// The image name without tag.
    pub name: String,
    /// The tag.
    pub tag: String,
    /// The digest, `sha256:…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)?;
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl ImageRef {
    /// Splits `name:tag[@digest]` as `v1beta2`'s `latestImage` wrote it.
    ///
    /// ```
    /// let r = fleet_model::flux::image::ImageRef::parse("localhost:5000/app:1.2.3").unwrap();
    /// assert_eq!((r.name.as_str(), r.tag.as_str()), ("localhost:5000/app", "1.2.3"));
    /// ```
    pub fn parse(image: &str) -> Option<ImageRef> {
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (image, None),
        };
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let colon = rest[slash..].rfind(':')? + slash;
        Some(ImageRef {
            name: rest[..colon].to_string(),
            tag: rest[colon + 1..].to_string(),
            digest,
        })
    }
}

/// Observed state of an ImagePolicy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicyStatus {
    /// The image the policy chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_ref: Option<ImageRef>,
    /// The image chosen before the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_previous_ref: Option<ImageRef>,
    /// The last generation reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last handled reconcile request.
    #[serde(flatten)]
    pub reconcile_request: ReconcileRequestStatus,
}

/// The only update strategy Flux has: rewrite fields marked with setters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum UpdateStrategyName {
    /// `# {"$imagepolicy": "ns:name"}` markers.
    #[default]
    Setters,
}

/// Desired state of an ImageUpdateAutomation: where to write chosen images.
#[derive(CustomResource, Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImageUpdateAutomation",
    plural = "imageupdateautomations",
    namespaced,
    status = "ImageUpdateAutomationStatus",
    shortname = "iua",
    shortname = "imgupd",
    shortname = "imgauto",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-images",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
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
    printcolumn(
        name = "Last run",
        type_ = "string",
        json_path = ".status.lastAutomationRunTime",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    derive = "Default",
    doc = "ImageUpdateAutomation is the Schema for the imageupdateautomations API"
)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationSpec {
    /// The GitRepository to update.
    pub source_ref: AutomationSourceReference,
    /// Checkout, commit and push settings.
    #[serde(default, rename = "git", skip_serializing_if = "Option::is_none")]
    pub git_spec: Option<GitSpec>,
    /// How often to run.
    pub interval: GoDuration,
    /// Which ImagePolicies apply; all in the namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_selector: Option<LabelSelector>,
    /// How files are updated; `Setters` over the whole repository when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {"strategy": "Setters"}))]
    pub update: Option<UpdateStrategy>,
    /// Suspends the automation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

/// The GitRepository an automation writes to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutomationSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Always `GitRepository`.
    #[serde(default = "git_repository_kind")]
    #[schemars(extend("default" = "GitRepository", "enum" = ["GitRepository"]))]
    pub kind: String,
    /// Name of the GitRepository.
    pub name: String,
    /// Namespace of the GitRepository; the automation's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

fn git_repository_kind() -> String {
    "GitRepository".to_string()
}

/// How files are updated.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct UpdateStrategy {
    /// The strategy; `Setters` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Setters"))]
    pub strategy: Option<UpdateStrategyName>,
    /// The directory to update; the repository root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Git settings of an automation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct GitSpec {
    /// What to clone; the GitRepository's `ref` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<GitCheckoutSpec>,
    /// How to commit.
    pub commit: CommitSpec,
    /// Where to push; the checkout branch when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSpec>,
}

/// The reference to clone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct GitCheckoutSpec {
    /// Branch, tag or commit.
    #[serde(rename = "ref")]
    pub reference: GitRepositoryRef,
}

/// How commits are made.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitSpec {
    /// The commit author.
    pub author: CommitUser,
    /// A key to sign commits with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SigningKey>,
    /// A Go template for the commit message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template: Option<String>,
    /// Extra values available to the template.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub message_template_values: IndexMap<String, String>,
}

/// A commit author.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct CommitUser {
    /// The name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The email address.
    pub email: String,
}

/// The format of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SigningKeyType {
    /// OpenPGP, key `git.asc` (the default).
    #[default]
    Gpg,
    /// SSH, key `identity`.
    Ssh,
}

/// A commit signing key in a Secret.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    /// The Secret with the key.
    pub secret_ref: LocalObjectReference,
    /// The key format; `gpg` when unset.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<SigningKeyType>,
}

/// Where commits are pushed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct PushSpec {
    /// The branch to push to (created from the checkout branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// A refspec to push with as well; no deletes or forced updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^$|^[^+:]"))]
    pub refspec: Option<String>,
    /// Git push options.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub options: IndexMap<String, String>,
}

/// Observed state of an ImageUpdateAutomation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationStatus {
    /// When the automation last ran to completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_automation_run_time: Option<String>,
    /// The SHA-1 of the last commit pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_commit: Option<String>,
    /// When the last change was pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_time: Option<String>,
    /// The last generation reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The policies considered and the images they chose.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub observed_policies: IndexMap<String, ImageRef>,
    /// The last source revision observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_source_revision: Option<String>,
    /// The last handled reconcile request.
    #[serde(flatten)]
    pub reconcile_request: ReconcileRequestStatus,
}

/// Rewrites an `image.toolkit.fluxcd.io/v1beta2` manifest into its `v1` form.
///
/// The specs are the same; ImagePolicy's status moves from the string fields
/// `latestImage` / `observedPreviousImage` to `latestRef` /
/// `observedPreviousRef`. Manifests of other versions come back unchanged.
pub fn upgrade_v1beta2(value: &Value) -> Value {
    let mut out = value.clone();
    let is_v1beta2 =
        value.get("apiVersion").and_then(Value::as_str) == Some("image.toolkit.fluxcd.io/v1beta2");
    if !is_v1beta2 {
        return out;
    }
    if let Some(m) = out.as_mapping_mut() {
        m.insert(
            "apiVersion".to_string(),
            Value::from("image.toolkit.fluxcd.io/v1"),
        );
    }
    let is_policy = value.get("kind").and_then(Value::as_str) == Some("ImagePolicy");
    if let (true, Some(status)) = (
        is_policy,
        out.get_mut("status").and_then(Value::as_mapping_mut),
    ) {
        for (old, new) in [
            ("latestImage", "latestRef"),
            ("observedPreviousImage", "observedPreviousRef"),
        ] {
            if let Some(Value::String(image)) = status.shift_remove(old)
                && let Some(r) = ImageRef::parse(&image)
            {
                let mut m = crate::value::Mapping::new();
                m.insert("name".into(), Value::from(r.name));
                m.insert("tag".into(), Value::from(r.tag));
                if let Some(d) = r.digest {
                    m.insert("digest".into(), Value::from(d));
                }
                status.insert(new.to_string(), Value::Mapping(m));
            }
        }
    }
    out
}
