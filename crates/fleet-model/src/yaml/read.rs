//! Builds [`Value`](crate::Value) trees from saphyr-parser's event stream.

use super::scalar::{resolve_plain, resolve_plain_go_yaml_v2};
use crate::value::{Mapping, Number, Value};
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use std::collections::HashMap;

/// One document of a YAML stream and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document's content; `Value::Null` for an empty document.
    pub value: Value,
    /// The line of the document's first event.
    pub line: usize,
}

/// Bounds that keep hostile input from exhausting memory or the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most nodes one stream may produce, counting every alias expansion.
    pub max_nodes: usize,
    /// The deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Let a repeated mapping key replace the earlier value (go-yaml v2's
    /// lenient decoding) instead of failing.
    pub allow_duplicate_keys: bool,
    /// Resolve plain scalars as go-yaml v2 (YAML 1.1) does, as
    /// `sigs.k8s.io/yaml` reads text back: `yes`/`no`/`on`/`off` are
    /// booleans, `0777` is octal, `1_000` is an integer.
    pub go_yaml_v2_scalars: bool,
    /// Read plain timestamps (`2001-12-14`, `2001-12-14T10:00:00Z`…) as
    /// the text Go's JSON encoding of the parsed time gives
    /// (`2001-12-14T00:00:00Z`): kustomize's resources pass through
    /// go-yaml v3, which decodes them as `time.Time`, and then through JSON.
    /// In a flow collection a timestamp holding `:` is re-quoted by the
    /// emitter first and stays text.
    pub go_json_timestamps: bool,
    /// Read a resource as kustomize loads it through kyaml: folded block
    /// scalars (`>`) get the value go-yaml gives them after writing and
    /// reading them once more ([`super::go_folded_round_trip`]), and the
    /// values of `metadata.annotations` are strings of their text
    /// (kustomize reads annotations as `map[string]string` and writes
    /// them back before that round trip, so `a: null` becomes `"null"` and
    /// folded ones stay as read).
    pub kyaml_resource: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_nodes: 5_000_000,
            max_depth: 256,
            allow_duplicate_keys: false,
            go_yaml_v2_scalars: false,
            go_json_timestamps: false,
            kyaml_resource: false,
        }
    }
}

/// A YAML syntax or structure error, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, and where useful, how to fix it.
    pub message: String,
}

impl YamlError {
    fn at(span: &Span, message: impl Into<String>) -> YamlError {
        YamlError {
            line: span.start.line(),
            column: span.start.col() + 1,
            message: message.into(),
        }
    }
}

/// Parses every document of a YAML (or JSON) stream with default [`Limits`].
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    parse_documents_with(text, Limits::default())
}

/// Parses a stream that must hold at most one document; an empty stream is `Null`.
pub fn parse_one(text: &str) -> Result<Value, YamlError> {
    let mut docs = parse_documents(text)?;
    match docs.len() {
        0 => Ok(Value::Null),
        1 => Ok(docs.remove(0).value),
        _ => Err(YamlError {
            line: docs[1].line,
            column: 1,
            message: "expected a single YAML document, found several (separated by `---`)"
                .to_string(),
        }),
    }
}

enum Frame {
    Sequence {
        items: Vec<Value>,
        anchor: usize,
        size: usize,
    },
    Mapping {
        map: Mapping,
        key: Option<(String, Span)>,
        lines: HashMap<String, usize>,
        anchor: usize,
        size: usize,
    },
}

