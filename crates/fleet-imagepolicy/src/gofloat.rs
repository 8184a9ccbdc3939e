//! Go's `strconv.ParseFloat(s, 64)`, which Flux's numerical policy applies
//! to every tag. Rust's `f64::from_str` differs in what it accepts (no
//! `_` separators, no hexadecimal floats, `1e400` is infinity instead of an
//! error, `infinity` spelled differently), and a tag Flux refuses must be
//! refused here too, so the syntax check is written out by hand.

/// Parses `text` as Go's `ParseFloat` with bit size 64, or `None` where Go
/// reports a syntax or range error.
///
/// ```
/// use fleet_imagepolicy::gofloat::parse;
/// assert_eq!(parse("1_0"), Some(10.0));
/// assert_eq!(parse("0x1p4"), Some(16.0));
/// assert_eq!(parse("0x10"), None);
/// assert_eq!(parse("1e400"), None);
/// assert!(parse("-Inf").is_some_and(|f| f.is_infinite()));
/// ```
pub fn parse(text: &str) -> Option<f64> {
    // Every character Go's syntax allows is ASCII; anything else is a
    // syntax error (and slicing below may then assume single-byte characters).
    if !text.is_ascii() {
        return None;
    }
    let (negative, body) = match text.as_bytes().first() {
        Some(b'+') => (false, &text[1..]),
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    let signed = body.len() != text.len();
    let special = match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => Some(f64::INFINITY),
        // Go reads NaN only without a sign.
        "nan" if !signed => Some(f64::NAN),
        _ => None,
    };
    let magnitude = match special {
        Some(value) => value,
        None if body.len() > 2 && body[..2].eq_ignore_ascii_case("0x") => hexadecimal(&body[2..])?,
        None => decimal(body)?,
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// `digits[.digits][e[+-]digits]` with `_` allowed between digits.
fn decimal(body: &str) -> Option<f64> {
    if !underscores_ok(body, false) {
        return None;
    }
    let plain: String = body.chars().filter(|c| *c != '_').collect();
    let bytes = plain.as_bytes();
    let mut pos = 0;
    let mut digits = 0;
    while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
        pos += 1;
        digits += 1;
    }
    if bytes.get(pos) == Some(&b'.') {
        pos += 1;
        while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if matches!(bytes.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        if matches!(bytes.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        let start = pos;
        while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        if pos == start {
            return None;
        }
    }
    if pos != bytes.len() {
        return None;
    }
    let value: f64 = plain.parse().ok()?;
    // Go reports overflow as a range error; Rust rounds to infinity.
    value.is_finite().then_some(value)
}

/// `hexdigits[.hexdigits]p[+-]digits`: the `p` exponent is mandatory.
fn hexadecimal(body: &str) -> Option<f64> {
    if !underscores_ok(body, true) {
        return None;
    }
    let plain: String = body.chars().filter(|c| *c != '_').collect();
    let (mantissa, exponent) = plain.split_once(['p', 'P'])?;
    let exponent: i32 = exponent.parse().ok()?;
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in whole.chars().chain(fraction.chars()) {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let scale = exponent.checked_sub(4 * i32::try_from(fraction.len()).ok()?)?;
    let value = value * 2f64.powi(scale);
    value.is_finite().then_some(value)
}

/// Go allows `_` only between digits (or right after a base prefix).
fn underscores_ok(body: &str, after_prefix: bool) -> bool {
    let bytes = body.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b != b'_' {
            continue;
        }
        let before_ok = if i == 0 {
            after_prefix
        } else {
            bytes[i - 1].is_ascii_hexdigit() && (after_prefix || bytes[i - 1].is_ascii_digit())
        };
        let after_ok = bytes.get(i + 1).is_some_and(|n| {
            if after_prefix {
                n.is_ascii_hexdigit()
            } else {
                n.is_ascii_digit()
            }
        });
        if !before_ok || !after_ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn go_syntax_is_accepted_and_junk_refused() {
        for (text, want) in [
            ("1e3", Some(1000.0)),
            ("+5", Some(5.0)),
            (".5", Some(0.5)),
            ("5.", Some(5.0)),
        ] {
            assert_eq!(parse(text), want, "{text}");
        }
        for bad in [
            " 5", "0x10", "1__0", "_1", "1_", "e5", "1e", "", "+", "1.2.3", "abc",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert!(parse("nan").is_some_and(f64::is_nan));
        assert_eq!(parse("1e-400"), Some(0.0));
    }

    /// Issue 18: a tag like `1é` from a registry panicked (a slice inside a
    /// two-byte character).
    #[test]
    fn non_ascii_tags_are_refused_without_panicking() {
        for bad in ["1é", "é", "0é", "0xé", "-1é", "1\u{FEFF}", "１"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
