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
    /// Parsed when first needed: kustomize parses a selector only for a
    /// resource that passed the other checks, so a bad one fails the build
    /// only if such a resource exists.
    labels: Option<std::result::Result<LabelSelector, String>>,
    annotations: Option<std::result::Result<LabelSelector, String>>,
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
                .map(|s| crate::labels::parse(s).map(LabelSelector)),
            annotations: s
                .annotation_selector
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| crate::labels::parse(s).map(LabelSelector)),
        })
    }

    /// The indices of the selected resources, in order; an error when a
    /// label or annotation selector that a resource reaches does not parse.
    pub fn select(&self, resmap: &crate::resource::ResMap) -> Result<Vec<usize>> {
        let mut out = Vec::new();
        for (i, r) in resmap.resources().iter().enumerate() {
            if self.matches(r)? {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// Whether the resource is selected (see [`Compiled::select`]).
    pub fn matches(&self, r: &Resource) -> Result<bool> {
        let cur = r.id();
        let org = r.original_id();
        let m = |re: &Option<Regex>, s: &str| re.as_ref().is_none_or(|re| re.is_match(s));
        if self.namespace.is_some()
            && !m(&self.namespace, org.effective_namespace())
            && !m(&self.namespace, cur.effective_namespace())
        {
            return Ok(false);
        }
        if self.name.is_some() && !m(&self.name, &org.name) && !m(&self.name, &cur.name) {
            return Ok(false);
        }
        if !m(&self.group, &cur.group)
            || !m(&self.version, &cur.version)
            || !m(&self.kind, &cur.kind)
        {
            return Ok(false);
        }
        if let Some(ls) = &self.labels
            && !ls
                .as_ref()
                .map_err(|e| Error::msg(e.clone()))?
                .matches(&r.labels())
        {
            return Ok(false);
        }
        if let Some(ls) = &self.annotations
            && !ls
                .as_ref()
                .map_err(|e| Error::msg(e.clone()))?
                .matches(&r.annotations())
        {
            return Ok(false);
        }
        Ok(true)
    }
}

/// A label or annotation selector expression (`a=b,c!=d,e in (x,y),!f`)
/// as kustomize parses it: see [`crate::labels`].
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSelector(crate::labels::Selector);

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
    /// Parses a selector expression; the error is kustomize's.
    pub fn parse(s: &str) -> Result<LabelSelector> {
        crate::labels::parse(s)
            .map(LabelSelector)
            .map_err(Error::msg)
    }

    /// Whether a label map satisfies every requirement.
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        self.0.matches(labels)
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
