//! Reading one YAML line: where its scalar value sits and what comment
//! follows it, without parsing (and so without re-writing) the document.
//!
//! A YAML library would give the value but lose the bytes around it
//! (quoting, spacing, comments) on the way back out; setters must change
//! the marked scalar and nothing else, so the line is scanned by hand.

/// How the value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unquoted.
    Plain,
    /// `'…'`.
    Single,
    /// `"…"`.
    Double,
}

/// The single-line scalar of a `key: value` or `- value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    /// Byte range of the value's text in the line, quotes included.
    pub start: usize,
    /// End of that range.
    pub end: usize,
    /// The quoting style.
    pub style: Style,
    /// The value after unquoting.
    pub value: String,
}

/// What the line holds before its comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A one-line scalar that a setter can replace.
    Scalar(Scalar),
    /// Something a setter cannot replace: why.
    NotScalar(&'static str),
}

/// A line split into its content and its trailing comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// What stands before the comment.
    pub content: Content,
    /// The comment text after `#` (without it), if any.
    pub comment: Option<&'a str>,
}

/// Scans one line (without its line break). `None` when the line is blank,
/// a comment only, or a document marker.
pub fn scan(line: &str) -> Option<Line<'_>> {
    let bytes = line.as_bytes();
    let mut pos = skip_spaces(bytes, 0);
    if pos >= bytes.len()
        || bytes[pos] == b'#'
        || line.starts_with("---")
        || line.starts_with("...")
    {
        return None;
    }
    // Sequence entries: `- `, possibly nested (`- - x`).
    while bytes[pos] == b'-'
        && (pos + 1 == bytes.len() || bytes[pos + 1] == b' ' || bytes[pos + 1] == b'\t')
    {
        pos = skip_spaces(bytes, pos + 1);
        if pos >= bytes.len() {
            return Some(Line {
                content: Content::NotScalar("the entry's value is on the following lines"),
                comment: None,
            });
        }
    }
    // A mapping key on this line moves the value start past `: `.
    if let Some(after_key) = key_end(line, pos) {
        pos = skip_spaces(bytes, after_key);
    }
    if pos >= bytes.len() || bytes[pos] == b'#' {
        let comment = (pos < bytes.len()).then(|| &line[pos + 1..]);
        return Some(Line {
            content: Content::NotScalar(
                "the value is a mapping, a sequence or empty (it is not on this line)",
            ),
            comment,
        });
    }
    let (content, after) = match bytes[pos] {
        b'"' => quoted(line, pos, Style::Double),
        b'\'' => quoted(line, pos, Style::Single),
        b'[' | b'{' => (
            Content::NotScalar("the value is a flow collection"),
            flow_end(line, pos),
        ),
        b'|' | b'>' => (
            Content::NotScalar("the value is a block scalar spanning several lines"),
            header_end(line, pos),
        ),
        b'*' => (
            Content::NotScalar("the value is an alias"),
            header_end(line, pos),
        ),
        b'&' | b'!' => (
            Content::NotScalar("the value carries an anchor or tag"),
            header_end(line, pos),
        ),
        _ => {
            let end = plain_end(line, pos);
            let text = &line[pos..end];
            (
                Content::Scalar(Scalar {
                    start: pos,
                    end,
                    style: Style::Plain,
                    value: text.to_string(),
                }),
                end,
            )
        }
    };
    let rest = skip_spaces(bytes, after);
    let comment = (rest < bytes.len()
        && bytes[rest] == b'#'
        && (rest == 0 || matches!(bytes[rest - 1], b' ' | b'\t')))
    .then(|| &line[rest + 1..]);
    let content = if comment.is_none() && rest < bytes.len() {
        Content::NotScalar("the line continues after the value")
    } else {
        content
    };
    Some(Line { content, comment })
}

/// Whether the line starts a block scalar (`key: |`, `- >-`): the lines
/// indented below it are text, where a marker is not a comment.
pub fn opens_block_scalar(line: &str) -> bool {
    (line.contains('|') || line.contains('>'))
        && matches!(scan(line), Some(Line { content: Content::NotScalar(why), .. }) if why == BLOCK_SCALAR)
}

/// The column where the line's node starts, after indentation and any
/// `- ` sequence markers: a block scalar's text is indented deeper.
pub fn node_column(line: &str) -> usize {
    let bytes = line.as_bytes();
    let mut pos = skip_spaces(bytes, 0);
    while pos < bytes.len()
        && bytes[pos] == b'-'
        && matches!(bytes.get(pos + 1), Some(b' ' | b'\t'))
    {
        pos = skip_spaces(bytes, pos + 1);
    }
    pos
}

const BLOCK_SCALAR: &str = "the value is a block scalar spanning several lines";

fn skip_spaces(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && matches!(bytes[pos], b' ' | b'\t') {
        pos += 1;
    }
    pos
}

/// When a mapping key starts at `pos`, the position after its `:`.
fn key_end(line: &str, pos: usize) -> Option<usize> {
    let bytes = line.as_bytes();
    let colon = match bytes[pos] {
        b'"' | b'\'' => {
            let style = if bytes[pos] == b'"' {
                Style::Double
            } else {
                Style::Single
            };
            let (_, end) = quoted(line, pos, style);
            let after = skip_spaces(bytes, end);
            (bytes.get(after) == Some(&b':')).then_some(after)?
        }
        b'[' | b'{' | b'|' | b'>' | b'#' => return None,
        _ => {
            let mut i = pos;
            loop {
                let found = line[i..].find(':')? + i;
                if found + 1 == bytes.len() || matches!(bytes[found + 1], b' ' | b'\t') {
                    if line[pos..found].contains(" #") {
                        return None;
                    }
                    break found;
                }
                i = found + 1;
            }
        }
    };
    let after = colon + 1;
    (after == bytes.len() || matches!(bytes[after], b' ' | b'\t')).then_some(after)
}

