//! The kustomization file: `kustomization.yaml`, `kustomization.yml` or
//! `Kustomization`, with kustomize's field names (matched case-insensitively,
//! as Go's JSON decoding matches them) and its legacy fields.

use crate::error::{Error, Result};
use crate::fieldspec::FieldSpec;
use indexmap::IndexMap;
use serde::Deserialize;

/// The file names kustomize recognises, in the order it tries them.
pub const FILE_NAMES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// A parsed kustomization.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Kustomization {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub metadata: Option<serde_json::Value>,
    #[serde(rename = "openapi")]
    pub open_api: Option<IndexMap<String, String>>,
    pub name_prefix: Option<String>,
    pub name_suffix: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub common_labels: IndexMap<String, String>,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub common_annotations: IndexMap<String, String>,
    #[serde(default)]
    pub patches_strategic_merge: Vec<String>,
    #[serde(default)]
    pub patches_json6902: Vec<Json6902Patch>,
    #[serde(default)]
    pub patches: Vec<PatchArgs>,
    #[serde(default)]
    pub images: Vec<ImageArgs>,
    #[serde(default)]
    pub image_tags: Vec<ImageArgs>,
    #[serde(default)]
    pub replacements: Vec<serde_json::Value>,
    #[serde(default)]
    pub replicas: Vec<Replica>,
    #[serde(default)]
    pub vars: Vec<Var>,
    pub sort_options: Option<SortOptions>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub crds: Vec<String>,
    #[serde(default)]
    pub bases: Vec<String>,
    #[serde(default)]
    pub config_map_generator: Vec<GeneratorArgs>,
    #[serde(default)]
    pub secret_generator: Vec<GeneratorArgs>,
    pub helm_globals: Option<serde_json::Value>,
    #[serde(default)]
    pub helm_charts: Vec<serde_json::Value>,
    #[serde(default)]
    pub helm_chart_inflation_generator: Vec<serde_json::Value>,
    pub generator_options: Option<GeneratorOptions>,
    #[serde(default)]
    pub configurations: Vec<String>,
    #[serde(default)]
    pub generators: Vec<String>,
    #[serde(default)]
    pub transformers: Vec<String>,
    #[serde(default)]
    pub validators: Vec<String>,
    #[serde(default)]
    pub build_metadata: Vec<String>,
}

/// A `labels` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Label {
    #[serde(default)]
    pub pairs: IndexMap<String, String>,
    #[serde(default)]
    pub include_selectors: bool,
    #[serde(default)]
    pub include_templates: bool,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

/// Selects resources (`types.Selector`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Selector {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    pub annotation_selector: Option<String>,
}

/// A `patches` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PatchArgs {
    pub path: Option<String>,
    pub patch: Option<String>,
    pub target: Option<Selector>,
    #[serde(default)]
    pub options: IndexMap<String, bool>,
}

/// A `patchesJson6902` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Json6902Patch {
    pub target: Option<Selector>,
    pub path: Option<String>,
    pub patch: Option<String>,
}

/// An `images` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ImageArgs {
    pub name: String,
    pub new_name: Option<String>,
    #[serde(default, deserialize_with = "tag_string")]
    pub new_tag: Option<String>,
    pub digest: Option<String>,
    pub tag_suffix: Option<String>,
}

/// `newTag` must be a YAML string, as kustomize requires ("cannot unmarshal
/// number into Go struct field Image.images.newTag of type string"): YAML
/// reads `newTag: 1.10` as the number 1.1, `010` as 8 and `0x1F` as 31, so
/// taking the number would deploy another tag than the one written.
fn tag_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(other @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
            Err(serde::de::Error::custom(format!(
                "newTag must be a string, found {other} (YAML reads an unquoted tag such as 1.10 as a number, 1.1); quote the tag: newTag: \"1.10\""
            )))
        }
        Some(other) => Err(serde::de::Error::custom(format!(
            "newTag must be a string, found {other}"
        ))),
    }
}

/// A `replicas` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Replica {
    pub name: String,
    pub count: i64,
}

/// A `vars` entry.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Var {
    pub name: String,
    pub objref: VarTarget,
    #[serde(default)]
    pub fieldref: FieldRef,
}

/// The object a var reads.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct VarTarget {
    pub api_version: Option<String>,
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

/// The field a var reads.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[allow(missing_docs)]
pub struct FieldRef {
    #[serde(default)]
    pub fieldpath: String,
}

/// `sortOptions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct SortOptions {
    pub order: Option<String>,
    pub legacy_sort_options: Option<LegacySortOptions>,
}

/// `sortOptions.legacySortOptions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct LegacySortOptions {
    #[serde(default)]
    pub order_first: Vec<String>,
    #[serde(default)]
    pub order_last: Vec<String>,
}

/// `generatorOptions`, and each generator's `options`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct GeneratorOptions {
    #[serde(default)]
    pub labels: IndexMap<String, String>,
    #[serde(default)]
    pub annotations: IndexMap<String, String>,
    pub disable_name_suffix_hash: Option<bool>,
    pub immutable: Option<bool>,
}

