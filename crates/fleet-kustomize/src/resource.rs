//! Resources and the ordered, indexed set of them a build accumulates.

use crate::error::{Error, Result};
use fleet_model::{Mapping, Value};
use std::collections::HashMap;
use std::fmt;

/// Kinds the Kubernetes API serves cluster-wide, by group (kustomize learns
/// this from its built-in OpenAPI document).
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "ComponentStatus"),
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("authentication.k8s.io", "SelfSubjectReview"),
    ("authentication.k8s.io", "TokenReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("extensions", "PodSecurityPolicy"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("internal.apiserver.k8s.io", "StorageVersion"),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
];

/// Whether kustomize knows this group and kind to be cluster-scoped.
pub fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    CLUSTER_SCOPED
        .iter()
        .any(|(g, k)| *g == group && *k == kind)
}

/// A resource id as kustomize compares them: group, version, kind, name,
/// namespace (empty when unset).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct ResId {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace, empty when unset.
    pub namespace: String,
}

impl ResId {
    /// The namespace used for equality: cluster-scoped kinds have none, and
    /// an unset namespace is `default`.
    pub fn effective_namespace(&self) -> &str {
        if is_cluster_scoped(&self.group, &self.kind) {
            "_non_namespaceable_"
        } else if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// Same group, version, kind, name and effective namespace.
    pub fn same_as(&self, o: &ResId) -> bool {
        self.name == o.name
            && self.kind == o.kind
            && self.group == o.group
            && self.version == o.version
            && self.effective_namespace() == o.effective_namespace()
    }

    /// `group/version` or `version`.
    pub fn api_version(&self) -> String {
        fleet_model::id::join_api_version(&self.group, &self.version)
    }

    /// kustomize's `Gvk.String()`: `Kind.version.group` with placeholders.
    pub fn gvk_string(&self) -> String {
        format!(
            "{}.{}.{}",
            or_placeholder(&self.kind, "[noKind]"),
            or_placeholder(&self.version, "[noVer]"),
            or_placeholder(&self.group, "[noGrp]")
        )
    }
}

/// `Kind/namespace/name` (or `Kind/name`) of an object for error messages,
/// read leniently so that even a half-formed object can be named.
pub(crate) fn describe_object(object: &Value) -> String {
    let field = |path: &[&str]| object.pointer(path).and_then(Value::as_str).unwrap_or("");
    let kind = field(&["kind"]);
    let name = field(&["metadata", "name"]);
    match field(&["metadata", "namespace"]) {
        "" => format!("{kind}/{name}"),
        ns => format!("{kind}/{ns}/{name}"),
    }
}

/// `s`, or `placeholder` when `s` is empty (kustomize's id strings).
pub(crate) fn or_placeholder<'a>(s: &'a str, placeholder: &'a str) -> &'a str {
    if s.is_empty() { placeholder } else { s }
}

impl fmt::Display for ResId {
    /// kustomize's `ResId.String()`: `Kind.version.group/name.namespace`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        let name = if self.name.is_empty() {
            "[noName]"
        } else {
            &self.name
        };
        write!(f, "{}/{}.{}", self.gvk_string(), name, ns)
    }
}

/// What a generated resource does to one of the same name from a base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    /// A new resource; an existing one is an error.
    #[default]
    Create,
    /// Replace the existing resource's data.
    Replace,
    /// Merge into the existing resource's data.
    Merge,
}

impl Behavior {
    /// Parses `create`, `replace` or `merge` (empty is `create`).
    pub fn parse(s: Option<&str>) -> Result<Behavior> {
        match s.unwrap_or("") {
            "" | "create" => Ok(Behavior::Create),
            "replace" => Ok(Behavior::Replace),
            "merge" => Ok(Behavior::Merge),
            other => Err(Error::msg(format!(
                "unknown generator behavior {other:?}; use create, replace or merge"
            ))),
        }
    }
}

