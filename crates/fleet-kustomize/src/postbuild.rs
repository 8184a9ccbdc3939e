//! Flux's post-build variable substitution on built objects, with
//! kustomize-controller's rules:
//!
//! - variables come from `substituteFrom` (ConfigMaps and Secrets, in list
//!   order, later ones winning) and then inline `substitute` on top, with
//!   every `\n` removed from the values;
//! - an object labelled or annotated `kustomize.toolkit.fluxcd.io/substitute:
//!   disabled` is left alone;
//! - with no variables at all nothing is substituted unless the strategy is
//!   `Always`;
//! - every variable name must match `^[_[:alpha:]][_[:alpha:][:digit:]]*$`;
//! - the text substituted is the object re-serialised as YAML with sorted
//!   keys, and the result is parsed back, so `${n}` with `n=123` becomes a
//!   number and an empty value becomes `null`.
//!
//! Resolving `substituteFrom` references needs a cluster, so callers pass a
//! resolver closure; see [`Variables::merge`].
//!
//! ```
//! use fleet_kustomize::postbuild::{Substitution, Variables};
//! use fleet_model::yaml::{parse_one, to_string};
//! let vars = Variables::from_pairs([("cluster", "prod-eu"), ("replicas", "3")]);
//! let subst = Substitution { variables: vars, strict: true, always: false };
//! let obj = parse_one("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-${cluster}\nspec:\n  replicas: ${replicas}\n").unwrap();
//! let out = subst.apply(&obj).unwrap().expect("substituted");
//! assert_eq!(to_string(&out), "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-prod-eu\nspec:\n  replicas: 3\n");
//! ```

use crate::envsubst::{self, EnvsubstError, Vars};
use crate::resource::describe_object;
use fleet_model::Value;
use fleet_model::flux::kustomization::{
    PostBuild, SubstituteKind, SubstituteReference, SubstituteStrategy,
};
use fleet_model::yaml::{Limits, WriteOptions, parse_documents_with, to_string_with};
use indexmap::IndexMap;

/// The label or annotation that turns substitution off for one object.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// The value of [`SUBSTITUTE_KEY`] that turns substitution off.
pub const DISABLED_VALUE: &str = "disabled";
/// The pattern every variable name must match (as Flux states it).
pub const VAR_NAME_PATTERN: &str = "^[_[:alpha:]][_[:alpha:][:digit:]]*$";

/// Why post-build substitution failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostBuildError {
    /// A variable name Flux would reject.
    #[error(
        "'{0}' var name is invalid, must match '{VAR_NAME_PATTERN}': rename it in postBuild.substitute or the referenced ConfigMap/Secret"
    )]
    InvalidVarName(String),
    /// A non-optional `substituteFrom` reference that does not exist.
    #[error(
        "substituteFrom: {kind} '{name}' not found; create it or mark the reference `optional: true`"
    )]
    MissingSource {
        /// `ConfigMap` or `Secret`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// The substitution itself failed (malformed `${…}`, or an unset
    /// variable in strict mode).
    #[error(
        "{object}: variable substitution failed: {error}; set the variable in postBuild.substitute or give it a default (${{var:=default}})"
    )]
    Substitute {
        /// The object, as `Kind/namespace/name`.
        object: String,
        /// The envsubst error.
        error: EnvsubstError,
    },
    /// The substituted text is no longer a valid object.
    #[error(
        "{object}: the result of substitution is not valid YAML ({message}); quote the values or use `!!str`"
    )]
    Reparse {
        /// The object, as `Kind/namespace/name`.
        object: String,
        /// What the YAML reader said.
        message: String,
    },
}

/// The merged variables of a Kustomization's `postBuild`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variables(pub IndexMap<String, String>);

