//! Go literal syntax: `strconv.Unquote`, `UnquoteChar`, `ParseInt(s, 0, 64)`, `ParseFloat`.

/// Unquotes a Go string literal ("..." with escapes, or `raw`). None = invalid syntax.
/// Escapes producing bytes above 0x7F (`\xff`, `\377`) become U+FFFD, since Rust strings
/// must be UTF-8.
pub(crate) fn unquote(s: &str) -> Option<String> {
    if let Some(raw) = s.strip_prefix('`') {
        let raw = raw.strip_suffix('`')?;
        return if raw.contains('`') {
            None
        } else {
            Some(raw.replace('\r', ""))
        };
    }
    let mut rest = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    while !rest.is_empty() {
        if rest.starts_with('\n') {
            return None;
        }
        let (c, tail) = unquote_one(rest, '"')?;
        out.push(c);
        rest = tail;
    }
    Some(out)
}

/// Unquotes a character constant like `'a'` or `'\n'`. Outer None = invalid syntax,
/// inner None = malformed (something follows the character).
pub(crate) fn unquote_char(s: &str) -> Option<Option<char>> {
    let (c, tail) = unquote_one(s.strip_prefix('\'')?, '\'')?;
    Some(if tail == "'" { Some(c) } else { None })
}

/// Go's `strconv.UnquoteChar`: one (possibly escaped) character and the remaining text.
fn unquote_one(s: &str, quote: char) -> Option<(char, &str)> {
    let mut chars = s.chars();
    let c = chars.next()?;
    if c == quote {
        return None;
    }
    if c != '\\' {
        return Some((c, chars.as_str()));
    }
    let e = chars.next()?;
    let rest = chars.as_str();
    let simple = match e {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        '\'' | '"' if e == quote => Some(e),
        _ => None,
    };
    if let Some(c) = simple {
        return Some((c, rest));
    }
    let (n, radix) = match e {
        'x' => (2, 16),
        'u' => (4, 16),
        'U' => (8, 16),
        '0'..='7' => (3, 8),
        _ => return None,
    };
    let digits = if radix == 8 {
        s.get(1..4)?
    } else {
        rest.get(..n)?
    };
    let v = u32::from_str_radix(digits, radix).ok()?;
    if !digits.chars().all(|d| d.is_digit(radix)) {
        return None;
    }
    let tail = if radix == 8 { &s[4..] } else { &rest[n..] };
    let c = match e {
        'x' | '0'..='7' if v > 0xFF => return None,
        'x' | '0'..='7' if v > 0x7F => '\u{FFFD}',
        _ => char::from_u32(v)?,
    };
    Some((c, tail))
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let b = s.as_bytes();
    let mut saw = '^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = '0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            saw = '0';
        } else if c == b'_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            if saw == '_' {
                return false;
            }
            saw = '!';
        }
    }
    saw != '_'
}

/// Go's `strconv.ParseInt(s, 0, 64)` widened to also accept the uint64 range
/// (underscores only where Go's number syntax allows them).
pub(crate) fn parse_int(s: &str) -> Option<i128> {
    if !underscore_ok(s) {
        return None;
    }
    fleet_model::value::parse_go_int(s)
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal syntax (hex floats are not supported).
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    if lower.trim_start_matches(['+', '-']).starts_with("0x") || !underscore_ok(s) {
        return None;
    }
    let f: f64 = s.replace('_', "").parse().ok()?;
    f.is_finite().then_some(f)
}
