//! `crds:` — OpenAPI definition files (`{"pkg.Kind": {"Schema": …}}`) whose
//! `x-kubernetes-*` extensions declare name references, identity fields,
//! label selectors and annotations, read as kustomize's `LoadConfigFromCRDs` does.

use crate::error::{Error, Result};
use crate::fieldspec::{FieldSpec, NameBackRef, TransformerConfig};
use fleet_model::{Mapping, Value};

/// Builds transformer rules from a definitions file.
pub fn config_from_crds(text: &str, file: &str) -> Result<TransformerConfig> {
    let v = fleet_model::yaml::parse_one(text).map_err(|e| Error::Yaml {
        file: file.to_string(),
        error: e,
    })?;
    let mut cfg = TransformerConfig::default();
    let Some(defs) = v.as_mapping() else {
        return Ok(cfg);
    };
    for (type_name, def) in defs {
        let Some(props) = properties(def) else {
            continue;
        };
        let looks_like_k8s = ["kind", "apiVersion", "metadata"]
            .iter()
            .all(|k| props.contains_key(*k));
        if !looks_like_k8s {
            continue;
        }
        let kind = type_name
            .rsplit('.')
            .next()
            .unwrap_or(type_name)
            .to_string();
        load(defs, type_name, &kind, &mut Vec::new(), &mut cfg, 0);
    }
    Ok(cfg)
}

fn properties(def: &Value) -> Option<&Mapping> {
    def.pointer(&["Schema", "properties"])
        .and_then(Value::as_mapping)
}

fn ext<'a>(prop: &'a Value, key: &str) -> Option<&'a str> {
    prop.get(key).and_then(Value::as_str)
}

fn spec(kind: &str, path: &[String]) -> FieldSpec {
    FieldSpec {
        kind: kind.to_string(),
        path: path.join("/"),
        ..Default::default()
    }
}

fn load(
    defs: &Mapping,
    type_name: &str,
    kind: &str,
    path: &mut Vec<String>,
    cfg: &mut TransformerConfig,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    let Some(props) = defs.get(type_name).and_then(properties) else {
        return;
    };
    for (name, prop) in props {
        path.push(name.clone());
        if prop.get("x-kubernetes-annotation").is_some() {
            cfg.common_annotations.push(spec(kind, path));
        }
        if prop.get("x-kubernetes-identity").is_some() {
            cfg.name_prefix.push(spec(kind, path));
        }
        if prop.get("x-kubernetes-label-selector").is_some() {
            cfg.common_labels.push(spec(kind, path));
        }
        if let Some(target) = ext(prop, "x-kubernetes-object-ref-kind") {
            let name_key = ext(prop, "x-kubernetes-object-ref-name").unwrap_or("name");
            let version = ext(prop, "x-kubernetes-object-ref-api-version").unwrap_or("");
            let mut p = path.clone();
            p.push(name_key.to_string());
            cfg.name_reference.push(NameBackRef {
                kind: target.to_string(),
                version: version.to_string(),
                group: String::new(),
                field_specs: vec![spec(kind, &p)],
            });
        }
        if let Some(r) = ext(prop, "$ref") {
            load(defs, r, kind, path, cfg, depth + 1);
        }
        path.pop();
    }
}