/// One resource being built.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The object.
    pub value: Value,
    /// Ids this resource had before renames, oldest first (for name references).
    pub previous: Vec<ResId>,
    /// Whether the content-hash suffix is still to be added to its name.
    pub needs_hash: bool,
    /// For generated resources, how they combine with existing ones.
    pub behavior: Behavior,
    /// Origin annotation value (buildMetadata: originAnnotations).
    pub origin: Option<String>,
    /// Transformers that touched it (buildMetadata: transformerAnnotations).
    pub transformations: Vec<String>,
    /// Files and line the resource came from, for error messages.
    pub file: String,
    /// Name prefixes applied, innermost first (for telling apart references).
    pub prefixes: Vec<String>,
    /// Name suffixes applied, innermost first.
    pub suffixes: Vec<String>,
    /// Vars (declared with `vars:`) whose value this resource supplies.
    pub var_names: Vec<String>,
    /// Label and annotation values that share one node in kustomize (see
    /// [`SharedEntry`]).
    pub shared_entries: Vec<SharedEntry>,
}

/// A label or annotation value kustomize wrote as one YAML node at several
/// places: its label and annotation transformers create one node per key
/// and resource (`filtersutil.SetEntry`) and insert it wherever the key was
/// missing, and overwrite an existing value in place. A later transformer
/// that overwrites the key at one of those places so changes them all: an
/// overlay's plain `labels` entry changes the selector a base's
/// `includeSelectors` entry wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedEntry {
    /// The label or annotation key.
    pub key: String,
    /// The mappings holding it (`fieldspec::joined_path`s).
    pub places: Vec<Box<str>>,
    /// The value they share.
    pub value: String,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    v.pointer(path).and_then(Value::as_str).unwrap_or("")
}

impl Resource {
    /// Wraps an object.
    pub fn new(value: Value, file: &str) -> Resource {
        Resource {
            value,
            previous: Vec::new(),
            needs_hash: false,
            behavior: Behavior::Create,
            origin: None,
            transformations: Vec::new(),
            file: file.to_string(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            var_names: Vec::new(),
            shared_entries: Vec::new(),
        }
    }

    /// The current id.
    pub fn id(&self) -> ResId {
        let api = str_at(&self.value, &["apiVersion"]);
        let (group, version) = match api.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api),
        };
        ResId {
            group: group.to_string(),
            version: version.to_string(),
            kind: str_at(&self.value, &["kind"]).to_string(),
            name: str_at(&self.value, &["metadata", "name"]).to_string(),
            namespace: str_at(&self.value, &["metadata", "namespace"]).to_string(),
        }
    }

    /// The id it was loaded with.
    pub fn original_id(&self) -> ResId {
        self.previous.first().cloned().unwrap_or_else(|| self.id())
    }

    /// `kind`.
    pub fn kind(&self) -> &str {
        str_at(&self.value, &["kind"])
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        str_at(&self.value, &["metadata", "name"])
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> &str {
        str_at(&self.value, &["metadata", "namespace"])
    }

    /// The `metadata` mapping, created when missing.
    pub fn metadata_mut(&mut self) -> &mut Mapping {
        let root = ensure_mapping(&mut self.value);
        let meta = root
            .entry("metadata".to_string())
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        ensure_mapping(meta)
    }

    /// Records the current id in the history, then sets a new name.
    pub fn rename(&mut self, name: &str) {
        let id = self.id();
        if id.name != name {
            self.previous.push(id);
            self.metadata_mut()
                .insert("name".to_string(), Value::String(name.to_string()));
        }
    }

    /// Records the current id in the history, then sets a new namespace.
    pub fn set_namespace(&mut self, ns: &str) {
        let id = self.id();
        if id.namespace != ns {
            self.previous.push(id);
        }
        self.metadata_mut()
            .insert("namespace".to_string(), Value::String(ns.to_string()));
    }

    /// Labels as a string map (kustomize reads them as `map[string]string`).
    pub fn labels(&self) -> Vec<(String, String)> {
        string_map(self.value.pointer(&["metadata", "labels"]))
    }

    /// Annotations as a string map.
    pub fn annotations(&self) -> Vec<(String, String)> {
        string_map(self.value.pointer(&["metadata", "annotations"]))
    }

    /// Every id this resource has had, current first.
    pub fn all_ids(&self) -> impl Iterator<Item = ResId> + '_ {
        std::iter::once(self.id()).chain(self.previous.iter().rev().cloned())
    }
}

