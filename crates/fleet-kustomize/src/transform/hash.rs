//! Content-hash name suffixes for generated ConfigMaps and Secrets, computed
//! exactly as kustomize's hasher does (sha256 over a Go-style JSON encoding,
//! ten characters, with kubectl's character substitutions).

use crate::error::{Error, Result};
use crate::resource::ResMap;
use fleet_model::Value;
use sha2::{Digest, Sha256};

/// Encodes JSON as Go's `json.Marshal` does for these maps: sorted keys
/// (serde_json's default map) and HTML-safe escapes.
fn go_json(v: &serde_json::Value) -> Result<String> {
    let sorted = sort_keys(v);
    let s = serde_json::to_string(&sorted).map_err(|e| Error::msg(e.to_string()))?;
    Ok(s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029"))
}

fn sort_keys(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut entries: Vec<(&String, &serde_json::Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sort_keys(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

fn field(v: &Value, path: &[&str]) -> Result<serde_json::Value> {
    match v.pointer(path) {
        None => Ok(serde_json::Value::String(String::new())),
        Some(Value::Mapping(_)) | Some(Value::Sequence(_)) => v
            .pointer(path)
            .map(|x| x.to_json_value().map_err(|e| Error::msg(e.to_string())))
            .unwrap_or(Ok(serde_json::Value::Null)),
        Some(scalar) => Ok(serde_json::Value::String(
            crate::resource::scalar_string(scalar).unwrap_or_default(),
        )),
    }
}

/// The ten-character hash kustomize appends to a ConfigMap or Secret name.
pub fn hash(v: &Value) -> Result<String> {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut m = serde_json::Map::new();
    m.insert("kind".into(), serde_json::Value::String(kind.to_string()));
    // kustomize looks the name up as the single key "metadata/name", which
    // never exists, so every hash is computed with an empty name.
    m.insert("name".into(), serde_json::Value::String(String::new()));
    m.insert("data".into(), field(v, &["data"])?);
    match kind {
        "ConfigMap" => {
            if let Some(Value::Mapping(_)) = v.get("binaryData") {
                m.insert("binaryData".into(), field(v, &["binaryData"])?);
            }
        }
        "Secret" => {
            m.insert("type".into(), field(v, &["type"])?);
            if let Some(Value::Mapping(_)) = v.get("stringData") {
                m.insert("stringData".into(), field(v, &["stringData"])?);
            }
        }
        other => {
            return Err(Error::msg(format!(
                "cannot compute a name hash for kind {other:?}; only ConfigMap and Secret are hashed"
            )));
        }
    }
    let encoded = go_json(&serde_json::Value::Object(m))?;
    let digest = Sha256::digest(encoded.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect())
}

/// Appends `-<hash>` to every resource still waiting for its suffix.
pub fn add_hash_suffixes(resmap: &mut ResMap) -> Result<()> {
    for r in resmap.resources_mut() {
        if r.needs_hash {
            let h = hash(&r.value)?;
            let name = format!("{}-{h}", r.name());
            r.rename(&name);
            r.needs_hash = false;
        }
    }
    resmap.reindex();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_kustomize() {
        // From the conformance corpus: TestDataIsSingleQuote.
        let v = fleet_model::yaml::parse_one(
            "apiVersion: v1\ndata:\n  TEST: \"'\"\nkind: ConfigMap\nmetadata:\n  name: test\n",
        )
        .unwrap_or_default();
        assert_eq!(hash(&v).ok().as_deref(), Some("m8t7bmb6g2"));
    }
}
