//! Cluster templates with clusterctl's variable convention: `${VAR}`,
//! `${VAR:=default}` and the other envsubst operators, variable discovery,
//! and one error listing every missing variable.
//!
//! The grammar is Flux's envsubst (`fleet_model::envsubst`), which is
//! the same drone/envsubst parser clusterctl uses; this module adds what
//! clusterctl's "simple processor" does around it.
//!
//! ```
//! use fleet_capi::template::{Template, Variables};
//! let t = Template::new("name: ${CLUSTER_NAME}\nreplicas: ${WORKERS:=3}\n").unwrap();
//! assert_eq!(t.required(), vec!["CLUSTER_NAME"]);
//! let mut vars = Variables::default();
//! vars.set("CLUSTER_NAME", "edge-1");
//! assert_eq!(t.render(&vars).unwrap(), "name: edge-1\nreplicas: 3\n");
//! ```

use fleet_model::envsubst::{self, Node, Vars};
use indexmap::IndexMap;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

/// `${ NAME }` with white space inside the braces: clusterctl's legacy
/// form, rewritten to `${NAME}` before parsing.
static LEGACY_SPACING: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern; every template test exercises it.
    #[allow(clippy::expect_used)]
    Regex::new(r"\$\{[\t\n\f\r ]*([A-Za-z0-9_$]+)[\t\n\f\r ]*\}").expect("valid pattern")
});

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The text is not valid envsubst.
    #[error(
        "{}the template does not parse: {message} (variables are written ${{NAME}} or ${{NAME:=default}}; names are letters, digits and _)",
        .line.map(|l| format!("line {l}: ")).unwrap_or_default()
    )]
    Parse {
        /// The first line that does not parse on its own, when one does not.
        line: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// Variables without a value and without a default (sorted).
    #[error(
        "value for variables [{}] is not set. Please set the value using os environment variables or the clusterctl config file",
        .0.join(", ")
    )]
    Missing(Vec<String>),
    /// The rendered text is not YAML, or a value added keys to it.
    #[error("the rendered template {0}")]
    Output(String),
    /// A value was given for a variable the template does not use.
    #[error("the template has no variable{} {}; it uses: {}", if .unknown.len() == 1 { "" } else { "s" }, .unknown.join(", "), .known.join(", "))]
    Unknown {
        /// The names given but not used.
        unknown: Vec<String>,
        /// The names the template uses.
        known: Vec<String>,
    },
}

/// Variable values, as clusterctl's variables client provides them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variables(pub BTreeMap<String, String>);

impl Variables {
    /// Sets a value.
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_string(), value.to_string());
    }

    /// A value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// A parsed template and its variables.
#[derive(Debug, Clone)]
pub struct Template {
    text: String,
    tree: Node,
    variables: IndexMap<String, Option<String>>,
}

/// The file name clusterctl looks for: `cluster-template[-FLAVOR].yaml`.
///
/// ```
/// assert_eq!(fleet_capi::template::template_file_name(""), "cluster-template.yaml");
/// assert_eq!(fleet_capi::template::template_file_name("ha"), "cluster-template-ha.yaml");
/// ```
pub fn template_file_name(flavor: &str) -> String {
    if flavor.is_empty() {
        "cluster-template.yaml".to_string()
    } else {
        format!("cluster-template-{flavor}.yaml")
    }
}

impl Template {
    /// Parses a template and discovers its variables.
    pub fn new(text: &str) -> Result<Template, TemplateError> {
        let normalised = LEGACY_SPACING.replace_all(text, "$${$1}").into_owned();
        let tree = envsubst::parse(&normalised).map_err(|e| TemplateError::Parse {
            // The parser gives no position; expressions do not span lines
            // once legacy spacing is normalised, so the first line that
            // fails alone is the one to fix.
            line: normalised
                .lines()
                .position(|l| envsubst::parse(l).is_err())
                .map(|i| i + 1),
            message: e.to_string(),
        })?;
        let mut variables = IndexMap::new();
        discover(&tree, &mut variables);
        Ok(Template {
            text: text.to_string(),
            tree,
            variables,
        })
    }

    /// Every variable with its default (`None`: required), sorted by name.
    /// Only top-level expressions count, and a name keeps the default of
    /// its first occurrence, as clusterctl discovers them.
    pub fn variables(&self) -> BTreeMap<&str, Option<&str>> {
        self.variables
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect()
    }

    /// The variables without a default, sorted.
    pub fn required(&self) -> Vec<&str> {
        self.variables()
            .into_iter()
            .filter(|(_, d)| d.is_none())
            .map(|(k, _)| k)
            .collect()
    }

