//! The operators' string functions, with Go's semantics: byte offsets and
//! lengths, simple (one-to-one) case mapping, literal replacement, and
//! drone/envsubst's glob dialect for the trim operators.

use super::EnvsubstError;

/// Go's `strconv.Atoi`: optional sign, decimal digits, nothing else.
fn atoi(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A byte slice of `s` as Go would take it (invalid UTF-8 at the cut
/// becomes U+FFFD, as it would when the result is written out as text).
fn byte_slice(s: &str, from: usize, to: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[from.min(s.len())..to.min(s.len())]).into_owned()
}

/// `${v:offset[:length]}`.
pub fn substr(s: &str, args: &[String]) -> Result<String, EnvsubstError> {
    let Some(first) = args.first() else {
        return Ok(s.to_string());
    };
    let Some(mut pos) = atoi(first) else {
        return Ok(s.to_string());
    };
    let len = s.len() as i64;
    if pos < 0 {
        pos = (len + pos).max(0);
    }
    if args.len() == 1 {
        return Ok(if pos < len {
            byte_slice(s, pos as usize, s.len())
        } else {
            String::new()
        });
    }
    let Some(length) = atoi(&args[1]) else {
        return Ok(s.to_string());
    };
    if length < 0 {
        // The Go code slices with a negative bound here and panics.
        return Err(EnvsubstError::NegativeLength(length));
    }
    if pos + length >= len {
        return Ok(if pos < len {
            byte_slice(s, pos as usize, s.len())
        } else {
            String::new()
        });
    }
    Ok(byte_slice(s, pos as usize, (pos + length) as usize))
}

fn map_first(s: &str, upper: bool) -> String {
    let mut chars = s.chars();
    match chars.next() {
        None => String::new(),
        Some(c) => {
            let mut out = String::with_capacity(s.len());
            out.push(simple_case(c, upper));
            out.push_str(chars.as_str());
            out
        }
    }
}

/// Go's `unicode.ToUpper`/`ToLower`: one rune to one rune; characters
/// whose full mapping is longer (`ß`) are left alone.
fn simple_case(c: char, upper: bool) -> char {
    let mut m: Vec<char> = if upper {
        c.to_uppercase().collect()
    } else {
        c.to_lowercase().collect()
    };
    if m.len() == 1 { m.remove(0) } else { c }
}

fn map_all(s: &str, upper: bool) -> String {
    s.chars().map(|c| simple_case(c, upper)).collect()
}

fn reverse(s: &str) -> String {
    s.chars().rev().collect()
}

/// Applies the operator `name` to `v`.
pub fn apply(name: &str, v: &str, args: &[String]) -> Result<String, EnvsubstError> {
    Ok(match name {
        "," => map_first(v, false),
        ",," => map_all(v, false),
        "^" => map_first(v, true),
        "^^" => map_all(v, true),
        "#" if args.is_empty() => v.len().to_string(),
        "#" => trim_shortest(v, &args[0]),
        "##" => trim_longest(v, &args[0]),
        "%" => args.first().map_or(v.to_string(), |a| {
            reverse(&trim_shortest(&reverse(v), &reverse(a)))
        }),
        "%%" => args.first().map_or(v.to_string(), |a| {
            reverse(&trim_longest(&reverse(v), &reverse(a)))
        }),
        ":" => substr(v, args)?,
        "/#" => match args {
            [p, r] if v.starts_with(p.as_str()) => v.replacen(p.as_str(), r, 1),
            _ => v.to_string(),
        },
        "/%" => match args {
            [p, r] if v.ends_with(p.as_str()) => format!("{}{r}", &v[..v.len() - p.len()]),
            _ => v.to_string(),
        },
        "/" => match args {
            [] => v.to_string(),
            [p] => v.replacen(p.as_str(), "", 1),
            [p, r, ..] => v.replacen(p.as_str(), r, 1),
        },
        "//" => match args {
            [] => v.to_string(),
            [p] => v.replace(p.as_str(), ""),
            [p, r, ..] => v.replace(p.as_str(), r),
        },
        // Every default-style operator, and a bare `${v}`: the value if
        // non-empty, else the words concatenated.
        _ => {
            if v.is_empty() && !args.is_empty() {
                args.concat()
            } else {
                v.to_string()
            }
        }
    })
}

/// `${v#pattern}`: `s` without the shortest non-empty prefix the pattern
/// matches (unchanged when none does, or the pattern is malformed).
fn trim_shortest(s: &str, pattern: &str) -> String {
    match matching_prefixes(pattern.as_bytes(), s.as_bytes()) {
        Some(prefixes) => match prefixes.iter().position(|m| *m) {
            Some(n) => byte_slice(s, n + 1, s.len()),
            None => s.to_string(),
        },
        None => trim_shortest_slowly(s, pattern),
    }
}

/// `${v##pattern}`: `s` without the longest non-empty prefix the pattern
/// matches.
fn trim_longest(s: &str, pattern: &str) -> String {
    match matching_prefixes(pattern.as_bytes(), s.as_bytes()) {
        Some(prefixes) => match prefixes.iter().rposition(|m| *m) {
            Some(n) => byte_slice(s, n + 1, s.len()),
            None => s.to_string(),
        },
        None => trim_longest_slowly(s, pattern),
    }
}

/// drone/envsubst's own loop: [`glob_match`] on every prefix, longest
/// first (quadratic in the length of `s`); only for malformed patterns,
/// whose errors depend on how far matching gets.
fn trim_shortest_slowly(s: &str, pattern: &str) -> String {
    let b = s.as_bytes();
    let mut shortest: Option<usize> = None;
    for i in 0..b.len() {
        match glob_match(pattern.as_bytes(), &b[..b.len() - i]) {
            Err(()) => return s.to_string(),
            Ok(true) => shortest = Some(b.len() - i),
            Ok(false) => {}
        }
    }
    match shortest {
        Some(n) if n > 0 => byte_slice(s, n, s.len()),
        _ => s.to_string(),
    }
}

fn trim_longest_slowly(s: &str, pattern: &str) -> String {
    let b = s.as_bytes();
    for i in 0..b.len() {
        match glob_match(pattern.as_bytes(), &b[..b.len() - i]) {
            Err(()) => return s.to_string(),
            Ok(true) => return byte_slice(s, b.len() - i, s.len()),
            Ok(false) => {}
        }
    }
    s.to_string()
}

/// One element of a well-formed glob.
enum Token {
    /// `*`: any run of bytes.
    Star,
    /// A byte to match as is (escaped ones included).
    Byte(u8),
    /// `?`: one rune.
    AnyRune,
    /// `[…]`: one rune in (or, negated, not in) the ranges.
    Class(bool, Vec<(char, char)>),
}

/// The pattern's tokens, or `None` when it is malformed (a trailing `\`,
/// a class that does not close or holds a bad range), so that
/// [`glob_match`] could fail for some names.
fn tokens(mut p: &[u8]) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    while let Some(&c) = p.first() {
        match c {
            b'*' => {
                out.push(Token::Star);
                p = &p[1..];
            }
            b'?' => {
                out.push(Token::AnyRune);
                p = &p[1..];
            }
            b'\\' => {
                out.push(Token::Byte(*p.get(1)?));
                p = &p[2..];
            }
            b'[' => {
                p = &p[1..];
                let negated = p.first() == Some(&b'^');
                if negated {
                    p = &p[1..];
                }
                let mut ranges = Vec::new();
                loop {
                    if p.first() == Some(&b']') && !ranges.is_empty() {
                        p = &p[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(p).ok()?;
                    p = rest;
                    let mut hi = lo;
                    if p.first() == Some(&b'-') {
                        let (h, rest) = get_esc(&p[1..]).ok()?;
                        hi = h;
                        p = rest;
                    }
                    ranges.push((lo, hi));
                }
                out.push(Token::Class(negated, ranges));
            }
            _ => {
                out.push(Token::Byte(c));
                p = &p[1..];
            }
        }
    }
    Some(out)
}

/// Which prefixes of `name` a well-formed `pattern` matches, as
/// [`glob_match`] would decide each: entry `i` is for the prefix of
/// `i + 1` bytes. One pass over `name` (an automaton over the pattern's
/// tokens), instead of one match per prefix; `None` for a malformed
/// pattern, or one too large to track.
///
/// A prefix that ends inside a multi-byte rune reads that rune's first
/// byte as U+FFFD of one byte (as [`decode`] does on the cut string): such
/// paths are tracked apart, valid only for prefixes ending inside that
/// rune.
fn matching_prefixes(pattern: &[u8], name: &[u8]) -> Option<Vec<bool>> {
    let tokens = tokens(pattern)?;
    let states = tokens.len() + 1;
    let cells = (name.len() + 1).checked_mul(states)?;
    if cells > 64 << 20 {
        return None;
    }
    // whole[pos * states + j]: after `pos` bytes, token `j` is next.
    // cut[..] likewise for paths that read a rune cut short, holding the
    // longest prefix they may end (plus one; 0 when none).
    let mut whole = vec![false; cells];
    let mut cut = vec![0usize; cells];
    let star_closure = |j: usize| -> usize {
        let mut j = j;
        while matches!(tokens.get(j), Some(Token::Star)) {
            j += 1;
        }
        j
    };
    let mark_whole = |whole: &mut Vec<bool>, pos: usize, j: usize| {
        for k in j..=star_closure(j) {
            whole[pos * states + k] = true;
        }
    };
    let mark_cut = |cut: &mut Vec<usize>, pos: usize, j: usize, limit: usize| {
        for k in j..=star_closure(j) {
            let cell = &mut cut[pos * states + k];
            *cell = (*cell).max(limit + 1);
        }
    };
    mark_whole(&mut whole, 0, 0);
    for pos in 0..name.len() {
        for (j, token) in tokens.iter().enumerate() {
            let here = pos * states + j;
            let limit = cut[here].checked_sub(1);
            if !whole[here] && limit.is_none() {
                continue;
            }
            // The rune the token reads at `pos`, and how far it leads.
            let (rune, advance) = match token {
                Token::AnyRune | Token::Class(..) => decode(&name[pos..]),
                Token::Star | Token::Byte(_) => ('\u{FFFD}', 1),
            };
            let accepts = |r: char| match token {
                Token::Star | Token::AnyRune => true,
                Token::Byte(c) => name[pos] == *c,
                Token::Class(negated, ranges) => {
                    ranges.iter().any(|(lo, hi)| *lo <= r && r <= *hi) != *negated
                }
            };
            let next = match token {
                Token::Star => j,
                _ => j + 1,
            };
            if whole[here] {
                if accepts(rune) {
                    mark_whole(&mut whole, pos + advance, next);
                }
                // A prefix ending inside this rune reads its first byte
                // as U+FFFD.
                if advance > 1 && accepts('\u{FFFD}') {
                    mark_cut(&mut cut, pos + 1, next, pos + advance - 1);
                }
            }
            if let Some(limit) = limit
                && pos + advance <= limit
                && accepts(rune)
            {
                mark_cut(&mut cut, pos + advance, next, limit);
            }
        }
    }
    Some(
        (1..=name.len())
            .map(|len| {
                whole[len * states + tokens.len()]
                    || cut[len * states + tokens.len()]
                        .checked_sub(1)
                        .is_some_and(|limit| len <= limit)
            })
            .collect(),
    )
}

/// The rune at the start of `b` and its width (invalid UTF-8: U+FFFD, 1).
fn decode(b: &[u8]) -> (char, usize) {
    let want = match b.first() {
        None => return ('\u{FFFD}', 0),
        Some(&x) if x < 0x80 => 1,
        Some(&x) if x >> 5 == 0b110 => 2,
        Some(&x) if x >> 4 == 0b1110 => 3,
        Some(&x) if x >> 3 == 0b11110 => 4,
        _ => return ('\u{FFFD}', 1),
    };
    match b
        .get(..want)
        .and_then(|p| std::str::from_utf8(p).ok())
        .and_then(|s| s.chars().next())
    {
        Some(c) => (c, want),
        None => ('\u{FFFD}', 1),
    }
}

/// drone/envsubst's glob: `*` matches any run (slashes too), `?` one rune,
/// `[…]` a class (negated by `^` only), `\` escapes. Whole-string match.
pub fn glob_match(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, ()> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(true);
        }
        let (t, ok) = match_chunk(chunk, name)?;
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            for i in 0..name.len() {
                let (t, ok) = match_chunk(chunk, &name[i + 1..])?;
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while pattern.first() == Some(&b'*') {
        pattern = &pattern[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> Result<(&'a [u8], bool), ()> {
    while !chunk.is_empty() {
        if s.is_empty() {
            return Ok((s, false));
        }
        match chunk[0] {
            b'[' => {
                let (r, n) = decode(s);
                s = &s[n..];
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    return Ok((s, false));
                }
            }
            b'?' => {
                let (_, n) = decode(s);
                s = &s[n..];
                chunk = &chunk[1..];
            }
            b'\\' => {
                chunk = &chunk[1..];
                if chunk.is_empty() {
                    return Err(());
                }
                if chunk[0] != s[0] {
                    return Ok((s, false));
                }
                s = &s[1..];
                chunk = &chunk[1..];
            }
            c => {
                if c != s[0] {
                    return Ok((s, false));
                }
                s = &s[1..];
                chunk = &chunk[1..];
            }
        }
    }
    Ok((s, true))
}

fn get_esc(chunk: &[u8]) -> Result<(char, &[u8]), ()> {
    let mut chunk = chunk;
    if chunk.is_empty() || chunk[0] == b'-' || chunk[0] == b']' {
        return Err(());
    }
    if chunk[0] == b'\\' {
        chunk = &chunk[1..];
        if chunk.is_empty() {
            return Err(());
        }
    }
    let (r, n) = decode(chunk);
    if r == '\u{FFFD}' && n == 1 {
        return Err(());
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return Err(());
    }
    Ok((r, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            let i = usize::try_from(self.next() % items.len() as u64).unwrap_or(0);
            items[i]
        }
    }

    #[test]
    fn the_one_pass_trims_agree_with_drone_envsubsts_loop() {
        let pattern_parts = [
            "a",
            "b",
            "é",
            "*",
            "?",
            "[ab]",
            "[^a]",
            "[a-c]",
            "\\*",
            "x",
            "[é-😀]",
            "😀",
        ];
        let name_parts = ["a", "b", "é", "*", "x", "c", "😀", "\u{80}"];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..50_000 {
            let pattern: String = (0..rng.next() % 5)
                .map(|_| rng.pick(&pattern_parts))
                .collect();
            let name: String = (0..rng.next() % 9).map(|_| rng.pick(&name_parts)).collect();
            assert_eq!(
                trim_shortest(&name, &pattern),
                trim_shortest_slowly(&name, &pattern),
                "${{v#{pattern}}} with v={name:?}"
            );
            assert_eq!(
                trim_longest(&name, &pattern),
                trim_longest_slowly(&name, &pattern),
                "${{v##{pattern}}} with v={name:?}"
            );
        }
    }

    #[test]
    fn malformed_patterns_leave_the_value_as_drone_envsubst_does() {
        for pattern in ["[", "a\\", "[a", "[]a]", "[a-]"] {
            assert!(tokens(pattern.as_bytes()).is_none(), "{pattern}");
            assert_eq!(
                trim_shortest("abc", pattern),
                trim_shortest_slowly("abc", pattern)
            );
        }
    }

    #[test]
    fn trims_of_a_long_value_take_one_pass() {
        // 200 KB without the `x` the pattern needs: drone/envsubst's loop
        // matches 200,000 prefixes (minutes); one pass takes milliseconds.
        let value = "ab".repeat(100_000);
        let started = std::time::Instant::now();
        assert_eq!(trim_shortest(&value, "*x"), value);
        assert_eq!(trim_longest(&value, "*b"), "");
        assert_eq!(trim_shortest(&value, "a*b"), value[2..]);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
