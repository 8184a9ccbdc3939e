//! Writes [`Value`] trees as block YAML.
//!
//! Two layouts share this writer: the default keeps key order and never
//! folds lines (lossless round trips); [`WriteOptions::kustomize`] sorts keys
//! as go-yaml v2 does and folds long scalars at 80 columns, which is how
//! `kubectl kustomize` prints (it marshals every resource through
//! `sigs.k8s.io/yaml`). Scalar styles follow libyaml's rules in both.

use super::scalar::{StringStyle, is_printable, is_printable_v2, is_separator, string_style_with};
use crate::value::Value;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Write;

/// How to lay out the YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOptions {
    /// Sort mapping keys in go-yaml v2's natural order.
    pub sort_keys: bool,
    /// Fold plain and quoted scalars past this column, as libyaml does.
    pub width: Option<usize>,
    /// Print strings as go-yaml v2 does after Go's JSON round trip
    /// (`sigs.k8s.io/yaml`'s `JSONToYAML`, which prints kustomize's output):
    /// see [`go_json_string`] and v2's notion of printable characters.
    pub go_yaml_v2: bool,
}

impl WriteOptions {
    /// The layout `kubectl kustomize` prints.
    pub fn kustomize() -> WriteOptions {
        WriteOptions {
            sort_keys: true,
            width: Some(80),
            go_yaml_v2: true,
        }
    }
}

/// Writes one document (no `---` marker), ending in a newline, keeping key order.
pub fn to_string(value: &Value) -> String {
    to_string_with(value, WriteOptions::default())
}

/// Writes one document with the given layout.
pub fn to_string_with(value: &Value, opts: WriteOptions) -> String {
    let mut w = Writer {
        out: String::new(),
        opts,
    };
    w.node(value, 0, Context::Document);
    w.out
}

/// Writes several documents separated by `---` lines, keeping key order.
pub fn to_string_documents<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    to_string_documents_with(values, WriteOptions::default())
}

/// Writes several documents separated by `---` lines with the given layout.
pub fn to_string_documents_with<'a>(
    values: impl IntoIterator<Item = &'a Value>,
    opts: WriteOptions,
) -> String {
    let mut w = Writer {
        out: String::new(),
        opts,
    };
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            w.out.push_str("---\n");
        }
        w.node(v, 0, Context::Document);
    }
    w.out
}

/// go-yaml v2's key order: letters compare as runes, runs of digits compare
/// as numbers, a non-letter sorts before a letter.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return natural_cmp_slices(a.as_bytes(), b.as_bytes(), |c| (c as char).is_alphabetic());
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    natural_cmp_slices(&ar, &br, |c| c.is_alphabetic())
}

trait Digit: Copy + PartialEq + Ord {
    fn digit(self) -> Option<i64>;
}

impl Digit for u8 {
    fn digit(self) -> Option<i64> {
        self.is_ascii_digit().then(|| (self - b'0') as i64)
    }
}

impl Digit for char {
    fn digit(self) -> Option<i64> {
        self.is_ascii_digit().then(|| self as i64 - '0' as i64)
    }
}