    /// The text the template was read from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Renders with `vars`. Every required variable missing from `vars` is
    /// reported at once; a variable set to "" is not missing. Unknown
    /// names read as "" (clusterctl renders non-strictly).
    pub fn render(&self, vars: &Variables) -> Result<String, TemplateError> {
        let missing: Vec<String> = self
            .required()
            .into_iter()
            .filter(|name| vars.get(name).is_none())
            .map(str::to_string)
            .collect();
        if !missing.is_empty() {
            return Err(TemplateError::Missing(missing));
        }
        let values = Vars(
            vars.0
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        );
        let mut out = String::with_capacity(self.text.len());
        envsubst::eval(&self.tree, &values, false, &mut out).map_err(|e| TemplateError::Parse {
            line: None,
            message: e.to_string(),
        })?;
        Ok(out)
    }

    /// [`render`](Self::render), then checks the result is YAML and that no
    /// value added keys beside the template's own (a value holding `: ` or a
    /// line break that was not quoted): with every variable set to a plain
    /// word the template gives the shape; a value may turn a scalar into a
    /// structure, but not grow a mapping.
    pub fn render_checked(&self, vars: &Variables) -> Result<String, TemplateError> {
        let out = self.render(vars)?;
        let rendered = fleet_model::yaml::parse_documents(&out).map_err(|e| {
            TemplateError::Output(format!(
                "is not valid YAML at line {}, column {}: {}; a value probably needs quoting",
                e.line, e.column, e.message
            ))
        })?;
        let mut plain = Variables::default();
        for name in self.variables.keys() {
            plain.set(name, "x");
        }
        let shape = self
            .render(&plain)
            .ok()
            .and_then(|text| fleet_model::yaml::parse_documents(&text).ok());
        if let Some(shape) = shape {
            if shape.len() != rendered.len() {
                return Err(TemplateError::Output(format!(
                    "has {} YAML documents where the template has {}: a value holds a document separator (---)",
                    rendered.len(),
                    shape.len()
                )));
            }
            for (s, r) in shape.iter().zip(&rendered) {
                grown_mapping(&s.value, &r.value, "")
                    .map_or(Ok(()), |(path, keys)| {
                        Err(TemplateError::Output(format!(
                            "has keys the template does not at {path}: {}; quote values that hold ': ' or line breaks",
                            keys.join(", ")
                        )))
                    })?;
            }
        }
        Ok(out)
    }

    /// Refuses values for variables the template does not use (a typo in
    /// `--set` would otherwise be silently ignored).
    pub fn check_known(
        &self,
        names: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<(), TemplateError> {
        let mut unknown: Vec<String> = names
            .into_iter()
            .filter(|n| !self.variables.contains_key(n.as_ref()))
            .map(|n| n.as_ref().to_string())
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort();
        unknown.dedup();
        Err(TemplateError::Unknown {
            unknown,
            known: self.variables().keys().map(|k| k.to_string()).collect(),
        })
    }
}

/// The first mapping of `rendered` with more keys than the same mapping
/// of `shape` (the path, and the keys `shape` lacks); where `shape` has a
/// scalar, `rendered` may hold anything.
fn grown_mapping(
    shape: &fleet_model::Value,
    rendered: &fleet_model::Value,
    path: &str,
) -> Option<(String, Vec<String>)> {
    use fleet_model::Value;
    match (shape, rendered) {
        (Value::Mapping(s), Value::Mapping(r)) => {
            if r.len() > s.len() {
                let extra: Vec<String> =
                    r.keys().filter(|k| !s.contains_key(*k)).cloned().collect();
                let at = if path.is_empty() {
                    "the top".to_string()
                } else {
                    path.to_string()
                };
                return Some((at, extra));
            }
            s.iter().find_map(|(k, sv)| {
                let rv = r.get(k)?;
                grown_mapping(sv, rv, &format!("{path}.{k}"))
            })
        }
        (Value::Sequence(s), Value::Sequence(r)) => s
            .iter()
            .zip(r)
            .enumerate()
            .find_map(|(i, (sv, rv))| grown_mapping(sv, rv, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// Records the top-level expressions' names with the first occurrence's
/// default text.
fn discover(node: &Node, out: &mut IndexMap<String, Option<String>>) {
    match node {
        Node::Text(_) => {}
        Node::List(nodes) => nodes.iter().for_each(|n| discover(n, out)),
        Node::Func { param, args, .. } => {
            if !out.contains_key(param) {
                let mut default = String::new();
                for arg in args {
                    write_back(arg, &mut default);
                }
                out.insert(param.clone(), (!default.is_empty()).then_some(default));
            }
        }
    }
}

/// An argument as clusterctl records it: text as is, nested expansions as `${NAME}`.
fn write_back(node: &Node, out: &mut String) {
    match node {
        Node::Text(t) => out.push_str(t),
        Node::Func { param, .. } => {
            out.push_str("${");
            out.push_str(param);
            out.push('}');
        }
        Node::List(nodes) => nodes.iter().for_each(|n| write_back(n, out)),
    }
}
