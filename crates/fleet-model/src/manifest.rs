//! Generic manifests: one Kubernetes object as an order-preserving [`Value`]
//! with its id and where it came from, convertible to and from typed objects.

use crate::id::{IdError, ObjectId};
use crate::value::{NonFiniteNumber, Value};
use crate::yaml::{self, YamlError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// Where a manifest was read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Source {
    /// The file, as the caller named it (a path relative to a repo root, say).
    pub file: String,
    /// The 1-based line its document starts on.
    pub line: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One Kubernetes object: its content in document order, its id, its origin.
///
/// ```
/// use fleet_model::Manifest;
/// let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n";
/// let manifests = Manifest::read_all(text, "base/settings.yaml").unwrap();
/// assert_eq!(manifests[0].id().to_string(), "ConfigMap/settings");
/// assert_eq!(manifests[0].to_yaml(), text);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    value: Value,
    id: ObjectId,
    source: Option<Source>,
}

/// Why a file's manifests could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ManifestError {
    /// The YAML itself is broken.
    #[error("{file}:{}:{}: invalid YAML: {}", .error.line, .error.column, .error.message)]
    Yaml {
        /// The file.
        file: String,
        /// The parser's error with its position.
        error: YamlError,
    },
    /// A document is not a Kubernetes object.
    #[error("{file}:{line}: {error}")]
    Id {
        /// The file.
        file: String,
        /// The document's first line.
        line: usize,
        /// What is missing.
        error: IdError,
    },
}

/// Why a manifest does not fit a typed object.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{where_}{id}: field `{path}`: {message}")]
pub struct TypedError {
    /// `file:line: ` when the origin is known, else empty.
    pub where_: String,
    /// The object.
    pub id: Box<ObjectId>,
    /// The field path, e.g. `spec.interval` or `spec.dependsOn[0].name`.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// Why a typed object could not become a manifest.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FromTypedError {
    /// Serialisation failed.
    #[error("cannot serialise the object: {0}")]
    Serialize(String),
    /// The result has no usable id.
    #[error("the serialised object has no id: {0}")]
    Id(IdError),
}

impl From<IdError> for FromTypedError {
    fn from(e: IdError) -> Self {
        FromTypedError::Id(e)
    }
}

impl Manifest {
    /// Wraps a value that must be a Kubernetes object.
    pub fn new(value: Value, source: Option<Source>) -> Result<Manifest, IdError> {
        let id = ObjectId::from_manifest(&value)?;
        Ok(Manifest { value, id, source })
    }

    /// What [`Manifest::new`] then [`Manifest::to_typed`] give when both
    /// succeed, read from a borrowed value without copying it; `None` when
    /// either would fail (build the [`Manifest`] for the error).
    ///
    /// ```
    /// use fleet_model::{Manifest, Value};
    /// let value = fleet_model::yaml::parse_one("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n").unwrap();
    /// let typed: Option<serde_json::Value> = Manifest::typed_from(&value);
    /// assert_eq!(typed.unwrap()["metadata"]["name"], "a");
    /// ```
    pub fn typed_from<T: DeserializeOwned>(value: &Value) -> Option<T> {
        ObjectId::from_manifest(value).ok()?;
        match T::deserialize(crate::value_de::ValueDeserializer(value)) {
            Ok(typed) => Some(typed),
            // Read again the way `to_typed` reads a value that fails.
            Err(_) => Manifest::new(value.clone(), None).ok()?.to_typed().ok(),
        }
    }

    /// Reads every object of a YAML or JSON stream; empty documents are skipped.
    pub fn read_all(text: &str, file: &str) -> Result<Vec<Manifest>, ManifestError> {
        let docs = yaml::parse_documents(text).map_err(|error| ManifestError::Yaml {
            file: file.to_string(),
            error,
        })?;
        docs.into_iter()
            .filter(|d| !d.value.is_null())
            .map(|d| {
                let source = Source {
                    file: file.to_string(),
                    line: d.line,
                };
                Manifest::new(d.value, Some(source)).map_err(|error| ManifestError::Id {
                    file: file.to_string(),
                    line: d.line,
                    error,
                })
            })
            .collect()
    }

    /// Converts a typed object (a Flux or Cluster API resource, say) to a manifest.
    pub fn from_typed<T: Serialize>(object: &T) -> Result<Manifest, FromTypedError> {
        let json =
            serde_json::to_value(object).map_err(|e| FromTypedError::Serialize(e.to_string()))?;
        Ok(Manifest::new(Value::from(json), None)?)
    }

    /// The object's id.
    pub fn id(&self) -> &ObjectId {
        &self.id
    }

    /// Where it was read from, when known.
    pub fn source(&self) -> Option<&Source> {
        self.source.as_ref()
    }

    /// The whole object.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Takes the object out.
    pub fn into_value(self) -> Value {
        self.value
    }

    /// `apiVersion`.
    pub fn api_version(&self) -> String {
        self.id.api_version()
    }

    /// `kind`.
    pub fn kind(&self) -> &str {
        &self.id.kind
    }

    /// The object as one YAML document.
    pub fn to_yaml(&self) -> String {
        yaml::to_string(&self.value)
    }

    /// The object as indented JSON.
    pub fn to_json_pretty(&self) -> Result<String, NonFiniteNumber> {
        crate::json::to_string_pretty(&self.value)
    }

    /// Deserialises into a typed object; an error names the offending field path.
    ///
    /// As Kubernetes' own JSON decoding does, a field set to `null` reads as
    /// if it were absent (`matchLabels:` with no value is an empty selector).
    pub fn to_typed<T: DeserializeOwned>(&self) -> Result<T, TypedError> {
        // Straight from the value; a value that does not read is read again
        // through its JSON form, for the error with its path.
        if let Ok(typed) = T::deserialize(crate::value_de::ValueDeserializer(&self.value)) {
            return Ok(typed);
        }
        let fail = |path: String, message: String| TypedError {
            where_: self
                .source
                .as_ref()
                .map(|s| format!("{s}: "))
                .unwrap_or_default(),
            id: Box::new(self.id.clone()),
            path,
            message,
        };
        let mut json = self
            .value
            .to_json_value()
            .map_err(|e| fail(".".to_string(), e.to_string()))?;
        drop_null_fields(&mut json);
        serde_path_to_error::deserialize(json).map_err(|e| {
            let mut path = e.path().to_string();
            let mut message = e.into_inner().to_string();
            // serde reports a missing field at its parent; name the field itself.
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.strip_suffix('`'))
            {
                path = if path == "." {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                };
                message = "required field is missing".to_string();
            }
            fail(path, message)
        })
    }
}

/// [`drop_null_fields`], for the tests of the straight reader.
#[cfg(test)]
pub(crate) fn drop_nulls_for_tests(v: &mut serde_json::Value) {
    drop_null_fields(v);
}

/// Removes mapping entries whose value is `null`, at every depth.
fn drop_null_fields(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(drop_null_fields);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_null_fields),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_line() {
        let err = Manifest::read_all("a: [1\n", "x.yaml")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.starts_with("x.yaml:")), "file named");
        let err = Manifest::read_all(
            "apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\nkind: B\n",
            "y.yaml",
        )
        .err()
        .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "y.yaml:4: missing or non-string field `apiVersion`; every object needs apiVersion, kind and metadata.name"
            )
        );
    }

    #[test]
    fn empty_documents_are_skipped() {
        let all = Manifest::read_all(
            "---\n---\napiVersion: v1\nkind: A\nmetadata: {name: a}\n---\n",
            "z.yaml",
        );
        assert_eq!(all.map(|m| m.len()), Ok(1));
    }
}
