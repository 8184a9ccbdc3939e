//! Resource selection as kustomize's `ResMap.Select` does it: anchored
//! regular expressions over group, version, kind, name and namespace
//! (original or current), plus label and annotation selectors.

use crate::error::{Error, Result};
use crate::kustfile::Selector;
use crate::resource::Resource;
use regex::Regex;

/// A compiled selector.
#[derive(Debug)]
pub struct Compiled {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<LabelSelector>,
    annotations: Option<LabelSelector>,
}

/// Rewrites a Go (RE2) pattern for Rust's `regex`: in Go a `{` that does
/// not start a repetition (`{n}`, `{n,}`, `{n,m}`) is a literal brace, so
/// Flux-style names such as `^\${cluster_name}-app$` select; Rust's parser
/// refuses them. Braces outside a repetition are escaped; everything else is
/// kept as written.
pub(crate) fn go_pattern(p: &str) -> std::borrow::Cow<'_, str> {
    if !p.contains(['{', '}']) {
        return std::borrow::Cow::Borrowed(p);
    }
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 4);
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                out.push(c);
                if let Some(&n) = chars.get(i + 1) {
                    out.push(n);
                }
                i += 2;
                continue;
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '{' if !in_class => {
                let rest: String = chars[i + 1..].iter().collect();
                let close = rest.find('}');
                let repetition = close.is_some_and(|end| {
                    let body = &rest[..end];
                    let (lo, hi) = body.split_once(',').unwrap_or((body, "0"));
                    !lo.is_empty()
                        && lo.bytes().all(|b| b.is_ascii_digit())
                        && hi.bytes().all(|b| b.is_ascii_digit())
                });
                if let (true, Some(end)) = (repetition, close) {
                    out.push('{');
                    out.push_str(&rest[..=end]);
                    i += end + 2;
                    continue;
                }
                out.push_str("\\{");
                i += 1;
                continue;
            }
            '}' if !in_class => {
                out.push_str("\\}");
                i += 1;
                continue;
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

fn anchored(s: &Option<String>) -> Result<Option<Regex>> {
    match s.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(p) => Regex::new(&format!("^(?:{})$", go_pattern(p)))
            .map(Some)
            .map_err(|e| {
                Error::msg(format!(
                    "invalid regular expression {p:?} in patch target: {e}"
                ))
            }),
    }
}

impl Compiled {
    /// Compiles a selector.
    pub fn new(s: &Selector) -> Result<Compiled> {
        Ok(Compiled {
            group: anchored(&s.group)?,
            version: anchored(&s.version)?,
            kind: anchored(&s.kind)?,
            name: anchored(&s.name)?,
            namespace: anchored(&s.namespace)?,
            labels: s
                .label_selector
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(LabelSelector::parse)
                .transpose()?,
            annotations: s
                .annotation_selector
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(LabelSelector::parse)
                .transpose()?,
        })
    }

    /// The indices of the selected resources, in order.
    pub fn select(&self, resmap: &crate::resource::ResMap) -> Vec<usize> {
        resmap
            .resources()
            .iter()
            .enumerate()
            .filter(|(_, r)| self.matches(r))
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether the resource is selected.
    pub fn matches(&self, r: &Resource) -> bool {
        let cur = r.id();
        let org = r.original_id();
        let m = |re: &Option<Regex>, s: &str| re.as_ref().is_none_or(|re| re.is_match(s));
        if self.namespace.is_some()
            && !m(&self.namespace, org.effective_namespace())
            && !m(&self.namespace, cur.effective_namespace())
        {
            return false;
        }
        if self.name.is_some() && !m(&self.name, &org.name) && !m(&self.name, &cur.name) {
            return false;
        }
        if !m(&self.group, &cur.group)
            || !m(&self.version, &cur.version)
            || !m(&self.kind, &cur.kind)
        {
            return false;
        }
        if let Some(ls) = &self.labels
            && !ls.matches(&r.labels())
        {
            return false;
        }
        if let Some(ls) = &self.annotations
            && !ls.matches(&r.annotations())
        {
            return false;
        }
        true
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A Kubernetes label selector expression (`a=b,c!=d,e in (x,y),!f`).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSelector(Vec<Requirement>);

fn split_top_level(s: &str) -> Vec<String> {
    split_outside(s, ('(', ')'), ',')
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Splits `s` at `sep` where it is not inside the `brackets` pair.
pub(crate) fn split_outside(s: &str, brackets: (char, char), sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        if c == brackets.0 {
            depth += 1;
        } else if c == brackets.1 {
            depth -= 1;
        } else if c == sep && depth == 0 {
            parts.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
}

impl LabelSelector {
    /// Parses a selector expression.
    pub fn parse(s: &str) -> Result<LabelSelector> {
        let bad = || Error::msg(format!("invalid label selector {s:?}"));
        let mut reqs = Vec::new();
        for part in split_top_level(s) {
            let set = |op: &str| -> Option<(String, Vec<String>)> {
                let idx = part.find(op)?;
                let key = part[..idx].trim().to_string();
                let rest = part[idx + op.len()..].trim();
                let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
                Some((
                    key,
                    inner
                        .split(',')
                        .map(|v| v.trim().to_string())
                        .filter(|v| !v.is_empty())
                        .collect(),
                ))
            };
            if let Some((k, vs)) = set(" notin ") {
                reqs.push(Requirement::NotIn(k, vs));
            } else if let Some((k, vs)) = set(" in ") {
                reqs.push(Requirement::In(k, vs));
            } else if let Some((k, v)) = part.split_once("!=") {
                reqs.push(Requirement::NotEquals(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = part.split_once("==") {
                reqs.push(Requirement::Equals(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = part.split_once('=') {
                reqs.push(Requirement::Equals(k.trim().into(), v.trim().into()));
            } else if let Some(k) = part.strip_prefix('!') {
                reqs.push(Requirement::DoesNotExist(k.trim().into()));
            } else if part
                .chars()
                .all(|c| c.is_alphanumeric() || "-_./".contains(c))
            {
                reqs.push(Requirement::Exists(part.clone()));
            } else {
                return Err(bad());
            }
        }
        Ok(LabelSelector(reqs))
    }

    /// Whether a label map satisfies every requirement.
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        let get = |k: &str| {
            labels
                .iter()
                .find(|(lk, _)| lk == k)
                .map(|(_, v)| v.as_str())
        };
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_literal_braces_are_escaped_and_repetitions_kept() {
        assert_eq!(
            go_pattern(r"^\${cluster_name}-app$"),
            r"^\$\{cluster_name\}-app$"
        );
        assert_eq!(go_pattern("a{2,3}b{4}c{5,}"), "a{2,3}b{4}c{5,}");
        assert_eq!(go_pattern("[{}]x{y"), r"[{}]x\{y");
        assert!(Regex::new(&go_pattern(r"^\${cluster_name}-app$")).is_ok());
    }

    #[test]
    fn label_selectors_follow_kubernetes_syntax() {
        let labels = vec![
            ("app".to_string(), "web".to_string()),
            ("tier".to_string(), "fe".to_string()),
        ];
        let ok = |s: &str| {
            LabelSelector::parse(s)
                .map(|l| l.matches(&labels))
                .unwrap_or(false)
        };
        assert!(ok("app=web"));
        assert!(ok("app==web,tier"));
        assert!(ok("app in (web, api),!missing"));
        assert!(!ok("app notin (web)"));
        assert!(!ok("tier!=fe"));
    }
}
