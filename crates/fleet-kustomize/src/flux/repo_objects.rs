//! Objects found in a repository's files, with where they came from: the
//! form the local front end ([`super::local`]), `fleet validate` and
//! `fleet plan` read a checkout in, and the Secrets among them.

use super::is_flux_kustomization;
use crate::fs::{self, FileSystem};
use fleet_model::Value;
use fleet_model::yaml::parse_documents;

/// A manifest found in a repository, with the file it came from.
#[derive(Debug, Clone)]
pub struct RepoObject {
    /// The file.
    pub file: String,
    /// The 1-based line its document starts on.
    pub line: usize,
    /// The object.
    pub value: Value,
}

/// Where a repository's `spec.path`s start: of `dir` and its ancestors up
/// to `top` (the Git work tree's top; the filesystem's root when `None`),
/// the nearest one under which the most of the Flux Kustomizations'
/// `spec.path`s in `objects` exist. A fleet in a subdirectory of a
/// repository resolves `./clusters/...` from wherever those paths are.
pub fn source_root(
    fs: &dyn FileSystem,
    top: Option<&str>,
    dir: &str,
    objects: &[RepoObject],
) -> String {
    let paths: Vec<&str> = objects
        .iter()
        .filter(|o| is_flux_kustomization(&o.value))
        .filter_map(|o| o.value.pointer(&["spec", "path"]).and_then(Value::as_str))
        .filter(|p| !p.contains("${"))
        .collect();
    let mut best = (0, dir.to_string());
    let mut candidate = dir.to_string();
    loop {
        let resolved = paths
            .iter()
            .filter(|p| fs.is_dir(&fs::join(&candidate, p)))
            .count();
        if resolved > best.0 {
            best = (resolved, candidate.clone());
        }
        let parent = fs::parent(&candidate);
        if Some(candidate.as_str()) == top || parent == candidate || candidate == "/" {
            break;
        }
        candidate = parent;
    }
    best.1
}

/// The objects (mappings) in one YAML file's text; nothing when it is not
/// YAML.
pub fn objects_in_file(file: &str, text: &str) -> Vec<RepoObject> {
    let Ok(docs) = parse_documents(text) else {
        return Vec::new();
    };
    docs.into_iter()
        .filter(|d| matches!(d.value, Value::Mapping(_)))
        .map(|d| RepoObject {
            file: file.to_string(),
            line: d.line,
            value: d.value,
        })
        .collect()
}

/// Why a Secret found in a repository cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: Secret '{name}' key '{key}' is not valid base64; fix the value or use stringData")]
pub struct SecretDataError {
    /// The file.
    pub file: String,
    /// The Secret.
    pub name: String,
    /// The key.
    pub key: String,
}

/// A Secret's entries as bytes: `data` base64-decoded, then `stringData`,
/// in file order (the form [`crate::sops::KeyRing::from_secret_data`]
/// reads).
pub fn secret_entries(secret: &RepoObject) -> Result<Vec<(String, Vec<u8>)>, SecretDataError> {
    use base64::Engine;
    let name = secret
        .value
        .pointer(&["metadata", "name"])
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = Vec::new();
    for (field, encoded) in [("data", true), ("stringData", false)] {
        let Some(Value::Mapping(map)) = secret.value.get(field) else {
            continue;
        };
        for (key, value) in map {
            let text = text_of(value);
            let bytes = if encoded {
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|_| SecretDataError {
                        file: secret.file.clone(),
                        name: name.to_string(),
                        key: key.clone(),
                    })?
            } else {
                text.as_bytes().to_vec()
            };
            out.push((key.clone(), bytes));
        }
    }
    Ok(out)
}

/// Replaces the objects of every SOPS-encrypted file among `objects` with
/// its decrypted objects (`read` gives a file's bytes). Files that do not
/// decrypt stay as they are: they matter only if a build needs them, and
/// then it reports them.
pub fn decrypt_repo_objects(
    objects: &mut Vec<RepoObject>,
    keys: &crate::sops::KeyRing,
    read: impl Fn(&str) -> Option<Vec<u8>>,
) {
    use crate::sops::{Format, MacCheck, decrypt_file};
    let mut files: Vec<String> = objects
        .iter()
        .filter(|o| crate::sops::is_encrypted(&o.value))
        .map(|o| o.file.clone())
        .collect();
    files.dedup();
    for file in files {
        let format = Format::for_path(&file);
        let Some(plain) = read(&file)
            .and_then(|data| decrypt_file(&data, format, format, keys, MacCheck::Verify).ok())
        else {
            continue;
        };
        let replacement = objects_in_file(&file, &String::from_utf8_lossy(&plain));
        let Some(at) = objects.iter().position(|o| o.file == file) else {
            continue;
        };
        objects.retain(|o| o.file != file);
        let at = at.min(objects.len());
        objects.splice(at..at, replacement);
    }
}

/// A data value as text: strings as they are, other scalars as YAML writes them.
pub(crate) fn text_of(x: &Value) -> String {
    match x {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => fleet_model::yaml::to_string(other).trim_end().to_string(),
    }
}
