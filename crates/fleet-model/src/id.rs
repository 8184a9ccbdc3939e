//! Object ids: group, version, kind, namespace and name.

use crate::value::Value;
use std::fmt;

/// Identifies one Kubernetes object.
///
/// `Display` gives the form Flux prints in its change sets and events,
/// `Kind/namespace/name` (or `Kind/name` for cluster-scoped objects);
/// [`ObjectId::kubectl_ref`] gives kubectl's `kind.group/name`, and
/// [`ObjectId::inventory_id`] Flux's inventory entry id.
///
/// Ordering compares group, kind, namespace, name, then version, so ids of
/// the same object in different API versions sort together.
///
/// ```
/// use fleet_model::ObjectId;
/// let id = ObjectId::new("apps/v1", "Deployment", Some("web"), "frontend");
/// assert_eq!(id.to_string(), "Deployment/web/frontend");
/// assert_eq!(id.kubectl_ref(), "deployment.apps/frontend");
/// assert_eq!(id.inventory_id(), "web_frontend_apps_Deployment");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectId {
    /// API group; empty for the core group (`v1`).
    pub group: String,
    /// API version within the group, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace; `None` when the manifest names none (cluster-scoped or defaulted).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// Why a manifest has no usable id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The document is not a mapping.
    #[error("a Kubernetes object must be a mapping, found a {0}")]
    NotAnObject(&'static str),
    /// A required field is missing or not a string.
    #[error(
        "missing or non-string field `{0}`; every object needs apiVersion, kind and metadata.name"
    )]
    MissingField(&'static str),
    /// `apiVersion` is malformed.
    #[error("invalid apiVersion {0:?}: expected `version` or `group/version`")]
    BadApiVersion(String),
}

impl ObjectId {
    /// Builds an id from an `apiVersion` (`v1` or `group/version`).
    pub fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectId {
        let (group, version) = split_api_version(api_version);
        ObjectId {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
            name: name.to_string(),
        }
    }

    /// Reads the id of a manifest (`apiVersion`, `kind`, `metadata.name`, `metadata.namespace`).
    pub fn from_manifest(value: &Value) -> Result<ObjectId, IdError> {
        if !matches!(value, Value::Mapping(_)) {
            return Err(IdError::NotAnObject(value.type_name()));
        }
        let field = |path: &[&str], label: &'static str| {
            value
                .pointer(path)
                .and_then(Value::as_str)
                .ok_or(IdError::MissingField(label))
        };
        let api_version = field(&["apiVersion"], "apiVersion")?;
        if api_version.is_empty()
            || api_version.matches('/').count() > 1
            || api_version.ends_with('/')
            || api_version.starts_with('/')
        {
            return Err(IdError::BadApiVersion(api_version.to_string()));
        }
        let kind = field(&["kind"], "kind")?;
        let name = field(&["metadata", "name"], "metadata.name")?;
        let namespace = value
            .pointer(&["metadata", "namespace"])
            .and_then(Value::as_str);
        Ok(ObjectId::new(api_version, kind, namespace, name))
    }

    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        join_api_version(&self.group, &self.version)
    }

    /// kubectl's reference form: `deployment.apps/web`, `configmap/settings`.
    pub fn kubectl_ref(&self) -> String {
        let kind = self.kind.to_lowercase();
        if self.group.is_empty() {
            format!("{kind}/{}", self.name)
        } else {
            format!("{kind}.{}/{}", self.group, self.name)
        }
    }

    /// Flux's inventory id: `<namespace>_<name>_<group>_<kind>`, with `:`
    /// in the names of RBAC kinds written `__` (cli-utils `ObjMetadata.String`).
    ///
    /// ```
    /// use fleet_model::ObjectId;
    /// let role = ObjectId::new("rbac.authorization.k8s.io/v1", "ClusterRole", None, "system:flux:view");
    /// assert_eq!(role.inventory_id(), "_system__flux__view_rbac.authorization.k8s.io_ClusterRole");
    /// ```
    pub fn inventory_id(&self) -> String {
        let rbac = self.group == "rbac.authorization.k8s.io"
            && matches!(
                self.kind.as_str(),
                "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding"
            );
        let name = if rbac {
            self.name.replace(':', "__")
        } else {
            self.name.clone()
        };
        format!(
            "{}_{}_{}_{}",
            self.namespace.as_deref().unwrap_or(""),
            name,
            self.group,
            self.kind
        )
    }

    /// Parses a Flux inventory entry (`id` and `v`) back into an id.
    ///
    /// ```
    /// let id = fleet_model::ObjectId::from_inventory("_cert-manager__Namespace", "v1");
    /// assert_eq!(id.map(|i| i.to_string()), Some("Namespace/cert-manager".to_string()));
    /// ```
    pub fn from_inventory(id: &str, version: &str) -> Option<ObjectId> {
        // cli-utils `ParseObjMetadata`: the namespace up to the first `_`, the
        // kind after the last, the group before it, the name in between (with
        // `__` standing for `:`).
        let (namespace, rest) = id.split_once('_')?;
        let (rest, kind) = rest.rsplit_once('_')?;
        let (name, group) = rest.rsplit_once('_')?;
        let name = name.replace("__", ":");
        if name.is_empty() || kind.is_empty() {
            return None;
        }
        Some(ObjectId {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
            name: name.to_string(),
        })
    }
}

