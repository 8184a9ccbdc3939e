//! Field specs: which fields of which kinds a transformer touches, kustomize's
//! default transformer configuration, and the walk that visits those fields.

use crate::error::{Error, Result};
use crate::resource::ensure_mapping;
use fleet_model::{Mapping, Value};
use serde::Deserialize;

/// One field of (optionally) one group/version/kind.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct FieldSpec {
    /// API group to match; any when empty.
    #[serde(default)]
    pub group: String,
    /// API version to match; any when empty.
    #[serde(default)]
    pub version: String,
    /// Kind to match; any when empty.
    #[serde(default)]
    pub kind: String,
    /// `/`-separated path; `\/` is a literal slash; `x[]` marks a sequence.
    #[serde(default)]
    pub path: String,
    /// Create missing fields on the way.
    #[serde(default, rename = "create")]
    pub create: bool,
    /// Skip this kind (used by name prefix rules).
    #[serde(default)]
    pub skip: bool,
}

impl FieldSpec {
    /// Whether the spec applies to an object of this group, version and kind.
    pub fn matches(&self, group: &str, version: &str, kind: &str) -> bool {
        (self.kind.is_empty() || self.kind == kind)
            && (self.group.is_empty() || self.group == group)
            && (self.version.is_empty() || self.version == version)
    }

    /// The path split into segments, honouring `\/` escapes.
    pub fn segments(&self) -> Vec<String> {
        split_path(&self.path)
    }
}

/// Splits a field-spec path at unescaped `/`.
pub fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                cur.push('/');
                chars.next();
            }
            '/' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.retain(|s| !s.is_empty());
    out
}

/// What to create when the last field is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// A mapping (labels, annotations).
    Mapping,
    /// A scalar (namespace, name).
    Scalar,
}

/// Visits the field(s) `fs` names in `obj`, creating them when the spec says
/// so; `set` receives each field found. Sequences met on the way are walked
/// element by element, as kustomize's field-spec filter does.
pub fn visit(
    obj: &mut Value,
    fs: &FieldSpec,
    create: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<()>,
) -> Result<()> {
    with_segments(fs, |segments| {
        visit_at(obj, segments, fs.create, create, None, &mut |_, node| {
            set(node)
        })
    })
}

/// [`visit`], also giving `set` the path of each field found: mapping keys,
/// and `#N` for the N-th element of a sequence.
pub fn visit_with_path(
    obj: &mut Value,
    fs: &FieldSpec,
    create: Create,
    set: &mut dyn FnMut(&[String], &mut Value) -> Result<()>,
) -> Result<()> {
    let mut trail = Vec::new();
    with_segments(fs, |segments| {
        visit_at(obj, segments, fs.create, create, Some(&mut trail), set)
    })
}

/// Runs `f` on the segments of `fs`'s path (escaped slashes kept).
fn with_segments<T>(fs: &FieldSpec, f: impl FnOnce(&[&str]) -> T) -> T {
    if fs.path.contains('\\') {
        let owned = fs.segments();
        let segments: Vec<&str> = owned.iter().map(String::as_str).collect();
        f(&segments)
    } else {
        let segments: Vec<&str> = fs.path.split('/').filter(|s| !s.is_empty()).collect();
        f(&segments)
    }
}

/// The separator of [`joined_path`].
const PATH_SEPARATOR: char = '\u{1f}';

/// A path [`visit_with_path`] gives, as one string for [`node_at_mut`].
pub fn joined_path(path: &[String]) -> Box<str> {
    path.join(&PATH_SEPARATOR.to_string()).into_boxed_str()
}

/// The node at a [`joined_path`], if it is there.
pub fn node_at_mut<'a>(obj: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut node = obj;
    for segment in path.split(PATH_SEPARATOR).filter(|s| !s.is_empty()) {
        node = match (node, segment.strip_prefix('#')) {
            (Value::Sequence(items), Some(index)) => items.get_mut(index.parse::<usize>().ok()?)?,
            (Value::Mapping(map), _) => map.get_mut(segment)?,
            _ => return None,
        };
    }
    Some(node)
}

