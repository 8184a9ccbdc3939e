//! `crds:` — OpenAPI definitions of custom types whose `x-kubernetes-*`
//! extensions declare name references, as kustomize's `LoadConfigFromCRDs` reads them.

use crate::error::{Error, Result};
use crate::fieldspec::{FieldSpec, NameBackRef, TransformerConfig};
use fleet_model::Value;

/// Builds name-reference rules from a definitions file.
pub fn config_from_crds(text: &str, file: &str) -> Result<TransformerConfig> {
    let v = fleet_model::yaml::parse_one(text).map_err(|e| Error::Yaml {
        file: file.to_string(),
        source: e,
    })?;
    let mut cfg = TransformerConfig::default();
    let Some(defs) = v.as_mapping() else {
        return Ok(cfg);
    };
    for (_, def) in defs {
        let Some(kinds) = def
            .pointer(&["x-kubernetes-group-version-kind"])
            .and_then(Value::as_sequence)
        else {
            continue;
        };
        let Some(gvk) = kinds.first() else { continue };
        let kind = gvk
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut path = Vec::new();
        collect_refs(def, &mut path, &kind, defs, &mut cfg, 0);
    }
    Ok(cfg)
}

fn collect_refs(
    node: &Value,
    path: &mut Vec<String>,
    referrer_kind: &str,
    defs: &fleet_model::Mapping,
    cfg: &mut TransformerConfig,
    depth: usize,
) {
    if depth > 20 {
        return;
    }
    let Some(props) = node.get("properties").and_then(Value::as_mapping) else {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/definitions/");
            if let Some(target) = defs.get(name) {
                collect_refs(target, path, referrer_kind, defs, cfg, depth + 1);
            }
        }
        return;
    };
    for (field, schema) in props {
        path.push(field.clone());
        if let (Some(kind), Some(name_key)) = (
            schema
                .get("x-kubernetes-object-ref-kind")
                .and_then(Value::as_str),
            schema
                .get("x-kubernetes-object-ref-name-key")
                .and_then(Value::as_str),
        ) {
            let spec = FieldSpec {
                kind: referrer_kind.to_string(),
                path: format!("{}/{name_key}", path.join("/")),
                ..Default::default()
            };
            match cfg.name_reference.iter_mut().find(|n| n.kind == kind) {
                Some(nb) => nb.field_specs.push(spec),
                None => cfg.name_reference.push(NameBackRef {
                    kind: kind.to_string(),
                    field_specs: vec![spec],
                    ..Default::default()
                }),
            }
        }
        collect_refs(schema, path, referrer_kind, defs, cfg, depth + 1);
        path.pop();
    }
}
