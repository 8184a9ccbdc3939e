//! The ConfigMaps and Secrets `postBuild.substituteFrom` reads, taken from
//! a repository's objects.

use super::repo_objects::{RepoObject, SecretDataError, secret_entries, text_of};
use fleet_model::Value;
use fleet_model::flux::kustomization::{Kustomization, SubstituteReference};
use indexmap::IndexMap;

/// Why a `substituteFrom` source found in a repository cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// A Secret whose values are SOPS-encrypted.
    #[error(
        "{file}: Secret '{name}' is SOPS-encrypted and no given key opens it; provide the decryption keys, or its values in a plain file"
    )]
    Encrypted {
        /// The file.
        file: String,
        /// The Secret.
        name: String,
    },
    /// A Secret `data` value that is not base64.
    #[error(transparent)]
    BadBase64(#[from] SecretDataError),
}

/// The ConfigMaps and Secrets among `objects` that live in `namespace` (or
/// name none), keyed by (kind, name), as `substituteFrom` reads them:
/// ConfigMap `data`, Secret `data` base64-decoded with `stringData` on top.
///
/// Sources that cannot be read (an encrypted Secret, bad base64) are
/// returned apart, so that only a build that references one fails.
pub fn substitute_sources(objects: &[RepoObject], namespace: &str) -> SubstituteSources {
    let mut out = SubstituteSources::default();
    for obj in objects {
        let v = &obj.value;
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != "ConfigMap" && kind != "Secret" {
            continue;
        }
        let ns = v
            .pointer(&["metadata", "namespace"])
            .and_then(Value::as_str)
            .unwrap_or("");
        if !ns.is_empty() && ns != namespace {
            continue;
        }
        let Some(name) = v.pointer(&["metadata", "name"]).and_then(Value::as_str) else {
            continue;
        };
        let key = (kind.to_string(), name.to_string());
        match source_data(obj, kind, name) {
            Ok(data) => {
                out.unreadable.shift_remove(&key);
                out.data.insert(key, data);
            }
            Err(e) => {
                out.data.shift_remove(&key);
                out.unreadable.insert(key, e);
            }
        }
    }
    out
}

/// ConfigMap and Secret data for `substituteFrom`, by (kind, name).
#[derive(Debug, Clone, Default)]
pub struct SubstituteSources {
    /// Readable sources.
    pub data: IndexMap<(String, String), IndexMap<String, String>>,
    /// Sources that exist but cannot be read, and why.
    pub unreadable: IndexMap<(String, String), SourceError>,
}

impl SubstituteSources {
    /// Adds `other`, whose entries win.
    pub fn extend(&mut self, other: SubstituteSources) {
        for (k, v) in other.data {
            self.unreadable.shift_remove(&k);
            self.data.insert(k, v);
        }
        for (k, e) in other.unreadable {
            self.data.shift_remove(&k);
            self.unreadable.insert(k, e);
        }
    }

    /// The first unreadable source a Kustomization references.
    pub fn check_referenced(&self, ks: &Kustomization) -> Result<(), SourceError> {
        for r in ks.spec.post_build.iter().flat_map(|p| &p.substitute_from) {
            let key = (kind_name(r).to_string(), r.name.clone());
            if let Some(e) = self.unreadable.get(&key) {
                return Err(e.clone());
            }
        }
        Ok(())
    }
}

pub(crate) fn kind_name(r: &SubstituteReference) -> &'static str {
    match r.kind {
        fleet_model::flux::kustomization::SubstituteKind::ConfigMap => "ConfigMap",
        fleet_model::flux::kustomization::SubstituteKind::Secret => "Secret",
    }
}

fn source_data(
    obj: &RepoObject,
    kind: &str,
    name: &str,
) -> Result<IndexMap<String, String>, SourceError> {
    let v = &obj.value;
    if kind == "Secret" {
        if crate::sops::is_encrypted(v) {
            return Err(SourceError::Encrypted {
                file: obj.file.clone(),
                name: name.to_string(),
            });
        }
        return Ok(secret_entries(obj)?
            .into_iter()
            .map(|(k, bytes)| (k, String::from_utf8_lossy(&bytes).into_owned()))
            .collect());
    }
    Ok(match v.get("data") {
        Some(Value::Mapping(m)) => m.iter().map(|(k, x)| (k.clone(), text_of(x))).collect(),
        _ => IndexMap::new(),
    })
}