fn visit_at(
    node: &mut Value,
    path: &[&str],
    may_create: bool,
    create: Create,
    mut trail: Option<&mut Vec<String>>,
    set: &mut dyn FnMut(&[String], &mut Value) -> Result<()>,
) -> Result<()> {
    let Some((first, rest)) = path.split_first() else {
        return set(trail.as_deref().map_or(&[], Vec::as_slice), node);
    };
    match node {
        Value::Sequence(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                if matches!(item, Value::Mapping(_) | Value::Sequence(_)) {
                    if let Some(t) = trail.as_deref_mut() {
                        t.push(format!("#{index}"));
                    }
                    let result =
                        visit_at(item, path, may_create, create, trail.as_deref_mut(), set);
                    if let Some(t) = trail.as_deref_mut() {
                        t.pop();
                    }
                    result?;
                }
            }
            Ok(())
        }
        Value::Mapping(map) => {
            let (name, is_seq) = match first.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (*first, false),
            };
            if name.is_empty() {
                return Err(Error::msg("cannot set or create an empty field name"));
            }
            if !map.contains_key(name) {
                if !may_create || is_seq {
                    return Ok(());
                }
                let fresh = if rest.is_empty() && create == Create::Scalar {
                    Value::Null
                } else {
                    Value::Mapping(Mapping::new())
                };
                map.insert(name.to_string(), fresh);
            }
            let Some(field) = map.get_mut(name) else {
                return Ok(());
            };
            if field.is_null() {
                if is_seq {
                    *field = Value::Sequence(Vec::new());
                } else if !rest.is_empty() || create == Create::Mapping {
                    if may_create {
                        ensure_mapping(field);
                    } else if !rest.is_empty() {
                        return Ok(());
                    }
                }
            }
            if let Some(t) = trail.as_deref_mut() {
                t.push(name.to_string());
            }
            let result = visit_at(field, rest, may_create, create, trail.as_deref_mut(), set);
            if let Some(t) = trail {
                t.pop();
            }
            result
        }
        // A scalar where the path goes on: nothing to visit.
        _ => Ok(()),
    }
}

/// A referral kind and the fields of other kinds that name it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NameBackRef {
    /// Group of the referred-to kind.
    #[serde(default)]
    pub group: String,
    /// Version of the referred-to kind.
    #[serde(default)]
    pub version: String,
    /// The referred-to kind.
    #[serde(default)]
    pub kind: String,
    /// Fields that hold its name.
    #[serde(default)]
    pub field_specs: Vec<FieldSpec>,
}

/// kustomize's transformer configuration: field specs per transformer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformerConfig {
    /// Where name prefixes go.
    #[serde(default)]
    pub name_prefix: Vec<FieldSpec>,
    /// Where name suffixes go.
    #[serde(default)]
    pub name_suffix: Vec<FieldSpec>,
    /// Where namespaces go.
    #[serde(default)]
    pub namespace: Vec<FieldSpec>,
    /// Where common labels go.
    #[serde(default)]
    pub common_labels: Vec<FieldSpec>,
    /// Extra fields for every `labels:` entry.
    #[serde(default)]
    pub labels: Vec<FieldSpec>,
    /// Where common annotations go.
    #[serde(default)]
    pub common_annotations: Vec<FieldSpec>,
    /// Fields that may hold `$(VAR)` references.
    #[serde(default)]
    pub var_reference: Vec<FieldSpec>,
    /// Name references between kinds.
    #[serde(default)]
    pub name_reference: Vec<NameBackRef>,
    /// Where images are.
    #[serde(default)]
    pub images: Vec<FieldSpec>,
    /// Where replica counts are.
    #[serde(default)]
    pub replicas: Vec<FieldSpec>,
}

const METADATA_LABELS: &str = r"
- path: metadata/labels
  create: true
- path: spec/template/metadata/labels
  create: true
  version: v1
  kind: ReplicationController
- path: spec/template/metadata/labels
  create: true
  kind: Deployment
- path: spec/template/metadata/labels
  create: true
  kind: ReplicaSet
- path: spec/template/metadata/labels
  create: true
  kind: DaemonSet
- path: spec/template/metadata/labels
  create: true
  group: apps
  kind: StatefulSet
- path: spec/volumeClaimTemplates[]/metadata/labels
  create: true
  group: apps
  kind: StatefulSet
- path: spec/template/metadata/labels
  create: true
  group: batch
  kind: Job
- path: spec/jobTemplate/metadata/labels
  create: true
  group: batch
  kind: CronJob
- path: spec/jobTemplate/spec/template/metadata/labels
  create: true
  group: batch
  kind: CronJob
";

/// The default configuration, transcribed from kustomize v5's built-in
/// field specs (`api/konfig/builtinpluginconsts`, kept in
/// `defaults/fieldspecs.tsv`); parsed once per process.
pub fn default_config() -> Result<TransformerConfig> {
    shared_default_config().map(|c| (*c).clone())
}

