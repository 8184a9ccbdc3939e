//! Types Flux shares between its APIs (`github.com/fluxcd/pkg/apis/meta`,
//! `apis/kustomize`, `apis/acl`).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A reference to an object in the same namespace.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct LocalObjectReference {
    /// Name of the referent.
    pub name: String,
}

/// A reference to an object in any namespace.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct NamespacedObjectReference {
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent; the referrer's namespace when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A typed reference to an object in any namespace.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedObjectKindReference {
    /// API version of the referent; the preferred version when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent.
    pub kind: String,
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A reference to a Secret and, optionally, one of its keys.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct SecretKeyReference {
    /// Name of the Secret.
    pub name: String,
    /// Key in the Secret; an implementation-specific default when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// The cloud provider used to reach a remote cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KubeConfigProvider {
    /// A kubeconfig from a Secret (the default).
    #[default]
    Generic,
    /// Amazon EKS.
    Aws,
    /// Azure AKS.
    Azure,
    /// Google GKE.
    Gcp,
}

/// Where the kubeconfig of a remote cluster comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubeConfigReference {
    /// The cloud provider; `generic` (a Secret) when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<KubeConfigProvider>,
    /// The cloud provider's cluster resource name (not for `generic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The API server address to pick among the cluster's endpoints (not for `generic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The ServiceAccount used to authenticate to the cloud provider (not for `generic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// The Secret holding the kubeconfig (key `value` or `value.yaml` unless named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyReference>,
}

impl KubeConfigReference {
    /// The provider, defaulting to `generic`.
    pub fn provider(&self) -> KubeConfigProvider {
        self.provider.unwrap_or_default()
    }
}

/// The last handled value of the `reconcile.fluxcd.io/requestedAt` annotation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileRequestStatus {
    /// The most recent reconcile request value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// The output of a source reconciliation, served to consumers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Path of the artifact relative to the storage root.
    pub path: String,
    /// HTTP address of the artifact.
    pub url: String,
    /// Source revision, e.g. `main@sha1:<hash>`.
    pub revision: String,
    /// Digest of the artifact file, `<algo>:<checksum>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// When the artifact was last updated.
    pub last_update_time: String,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Extra metadata, e.g. OCI annotations.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub metadata: IndexMap<String, String>,
}

/// One entry of a Kustomization's reconciliation history.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Checksum of the applied resources, `<algo>:<hex>`.
    pub digest: String,
    /// When this set was first reconciled.
    pub first_reconciled: String,
    /// When this set was last reconciled.
    pub last_reconciled: String,
    /// How long the last reconciliation took.
    pub last_reconciled_duration: crate::GoDuration,
    /// The status of the last reconciliation.
    pub last_reconciled_status: String,
    /// How many reconciliations this set has seen.
    pub total_reconciliations: i64,
    /// Reconciler-specific data (revision, resource counts…).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub metadata: IndexMap<String, String>,
}

/// A label selector over namespaces (`acl.NamespaceSelector`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    /// Labels a namespace must carry.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub match_labels: IndexMap<String, String>,
}

/// Which namespaces may refer to an object across namespaces (`acl.AccessFrom`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessFrom {
    /// Namespaces matching any of these selectors are allowed.
    pub namespace_selectors: Vec<NamespaceSelector>,
}

/// An image override: name, new name, new tag or digest (`kustomize.Image`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// The tag-less image name to match.
    pub name: String,
    /// The replacement name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    /// The replacement tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_tag: Option<String>,
    /// The replacement digest; wins over `newTag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// Selects resources by group, version, kind, name, namespace, labels and
/// annotations; all set fields must match (`kustomize.Selector`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name (a regular expression in kustomize targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A label selector expression matched against annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
    /// A label selector expression matched against labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
}

/// A strategic-merge or JSON 6902 patch, inline, with its target (`kustomize.Patch`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Patch {
    /// The patch document.
    #[serde(default)]
    pub patch: String,
    /// The resources the patch applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Selector>,
}

