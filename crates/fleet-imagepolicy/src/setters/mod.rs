//! Setter rewrites: the fields marked `# {"$imagepolicy": "NS:NAME"}` (or
//! `NS:NAME:name`, `:tag`, `:digest`) get the image their policy chose.
//!
//! Only the marked scalar's bytes change; every other byte of every file
//! (comments, quoting, indentation, other documents, other files) stays as
//! it was. Files are considered as image-automation-controller does: names
//! ending in `.yaml` or `.yml`, or exactly `Kustomization`, that contain
//! the text `"$imagepolicy"`.
//!
//! ```
//! use fleet_imagepolicy::setters::{Policies, rewrite_text};
//! use fleet_model::flux::image::ImageRef;
//! let mut policies = Policies::default();
//! policies.insert("apps", "podinfo", ImageRef::parse("ghcr.io/org/podinfo:6.5.0").unwrap());
//! let text = "spec:\n  image: ghcr.io/org/podinfo:6.4.0 # {\"$imagepolicy\": \"apps:podinfo\"}\n";
//! let (out, changes) = rewrite_text(text, &policies, Default::default()).unwrap();
//! assert_eq!(out, "spec:\n  image: ghcr.io/org/podinfo:6.5.0 # {\"$imagepolicy\": \"apps:podinfo\"}\n");
//! assert_eq!(changes[0].old_value, "ghcr.io/org/podinfo:6.4.0");
//! ```

mod line;
mod tree;

pub use tree::{
    FileChange, MAX_FILE_SIZE, ObjectChanges, ObjectRef, TreeError, TreeUpdate, policies_in_tree,
    update_tree,
};

use fleet_model::flux::image::ImageRef;
use line::{Content, Style};
use std::collections::BTreeMap;

/// The text every marked file contains; others are not even parsed.
pub const MARKER_KEY: &str = "\"$imagepolicy\"";

/// The images chosen per policy, keyed `NAMESPACE:NAME`.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    latest: BTreeMap<String, ImageRef>,
}

impl Policies {
    /// Records the latest image of ImagePolicy `namespace/name`.
    pub fn insert(&mut self, namespace: &str, name: &str, latest: ImageRef) {
        self.latest.insert(format!("{namespace}:{name}"), latest);
    }

    /// The latest images of ImagePolicy objects that have one
    /// (`status.latestRef`); policies without it are left out, as Flux
    /// leaves them out.
    pub fn from_image_policies<'a>(
        policies: impl IntoIterator<Item = &'a fleet_model::flux::image::ImagePolicy>,
    ) -> Policies {
        let mut out = Policies::default();
        for policy in policies {
            let latest = policy.status.as_ref().and_then(|s| s.latest_ref.clone());
            if let Some(latest) = latest {
                let namespace = policy.metadata.namespace.as_deref().unwrap_or("default");
                let name = policy.metadata.name.as_deref().unwrap_or_default();
                out.insert(namespace, name, latest);
            }
        }
        out
    }

    /// The known policies, `NAMESPACE:NAME`.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.latest.keys().map(String::as_str)
    }

    /// The known policies and their latest images, `NAMESPACE:NAME` in
    /// order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ImageRef)> {
        self.latest.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Whether no policy is known.
    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }

    /// The value a setter writes, or `None` when the setter names no known
    /// policy or an unknown part.
    ///
    /// ```
    /// use fleet_imagepolicy::setters::Policies;
    /// use fleet_model::flux::image::ImageRef;
    /// let mut p = Policies::default();
    /// p.insert("ns", "app", ImageRef::parse("app:1.0@sha256:ab").unwrap());
    /// assert_eq!(p.value("ns:app").as_deref(), Some("app:1.0@sha256:ab"));
    /// assert_eq!(p.value("ns:app:tag").as_deref(), Some("1.0"));
    /// assert_eq!(p.value("ns:other"), None);
    /// ```
    pub fn value(&self, setter: &str) -> Option<String> {
        if let Some(image) = self.latest.get(setter) {
            return Some(image.to_string());
        }
        let (policy, part) = setter.rsplit_once(':')?;
        let image = self.latest.get(policy)?;
        match part {
            "name" => Some(image.name.clone()),
            "tag" => Some(image.tag.clone()),
            "digest" => Some(image.digest.clone().unwrap_or_default()),
            _ => None,
        }
    }
}

/// What to do with a marker naming a policy that is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownPolicy {
    /// Leave the value alone, as image-automation-controller does (the
    /// marker may belong to another automation).
    #[default]
    Ignore,
    /// Fail the whole update.
    Error,
}

/// Options of a rewrite.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Markers naming unknown policies.
    pub unknown_policy: UnknownPolicy,
}