/// The default configuration, shared (cloning it per kustomization was a
/// measurable share of a build).
pub fn shared_default_config() -> Result<std::sync::Arc<TransformerConfig>> {
    static DEFAULT: std::sync::OnceLock<
        std::result::Result<std::sync::Arc<TransformerConfig>, String>,
    > = std::sync::OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            parse_default_config()
                .map(std::sync::Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(Error::Other)
}

fn parse_default_config() -> Result<TransformerConfig> {
    let bad =
        |n: usize, why: &str| Error::msg(format!("built-in field specs, line {}: {why}", n + 1));
    let mut cfg = TransformerConfig::default();
    for (n, line) in include_str!("defaults/fieldspecs.tsv").lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [section, referred, group, version, kind, path, flags] = cols.as_slice() else {
            return Err(bad(n, "expected 7 tab-separated columns"));
        };
        let spec = FieldSpec {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            path: path.to_string(),
            create: flags.split(',').any(|f| f == "create"),
            skip: flags.split(',').any(|f| f == "skip"),
        };
        let list = match *section {
            "namePrefix" => &mut cfg.name_prefix,
            "commonLabels" => &mut cfg.common_labels,
            "commonAnnotations" => &mut cfg.common_annotations,
            "namespace" => &mut cfg.namespace,
            "varReference" => &mut cfg.var_reference,
            "images" => &mut cfg.images,
            "replicas" => &mut cfg.replicas,
            "nameReference" => {
                // group/version/kind; the group may itself contain a slash.
                let mut parts = referred.rsplitn(3, '/');
                let (Some(rkind), Some(rversion), Some(rgroup)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(bad(n, "the referred kind must be group/version/kind"));
                };
                match cfg
                    .name_reference
                    .iter_mut()
                    .find(|b| b.kind == rkind && b.group == rgroup && b.version == rversion)
                {
                    Some(b) => b.field_specs.push(spec),
                    None => cfg.name_reference.push(NameBackRef {
                        group: rgroup.to_string(),
                        version: rversion.to_string(),
                        kind: rkind.to_string(),
                        field_specs: vec![spec],
                    }),
                }
                continue;
            }
            other => return Err(bad(n, &format!("unknown section {other:?}"))),
        };
        list.push(spec);
    }
    cfg.name_suffix = cfg.name_prefix.clone();
    Ok(cfg)
}

/// The field specs `labels` uses without `includeSelectors`: metadata labels only.
pub fn metadata_labels_only() -> Vec<FieldSpec> {
    vec![FieldSpec {
        path: "metadata/labels".into(),
        create: true,
        ..Default::default()
    }]
}

/// The template-label field specs (`labels` with `includeTemplates`).
pub fn template_labels() -> Result<Vec<FieldSpec>> {
    let specs: Vec<FieldSpec> = parse_yaml_as(METADATA_LABELS, "template labels")?;
    Ok(specs
        .into_iter()
        .filter(|f| f.path != "metadata/labels")
        .collect())
}

fn parse_yaml_as<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    let v = fleet_model::yaml::parse_one(text).map_err(|e| Error::Yaml {
        file: what.to_string(),
        error: e,
    })?;
    let json = v.to_json_value().map_err(|e| Error::msg(e.to_string()))?;
    serde_json::from_value(json).map_err(|e| Error::Kustomization {
        file: what.to_string(),
        message: e.to_string(),
    })
}