fn natural_cmp_slices<T: Digit>(ar: &[T], br: &[T], is_letter: impl Fn(T) -> bool) -> Ordering {
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = is_letter(ar[i]);
        let bl = is_letter(br[i]);
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar[i].digit() == Some(0) || br[i].digit() == Some(0) {
            let mut j = i;
            while j > 0 && ar[j - 1].digit().is_some() {
                j -= 1;
                if ar[j].digit() != Some(0) {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while let Some(d) = ar.get(ai).and_then(|c| c.digit()) {
            an = an.saturating_mul(10).saturating_add(d);
            ai += 1;
        }
        let mut bi = i;
        while let Some(d) = br.get(bi).and_then(|c| c.digit()) {
            bn = bn.saturating_mul(10).saturating_add(d);
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
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

struct Writer {
    out: String,
    opts: WriteOptions,
}

impl Writer {
    fn column(&self) -> usize {
        let line_start = self.out.rfind('\n').map_or(0, |i| i + 1);
        self.out[line_start..].chars().count()
    }

    fn indent(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }

    fn node(&mut self, value: &Value, indent: usize, ctx: Context) {
        match value {
            Value::Mapping(m) if !m.is_empty() => {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                if self.opts.sort_keys {
                    entries.sort_by(|a, b| natural_cmp(a.0, b.0));
                }
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    self.start_entry(indent, ctx, i == 0);
                    self.key(k);
                    self.out.push(':');
                    self.mapping_value(v, indent);
                }
            }
            Value::Sequence(items) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    self.start_entry(indent, ctx, i == 0);
                    self.out.push('-');
                    if item.is_null() && !self.opts.sort_keys {
                        self.out.push('\n');
                        continue;
                    }
                    self.out.push(' ');
                    self.node(item, indent + 2, Context::SequenceItem);
                }
            }
            _ => {
                if ctx == Context::MappingValue {
                    self.out.push(' ');
                }
                self.scalar(value, indent);
                self.out.push('\n');
            }
        }
    }

    fn start_entry(&mut self, indent: usize, ctx: Context, first: bool) {
        match (ctx, first) {
            (Context::SequenceItem, true) => {}
            (Context::MappingValue, true) => {
                self.out.push('\n');
                self.indent(indent);
            }
            _ => self.indent(indent),
        }
    }

    fn mapping_value(&mut self, v: &Value, indent: usize) {
        match v {
            // Sequences sit flush with their key, mappings one step in.
            Value::Sequence(_) if !is_empty_collection(v) => {
                self.node(v, indent, Context::MappingValue)
            }
            _ => self.node(v, indent + 2, Context::MappingValue),
        }
    }

    fn scalar(&mut self, value: &Value, indent: usize) {
        match value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => self.out.push_str(n.as_text()),
            Value::String(s) => {
                let s = self.text(s);
                self.string(&s, indent, true)
            }
            Value::Sequence(_) => self.out.push_str("[]"),
            Value::Mapping(_) => self.out.push_str("{}"),
        }
    }

    /// Keys never use block scalars or folding.
    fn key(&mut self, k: &str) {
        let k = self.text(k);
        match string_style_with(&k, self.opts.go_yaml_v2) {
            StringStyle::Literal => self.double_quoted(&k, 0, false),
            _ => self.string(&k, 0, false),
        }
    }

    /// The string as the printer receives it (see [`go_json_string`]).
    fn text<'s>(&self, s: &'s str) -> Cow<'s, str> {
        if self.opts.go_yaml_v2 {
            go_json_string(s)
        } else {
            Cow::Borrowed(s)
        }
    }

    /// `indent` is where continuation lines and block content start.
    fn string(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        match string_style_with(s, self.opts.go_yaml_v2) {
            StringStyle::Plain => self.plain(s, indent, allow_breaks),
            StringStyle::SingleQuoted => self.single_quoted(s, indent, allow_breaks),
            StringStyle::DoubleQuoted => self.double_quoted(s, indent, allow_breaks),
            StringStyle::Literal => self.literal(s, indent),
        }
    }

    fn may_fold(&self, allow_breaks: bool) -> bool {
        allow_breaks && self.opts.width.is_some_and(|w| self.column() > w)
    }

    fn fold(&mut self, indent: usize) {
        self.out.push('\n');
        self.indent(indent);
    }

    fn plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if !spaces && !next_space && self.may_fold(allow_breaks) {
                    self.fold(indent);
                } else {
                    self.out.push(c);
                }
                spaces = true;
            } else {
                self.out.push(c);
                spaces = false;
            }
        }
    }

    fn single_quoted(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        self.out.push('\'');
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if !spaces
                    && i != 0
                    && i != chars.len() - 1
                    && !next_space
                    && self.may_fold(allow_breaks)
                {
                    self.fold(indent);
                } else {
                    self.out.push(c);
                }
                spaces = true;
            } else if is_separator(c) {
                // libyaml writes a line break as itself, and indents the
                // text that follows it (`yaml_emitter_write_single_quoted`).
                self.out.push(c);
                breaks = true;
                spaces = false;
            } else {
                if breaks {
                    self.indent(indent);
                    breaks = false;
                }
                if c == '\'' {
                    self.out.push('\'');
                }
                self.out.push(c);
                spaces = false;
            }
        }
        self.out.push('\'');
    }

    fn double_quoted(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        self.out.push('"');
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        let v2 = self.opts.go_yaml_v2;
        // go-yaml v2 escapes every character of a string that starts with a
        // byte order mark, as kubectl kustomize prints it.
        let escape_all = v2 && s.starts_with('\u{FEFF}');
        for (i, &c) in chars.iter().enumerate() {
            if let Some(esc) = escape(c, v2, escape_all) {
                self.out.push_str(&esc);
                spaces = false;
            } else if c == ' ' {
                if !spaces && i != 0 && i != chars.len() - 1 && self.may_fold(allow_breaks) {
                    self.fold(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.out.push('\\');
                    }
                } else {
                    self.out.push(c);
                }
                spaces = true;
            } else {
                self.out.push(c);
                spaces = false;
            }
        }
        self.out.push('"');
    }

    fn literal(&mut self, s: &str, indent: usize) {
        // A document-level block scalar still needs its content indented.
        let indent = indent.max(2);
        self.out.push('|');
        if s.starts_with(' ') || s.starts_with('\n') {
            self.out.push('2');
        }
        let trailing = s.len() - s.trim_end_matches('\n').len();
        let chomp = if trailing == 0 {
            "-"
        } else if trailing >= 2 || s == "\n" {
            "+"
        } else {
            ""
        };
        self.out.push_str(chomp);
        let body = s.strip_suffix('\n').unwrap_or(s);
        for line in body.split('\n') {
            self.out.push('\n');
            if !line.is_empty() {
                self.indent(indent);
                if line.contains(is_separator) {
                    // A separator is a line break for libyaml: the text
                    // after it is indented again.
                    let mut breaks = false;
                    for c in line.chars() {
                        if is_separator(c) {
                            breaks = true;
                        } else if breaks {
                            self.indent(indent);
                            breaks = false;
                        }
                        self.out.push(c);
                    }
                } else {
                    self.out.push_str(line);
                }
            }
        }
    }
}