/// `text` with every raw NEL (U+0085) outside quoted scalars turned into a
/// line feed: go-yaml reads NEL as a line break, as YAML 1.1 does, so a NEL
/// in a block scalar or between tokens ends the line, while YAML 1.2
/// parsers take it as text there. In quoted scalars both fold it like any
/// line break, and there go-yaml does not check the next line's
/// indentation, so those are left for the parser.
fn nel_as_line_feed(text: &str) -> String {
    // Character ranges of quoted scalars, as far as the text parses.
    let mut quoted: Vec<(usize, usize)> = Vec::new();
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        if let Event::Scalar(_, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted, _, _) = event
        {
            quoted.push((span.start.index(), span.end.index()));
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut next = quoted.iter().peekable();
    for (index, c) in text.chars().enumerate() {
        while next.peek().is_some_and(|(_, end)| *end <= index) {
            next.next();
        }
        let in_quotes = next.peek().is_some_and(|(start, _)| *start <= index);
        out.push(if c == '\u{85}' && !in_quotes { '\n' } else { c });
    }
    out
}

/// The parser's message in go-yaml's words where they differ, so an error
/// reads as kubectl's does.
fn go_yaml_wording(message: &str) -> String {
    match message {
        "simple key expect ':'" => "could not find expected ':'".to_string(),
        other => other.to_string(),
    }
}

/// Whether the scalar about to complete is a value of the document's
/// `metadata.annotations`.
fn under_annotations(stack: &[Frame]) -> bool {
    let key_is = |frame: &Frame, want: &str| matches!(frame, Frame::Mapping { key: Some((k, _)), .. } if k == want);
    stack.len() == 3
        && matches!(stack[2], Frame::Mapping { key: Some(_), .. })
        && key_is(&stack[1], "annotations")
        && key_is(&stack[0], "metadata")
}

/// The first character libyaml (and go-yaml, which kubectl, kustomize and
/// Flux read with) refuses: only YAML's printable set may appear raw, tab,
/// line feed, carriage return, U+0085, U+0020–U+007E, U+00A0–U+D7FF,
/// U+E000–U+FFFD and U+10000 and above. Escapes in double-quoted strings
/// are not raw characters and stay allowed.
fn check_printable(text: &str) -> Result<(), YamlError> {
    let printable = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{85}' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}')
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}'
    };
    let Some((offset, c)) = text.char_indices().find(|(_, c)| !printable(*c)) else {
        return Ok(());
    };
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Err(YamlError {
        line,
        column,
        message: format!(
            "control characters are not allowed (U+{:04X}); write it escaped in a double-quoted string (\"\\u{:04X}\")",
            u32::from(c),
            u32::from(c)
        ),
    })
}