impl Variables {
    /// Variables from name/value pairs (newlines kept as given).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Variables {
        Variables(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// Merges `postBuild`'s sources: each `substituteFrom` entry in order
    /// (later ones win), then inline `substitute`. `resolve` returns a
    /// reference's data (a Secret's already decoded), or `None` when the
    /// object does not exist; a missing non-optional reference is an error.
    /// Every value has its `\n` characters removed, as Flux does.
    pub fn merge(
        post_build: &PostBuild,
        mut resolve: impl FnMut(&SubstituteReference) -> Option<IndexMap<String, String>>,
    ) -> Result<Variables, PostBuildError> {
        let mut vars = IndexMap::new();
        for reference in &post_build.substitute_from {
            match resolve(reference) {
                Some(data) => vars.extend(data),
                None if reference.optional => {}
                None => {
                    return Err(PostBuildError::MissingSource {
                        kind: match reference.kind {
                            SubstituteKind::ConfigMap => "ConfigMap",
                            SubstituteKind::Secret => "Secret",
                        },
                        name: reference.name.clone(),
                    });
                }
            }
        }
        vars.extend(
            post_build
                .substitute
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        for value in vars.values_mut() {
            if value.contains('\n') {
                *value = value.replace('\n', "");
            }
        }
        Ok(Variables(vars))
    }

    /// Whether there are no variables.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One Kustomization's substitution settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Substitution {
    /// The merged variables.
    pub variables: Variables,
    /// Unset variables without a default are errors (Flux's
    /// `StrictPostBuildSubstitutions` feature gate, on by default).
    pub strict: bool,
    /// Substitute even without variables (`substituteStrategy: Always`).
    pub always: bool,
}

impl Substitution {
    /// The settings for a `postBuild` whose variables are already merged.
    pub fn new(post_build: &PostBuild, variables: Variables, strict: bool) -> Substitution {
        Substitution {
            variables,
            strict,
            always: post_build.substitute_strategy == Some(SubstituteStrategy::Always),
        }
    }

    /// Substitutes one object. `Ok(None)` means it is left exactly as it was
    /// (disabled by label or annotation, or nothing to substitute).
    pub fn apply(&self, object: &Value) -> Result<Option<Value>, PostBuildError> {
        self.apply_prepared(object, &self.prepare())
    }

    /// The variables as envsubst reads them, and the first invalid name,
    /// worked out once for a whole batch.
    fn prepare(&self) -> Prepared<'_> {
        Prepared {
            vars: Vars(
                self.variables
                    .0
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            invalid_name: self.variables.0.keys().find(|k| !is_valid_var_name(k)),
        }
    }

    fn apply_prepared(
        &self,
        object: &Value,
        prepared: &Prepared<'_>,
    ) -> Result<Option<Value>, PostBuildError> {
        if is_disabled(object) {
            return Ok(None);
        }
        if self.variables.is_empty() && !self.always {
            return Ok(None);
        }
        // Checked per object, after the opt-out, as Flux orders it.
        if let Some(bad) = prepared.invalid_name {
            return Err(PostBuildError::InvalidVarName(bad.clone()));
        }
        let text = to_string_with(object, WriteOptions::kustomize());
        let output = envsubst::substitute(&text, &prepared.vars, self.strict).map_err(|error| {
            PostBuildError::Substitute {
                object: describe_object(object),
                error,
            }
        })?;
        if output == text {
            return Ok(None);
        }
        // Flux reads the text back with sigs.k8s.io/yaml (go-yaml v2, YAML
        // 1.1 scalars) and keeps it as JSON, so numbers take Go's form.
        let limits = Limits {
            go_yaml_v2_scalars: true,
            ..Limits::default()
        };
        let reparse_error = |message: String| PostBuildError::Reparse {
            object: describe_object(object),
            message,
        };
        let mut docs =
            parse_documents_with(&output, limits).map_err(|e| reparse_error(e.to_string()))?;
        if docs.len() != 1 {
            return Err(reparse_error(format!(
                "{} documents instead of one (a value holds `---`?)",
                docs.len()
            )));
        }
        let mut value = docs.remove(0).value;
        crate::output::normalize_numbers(&mut value);
        Ok(Some(value))
    }

    /// Substitutes every object in place. On error nothing is changed.
    pub fn apply_all(&self, objects: &mut [Value]) -> Result<(), PostBuildError> {
        let prepared = self.prepare();
        let mut replaced = Vec::new();
        for (i, object) in objects.iter().enumerate() {
            if let Some(value) = self.apply_prepared(object, &prepared)? {
                replaced.push((i, value));
            }
        }
        for (i, value) in replaced {
            objects[i] = value;
        }
        Ok(())
    }
}

struct Prepared<'a> {
    vars: Vars,
    invalid_name: Option<&'a String>,
}

pub use fleet_model::envsubst::holds_placeholder;

/// Whether the object opts out with [`SUBSTITUTE_KEY`]`: disabled` as a
/// label or an annotation.
pub fn is_disabled(object: &Value) -> bool {
    ["labels", "annotations"].iter().any(|field| {
        object
            .pointer(&["metadata", field, SUBSTITUTE_KEY])
            .and_then(Value::as_str)
            == Some(DISABLED_VALUE)
    })
}

/// Whether `name` matches [`VAR_NAME_PATTERN`] (ASCII letters, digits and
/// `_`, not starting with a digit).
pub fn is_valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_model::yaml::parse_one;

    #[test]
    fn var_names() {
        for ok in ["a", "_x", "cluster_env", "_Region", "A1"] {
            assert!(is_valid_var_name(ok), "{ok}");
        }
        for bad in ["", "1a", "my-var", "a.b", "é", "a b"] {
            assert!(!is_valid_var_name(bad), "{bad}");
        }
    }

    #[test]
    fn values_read_back_as_flux_reads_them() {
        let subst = Substitution {
            variables: Variables::from_pairs([
                ("yes", "yes"),
                ("off", "off"),
                ("octal", "0755"),
                ("big", "1_000"),
                ("version", "1.10"),
                ("quoted", "'yes'"),
            ]),
            strict: true,
            always: false,
        };
        let obj = parse_one(
            "a: ${yes}\nb: ${off}\nc: ${octal}\nd: ${big}\ne: ${version}\nf: ${quoted}\ng: \"0755\"\n",
        )
        .unwrap_or_default();
        let out = subst.apply(&obj).ok().flatten().unwrap_or_default();
        assert_eq!(
            fleet_model::yaml::to_string(&out),
            "a: true\nb: false\nc: 493\nd: 1000\ne: 1.1\nf: \"yes\"\ng: \"0755\"\n"
        );
    }

    #[test]
    fn failed_batch_changes_nothing() {
        let subst = Substitution {
            variables: Variables::from_pairs([("a", "x")]),
            strict: true,
            always: false,
        };
        let mut objects = vec![
            parse_one("kind: ConfigMap\nmetadata:\n  name: ok\ndata:\n  a: ${a}\n")
                .unwrap_or_default(),
            parse_one("kind: ConfigMap\nmetadata:\n  name: bad\ndata:\n  b: ${b}\n")
                .unwrap_or_default(),
        ];
        let before = objects.clone();
        let err = subst.apply_all(&mut objects).err();
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.starts_with("ConfigMap/bad: "), "{message}");
        assert_eq!(objects, before);
    }
}