/// CEL expressions that decide the health of a custom resource (`kustomize.CustomHealthCheck`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomHealthCheck {
    /// API version of the custom resource.
    pub api_version: String,
    /// Kind of the custom resource.
    pub kind: String,
    /// True when the resource has reached its desired state.
    pub current: String,
    /// True while the resource is still progressing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<String>,
    /// True when the resource has failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// Label selector (`metav1.LabelSelector`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must match exactly.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub match_labels: IndexMap<String, String>,
    /// Set-based requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

impl LabelSelector {
    /// Whether an object with `labels` is selected, as
    /// `metav1.LabelSelectorAsSelector` decides: every `matchLabels` entry
    /// equal, `In` (the label set to one of `values`), `NotIn` (unset or
    /// none of them), `Exists`, `DoesNotExist`. An empty selector selects
    /// everything. A requirement Kubernetes refuses (an unknown operator,
    /// `In`/`NotIn` without values, `Exists`/`DoesNotExist` with values) is
    /// an error naming it.
    ///
    /// ```
    /// use fleet_model::flux::meta::LabelSelector;
    /// let selector: LabelSelector = serde_json::from_value(serde_json::json!({
    ///     "matchLabels": {"team": "a"},
    ///     "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]
    /// })).unwrap();
    /// let labels = [("team", "a"), ("tier", "web")];
    /// assert_eq!(selector.matches(labels), Ok(true));
    /// assert_eq!(selector.matches([("team", "a")]), Ok(false));
    /// ```
    pub fn matches<'a>(
        &self,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<bool, String> {
        let labels: std::collections::BTreeMap<&str, &str> = labels.into_iter().collect();
        let mut selected = self
            .match_labels
            .iter()
            .all(|(k, v)| labels.get(k.as_str()) == Some(&v.as_str()));
        for requirement in &self.match_expressions {
            let key = requirement.key.as_str();
            let values = &requirement.values;
            let value = labels.get(key);
            let matched = match requirement.operator.as_str() {
                "In" | "NotIn" if values.is_empty() => {
                    return Err(format!(
                        "label selector requirement on '{key}': values must be non-empty for operator {}",
                        requirement.operator
                    ));
                }
                "Exists" | "DoesNotExist" if !values.is_empty() => {
                    return Err(format!(
                        "label selector requirement on '{key}': values must be empty for operator {}",
                        requirement.operator
                    ));
                }
                "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
                "NotIn" => !value.is_some_and(|v| values.iter().any(|x| x == v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                other => {
                    return Err(format!(
                        "label selector requirement on '{key}': \"{other}\" is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)"
                    ));
                }
            };
            selected &= matched;
        }
        Ok(selected)
    }
}

/// One set-based label requirement.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct LabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// Values for `In` and `NotIn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[cfg(test)]
mod label_selector_tests {
    use super::{LabelSelector, LabelSelectorRequirement};

    fn req(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn selector(reqs: Vec<LabelSelectorRequirement>) -> LabelSelector {
        LabelSelector {
            match_labels: Default::default(),
            match_expressions: reqs,
        }
    }

    #[test]
    fn set_based_requirements_match_as_kubernetes_and_bad_ones_are_errors() {
        let labels = [("tier", "web"), ("env", "prod")];
        assert_eq!(LabelSelector::default().matches(labels), Ok(true));
        let cases = [
            (req("tier", "NotIn", &["api"]), true),
            (req("tier", "NotIn", &["web"]), false),
            (req("team", "NotIn", &["x"]), true),
            (req("env", "Exists", &[]), true),
            (req("team", "Exists", &[]), false),
            (req("team", "DoesNotExist", &[]), true),
            (req("env", "DoesNotExist", &[]), false),
            (req("team", "In", &["x"]), false),
        ];
        for (requirement, expected) in cases {
            let name = format!("{requirement:?}");
            assert_eq!(
                selector(vec![requirement]).matches(labels),
                Ok(expected),
                "{name}"
            );
        }
        for bad in [
            req("tier", "In", &[]),
            req("tier", "Exists", &["x"]),
            req("tier", "Equals", &["web"]),
        ] {
            assert!(selector(vec![bad]).matches(labels).is_err());
        }
    }
}