/// One changed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// 1-based line of the value.
    pub line: usize,
    /// The setter of the marker (`ns:name`, `ns:name:tag`, …).
    pub setter: String,
    /// The value before.
    pub old_value: String,
    /// The value written.
    pub new_value: String,
}

/// A marker that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkerError {
    /// The marker sits on a value that is not a one-line scalar.
    #[error(
        "line {line}: the marker for {setter:?} is not on a single-line scalar value: {why}; \
         put the marker at the end of the line that holds the value to update"
    )]
    NotScalar {
        /// 1-based line.
        line: usize,
        /// The setter.
        setter: String,
        /// What is there instead.
        why: &'static str,
    },
    /// The marker names a policy (or part) that is not known.
    #[error(
        "line {line}: the marker names {setter:?}, but no such ImagePolicy is known \
         (known: {known}); fix the marker or pass that policy"
    )]
    UnknownPolicy {
        /// 1-based line.
        line: usize,
        /// The setter.
        setter: String,
        /// The known policies.
        known: String,
    },
}

/// Reads a comment as a setter marker: JSON after the leading `#`s, an
/// object of strings with a non-empty `$imagepolicy`.
pub fn marker_setter(comment: &str) -> Option<String> {
    let body = comment.trim_start_matches('#').trim();
    if !body.starts_with('{') {
        return None;
    }
    let map: BTreeMap<String, String> = serde_json::from_str(body).ok()?;
    map.get("$imagepolicy").filter(|s| !s.is_empty()).cloned()
}

