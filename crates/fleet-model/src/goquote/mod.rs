//! Go's string quoting (`strconv.Quote`, what `fmt`'s `%q` prints) and
//! `strconv.IsPrint`, exactly: Go's printability tables (Unicode 15.0.0, as
//! in Go 1.21 to 1.26). Error messages that reproduce Go programs' quote
//! their values this way.
//!
//! ```
//! use fleet_model::goquote::quote;
//! assert_eq!(quote("a\"b\n\u{200b}é"), "\"a\\\"b\\n\\u200bé\"");
//! ```

mod tables;

/// Go's `unicode.IsPrint` / `strconv.IsPrint` for a character.
pub fn is_print(c: char) -> bool {
    is_print_u32(u32::from(c))
}

/// Go's `strconv.Quote`, as used by `fmt`'s `%q` on strings.
pub fn quote(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hex = |n: u32| char::from(HEX[(n & 0xf) as usize]);
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        let r = u32::from(c);
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            _ if is_print_u32(r) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            _ if r < 0x20 || r == 0x7f => {
                out.push_str("\\x");
                out.push(hex(r >> 4));
                out.push(hex(r));
            }
            _ if r < 0x10000 => {
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(hex(r >> shift));
                }
            }
            _ => {
                out.push_str("\\U");
                for shift in [28, 24, 20, 16, 12, 8, 4, 0] {
                    out.push(hex(r >> shift));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.IsPrint` for a code point.
pub fn is_print_u32(r: u32) -> bool {
    if r <= 0xff {
        if (0x20..=0x7e).contains(&r) {
            return true;
        }
        if (0xa1..=0xff).contains(&r) {
            return r != 0xad;
        }
        return false;
    }
    if r < 0x10000 {
        let rr = r as u16;
        if !in_ranges(&tables::IS_PRINT16, rr) {
            return false;
        }
        return tables::IS_NOT_PRINT16.binary_search(&rr).is_err();
    }
    if !in_ranges(&tables::IS_PRINT32, r) {
        return false;
    }
    if r >= 0x20000 {
        return true;
    }
    let rr = (r - 0x10000) as u16;
    tables::IS_NOT_PRINT32.binary_search(&rr).is_err()
}

/// Whether `x` lies in one of the inclusive `[lo, hi]` pairs of `table`
/// (Go's bsearch on the first entry >= x).
fn in_ranges<T: Ord + Copy>(table: &[T], x: T) -> bool {
    let i = table.partition_point(|&v| v < x);
    match (table.get(i & !1), table.get(i | 1)) {
        (Some(&lo), Some(&hi)) => lo <= x && x <= hi,
        _ => false,
    }
}