/// A quoted scalar starting at `pos`: its content and the position after
/// the closing quote.
fn quoted(line: &str, pos: usize, style: Style) -> (Content, usize) {
    let bytes = line.as_bytes();
    let mut value = String::new();
    let mut i = pos + 1;
    while i < bytes.len() {
        match (style, bytes[i]) {
            (Style::Single, b'\'') if bytes.get(i + 1) == Some(&b'\'') => {
                value.push('\'');
                i += 2;
            }
            (Style::Single, b'\'') | (Style::Double, b'"') => {
                let scalar = Scalar {
                    start: pos,
                    end: i + 1,
                    style,
                    value,
                };
                return (Content::Scalar(scalar), i + 1);
            }
            (Style::Double, b'\\') => {
                let Some(decoded) = unescape(line, i + 1) else {
                    return (
                        Content::NotScalar("the quoted value has an escape fleet cannot rewrite"),
                        bytes.len(),
                    );
                };
                value.push(decoded.0);
                i = decoded.1;
            }
            _ => {
                let c = line[i..].chars().next().unwrap_or('\u{fffd}');
                value.push(c);
                i += c.len_utf8();
            }
        }
    }
    (
        Content::NotScalar("the quoted value continues on the next line"),
        bytes.len(),
    )
}

/// Decodes the escape after a backslash at `pos`: the character and the
/// position after the escape.
fn unescape(line: &str, pos: usize) -> Option<(char, usize)> {
    let c = line[pos..].chars().next()?;
    let simple = match c {
        '0' => Some('\0'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        't' | '\t' => Some('\t'),
        'n' => Some('\n'),
        'v' => Some('\u{b}'),
        'f' => Some('\u{c}'),
        'r' => Some('\r'),
        'e' => Some('\u{1b}'),
        ' ' => Some(' '),
        '"' => Some('"'),
        '/' => Some('/'),
        '\\' => Some('\\'),
        'N' => Some('\u{85}'),
        '_' => Some('\u{a0}'),
        'L' => Some('\u{2028}'),
        'P' => Some('\u{2029}'),
        _ => None,
    };
    if let Some(s) = simple {
        return Some((s, pos + c.len_utf8()));
    }
    let width = match c {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => return None,
    };
    let hex = line.get(pos + 1..pos + 1 + width)?;
    let code = u32::from_str_radix(hex, 16).ok()?;
    Some((char::from_u32(code)?, pos + 1 + width))
}

/// End of a plain scalar: before ` #` or the end of the line, trailing
/// white space excluded.
fn plain_end(line: &str, pos: usize) -> usize {
    let bytes = line.as_bytes();
    let mut end = bytes.len();
    for i in pos + 1..bytes.len() {
        if bytes[i] == b'#' && matches!(bytes[i - 1], b' ' | b'\t') {
            end = i;
            break;
        }
    }
    while end > pos && matches!(bytes[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    end
}

/// End of a flow collection that closes on this line (or the line's end).
fn flow_end(line: &str, pos: usize) -> usize {
    let mut depth = 0usize;
    for (i, b) in line.bytes().enumerate().skip(pos) {
        match b {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    line.len()
}

/// End of a block scalar header, alias, anchor or tag token.
fn header_end(line: &str, pos: usize) -> usize {
    line[pos..]
        .find([' ', '\t'])
        .map_or(line.len(), |i| pos + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(line: &str) -> (String, Style, Option<&str>) {
        let l = scan(line).unwrap_or_else(|| panic!("{line:?} scanned to nothing"));
        match l.content {
            Content::Scalar(s) => {
                assert_eq!(&line[s.start..s.end].len(), &(s.end - s.start));
                (s.value, s.style, l.comment)
            }
            Content::NotScalar(why) => panic!("{line:?}: {why}"),
        }
    }

    #[test]
    fn values_and_comments_are_found_in_every_line_shape() {
        assert_eq!(
            scalar("  image: app:v1 # {\"$imagepolicy\": \"a:b\"}"),
            (
                "app:v1".into(),
                Style::Plain,
                Some(" {\"$imagepolicy\": \"a:b\"}")
            )
        );
        assert_eq!(scalar("- name: x # c").0, "x");
        assert_eq!(
            scalar("  - app:v1 #c"),
            ("app:v1".into(), Style::Plain, Some("c"))
        );
        assert_eq!(
            scalar("tag: \"1.0\" # m"),
            ("1.0".into(), Style::Double, Some(" m"))
        );
        assert_eq!(scalar("tag: 'it''s' # m").0, "it's");
        assert_eq!(scalar("\"quoted key\": v # m").0, "v");
        assert_eq!(scalar("url: http://x#y # m").0, "http://x#y");
        assert_eq!(scalar("a: b:c # m").0, "b:c");
    }

    #[test]
    fn non_scalars_are_named() {
        for line in [
            "image: # m",
            "image: [a, b] # m",
            "image: | # m",
            "image: *ref # m",
            "image: \"open # m",
        ] {
            assert!(
                matches!(scan(line).map(|l| l.content), Some(Content::NotScalar(_))),
                "{line}"
            );
        }
        assert_eq!(scan("# only a comment"), None);
        assert_eq!(scan("   "), None);
    }
}
