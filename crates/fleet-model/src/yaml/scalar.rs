//! Scalar resolution and quoting rules shared by the reader and the writer.

use crate::value::{Number, Value};

/// Resolves an untagged plain scalar to null, boolean, number or string.
pub(crate) fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => match Number::parse(text) {
            Some(n) => Value::Number(n),
            None => Value::String(text.to_string()),
        },
    }
}

/// Resolves an untagged plain scalar as go-yaml v2 does (YAML 1.1, the
/// reader behind `sigs.k8s.io/yaml`'s `YAMLToJSON`): `y`/`yes`/`on` and
/// `n`/`no`/`off` are booleans too. Numbers already follow Go's
/// `strconv.ParseInt(s, 0, 64)` after underscore removal in both readers
/// (`0755` is octal, `1_000` an integer), and timestamps stay strings, as v2
/// keeps them when decoding into an untyped value.
pub(crate) fn resolve_plain_go_yaml_v2(text: &str) -> Value {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Value::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Value::Bool(false),
        _ => resolve_plain(text),
    }
}

/// Whether go-yaml v3 writes `s` in any style but plain (quoted, or a
/// literal block): a string read from such a scalar kept that style, which
/// kyaml's strategic merge hands on to a value merged over it.
///
/// ```
/// assert!(fleet_model::yaml::is_written_quoted("8443"));
/// assert!(fleet_model::yaml::is_written_quoted("a: b"));
/// assert!(!fleet_model::yaml::is_written_quoted("web"));
/// ```
pub fn is_written_quoted(s: &str) -> bool {
    string_style_with(s, false) != StringStyle::Plain
}

/// How the writer must present a string so that it reads back as the same string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StringStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// Chooses the style go-yaml v3 (kustomize's YAML library) gives a string:
/// literal blocks for multi-line text, double quotes for text that would read
/// back as another type, plain where YAML syntax allows it, single quotes
/// otherwise, and double quotes with escapes for unprintable characters.
#[cfg(test)]
pub(crate) fn string_style(s: &str) -> StringStyle {
    string_style_with(s, false)
}

/// [`string_style`], or with `go_yaml_v2` the style go-yaml v2 (which
/// prints kustomize's output, through `sigs.k8s.io/yaml`) gives: characters
/// outside the Basic Multilingual Plane and NEL are not printable for it,
/// and the line and paragraph separators are line breaks, so a string
/// holding one cannot be plain (go-yaml v2 `emitterc.go`,
/// `yaml_emitter_analyze_scalar`).
pub(crate) fn string_style_with(s: &str, go_yaml_v2: bool) -> StringStyle {
    let printable = if go_yaml_v2 {
        is_printable_v2
    } else {
        is_printable
    };
    if !s.chars().all(printable) {
        return StringStyle::DoubleQuoted;
    }
    if s.contains('\n') {
        return if literal_allowed(s) {
            StringStyle::Literal
        } else {
            StringStyle::DoubleQuoted
        };
    }
    if reads_as_other_type(s) {
        return StringStyle::DoubleQuoted;
    }
    if go_yaml_v2 && s.contains(is_separator) {
        // A line break: never plain; single quotes unless a space touches it.
        let chars: Vec<char> = s.chars().collect();
        let space_touches = chars
            .windows(2)
            .any(|w| (w[0] == ' ' && is_separator(w[1])) || (is_separator(w[0]) && w[1] == ' '));
        return if space_touches {
            StringStyle::DoubleQuoted
        } else {
            StringStyle::SingleQuoted
        };
    }
    if plain_allowed(s) {
        StringStyle::Plain
    } else {
        StringStyle::SingleQuoted
    }
}

/// The line and paragraph separators, line breaks for libyaml.
pub(crate) fn is_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// libyaml's `IS_PRINTABLE` (tab is not printable: strings holding one are
/// double-quoted with `\t`).
pub(crate) fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
        && c != '\u{FEFF}'
}

/// go-yaml v2's `is_printable`, which looks at UTF-8 bytes and so never
/// admits four-byte characters (everything past U+FFFF) nor NEL.
pub(crate) fn is_printable_v2(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && c != '\u{FEFF}'
}

/// Whether a plain scalar with this text would be read as something other
/// than this string (go-yaml v3 also quotes YAML 1.1 booleans, base-60
/// numbers and timestamps so older readers do not misread them).
fn reads_as_other_type(s: &str) -> bool {
    let resolves_elsewhere = match s {
        "" | "~" | "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False"
        | "FALSE" => true,
        _ => crate::value::classify_number(s).is_some(),
    };
    resolves_elsewhere || is_old_bool(s) || is_base60_float(s) || is_timestamp(s)
}

fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// `[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?`
fn is_base60_float(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (main, frac) = match body.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (body, None),
    };
    let mut parts = main.split(':');
    let head = parts.next().unwrap_or("");
    let head_ok = head.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && head.bytes().all(|c| c.is_ascii_digit() || c == b'_');
    let mut sexagesimal = 0;
    for part in parts {
        let ok = matches!(part.len(), 1 | 2)
            && part.bytes().all(|c| c.is_ascii_digit())
            && (part.len() == 1 || part.as_bytes()[0] <= b'5');
        if !ok {
            return false;
        }
        sexagesimal += 1;
    }
    head_ok
        && sexagesimal > 0
        && frac.is_none_or(|f| f.bytes().all(|c| c.is_ascii_digit() || c == b'_'))
}

