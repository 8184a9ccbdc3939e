//! Go's `regexp.Expand` templates, used by `filterTags.extract`.
//!
//! The `regex` crate's `Captures::expand` is close but not the same: Go
//! treats a `$` that does not start a valid reference as literal text and
//! decides "number or name" with its own rule (`$01` is a name). Tags that
//! extract differently would pick a different image, so the expansion is
//! written out here.

use regex::Captures;

/// Expands `template` against one match, as Go does: `$$` is `$`, `$name`
/// and `${name}` take the longest run of letters, digits and `_` (so `$1x`
/// names a group `1x`), a name of digits without a leading zero is a group
/// number, and an unknown or unmatched group expands to nothing.
///
/// ```
/// use fleet_imagepolicy::template::expand;
/// let re = regex::Regex::new(r"^main-(?P<sha>[a-f0-9]+)-(?P<ts>\d+)$").unwrap();
/// let caps = re.captures("main-abc123-1700000000").unwrap();
/// assert_eq!(expand(&re, &caps, "$ts"), "1700000000");
/// assert_eq!(expand(&re, &caps, "${1}x"), "abc123x");
/// assert_eq!(expand(&re, &caps, "$1x"), "");
/// ```
pub fn expand(re: &regex::Regex, caps: &Captures<'_>, template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        match reference(rest) {
            Some((name, after)) => {
                rest = after;
                let group = match group_number(name) {
                    Some(n) => caps.get(n),
                    None => re
                        .capture_names()
                        .position(|n| n == Some(name))
                        .and_then(|i| caps.get(i)),
                };
                if let Some(m) = group {
                    out.push_str(m.as_str());
                }
            }
            None => out.push('$'),
        }
    }
    out.push_str(rest);
    out
}

/// The reference after a `$`: its name and the text after it.
fn reference(text: &str) -> Option<(&str, &str)> {
    let (braced, body) = match text.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let end = body
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    if braced {
        let after = body[end..].strip_prefix('}')?;
        Some((name, after))
    } else {
        Some((name, &body[end..]))
    }
}

/// A group number: ASCII digits, no leading zero, below 10^8.
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || (name.len() > 1 && name.starts_with('0')) {
        return None;
    }
    name.parse().ok().filter(|n| *n < 100_000_000)
}
