//! What a folded block scalar (`>`) becomes when go-yaml writes it out and
//! reads it back, as kyaml does once with every resource kustomize loads
//! (`RNode.MarshalJSON` encodes the node, keeping its folded style, then
//! decodes the text).
//!
//! go-yaml's folded writer (`yaml_emitter_write_folded_scalar`, in v2 and
//! v3) decides whether a line break needs an extra empty line by looking at
//! the start of the whole value instead of the text after the break (`k :=
//! 0`). So when the value does not start with a blank, every line break
//! after a line that does not start with a blank is written as an empty
//! line, even before a more-indented line, where reading keeps both
//! breaks: `x\n  y\n` comes back as `x\n\n  y\n`. kubectl kustomize prints
//! the value with the extra line; this module computes it by running the
//! writer's and the scanner's algorithms over the value.

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chomping {
    Strip,
    Clip,
    Keep,
}

/// The value after go-yaml wrote it as a folded scalar and read it back.
///
/// ```
/// use fleet_model::yaml::go_folded_round_trip;
/// assert_eq!(go_folded_round_trip("x\n  y\nz\n"), "x\n\n  y\nz\n");
/// assert_eq!(go_folded_round_trip("one two\nthree\n"), "one two\nthree\n");
/// assert_eq!(go_folded_round_trip("  lead\ntext"), "  lead\ntext");
/// ```
pub fn go_folded_round_trip(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let (body, chomping) = write_folded(&chars);
    read_folded(&body, chomping)
}

/// The body lines go-yaml writes for `value` (indented by two), and the
/// chomping indicator it chooses.
fn write_folded(value: &[char]) -> (Vec<char>, Chomping) {
    let chomping = match value.len() {
        0 => Chomping::Strip,
        n if !is_break(value[n - 1]) => Chomping::Strip,
        1 => Chomping::Keep,
        n if is_break(value[n - 2]) => Chomping::Keep,
        _ => Chomping::Clip,
    };
    // The writer's test for the extra empty line, as written (`k := 0`):
    // the first character after the value's leading breaks.
    let first = value.iter().copied().find(|c| !is_break(*c));
    let extra_allowed = first.is_some_and(|c| !is_blank(c));
    let mut out = Vec::new();
    let mut breaks = true;
    let mut leading_spaces = true;
    for &c in value {
        if is_break(c) {
            if !breaks && !leading_spaces && c == '\n' && extra_allowed {
                out.push('\n');
            }
            out.push(c);
            breaks = true;
        } else {
            if breaks {
                out.extend(['\u{20}', '\u{20}']);
                leading_spaces = is_blank(c);
            }
            out.push(c);
            breaks = false;
        }
    }
    (out, chomping)
}

/// Appends the line break at `pos` (a CR LF pair counts as one), as the
/// scanner's `read_line` does: CR, LF, CR LF and NEL become LF, U+2028
/// and U+2029 stay.
fn read_line(body: &[char], pos: &mut usize, out: &mut String) {
    match body.get(*pos) {
        Some('\r') if body.get(*pos + 1) == Some(&'\n') => {
            out.push('\n');
            *pos += 2;
        }
        Some('\r' | '\n' | '\u{85}') => {
            out.push('\n');
            *pos += 1;
        }
        Some(&c @ ('\u{2028}' | '\u{2029}')) => {
            out.push(c);
            *pos += 1;
        }
        _ => {}
    }
}

/// The scanner's block scalar loop (`yaml_parser_scan_block_scalar`) over
/// `body`, indented by two, folded.
fn read_folded(body: &[char], chomping: Chomping) -> String {
    const INDENT: usize = 2;
    // Eats indentation and empty lines; returns the column reached.
    let eat_breaks = |pos: &mut usize, breaks: &mut String| -> usize {
        loop {
            let mut column = 0;
            while column < INDENT && body.get(*pos) == Some(&' ') {
                *pos += 1;
                column += 1;
            }
            match body.get(*pos) {
                Some(&c) if is_break(c) => read_line(body, pos, breaks),
                _ => return column,
            }
        }
    };
    let mut pos = 0;
    let mut s = String::new();
    let mut leading_break = String::new();
    let mut trailing_breaks = String::new();
    let mut leading_blank = false;
    let mut column = eat_breaks(&mut pos, &mut trailing_breaks);
    while column == INDENT && pos < body.len() {
        let trailing_blank = is_blank(body[pos]);
        if !leading_blank && !trailing_blank && leading_break.starts_with('\n') {
            if trailing_breaks.is_empty() {
                s.push(' ');
            }
        } else {
            s.push_str(&leading_break);
        }
        leading_break.clear();
        s.push_str(&trailing_breaks);
        trailing_breaks.clear();
        leading_blank = is_blank(body[pos]);
        while pos < body.len() && !is_break(body[pos]) {
            s.push(body[pos]);
            pos += 1;
        }
        if pos >= body.len() {
            break;
        }
        read_line(body, &mut pos, &mut leading_break);
        column = eat_breaks(&mut pos, &mut trailing_breaks);
    }
    if chomping != Chomping::Strip {
        s.push_str(&leading_break);
    }
    if chomping == Chomping::Keep {
        s.push_str(&trailing_breaks);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::go_folded_round_trip as rt;

    // Each expectation is what kubectl kustomize v5.5.0 printed for a
    // ConfigMap value read from the folded scalar (see the fidelity
    // fixture `folded_scalars_through_go_yaml_round_trip`).
    #[test]
    fn values_come_back_as_kustomize_prints_them() {
        let cases = [
            (
                "server {\n  listen 80;\n  location / {\n    return 200;\n  }\n}\n",
                "server {\n\n  listen 80;\n  location / {\n    return 200;\n  }\n}\n",
            ),
            ("p q\n\n  r\ns\n", "p q\n\n\n  r\ns\n"),
            ("one two\nthree\n", "one two\nthree\n"),
            ("a\n  b\n\n", "a\n\n  b\n\n"),
            ("a\n  b", "a\n\n  b"),
            ("\nfirst\n  second\n", "\nfirst\n\n  second\n"),
            ("  deep\nshallow\n", "  deep\nshallow\n"),
            ("x\n\ttabbed\ny\n", "x\n\n\ttabbed\ny\n"),
            ("a b\n", "a b\n"),
            ("  lead\ntext more", "  lead\ntext more"),
            ("", ""),
            ("\n", "\n"),
        ];
        for (value, want) in cases {
            assert_eq!(rt(value), want, "{value:?}");
        }
    }
}