/// A scalar as the string kustomize's `map[string]string` view gives it.
pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.as_text().to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn string_map(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Mapping(m)) => m
            .iter()
            .filter_map(|(k, v)| scalar_string(v).map(|s| (k.clone(), s)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Turns a value into a mapping (replacing a scalar or null) and returns it.
pub fn ensure_mapping(v: &mut Value) -> &mut Mapping {
    if !matches!(v, Value::Mapping(_)) {
        *v = Value::Mapping(Mapping::new());
    }
    match v {
        Value::Mapping(m) => m,
        _ => unreachable!("just made a mapping"),
    }
}

/// The resources of a build in order, indexed by current id.
#[derive(Debug, Clone, Default)]
pub struct ResMap {
    resources: Vec<Resource>,
    index: HashMap<(String, String, String, String, String), Vec<usize>>,
}

fn index_key(id: &ResId) -> (String, String, String, String, String) {
    (
        id.group.clone(),
        id.version.clone(),
        id.kind.clone(),
        id.name.clone(),
        id.effective_namespace().to_string(),
    )
}

impl ResMap {
    /// An empty set.
    pub fn new() -> ResMap {
        ResMap::default()
    }

    /// The resources in order.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// The resources, mutably. Call [`ResMap::reindex`] after changing ids.
    pub fn resources_mut(&mut self) -> &mut [Resource] {
        &mut self.resources
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Rebuilds the id index.
    pub fn reindex(&mut self) {
        self.index.clear();
        for (i, r) in self.resources.iter().enumerate() {
            self.index.entry(index_key(&r.id())).or_default().push(i);
        }
    }

    /// Positions of resources whose current id equals `id`.
    pub fn find(&self, id: &ResId) -> Vec<usize> {
        self.index.get(&index_key(id)).cloned().unwrap_or_default()
    }

    /// Appends; an id already present is an error.
    pub fn append(&mut self, r: Resource) -> Result<()> {
        let id = r.id();
        if !self.find(&id).is_empty() {
            return Err(Error::DuplicateId(id.to_string()));
        }
        self.index
            .entry(index_key(&id))
            .or_default()
            .push(self.resources.len());
        self.resources.push(r);
        Ok(())
    }

    /// Appends every resource of another set.
    pub fn append_all(&mut self, other: ResMap) -> Result<()> {
        for r in other.resources {
            self.append(r)?;
        }
        Ok(())
    }

    /// Replaces the resource at `i`, updating the index for its id only.
    pub fn replace(&mut self, i: usize, r: Resource) {
        let old = index_key(&self.resources[i].id());
        if let Some(v) = self.index.get_mut(&old) {
            v.retain(|&x| x != i);
            if v.is_empty() {
                self.index.remove(&old);
            }
        }
        let new = index_key(&r.id());
        let slot = self.index.entry(new).or_default();
        slot.push(i);
        slot.sort_unstable();
        self.resources[i] = r;
    }

    /// Puts back the resource taken out of slot `i` (with `std::mem::replace`),
    /// whose id was the id the index holds for `i` before it was taken.
    pub fn replace_moved(&mut self, i: usize, r: Resource) {
        let new = index_key(&r.id());
        if !self.index.get(&new).is_some_and(|v| v.contains(&i)) {
            self.index.retain(|_, v| {
                v.retain(|&x| x != i);
                !v.is_empty()
            });
            let slot = self.index.entry(new).or_default();
            slot.push(i);
            slot.sort_unstable();
        }
        self.resources[i] = r;
    }

    /// Keeps only the resources for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&Resource) -> bool) {
        self.resources.retain(keep);
        self.reindex();
    }

    /// Replaces the whole list (e.g. after sorting).
    pub fn set_all(&mut self, resources: Vec<Resource>) {
        self.resources = resources;
        self.reindex();
    }

    /// Takes the resources out.
    pub fn into_resources(self) -> Vec<Resource> {
        self.resources
    }
}
