//! JSON 6902 patches, applied as kustomize applies them: the resource goes
//! through JSON, so afterwards its keys are sorted and its numbers are
//! re-formatted as Go formats a `float64` (`1000000` becomes `1e+06`).

use crate::error::{Error, Result};
use fleet_model::{Mapping, Number, Value};

/// Parses a patch document (YAML or JSON list of operations).
pub fn parse(text: &str, file: &str) -> Result<json_patch::Patch> {
    // kustomize turns YAML operations into JSON with sigs.k8s.io/yaml's
    // YAMLToJSON, which reads YAML 1.1 scalars as go-yaml v2 does: `NO` is
    // false, `0755` octal (api/filters/patchjson6902/patchjson6902.go).
    let limits = fleet_model::yaml::Limits {
        go_yaml_v2_scalars: true,
        ..Default::default()
    };
    let mut docs =
        fleet_model::yaml::parse_documents_with(text, limits).map_err(|e| Error::Yaml {
            file: file.to_string(),
            error: e,
        })?;
    let v = if docs.is_empty() {
        Value::Null
    } else {
        docs.swap_remove(0).value
    };
    let json = v.to_json_value().map_err(|e| Error::msg(e.to_string()))?;
    serde_json::from_value(json).map_err(|e| Error::Kustomization {
        file: file.to_string(),
        message: format!("invalid JSON 6902 patch: {e}"),
    })
}

/// Applies the operations to a resource.
pub fn apply(value: &Value, patch: &json_patch::Patch, what: &str) -> Result<Value> {
    let mut json = value
        .to_json_value()
        .map_err(|e| Error::msg(e.to_string()))?;
    // During a build every resource carries kustomize's internal
    // annotations, so `metadata.annotations` exists when a JSON patch runs
    // (api/internal/builtins/PatchTransformer.go keeps them aside and puts
    // them back): `add /metadata/annotations/x` works on an object written
    // without annotations. An annotation map left empty is dropped when the
    // internal annotations are removed.
    let added_annotations = match json.get_mut("metadata") {
        Some(serde_json::Value::Object(meta))
            if !matches!(meta.get("annotations"), Some(serde_json::Value::Object(_))) =>
        {
            meta.insert(
                "annotations".into(),
                serde_json::Value::Object(Default::default()),
            );
            true
        }
        _ => false,
    };
    for op in patch.iter() {
        // kustomize's JSON patch library lets `replace` set a key its
        // (existing) parent object lacks; the json-patch crate refuses it.
        let op = match op {
            json_patch::PatchOperation::Replace(r) if replaces_missing_key(&json, &r.path) => {
                json_patch::PatchOperation::Add(json_patch::AddOperation {
                    path: r.path.clone(),
                    value: r.value.clone(),
                })
            }
            other => other.clone(),
        };
        json_patch::patch(&mut json, &[op])
            .map_err(|e| Error::msg(format!("applying JSON 6902 patch to {what}: {e}")))?;
    }
    if added_annotations
        && let Some(serde_json::Value::Object(meta)) = json.get_mut("metadata")
        && matches!(meta.get("annotations"), Some(serde_json::Value::Object(a)) if a.is_empty())
    {
        meta.remove("annotations");
    }
    Ok(from_go_json(json))
}

fn replaces_missing_key(doc: &serde_json::Value, path: &json_patch::jsonptr::PointerBuf) -> bool {
    let text = path.as_str();
    let Some(i) = text.rfind('/') else {
        return false;
    };
    let parent = &text[..i];
    let key = text[i + 1..].replace("~1", "/").replace("~0", "~");
    matches!(doc.pointer(parent), Some(serde_json::Value::Object(m)) if !m.contains_key(&key))
}

/// Converts JSON back the way Go's `map[string]interface{}` round trip does.
pub fn from_go_json(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            let text = format_go_float(f);
            Value::Number(Number::parse(&text).unwrap_or_else(|| Number::from_f64(f)))
        }
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(a) => Value::Sequence(a.into_iter().map(from_go_json).collect()),
        serde_json::Value::Object(o) => {
            let mut entries: Vec<(String, serde_json::Value)> = o.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Mapping(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, from_go_json(v)))
                    .collect::<Mapping>(),
            )
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`: the shortest digits that read
/// back, in exponent form when the decimal exponent is below -4 or at least 6
/// (Go's rule for the shortest form).
pub fn format_go_float(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    if !f.is_finite() {
        return if f.is_nan() {
            ".nan".into()
        } else if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: d.ddddde±x
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    let dp = exp + 1;
    if dp <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-dp) as usize))
    } else if (dp as usize) >= digits.len() {
        format!("{sign}{digits}{}", "0".repeat(dp as usize - digits.len()))
    } else {
        let (i, fpart) = digits.split_at(dp as usize);
        format!("{sign}{i}.{fpart}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_as_go_does() {
        for (f, s) in [
            (3.0, "3"),
            (1.5, "1.5"),
            (123456.0, "123456"),
            (1000000.0, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(format_go_float(f), s, "{f}");
        }
    }

    #[test]
    fn patched_objects_come_back_with_sorted_keys() {
        let v = fleet_model::yaml::parse_one("kind: A\napiVersion: v1\nspec: {replicas: 1}\n")
            .unwrap_or_default();
        let p = parse(
            "- op: replace\n  path: /spec/replicas\n  value: 3\n",
            "p.yaml",
        );
        let out = p
            .and_then(|p| apply(&v, &p, "A"))
            .map(|v| fleet_model::yaml::to_string(&v));
        assert_eq!(
            out.ok().as_deref(),
            Some("apiVersion: v1\nkind: A\nspec:\n  replicas: 3\n")
        );
    }
}