/// The timestamps go-yaml reads in plain scalars (Go's `time.Parse` with
/// its four layouts).
fn is_timestamp(s: &str) -> bool {
    super::timestamp::is_timestamp(s)
}

/// libyaml's analysis of whether a single-line string may be written plain
/// in block context.
fn plain_allowed(s: &str) -> bool {
    if s.is_empty() || s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    let mut prev: Option<char> = None;
    let mut it = s.chars().peekable();
    let mut i = 0usize;
    while let Some(c) = it.next() {
        let next_is_blank = it.peek().is_none_or(|n| *n == ' ' || *n == '\t');
        let prev_is_blank = matches!(prev, Some(' ' | '\t'));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => return false,
                '?' | ':' | '-' if next_is_blank => return false,
                _ => {}
            }
        } else {
            match c {
                ':' if next_is_blank => return false,
                '#' if prev_is_blank => return false,
                _ => {}
            }
        }
        if c == '\t' {
            return false;
        }
        prev = Some(c);
        i += 1;
    }
    true
}

/// libyaml refuses a literal block when a space precedes a line break or
/// ends the text.
fn literal_allowed(s: &str) -> bool {
    !s.contains(" \n") && !s.contains(" \u{2028}") && !s.contains(" \u{2029}") && !s.ends_with(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_like_go_yaml_v3() {
        assert_eq!(resolve_plain(""), Value::Null);
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("True"), Value::Bool(true));
        assert_eq!(resolve_plain("yes"), Value::String("yes".into()));
        assert!(matches!(resolve_plain("0x10"), Value::Number(_)));
        assert_eq!(resolve_plain("600Mi"), Value::String("600Mi".into()));
    }

    #[test]
    fn strings_that_read_as_other_types_are_double_quoted() {
        for s in [
            "true",
            "123",
            "1.5",
            "null",
            "",
            "yes",
            "off",
            "1:20",
            "2024-01-02",
            "0x1F",
        ] {
            assert_eq!(string_style(s), StringStyle::DoubleQuoted, "{s:?}");
        }
    }

    #[test]
    fn yaml_syntax_forces_single_quotes() {
        for s in [
            "*", "- a", "a: b", "a #b", "{x}", "@home", " lead", "trail ", "---x",
        ] {
            assert_eq!(string_style(s), StringStyle::SingleQuoted, "{s:?}");
        }
    }

    #[test]
    fn ordinary_text_stays_plain() {
        for s in [
            "nginx:1.25",
            "a:b",
            "a#b",
            "-x",
            "http://example.com/a?b=c",
            "600m",
            "v1.2.3",
        ] {
            assert_eq!(string_style(s), StringStyle::Plain, "{s:?}");
        }
    }

    #[test]
    fn multi_line_text_uses_literal_blocks_unless_lines_end_in_spaces() {
        assert_eq!(string_style("a\nb\n"), StringStyle::Literal);
        assert_eq!(string_style("a \nb"), StringStyle::DoubleQuoted);
        assert_eq!(string_style(" a\nb"), StringStyle::Literal);
        assert_eq!(string_style("a\tb"), StringStyle::DoubleQuoted);
        assert_eq!(string_style("bell\u{7}"), StringStyle::DoubleQuoted);
    }

    #[test]
    fn timestamps_are_recognised_in_go_yaml_forms() {
        assert!(is_timestamp("2001-12-14"));
        assert!(is_timestamp("2001-12-14t21:59:43.10-05:00"));
        assert!(is_timestamp("2001-12-14 21:59:43.10"));
        assert!(!is_timestamp("2001-02-30"));
        assert!(!is_timestamp("2001-12-14T10:00:00"));
        assert!(!is_timestamp("2001-12"));
        assert!(!is_timestamp("v2001-12-14"));
    }
}

#[cfg(test)]
mod go_yaml_v2_tests {
    use super::*;

    fn int(text: &str) -> Option<i64> {
        match resolve_plain_go_yaml_v2(text) {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    #[test]
    fn resolves_yaml_1_1_scalars_as_go_yaml_v2() {
        assert_eq!(resolve_plain_go_yaml_v2("On"), Value::Bool(true));
        assert_eq!(resolve_plain_go_yaml_v2("N"), Value::Bool(false));
        assert_eq!(resolve_plain_go_yaml_v2("~"), Value::Null);
        assert_eq!(int("0x1F"), Some(31));
        assert_eq!(int("-0x1F"), Some(-31));
        assert_eq!(int("0o17"), Some(15));
        assert_eq!(int("017"), Some(15));
        assert_eq!(int("0b101"), Some(5));
        assert_eq!(int("+1_000"), Some(1000));
        assert_eq!(int("-9223372036854775808"), Some(i64::MIN));
        assert!(matches!(
            resolve_plain_go_yaml_v2("18446744073709551615"),
            Value::Number(n) if n.as_u64() == Some(u64::MAX)
        ));
        // Not valid octal for Go, but a float for v2's float pattern.
        assert!(matches!(resolve_plain_go_yaml_v2("09"), Value::Number(_)));
        assert!(matches!(resolve_plain_go_yaml_v2(".5"), Value::Number(_)));
        for text in ["2001-12-14", "1.2.3", "-", "0x", "v1", "+abc"] {
            assert_eq!(
                resolve_plain_go_yaml_v2(text),
                Value::String(text.into()),
                "{text}"
            );
        }
    }
}