/// Parses every document of a stream with explicit limits.
pub fn parse_documents_with(text: &str, limits: Limits) -> Result<Vec<Document>, YamlError> {
    check_printable(text)?;
    let normalized;
    let text = if text.contains('\u{85}') {
        normalized = nel_as_line_feed(text);
        normalized.as_str()
    } else {
        text
    };
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Value, usize)> = HashMap::new();
    let mut nodes = 0usize;
    let mut doc_line = 1;
    let mut doc_value: Option<Value> = None;
    let mut last_span: Option<Span> = None;
    // A block scalar that runs to the end of a stream without a final line
    // break has no final line break (go-yaml v3's scanner); saphyr adds one.
    let unterminated_end =
        (!text.is_empty() && !text.ends_with(['\n', '\r'])).then(|| text.chars().count());

    // Whether each open collection is a flow collection, and a cursor that
    // turns the parser's character positions into byte positions.
    let mut flow: Vec<bool> = Vec::new();
    let mut cursor = (0usize, 0usize);
    let mut starts_flow = |char_index: usize| -> bool {
        if char_index < cursor.0 {
            cursor = (0, 0);
        }
        let rest = &text[cursor.1..];
        let mut it = rest.char_indices();
        let mut byte = cursor.1;
        for _ in cursor.0..char_index {
            match it.next() {
                Some((_, c)) => byte += c.len_utf8(),
                None => break,
            }
        }
        cursor = (char_index, byte);
        matches!(text[byte..].chars().next(), Some('[' | '{'))
    };

    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| YamlError {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: go_yaml_wording(e.info()),
        })?;
        last_span = Some(span);
        // (value, nodes it adds to the budget, its full size, anchor id): a
        // collection's items were counted as they completed, so the
        // collection adds one; an alias adds the full size of its copy.
        let completed: Option<(Value, usize, usize, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                doc_line = span.start.line();
                doc_value = None;
                anchors.clear();
                None
            }
            Event::DocumentEnd => {
                docs.push(Document {
                    value: doc_value.take().unwrap_or(Value::Null),
                    line: doc_line,
                });
                None
            }
            Event::Alias(id) => {
                let (value, count) = anchors
                    .get(&id)
                    .ok_or_else(|| YamlError::at(&span, "alias refers to an unknown anchor"))?;
                Some((value.clone(), *count, *count, 0))
            }
            Event::Scalar(text, style, anchor, tag) => {
                let text = match (style, unterminated_end) {
                    (ScalarStyle::Literal | ScalarStyle::Folded, Some(end))
                        if span.end.index() >= end && text.ends_with('\n') =>
                    {
                        std::borrow::Cow::Owned(text[..text.len() - 1].to_string())
                    }
                    _ => text,
                };
                let mut value = scalar_value(
                    &text,
                    style,
                    tag.as_deref(),
                    &span,
                    limits.go_yaml_v2_scalars,
                )?;
                if limits.go_json_timestamps
                    && style == ScalarStyle::Plain
                    && tag.is_none()
                    && !(flow.last() == Some(&true) && text.contains(':'))
                    && let Some(t) = super::timestamp::parse(&text)
                {
                    value = Value::String(super::timestamp::rfc3339_nano(&t));
                }
                if limits.kyaml_resource {
                    if under_annotations(&stack) {
                        if value.is_null() && tag.is_none() {
                            value = Value::String(text.to_string());
                        }
                    } else if style == ScalarStyle::Folded
                        && let Value::String(folded) = &value
                    {
                        value = Value::String(super::folded::go_folded_round_trip(folded));
                    }
                }
                Some((value, 1, 1, anchor))
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq", &span)?;
                if limits.go_json_timestamps {
                    flow.push(starts_flow(span.start.index()));
                }
                if stack.len() >= limits.max_depth {
                    return Err(YamlError::at(
                        &span,
                        format!("nesting deeper than {} levels", limits.max_depth),
                    ));
                }
                stack.push(Frame::Sequence {
                    items: Vec::new(),
                    anchor,
                    size: 0,
                });
                None
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map", &span)?;
                if limits.go_json_timestamps {
                    flow.push(starts_flow(span.start.index()));
                }
                if stack.len() >= limits.max_depth {
                    return Err(YamlError::at(
                        &span,
                        format!("nesting deeper than {} levels", limits.max_depth),
                    ));
                }
                stack.push(Frame::Mapping {
                    map: Mapping::new(),
                    key: None,
                    lines: HashMap::new(),
                    anchor,
                    size: 0,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match pop_both(&mut stack, &mut flow) {
                Some(Frame::Sequence {
                    items,
                    anchor,
                    size,
                }) => Some((Value::Sequence(items), 1, 1 + size, anchor)),
                Some(Frame::Mapping {
                    map, anchor, size, ..
                }) => Some((Value::Mapping(map), 1, 1 + size, anchor)),
                None => return Err(YamlError::at(&span, "unbalanced collection end")),
            },
        };
        let Some((value, cost, count, anchor)) = completed else {
            continue;
        };
        nodes = nodes.saturating_add(cost);
        if nodes > limits.max_nodes {
            return Err(YamlError::at(
                &span,
                format!(
                    "the document expands to more than {} nodes (an alias bomb?); refusing to build it",
                    limits.max_nodes
                ),
            ));
        }
        if anchor != 0 {
            anchors.insert(anchor, (value.clone(), count));
        }
        attach(
            &mut stack,
            &mut doc_value,
            value,
            count,
            &span,
            limits.allow_duplicate_keys,
        )?;
    }
    if !stack.is_empty() {
        let span = last_span.unwrap_or_default();
        return Err(YamlError::at(&span, "unexpected end of the stream"));
    }
    Ok(docs)
}

fn pop_both(stack: &mut Vec<Frame>, flow: &mut Vec<bool>) -> Option<Frame> {
    flow.pop();
    stack.pop()
}

fn attach(
    stack: &mut [Frame],
    doc_value: &mut Option<Value>,
    value: Value,
    count: usize,
    span: &Span,
    allow_duplicates: bool,
) -> Result<(), YamlError> {
    match stack.last_mut() {
        None => {
            *doc_value = Some(value);
            Ok(())
        }
        Some(Frame::Sequence { items, size, .. }) => {
            items.push(value);
            *size = size.saturating_add(count);
            Ok(())
        }
        Some(Frame::Mapping {
            map,
            key,
            lines,
            size,
            ..
        }) => match key.take() {
            None => {
                let text = key_text(value).ok_or_else(|| {
                    YamlError::at(
                        span,
                        "mapping keys must be scalars (strings, numbers or booleans)",
                    )
                })?;
                if let Some(first) = lines.get(&text).filter(|_| !allow_duplicates) {
                    return Err(YamlError::at(
                        span,
                        format!("mapping key {text:?} already defined at line {first}"),
                    ));
                }
                lines.insert(text.clone(), span.start.line());
                *key = Some((text, *span));
                Ok(())
            }
            Some((k, _)) => {
                map.insert(k, value);
                *size = size.saturating_add(count);
                Ok(())
            }
        },
    }
}