/// `group/version`, or just `version` for the core group (the inverse of
/// [`split_api_version`]).
///
/// ```
/// assert_eq!(fleet_model::id::join_api_version("apps", "v1"), "apps/v1");
/// assert_eq!(fleet_model::id::join_api_version("", "v1"), "v1");
/// ```
pub fn join_api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// Splits `group/version` (or `version`) into its parts.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

impl Ord for ObjectId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (
            &self.group,
            &self.kind,
            &self.namespace,
            &self.name,
            &self.version,
        )
            .cmp(&(
                &other.group,
                &other.kind,
                &other.namespace,
                &other.name,
                &other.version,
            ))
    }
}

impl PartialOrd for ObjectId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_one;
    use std::collections::HashSet;

    fn id_of(text: &str) -> Result<ObjectId, IdError> {
        let v = parse_one(text).unwrap_or_default();
        ObjectId::from_manifest(&v)
    }

    #[test]
    fn parses_core_and_grouped_objects() {
        let core = id_of("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\n");
        assert_eq!(
            core.map(|i| (i.group.clone(), i.version.clone(), i.to_string())),
            Ok((String::new(), "v1".into(), "ConfigMap/ns/a".into()))
        );
        let grouped = id_of(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps}\n",
        );
        assert_eq!(
            grouped.map(|i| i.kubectl_ref()),
            Ok("kustomization.kustomize.toolkit.fluxcd.io/apps".into())
        );
    }

    #[test]
    fn missing_fields_are_named() {
        assert_eq!(
            id_of("kind: A\nmetadata: {name: a}\n"),
            Err(IdError::MissingField("apiVersion"))
        );
        assert_eq!(
            id_of("apiVersion: v1\nkind: A\nmetadata: {}\n"),
            Err(IdError::MissingField("metadata.name"))
        );
        assert_eq!(
            id_of("apiVersion: a/b/c\nkind: A\nmetadata: {name: a}\n"),
            Err(IdError::BadApiVersion("a/b/c".into()))
        );
        assert_eq!(id_of("- a\n"), Err(IdError::NotAnObject("sequence")));
    }

    #[test]
    fn ids_order_by_group_kind_namespace_name_and_hash_by_all_fields() {
        let a = ObjectId::new("apps/v1", "Deployment", Some("a"), "x");
        let b = ObjectId::new("apps/v1", "Deployment", Some("b"), "x");
        let c = ObjectId::new("v1", "Service", Some("a"), "x");
        let mut v = vec![b.clone(), a.clone(), c.clone()];
        v.sort();
        assert_eq!(v, vec![c, a.clone(), b]);
        let set: HashSet<_> = [a.clone(), a].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn inventory_ids_round_trip() {
        let id = ObjectId::new("networking.k8s.io/v1", "Ingress", Some("web"), "front");
        assert_eq!(ObjectId::from_inventory(&id.inventory_id(), "v1"), Some(id));
        assert_eq!(ObjectId::from_inventory("bad", "v1"), None);
    }

    /// Ids as kustomize-controller writes them (cli-utils `ObjMetadata`),
    /// for core, grouped, cluster-scoped and RBAC objects with colons.
    #[test]
    fn inventory_ids_match_flux_for_every_kind_of_object() {
        let table = [
            (
                ObjectId::new("v1", "Service", Some("default"), "podinfo"),
                "default_podinfo__Service",
            ),
            (
                ObjectId::new("apps/v1", "Deployment", Some("apps"), "web"),
                "apps_web_apps_Deployment",
            ),
            (
                ObjectId::new("v1", "Namespace", None, "cert-manager"),
                "_cert-manager__Namespace",
            ),
            (
                ObjectId::new(
                    "apiextensions.k8s.io/v1",
                    "CustomResourceDefinition",
                    None,
                    "gitrepositories.source.toolkit.fluxcd.io",
                ),
                "_gitrepositories.source.toolkit.fluxcd.io_apiextensions.k8s.io_CustomResourceDefinition",
            ),
            (
                ObjectId::new(
                    "rbac.authorization.k8s.io/v1",
                    "ClusterRole",
                    None,
                    "system:controller:flux",
                ),
                "_system__controller__flux_rbac.authorization.k8s.io_ClusterRole",
            ),
            (
                ObjectId::new(
                    "rbac.authorization.k8s.io/v1",
                    "RoleBinding",
                    Some("kube-system"),
                    "system:auth-reader",
                ),
                "kube-system_system__auth-reader_rbac.authorization.k8s.io_RoleBinding",
            ),
            // Colons stay colons outside RBAC kinds.
            (
                ObjectId::new("v1", "ConfigMap", Some("a"), "x:y"),
                "a_x:y__ConfigMap",
            ),
        ];
        for (id, flux) in table {
            assert_eq!(id.inventory_id(), flux);
            assert_eq!(ObjectId::from_inventory(flux, &id.version), Some(id));
        }
    }
}
