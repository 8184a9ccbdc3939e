//! Writes [`Value`](crate::Value) trees as block YAML in kustomize's layout.

use super::scalar::{StringStyle, string_style};
use crate::value::Value;
use std::fmt::Write;

/// Writes one document (no `---` marker), ending in a newline.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_node(&mut out, value, 0, Context::Document);
    out
}

/// Writes several documents separated by `---` lines, as `kubectl kustomize` prints them.
pub fn to_string_documents<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        write_node(&mut out, v, 0, Context::Document);
    }
    out
}

/// Where a node is written, which decides what precedes it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// At the start of a document.
    Document,
    /// After `key:` (the colon is already written).
    MappingValue,
    /// After `- ` (the dash and space are already written).
    SequenceItem,
}

fn is_empty_collection(v: &Value) -> bool {
    match v {
        Value::Sequence(s) => s.is_empty(),
        Value::Mapping(m) => m.is_empty(),
        _ => false,
    }
}

fn write_node(out: &mut String, value: &Value, indent: usize, ctx: Context) {
    match value {
        Value::Mapping(m) if !m.is_empty() => {
            let mut first = true;
            for (k, v) in m {
                match (ctx, first) {
                    (Context::SequenceItem, true) => {}
                    (Context::MappingValue, true) => {
                        out.push('\n');
                        push_indent(out, indent);
                    }
                    _ => push_indent(out, indent),
                }
                first = false;
                write_key(out, k);
                out.push(':');
                write_mapping_value(out, v, indent);
            }
        }
        Value::Sequence(items) if !items.is_empty() => {
            let mut first = true;
            for item in items {
                match (ctx, first) {
                    (Context::SequenceItem, true) => {}
                    (Context::MappingValue, true) => {
                        out.push('\n');
                        push_indent(out, indent);
                    }
                    _ => push_indent(out, indent),
                }
                first = false;
                out.push('-');
                if item.is_null() {
                    out.push('\n');
                    continue;
                }
                out.push(' ');
                write_node(out, item, indent + 2, Context::SequenceItem);
            }
        }
        _ => {
            if ctx == Context::MappingValue {
                out.push(' ');
            }
            write_scalar(out, value, indent);
            out.push('\n');
        }
    }
}

fn write_mapping_value(out: &mut String, v: &Value, indent: usize) {
    match v {
        // Sequences sit flush with their key, mappings one step in.
        Value::Sequence(_) if !is_empty_collection(v) => {
            write_node(out, v, indent, Context::MappingValue)
        }
        Value::Mapping(_) if !is_empty_collection(v) => {
            write_node(out, v, indent + 2, Context::MappingValue)
        }
        _ => write_node(out, v, indent + 2, Context::MappingValue),
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_scalar(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n.as_text()),
        Value::String(s) => write_scalar_string(out, s, indent),
        Value::Sequence(_) => out.push_str("[]"),
        Value::Mapping(_) => out.push_str("{}"),
    }
}

/// Keys never use block scalars: a multi-line key is double-quoted.
fn write_key(out: &mut String, k: &str) {
    match string_style(k) {
        StringStyle::Literal => write_double_quoted(out, k),
        _ => write_scalar_string(out, k, 0),
    }
}

/// `indent` is the indentation block content takes (the node's own level).
fn write_scalar_string(out: &mut String, s: &str, indent: usize) {
    match string_style(s) {
        StringStyle::Plain => out.push_str(s),
        StringStyle::SingleQuoted => {
            out.push('\'');
            out.push_str(&s.replace('\'', "''"));
            out.push('\'');
        }
        StringStyle::DoubleQuoted => write_double_quoted(out, s),
        StringStyle::Literal => write_literal(out, s, indent),
    }
}

fn write_literal(out: &mut String, s: &str, indent: usize) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    out.push('|');
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    let body = if trailing == 1 { &s[..s.len() - 1] } else { s };
    let body = if trailing > 1 {
        &body[..body.len() - 1]
    } else {
        body
    };
    // A document-level block scalar still needs its content indented.
    let indent = indent.max(2);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            push_indent(out, indent);
            out.push_str(line);
        }
    }
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{B}' => out.push_str("\\v"),
            '\u{C}' => out.push_str("\\f"),
            '\u{1B}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{A0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c == '\u{7F}' || c == '\u{FEFF}' => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::super::parse_one;
    use super::*;

    fn round_trip(text: &str) -> String {
        match parse_one(text) {
            Ok(v) => to_string(&v),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn kustomize_layout_sequences_flush_mappings_indented() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - image: nginx:1.25\n    name: web\n    ports:\n    - containerPort: 80\n";
        assert_eq!(round_trip(text), text);
    }

    #[test]
    fn empty_collections_and_nulls_are_written_inline() {
        let text = "a: {}\nb: []\nc: null\nd:\n- null\n";
        assert_eq!(
            round_trip("a: {}\nb: []\nc:\nd: [~]\n"),
            text.replace("- null", "-")
        );
    }

    #[test]
    fn multi_line_strings_become_literal_blocks_with_chomping() {
        assert_eq!(round_trip("a: \"x\\ny\\n\"\n"), "a: |\n  x\n  y\n");
        assert_eq!(round_trip("a: \"x\\ny\"\n"), "a: |-\n  x\n  y\n");
        assert_eq!(round_trip("a: \"x\\n\\n\"\n"), "a: |+\n  x\n\n");
        assert_eq!(round_trip("- \"x\\n\\ny\\n\"\n"), "- |\n  x\n\n  y\n");
    }

    #[test]
    fn strings_are_quoted_only_where_needed() {
        assert_eq!(
            round_trip("a: '123'\nb: '*'\nc: plain\nd: \"it's\"\n"),
            "a: \"123\"\nb: '*'\nc: plain\nd: it's\n"
        );
    }

    #[test]
    fn nested_sequences_and_sequence_of_mappings() {
        let text = "- - a\n  - b\n- k: v\n  l:\n  - 1\n";
        assert_eq!(round_trip(text), text);
    }

    #[test]
    fn documents_are_separated_by_markers() {
        let a = parse_one("a: 1").unwrap_or_default();
        let b = parse_one("b: 2").unwrap_or_default();
        assert_eq!(to_string_documents([&a, &b]), "a: 1\n---\nb: 2\n");
    }

    #[test]
    fn unprintable_characters_are_escaped() {
        let v = Value::String("a\u{1}b".into());
        assert_eq!(to_string(&v), "\"a\\x01b\"\n");
    }
}