/// A `configMapGenerator` or `secretGenerator` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct GeneratorArgs {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub behavior: Option<String>,
    #[serde(default)]
    pub literals: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub envs: Vec<String>,
    pub env: Option<String>,
    pub options: Option<GeneratorOptions>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
}

impl Kustomization {
    /// Parses kustomization text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Kustomization> {
        // kustomize decodes its own file leniently: a repeated key wins.
        let limits = fleet_model::yaml::Limits {
            allow_duplicate_keys: true,
            ..Default::default()
        };
        let mut docs =
            fleet_model::yaml::parse_documents_with(text, limits).map_err(|e| Error::Yaml {
                file: file.to_string(),
                error: e,
            })?;
        let value = if docs.is_empty() {
            fleet_model::Value::Null
        } else {
            docs.remove(0).value
        };
        let json = match value {
            fleet_model::Value::Null => serde_json::Value::Object(Default::default()),
            fleet_model::Value::Mapping(m) => {
                let mut out = serde_json::Map::new();
                for (k, v) in m {
                    // Field names are matched case-insensitively while
                    // deserializing (crate::casefold), at every depth.
                    let mut v = v.to_json_value().map_err(|e| Error::Kustomization {
                        file: file.to_string(),
                        message: e.to_string(),
                    })?;
                    fold_go_json_strings(&mut v);
                    out.insert(k, v);
                }
                serde_json::Value::Object(out)
            }
            other => {
                return Err(Error::Kustomization {
                    file: file.to_string(),
                    message: format!("expected a mapping, found a {}", other.type_name()),
                });
            }
        };
        if is_empty_kustomization(&json) {
            return Err(Error::Kustomization {
                file: file.to_string(),
                message: "kustomization.yaml is empty".into(),
            });
        }
        let mut k: Kustomization =
            serde_path_to_error_compat(json).map_err(|message| Error::Kustomization {
                file: file.to_string(),
                message,
            })?;
        k.fix_legacy_fields();
        k.check(file)?;
        Ok(k)
    }

    /// kustomize's `EnforceFields` and schema checks.
    fn check(&self, file: &str) -> Result<()> {
        let bad = |message: String| Error::Kustomization {
            file: file.to_string(),
            message,
        };
        let api = self.api_version.as_deref().unwrap_or("");
        match self.kind.as_deref().unwrap_or("") {
            "" | "Kustomization" => {
                if !api.is_empty() && api != "kustomize.config.k8s.io/v1beta1" {
                    return Err(bad(
                        "apiVersion for Kustomization should be kustomize.config.k8s.io/v1beta1"
                            .into(),
                    ));
                }
            }
            "Component" => {
                if !api.is_empty() && api != "kustomize.config.k8s.io/v1alpha1" {
                    return Err(bad(
                        "apiVersion for Component should be kustomize.config.k8s.io/v1alpha1"
                            .into(),
                    ));
                }
            }
            other => {
                return Err(bad(format!(
                    "kind should be Kustomization or Component, not {other:?}"
                )));
            }
        }
        if let Some(openapi) = &self.open_api {
            let version = openapi.get("version");
            if version.is_some() && openapi.contains_key("path") {
                return Err(bad(
                    "builtin version and custom schema provided, cannot use both".into(),
                ));
            }
            if let Some(v) = version
                && !matches!(v.as_str(), "v1.21.2" | "default" | "")
            {
                return Err(bad(format!(
                    "the specified OpenAPI version {v:?} is not built in; use v1.21.2 or a custom schema path"
                )));
            }
        }
        Ok(())
    }

    /// Folds deprecated spellings into their current fields, as kustomize's
    /// `FixKustomization` does: `bases` join `resources`, `imageTags` join `images`.
    fn fix_legacy_fields(&mut self) {
        self.resources.append(&mut self.bases);
        self.images.append(&mut self.image_tags);
    }

    /// Whether this is a `kind: Component`.
    pub fn is_component(&self) -> bool {
        self.kind.as_deref() == Some("Component")
    }
}

/// kustomize's `CheckEmpty`: nothing but `apiVersion` and `kind` is set
/// (a field set to null or `""` is not set; an empty list or map is).
fn is_empty_kustomization(json: &serde_json::Value) -> bool {
    json.as_object().is_none_or(|fields| {
        fields.iter().all(|(key, value)| {
            let key = key.to_ascii_lowercase();
            key == "apiversion"
                || key == "kind"
                || value.is_null()
                || value.as_str().is_some_and(str::is_empty)
        })
    })
}

/// kustomize reads its own file through a Go JSON round trip, which folds
/// NEL characters in strings (see `fleet_model::yaml::go_json_string`): a
/// literal `K=a\u{85}b` generates `K: a b`, and its hash says so.
fn fold_go_json_strings(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            if let std::borrow::Cow::Owned(folded) = fleet_model::yaml::go_json_string(s) {
                *s = folded;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(fold_go_json_strings),
        serde_json::Value::Object(m) => m.values_mut().for_each(fold_go_json_strings),
        _ => {}
    }
}

fn serde_path_to_error_compat(
    json: serde_json::Value,
) -> std::result::Result<Kustomization, String> {
    serde_path_to_error::deserialize(crate::casefold::CaseFold(json)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            inner.to_string()
        } else {
            format!("field `{path}`: {inner}")
        }
    })
}