/// Parses a transformer configuration file (`configurations:` entries).
///
/// The tree is read directly rather than through serde: the built-in
/// configuration is parsed at every process start, and this is most of
/// the cost of a small build otherwise.
pub fn parse_config(text: &str, file: &str) -> Result<TransformerConfig> {
    let v = fleet_model::yaml::parse_one(text).map_err(|e| Error::Yaml {
        file: file.to_string(),
        error: e,
    })?;
    let bad = |message: String| Error::Kustomization {
        file: file.to_string(),
        message: format!("invalid transformer configuration: {message}"),
    };
    let mut cfg = TransformerConfig::default();
    let Some(root) = v.as_mapping() else {
        return if v.is_null() {
            Ok(cfg)
        } else {
            Err(bad(format!(
                "expected a mapping, found a {}",
                v.type_name()
            )))
        };
    };
    for (key, value) in root {
        let target = match key.as_str() {
            "namePrefix" => &mut cfg.name_prefix,
            "nameSuffix" => &mut cfg.name_suffix,
            "namespace" => &mut cfg.namespace,
            "commonLabels" => &mut cfg.common_labels,
            "labels" => &mut cfg.labels,
            "commonAnnotations" => &mut cfg.common_annotations,
            "varReference" => &mut cfg.var_reference,
            "images" => &mut cfg.images,
            "replicas" => &mut cfg.replicas,
            "nameReference" => {
                for item in value.as_sequence().unwrap_or(&[]) {
                    let text_of = |k: &str| {
                        item.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    cfg.name_reference.push(NameBackRef {
                        group: text_of("group"),
                        version: text_of("version"),
                        kind: text_of("kind"),
                        field_specs: field_specs(item.get("fieldSpecs")).map_err(&bad)?,
                    });
                }
                continue;
            }
            _ => continue,
        };
        target.extend(field_specs(Some(value)).map_err(&bad)?);
    }
    Ok(cfg)
}

fn field_specs(v: Option<&Value>) -> std::result::Result<Vec<FieldSpec>, String> {
    let Some(v) = v else { return Ok(Vec::new()) };
    if v.is_null() {
        return Ok(Vec::new());
    }
    let items = v
        .as_sequence()
        .ok_or_else(|| format!("expected a list of field specs, found a {}", v.type_name()))?;
    items
        .iter()
        .map(|item| {
            let m = item.as_mapping().ok_or_else(|| {
                format!(
                    "a field spec must be a mapping, found a {}",
                    item.type_name()
                )
            })?;
            let text_of = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let flag = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
            Ok(FieldSpec {
                group: text_of("group"),
                version: text_of("version"),
                kind: text_of("kind"),
                path: text_of("path"),
                create: flag("create"),
                skip: flag("skip"),
            })
        })
        .collect()
}

fn merge_specs(into: &mut Vec<FieldSpec>, from: &[FieldSpec]) {
    if from.is_empty() || into.as_slice() == from {
        return;
    }
    let mut seen: std::collections::HashSet<FieldSpec> = into.iter().cloned().collect();
    for fs in from {
        if seen.insert(fs.clone()) {
            into.push(fs.clone());
        }
    }
}

impl TransformerConfig {
    /// Adds a user's configuration file (`configurations:`): as kustomize v5.5
    /// behaves, name prefix and suffix rules given there replace the rule that
    /// renames every kind; everything else is added.
    pub fn merge_user(&mut self, o: &TransformerConfig) {
        let generic = |fs: &FieldSpec| {
            fs.path == "metadata/name" && fs.kind.is_empty() && fs.group.is_empty() && !fs.skip
        };
        if !o.name_prefix.is_empty() {
            self.name_prefix.retain(|fs| !generic(fs));
        }
        if !o.name_suffix.is_empty() {
            self.name_suffix.retain(|fs| !generic(fs));
        }
        self.merge(o);
    }

    /// Adds another configuration's specs (duplicates are kept once).
    pub fn merge(&mut self, o: &TransformerConfig) {
        merge_specs(&mut self.name_prefix, &o.name_prefix);
        merge_specs(&mut self.name_suffix, &o.name_suffix);
        merge_specs(&mut self.namespace, &o.namespace);
        merge_specs(&mut self.common_labels, &o.common_labels);
        merge_specs(&mut self.labels, &o.labels);
        merge_specs(&mut self.common_annotations, &o.common_annotations);
        merge_specs(&mut self.var_reference, &o.var_reference);
        merge_specs(&mut self.images, &o.images);
        merge_specs(&mut self.replicas, &o.replicas);
        for nb in &o.name_reference {
            match self
                .name_reference
                .iter_mut()
                .find(|x| x.kind == nb.kind && x.group == nb.group && x.version == nb.version)
            {
                Some(existing) => merge_specs(&mut existing.field_specs, &nb.field_specs),
                None => self.name_reference.push(nb.clone()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_on_unescaped_slashes() {
        assert_eq!(
            split_path("metadata/annotations/a\\/b"),
            ["metadata", "annotations", "a/b"]
        );
        assert_eq!(
            split_path("spec/containers[]/image"),
            ["spec", "containers[]", "image"]
        );
    }

    #[test]
    fn default_config_loads() {
        let cfg = default_config().unwrap_or_default();
        assert!(cfg.name_reference.iter().any(|n| n.kind == "ConfigMap"));
        assert_eq!(cfg.name_prefix, cfg.name_suffix);
        assert!(
            cfg.common_labels
                .iter()
                .any(|f| f.path == "metadata/labels")
        );
    }

    #[test]
    fn visit_walks_sequences_and_creates_when_asked() {
        let mut v = fleet_model::yaml::parse_one(
            "spec:\n  containers:\n  - name: a\n    image: x\n  - name: b\n    image: y\n",
        )
        .unwrap_or_default();
        let fs = FieldSpec {
            path: "spec/containers[]/image".into(),
            ..Default::default()
        };
        let mut seen = Vec::new();
        visit(&mut v, &fs, Create::Scalar, &mut |n| {
            seen.push(n.as_str().unwrap_or("").to_string());
            Ok(())
        })
        .unwrap_or(());
        assert_eq!(seen, ["x", "y"]);
        let fs = FieldSpec {
            path: "metadata/labels".into(),
            create: true,
            ..Default::default()
        };
        visit(&mut v, &fs, Create::Mapping, &mut |n| {
            ensure_mapping(n).insert("a".into(), Value::from("b"));
            Ok(())
        })
        .unwrap_or(());
        assert_eq!(
            v.pointer(&["metadata", "labels", "a"])
                .and_then(Value::as_str),
            Some("b")
        );
    }
}