/// Rewrites the marked values of one file's text. Returns the new text and
/// the changes, in file order; the text is returned unchanged (same bytes)
/// when nothing changes.
pub fn rewrite_text(
    text: &str,
    policies: &Policies,
    options: Options,
) -> Result<(String, Vec<Change>), MarkerError> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut changes = Vec::new();
    // Inside a block scalar (indented below `key: |`), text is content:
    // a marker there is not a comment and is left alone.
    let mut block_parent: Option<usize> = None;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let (body, ending) = split_ending(raw);
        let indent = body.len() - body.trim_start_matches(' ').len();
        if let Some(parent) = block_parent {
            if body.trim().is_empty() || indent > parent {
                out.push_str(raw);
                continue;
            }
            block_parent = None;
        }
        if line::opens_block_scalar(body) {
            block_parent = Some(line::node_column(body));
        }
        if !body.contains(MARKER_KEY) {
            out.push_str(raw);
            continue;
        }
        let Some(scanned) = line::scan(body) else {
            out.push_str(raw);
            continue;
        };
        let Some(setter) = scanned.comment.and_then(marker_setter) else {
            out.push_str(raw);
            continue;
        };
        let Some(new_value) = policies.value(&setter) else {
            if options.unknown_policy == UnknownPolicy::Error {
                return Err(MarkerError::UnknownPolicy {
                    line: number,
                    setter,
                    known: policies
                        .latest
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            out.push_str(raw);
            continue;
        };
        let scalar = match scanned.content {
            Content::Scalar(s) => s,
            Content::NotScalar(why) => {
                return Err(MarkerError::NotScalar {
                    line: number,
                    setter,
                    why,
                });
            }
        };
        if scalar.value == new_value {
            out.push_str(raw);
            continue;
        }
        out.push_str(&body[..scalar.start]);
        out.push_str(&encode(&new_value, scalar.style));
        out.push_str(&body[scalar.end..]);
        out.push_str(ending);
        changes.push(Change {
            line: number,
            setter,
            old_value: scalar.value,
            new_value,
        });
    }
    Ok((out, changes))
}

fn split_ending(raw: &str) -> (&str, &str) {
    let body = raw.strip_suffix('\n').unwrap_or(raw);
    let body = body.strip_suffix('\r').unwrap_or(body);
    (body, &raw[body.len()..])
}

/// Writes `value` in the style the old value had; a plain value that YAML
/// would read as something other than this string gets double quotes.
fn encode(value: &str, style: Style) -> String {
    match style {
        Style::Plain if plain_is_safe(value) => value.to_string(),
        Style::Single if !value.chars().any(char::is_control) => {
            format!("'{}'", value.replace('\'', "''"))
        }
        _ => double_quoted(value),
    }
}

fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `value` written plain reads back as this same string, in YAML
/// 1.2 and in the YAML 1.1 readers (kustomize, go-yaml) that see it too.
fn plain_is_safe(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    let yaml11_keyword = matches!(
        value.to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "~"
    );
    let indicator = "-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !(first == '-' && value.len() > 1 && !value.starts_with("- "));
    !yaml11_keyword
        && !indicator
        && value.trim() == value
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with(':')
        && !value.chars().any(char::is_control)
        && matches!(
            fleet_model::yaml::plain_scalar(value),
            fleet_model::Value::String(ref s) if s == value
        )
        && !looks_like_yaml11_number(value)
}

/// YAML 1.1 integers and floats (`0777`, `1_000`, `1:30`, `.5`, `1e3`).
fn looks_like_yaml11_number(value: &str) -> bool {
    let body = value.strip_prefix(['+', '-']).unwrap_or(value);
    if body.is_empty() {
        return false;
    }
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    let int = numeric(body)
        || body.split(':').all(numeric)
        || (body.starts_with("0x")
            && body[2..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b'_'))
        || (body.starts_with("0b") && body[2..].bytes().all(|b| matches!(b, b'0' | b'1' | b'_')));
    let float = {
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let exponent_ok = exponent.is_none_or(|e| numeric(e.strip_prefix(['+', '-']).unwrap_or(e)));
        let mantissa_ok = match mantissa.split_once('.') {
            Some((w, f)) => {
                (w.is_empty() || numeric(w))
                    && (f.is_empty() || numeric(f))
                    && !(w.is_empty() && f.is_empty())
            }
            None => numeric(mantissa) && exponent.is_some(),
        };
        mantissa_ok && exponent_ok
    };
    let special = matches!(body.to_ascii_lowercase().as_str(), ".inf" | ".nan");
    int || float || special
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies() -> Policies {
        let mut p = Policies::default();
        p.insert(
            "ns",
            "app",
            ImageRef::parse("reg.io/app:1.0").unwrap_or_default(),
        );
        p
    }

    #[test]
    fn tags_that_yaml_reads_as_numbers_are_quoted() {
        let text = "tag: v0.9 # {\"$imagepolicy\": \"ns:app:tag\"}\n";
        let (out, _) =
            rewrite_text(text, &policies(), Options::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, "tag: \"1.0\" # {\"$imagepolicy\": \"ns:app:tag\"}\n");
        for unsafe_plain in [
            "1.0", "123", "true", "yes", "0x1F", "1e3", "", "null", "- a", ":x", "a: b",
        ] {
            assert!(!plain_is_safe(unsafe_plain), "{unsafe_plain:?}");
        }
        for safe in ["v1.0.0", "1.0.1", "reg.io/app:1.0", "sha256:abc", "-x"] {
            assert!(plain_is_safe(safe), "{safe:?}");
        }
    }

    #[test]
    fn quote_style_is_kept_and_crlf_preserved() {
        let text = "a: 'old' # {\"$imagepolicy\": \"ns:app:name\"}\r\nb: \"old\" # {\"$imagepolicy\": \"ns:app\"}\r\n";
        let (out, changes) =
            rewrite_text(text, &policies(), Options::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out,
            "a: 'reg.io/app' # {\"$imagepolicy\": \"ns:app:name\"}\r\nb: \"reg.io/app:1.0\" # {\"$imagepolicy\": \"ns:app\"}\r\n"
        );
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn markers_on_non_scalars_and_unknown_policies_are_errors_when_asked() {
        let text = "image: # {\"$imagepolicy\": \"ns:app\"}\n  x: y\n";
        assert!(matches!(
            rewrite_text(text, &policies(), Options::default()),
            Err(MarkerError::NotScalar { line: 1, .. })
        ));
        let unknown = "image: a # {\"$imagepolicy\": \"ns:other\"}\n";
        let strict = Options {
            unknown_policy: UnknownPolicy::Error,
        };
        assert!(matches!(
            rewrite_text(unknown, &policies(), strict),
            Err(MarkerError::UnknownPolicy { .. })
        ));
        let (out, changes) = rewrite_text(unknown, &policies(), Options::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((out.as_str(), changes.len()), (unknown, 0));
    }

    #[test]
    fn markers_inside_block_scalars_are_text() {
        let text = "data:\n  config.yaml: |\n    image: old # {\"$imagepolicy\": \"ns:app\"}\n\n    more: text\nimage: old # {\"$imagepolicy\": \"ns:app\"}\n";
        let (out, changes) =
            rewrite_text(text, &policies(), Options::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].line, 6);
        assert_eq!(
            out,
            text.replacen("image: old #", "image: reg.io/app:1.0 #", 2)
                .replacen("image: reg.io/app:1.0 #", "image: old #", 1)
        );
    }

    #[test]
    fn comments_that_are_not_markers_change_nothing() {
        assert_eq!(
            marker_setter(" {\"$imagepolicy\": \"a:b\"}").as_deref(),
            Some("a:b")
        );
        assert_eq!(
            marker_setter("# {\"$imagepolicy\": \"a:b\", \"x\": \"y\"}").as_deref(),
            Some("a:b")
        );
        assert_eq!(marker_setter(" {\"$imagepolicy\": 3}"), None);
        assert_eq!(marker_setter(" {\"$imagepolicy\": \"\"}"), None);
        assert_eq!(marker_setter(" see \"$imagepolicy\" docs"), None);
    }
}
