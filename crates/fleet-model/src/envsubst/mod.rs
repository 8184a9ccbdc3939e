//! `${VAR}` substitution with the grammar Flux's kustomize-controller and
//! clusterctl use (fluxcd/pkg envsubst, a fork of drone/envsubst): defaults
//! (`${v:=d}`), case changes, substrings, pattern trims and replacements,
//! `$$` escapes, and a strict mode in which unset variables are errors.
//!
//! ```
//! use fleet_model::envsubst::{substitute, Vars};
//! let vars = Vars::from([("cluster", "prod-eu")]);
//! let out = substitute("name: ${cluster}-${tier:=web} ${cluster^^} $${literal}", &vars, true).unwrap();
//! assert_eq!(out, "name: prod-eu-web PROD-EU ${literal}");
//! assert!(substitute("${missing}", &vars, true).is_err());
//! ```

mod funcs;
pub mod parse;

pub use parse::{Node, parse};
use std::collections::HashMap;

/// Variables and their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars(pub HashMap<String, String>);

impl<const N: usize> From<[(&str, &str); N]> for Vars {
    fn from(pairs: [(&str, &str); N]) -> Self {
        Vars(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl Vars {
    /// The value of a variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvsubstError {
    /// Malformed `${…}`.
    #[error("bad substitution")]
    BadSubstitution,
    /// `${name` followed by something that is not `}` or an operator.
    #[error("missing closing brace")]
    MissingClosingBrace,
    /// `${` not followed by a variable name.
    #[error("unable to parse variable name")]
    ParseVariableName,
    /// A malformed substitution inside an operator's word.
    #[error("unable to parse substitution within function")]
    ParseFuncSubstitution,
    /// A malformed default operator.
    #[error("unable to parse default function")]
    ParseDefaultFunction,
    /// An unset variable in strict mode.
    #[error("variable not set (strict mode): {0:?}")]
    NotSet(String),
    /// `${…}` nested deeper than [`parse::MAX_NESTING`] levels.
    #[error("substitutions nested more than {0} levels deep")]
    TooDeep(usize),
    /// `${v:offset:-n}`: the upstream code crashes on a negative length.
    #[error("negative substring length {0}")]
    NegativeLength(i64),
}

/// Whether an operator supplies its own value for an unset variable.
fn is_default_op(name: &str) -> bool {
    matches!(name, "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?")
}

/// Expands every `${…}` in `text`. In strict mode a variable missing from
/// `vars` is an error (unless a default operator handles it); otherwise it
/// reads as empty.
pub fn substitute(text: &str, vars: &Vars, strict: bool) -> Result<String, EnvsubstError> {
    let tree = parse(text)?;
    let mut out = String::with_capacity(text.len());
    eval(&tree, vars, strict, &mut out)?;
    Ok(out)
}

/// Evaluates a parsed template.
pub fn eval(node: &Node, vars: &Vars, strict: bool, out: &mut String) -> Result<(), EnvsubstError> {
    match node {
        Node::Text(t) => out.push_str(t),
        Node::List(nodes) => {
            for n in nodes {
                eval(n, vars, strict, out)?;
            }
        }
        Node::Func { param, name, args } => {
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                let mut s = String::new();
                eval(a, vars, strict, &mut s)?;
                values.push(s);
            }
            let value = match vars.get(param) {
                Some(v) => v,
                None if strict && !is_default_op(name) => {
                    return Err(EnvsubstError::NotSet(param.clone()));
                }
                None => "",
            };
            out.push_str(&funcs::apply(name, value, &values)?);
        }
    }
    Ok(())
}

/// Whether any string (or mapping key) in `value` holds a `${` placeholder:
/// a template or a Flux post-build input, whose schema is checked once
/// rendered rather than as text.
///
/// ```
/// use fleet_model::envsubst::holds_placeholder;
/// let v = fleet_model::yaml::parse_one("spec: {replicas: \"${N:=2}\"}\n").unwrap();
/// assert!(holds_placeholder(&v));
/// assert!(!holds_placeholder(&fleet_model::yaml::parse_one("a: b\n").unwrap()));
/// ```
pub fn holds_placeholder(value: &crate::Value) -> bool {
    use crate::Value;
    match value {
        Value::String(s) => s.contains("${"),
        Value::Sequence(items) => items.iter().any(holds_placeholder),
        Value::Mapping(map) => map
            .iter()
            .any(|(k, v)| k.contains("${") || holds_placeholder(v)),
        _ => false,
    }
}