/// A string as go-yaml v2 reads it back from Go's JSON encoding of it, the
/// step between kustomize's resources and its printed output
/// (`sigs.k8s.io/yaml.JSONToYAML`). Go's encoder escapes control characters
/// and the line and paragraph separators but writes NEL (U+0085) as it is,
/// and inside a double-quoted YAML scalar NEL is a line break: it folds, with
/// the spaces around it, to one space, or to `n - 1` newlines for a run of
/// `n` (libyaml's `yaml_parser_scan_flow_scalar`).
pub fn go_json_string(s: &str) -> Cow<'_, str> {
    const NEL: char = '\u{85}';
    if !s.contains(NEL) {
        return Cow::Borrowed(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != ' ' && c != NEL {
            out.push(c);
            i += 1;
            continue;
        }
        let mut whitespace = 0usize;
        let mut leading_break = false;
        let mut trailing_breaks = 0usize;
        while i < chars.len() && (chars[i] == ' ' || chars[i] == NEL) {
            if chars[i] == ' ' {
                if !leading_break {
                    whitespace += 1;
                }
            } else if !leading_break {
                whitespace = 0;
                leading_break = true;
            } else {
                trailing_breaks += 1;
            }
            i += 1;
        }
        if !leading_break {
            out.extend(std::iter::repeat_n(' ', whitespace));
        } else if trailing_breaks == 0 {
            out.push(' ');
        } else {
            out.extend(std::iter::repeat_n('\n', trailing_breaks));
        }
    }
    Cow::Owned(out)
}

/// libyaml's escape for a character in a double-quoted scalar, if it needs
/// one (with `v2`, by go-yaml v2's notion of printable; with `all`, every
/// character is escaped).
fn escape(c: char, v2: bool, all: bool) -> Option<String> {
    Some(match c {
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\n' => "\\n".into(),
        '\t' => "\\t".into(),
        '\r' => "\\r".into(),
        '\0' => "\\0".into(),
        '\u{7}' => "\\a".into(),
        '\u{8}' => "\\b".into(),
        '\u{B}' => "\\v".into(),
        '\u{C}' => "\\f".into(),
        '\u{1B}' => "\\e".into(),
        '\u{85}' => "\\N".into(),
        '\u{A0}' => "\\_".into(),
        '\u{2028}' => "\\L".into(),
        '\u{2029}' => "\\P".into(),
        c if !all && v2 && is_printable_v2(c) => return None,
        c if !all && !v2 && is_printable(c) => return None,
        c => {
            let mut s = String::new();
            let n = c as u32;
            let _ = if n <= 0xFF {
                write!(s, "\\x{n:02X}")
            } else if n <= 0xFFFF {
                write!(s, "\\u{n:04X}")
            } else {
                write!(s, "\\U{n:08X}")
            };
            s
        }
    })
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
        assert_eq!(round_trip("a: \" x\\ny\"\n"), "a: |2-\n   x\n  y\n");
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
        let v = Value::String("a\u{1}b\tc".into());
        assert_eq!(to_string(&v), "\"a\\x01b\\tc\"\n");
    }

    #[test]
    fn natural_order_compares_digit_runs_as_numbers() {
        let mut keys = vec!["a10", "a9", "b", "a-b", "aa", "A"];
        keys.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(keys, ["A", "a-b", "a9", "a10", "aa", "b"]);
    }

    #[test]
    fn kustomize_layout_sorts_keys_and_folds_long_lines() {
        let v = parse_one("b: 1\na: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq\n")
            .unwrap_or_default();
        assert_eq!(
            to_string_with(&v, WriteOptions::kustomize()),
            "a: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp\n  qqqq\nb: 1\n"
        );
    }
}