fn key_text(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.as_text().to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        Value::Sequence(_) | Value::Mapping(_) => None,
    }
}

fn core_suffix(tag: &Tag) -> Option<&str> {
    (tag.is_yaml_core_schema() || tag.handle == "!!").then_some(tag.suffix.as_str())
}

fn check_collection_tag(tag: Option<&Tag>, expected: &str, span: &Span) -> Result<(), YamlError> {
    match tag {
        None => Ok(()),
        Some(t) if core_suffix(t) == Some(expected) => Ok(()),
        Some(t) => Err(YamlError::at(
            span,
            format!("unsupported YAML tag {t} on a collection; remove the tag"),
        )),
    }
}

fn scalar_value(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &Span,
    go_yaml_v2: bool,
) -> Result<Value, YamlError> {
    let Some(tag) = tag else {
        return Ok(match style {
            ScalarStyle::Plain if go_yaml_v2 => resolve_plain_go_yaml_v2(text),
            ScalarStyle::Plain => resolve_plain(text),
            _ => Value::String(text.to_string()),
        });
    };
    let non_specific = (tag.handle.is_empty() && tag.suffix == "!")
        || (tag.handle == "!" && tag.suffix.is_empty());
    if non_specific {
        // The non-specific tag `!` forces a string.
        return Ok(Value::String(text.to_string()));
    }
    let bad = |what: &str| {
        YamlError::at(
            span,
            format!("{text:?} is not a valid {what} for tag {tag}"),
        )
    };
    match core_suffix(tag) {
        Some("str") | Some("binary") | Some("timestamp") => Ok(Value::String(text.to_string())),
        Some("int") => match Number::parse(text) {
            Some(n) if n.kind() == crate::value::NumberKind::Int => Ok(Value::Number(n)),
            _ => Err(bad("integer")),
        },
        Some("float") => match Number::parse(text) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(bad("float")),
        },
        Some("bool") => match resolve_plain(text) {
            Value::Bool(b) => Ok(Value::Bool(b)),
            _ => Err(bad("boolean")),
        },
        Some("null") => match resolve_plain(text) {
            Value::Null => Ok(Value::Null),
            _ => Err(bad("null")),
        },
        _ => Err(YamlError::at(
            span,
            format!(
                "unsupported YAML tag {tag}; only the core schema tags (!!str, !!int, …) are understood"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Value {
        match parse_one(text) {
            Ok(v) => v,
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    #[test]
    fn key_order_and_number_text_are_kept() {
        let v = one("z: 1\na: 1.50\nm: 0x1F\n");
        let keys: Vec<_> = v.as_mapping().into_iter().flat_map(|m| m.keys()).collect();
        assert_eq!(keys, ["z", "a", "m"]);
        assert_eq!(
            v.get("a").and_then(|n| match n {
                Value::Number(n) => Some(n.as_text().to_string()),
                _ => None,
            }),
            Some("1.50".to_string())
        );
    }

    #[test]
    fn quoted_and_tagged_scalars_stay_strings() {
        let v = one("a: '123'\nb: \"true\"\nc: !!str 5\nd: ! 7\n");
        for k in ["a", "b", "c", "d"] {
            assert!(matches!(v.get(k), Some(Value::String(_))), "{k}");
        }
    }

    #[test]
    fn multi_document_streams_report_each_documents_line() {
        let docs = parse_documents("a: 1\n---\nb: 2\n---\n").unwrap_or_default();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].line, 2);
        assert!(docs[2].value.is_null());
    }

    #[test]
    fn duplicate_keys_are_an_error_naming_both_lines() {
        let err = parse_one("a: 1\nb: 2\na: 3\n").err();
        let err = err.map(|e| (e.line, e.message));
        assert_eq!(
            err,
            Some((3, "mapping key \"a\" already defined at line 1".to_string()))
        );
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = parse_one("a: 1\nb: [1, 2\n").err();
        assert!(
            err.is_some_and(|e| e.line >= 2),
            "expected an error on line 2 or later"
        );
    }

    #[test]
    fn aliases_expand_to_copies() {
        let v = one("base: &b {x: 1}\nother: *b\n");
        assert_eq!(v.get("base"), v.get("other"));
    }

    #[test]
    fn alias_bombs_are_refused_within_the_node_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse_documents(&text).err();
        assert!(
            err.is_some_and(|e| e.message.contains("alias bomb")),
            "the bomb must be refused"
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(1000) + &"]".repeat(1000);
        assert!(parse_documents(&text).is_err());
    }

    #[test]
    fn json_is_read_as_yaml_flow_style() {
        let v = one(r#"{"a": [1, 2.0, "x"], "b": null, "c": {"d": true}}"#);
        assert_eq!(v.pointer(&["c", "d"]).and_then(Value::as_bool), Some(true));
        assert!(v.get("b").is_some_and(Value::is_null));
    }

    #[test]
    fn unknown_tags_are_refused_with_advice() {
        let err = parse_one("a: !vault secret\n").err();
        assert!(err.is_some_and(|e| e.message.contains("unsupported YAML tag")));
    }
}

#[cfg(test)]
mod block_scalar_end_tests {
    use super::*;

    #[test]
    fn a_block_scalar_at_the_end_of_a_stream_without_a_line_break_has_none() {
        for (text, want) in [
            ("a: |\n  x", "x"),
            ("a: |\n  x\n", "x\n"),
            ("a: |+\n  x", "x"),
            ("a: |+\n  x\n\n", "x\n\n"),
            ("a: |-\n  x", "x"),
            ("a: >\n  x\n  y", "x y"),
        ] {
            let v = parse_one(text).unwrap_or_default();
            assert_eq!(v.get("a").and_then(Value::as_str), Some(want), "{text:?}");
        }
    }
}

#[cfg(test)]
mod timestamp_tests {
    use super::*;

    #[test]
    fn plain_timestamps_read_as_go_json_writes_them_when_asked() {
        let limits = Limits {
            go_json_timestamps: true,
            ..Default::default()
        };
        let text = "a: 2001-12-14\nb: '2001-12-14'\nc: [2001-1-2, 2001-12-14T1:2:3Z]\nd:\n- 2001-12-14T1:2:3Z\n";
        let v = parse_documents_with(text, limits)
            .ok()
            .and_then(|mut d| d.pop())
            .map(|d| d.value)
            .unwrap_or_default();
        let s = |p: &[&str]| v.pointer(p).and_then(Value::as_str).map(str::to_string);
        assert_eq!(s(&["a"]).as_deref(), Some("2001-12-14T00:00:00Z"));
        assert_eq!(s(&["b"]).as_deref(), Some("2001-12-14"));
        let c: Vec<&str> = v
            .get("c")
            .and_then(Value::as_sequence)
            .map(|x| x.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(c, ["2001-01-02T00:00:00Z", "2001-12-14T1:2:3Z"]);
        let d: Vec<&str> = v
            .get("d")
            .and_then(Value::as_sequence)
            .map(|x| x.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(d, ["2001-12-14T01:02:03Z"]);
    }
}

#[cfg(test)]
mod printable_tests {
    use super::*;

    #[test]
    fn raw_control_characters_are_refused_where_go_yaml_refuses_them() {
        for (text, code, line, column) in [
            ("a: \"x\u{1}y\"\n", "U+0001", 1, 6),
            ("a: b\nc: x\u{7F}\n", "U+007F", 2, 5),
            ("k: \u{FFFE}\n", "U+FFFE", 1, 4),
            ("k: x\u{9B}\n", "U+009B", 1, 5),
        ] {
            let e = parse_documents(text)
                .err()
                .unwrap_or_else(|| panic!("{text:?} must fail"));
            assert!(e.message.contains(code), "{e}");
            assert_eq!((e.line, e.column), (line, column), "{text:?}");
        }
    }

    #[test]
    fn printable_characters_and_escapes_are_read() {
        let text = "a: \"\\u0001 \\uFFFE\"\nb: \"\u{FEFF}x\u{85}y\u{2028}\u{1F600}\"\nc: z\t\n";
        let docs = parse_documents(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(docs.len(), 1);
    }
}
