//! Go's `fmt` printing (`%v`, `Sprint`, `Sprintln`, `Sprintf`) and `strconv.Quote` for [`Value`]s.

use crate::gotemplate::value::Value;

/// Largest width or precision honoured by `printf` (bounds memory use).
const MAX_WIDTH: usize = 1 << 16;

/// Formatting flags of one `%` directive.
#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    plus_v: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    fleet_model::goquote::quote(s)
}

/// Go's `unicode.IsPrint`.
pub(crate) fn is_print(c: char) -> bool {
    fleet_model::goquote::is_print(c)
}

/// `fmt.Sprint(v)` for one value (a nil prints as `<nil>`).
pub(crate) fn to_string(v: &Value) -> String {
    let mut out = String::new();
    format_value(&mut out, v, 'v', Spec::default(), false);
    out
}

/// Go's `fmt.Sprint`: spaces between operands when neither is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        format_value(&mut out, a, 'v', Spec::default(), false);
        prev_string = is_string;
    }
    out
}

/// Go's `fmt.Sprintln`: always spaces, plus a trailing newline.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let parts: Vec<String> = args.iter().map(to_string).collect();
    parts.join(" ") + "\n"
}

/// Go's `fmt.Sprintf` for the verbs `v s d q x X o O b c t f F e E g G U T %` (no `%#v`,
/// no `%[n]` argument indexes, no `*` widths).
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut argi = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = read_num(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.prec = Some(read_num(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        if spec.minus {
            spec.zero = false;
        }
        if verb == 'v' && spec.plus {
            spec.plus = false;
            spec.plus_v = true;
        }
        format_value(&mut out, arg, verb, spec, true);
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[argi..]
            .iter()
            .map(|a| match a {
                Value::Nil => "<nil>".to_string(),
                a => format!("{}={}", a.type_name(), to_string(a)),
            })
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn read_num(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some((n.unwrap_or(0) * 10 + d as usize).min(MAX_WIDTH));
        chars.next();
    }
    n
}

fn format_value(out: &mut String, v: &Value, verb: char, spec: Spec, top: bool) {
    match v {
        Value::Nil if top && verb == 'T' => pad(out, "<nil>", spec),
        v if top && verb == 'T' => pad(out, &v.type_name(), spec),
        Value::Nil if top && verb != 'v' => out.push_str(&format!("%!{verb}(<nil>)")),
        Value::Nil => pad(out, "<nil>", spec),
        Value::Bool(b) if matches!(verb, 'v' | 't') => {
            pad(out, if *b { "true" } else { "false" }, spec)
        }
        Value::Int(i) => format_int(out, *i, verb, spec, v),
        Value::Float(f) => format_float(out, *f, verb, spec, v),
        Value::String(s) => format_str(out, s, verb, spec, v),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_value(out, item, verb, spec, false);
            }
            out.push(']');
        }
        Value::Map(_) | Value::Dict(_) => {
            out.push_str("map[");
            for (i, (k, val)) in v.sorted_entries().iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_value(out, k, verb, spec, false);
                out.push(':');
                format_value(out, val, verb, spec, false);
            }
            out.push(']');
        }
        Value::Struct(s) => match &s.display {
            Some(d) if matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') => {
                format_str(out, d, verb, spec, v)
            }
            _ => {
                out.push('{');
                for (i, (name, field)) in s.fields.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    if spec.plus_v {
                        out.push_str(name);
                        out.push(':');
                    }
                    format_value(out, field, verb, spec, false);
                }
                out.push('}');
            }
        },
        Value::Bool(_) => bad_verb(out, verb, spec, v),
    }
}

fn bad_verb(out: &mut String, verb: char, spec: Spec, v: &Value) {
    out.push_str(&format!("%!{verb}({}=", v.type_name()));
    format_value(out, v, 'v', spec, false);
    out.push(')');
}

/// Pads `s` to the width with spaces (or zeros when the `0` flag is set, as Go does).
fn pad(out: &mut String, s: &str, spec: Spec) {
    let n = s.chars().count();
    let fill = spec.width.unwrap_or(0).saturating_sub(n);
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        out.extend(std::iter::repeat_n(if spec.zero { '0' } else { ' ' }, fill));
        out.push_str(s);
    }
}

fn format_str(out: &mut String, s: &str, verb: char, spec: Spec, v: &Value) {
    match verb {
        'v' | 's' => {
            let s: String = match spec.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_string(),
            };
            pad(out, &s, spec);
        }
        'q' => pad(out, &quote(s), spec),
        'x' | 'X' => {
            let prefix = match (spec.sharp, verb) {
                (false, _) => "",
                (true, 'x') => "0x",
                (true, _) => "0X",
            };
            let hex: Vec<String> = s
                .bytes()
                .map(|b| {
                    if verb == 'x' {
                        format!("{b:02x}")
                    } else {
                        format!("{b:02X}")
                    }
                })
                .collect();
            let text = if spec.space {
                hex.iter()
                    .map(|h| format!("{prefix}{h}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                format!("{prefix}{}", hex.concat())
            };
            pad(out, &text, spec);
        }
        _ => bad_verb(out, verb, spec, v),
    }
}

fn format_int(out: &mut String, i: i64, verb: char, spec: Spec, v: &Value) {
    let u = i.unsigned_abs();
    let digits = match verb {
        'v' | 'd' => u.to_string(),
        'b' => format!("{u:b}"),
        'o' | 'O' => format!("{u:o}"),
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        'c' => {
            return pad(
                out,
                &char::from_u32(i as u32).unwrap_or('\u{FFFD}').to_string(),
                spec,
            );
        }
        'q' => {
            let c = char::from_u32(i as u32).unwrap_or('\u{FFFD}');
            let q = if c == '\'' {
                "'\\''".to_string()
            } else {
                format!("'{}'", &quote(&c.to_string())[1..].trim_end_matches('"'))
            };
            return pad(out, &q, spec);
        }
        'U' => return pad(out, &format!("U+{u:04X}"), spec),
        _ => return bad_verb(out, verb, spec, v),
    };
    let mut prec = spec.prec.unwrap_or(0);
    if spec.prec == Some(0) && u == 0 {
        return pad(
            out,
            "",
            Spec {
                zero: false,
                ..spec
            },
        );
    }
    if spec.prec.is_none() && spec.zero && spec.width.is_some() {
        prec = spec.width.unwrap_or(0);
        if i < 0 || spec.plus || spec.space {
            prec = prec.saturating_sub(1);
        }
    }
    let mut s = String::new();
    if i < 0 {
        s.push('-');
    } else if spec.plus {
        s.push('+');
    } else if spec.space {
        s.push(' ');
    }
    if spec.sharp {
        s.push_str(match verb {
            'x' => "0x",
            'X' => "0X",
            'o' => "0",
            'b' => "0b",
            _ => "",
        });
    }
    if verb == 'O' {
        s.push_str("0o");
    }
    s.extend(std::iter::repeat_n('0', prec.saturating_sub(digits.len())));
    s.push_str(&digits);
    pad(
        out,
        &s,
        Spec {
            zero: false,
            ..spec
        },
    );
}

/// Decimal digits (no trailing zeros) and decimal-point position, like strconv's decimalSlice.
fn digits_of(sci: &str) -> (Vec<u8>, i32) {
    let (mant, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    if d.is_empty() {
        return (d, 0);
    }
    (d, exp + 1)
}

fn fmt_e(d: &[u8], dp: i32, prec: usize, e: char) -> String {
    let mut s = String::new();
    s.push(d.first().map_or('0', |&c| c as char));
    if prec > 0 {
        s.push('.');
        for i in 1..=prec {
            s.push(d.get(i).map_or('0', |&c| c as char));
        }
    }
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    s.push(e);
    s.push(if exp < 0 { '-' } else { '+' });
    s.push_str(&format!("{:02}", exp.abs()));
    s
}

fn fmt_f(d: &[u8], dp: i32, prec: usize) -> String {
    let digit = |j: i32| {
        if j >= 0 && (j as usize) < d.len() {
            d[j as usize] as char
        } else {
            '0'
        }
    };
    let mut s: String = if dp > 0 {
        (0..dp).map(digit).collect()
    } else {
        "0".into()
    };
    if prec > 0 {
        s.push('.');
        s.extend((0..prec as i32).map(|i| digit(dp + i)));
    }
    s
}

/// Go's `strconv.FormatFloat(f, 'g', prec, 64)` on the absolute value (prec None = shortest).
fn format_g(f: f64, prec: Option<usize>, e: char) -> String {
    let (d, dp, mut prec, eprec) = match prec {
        None => {
            let (d, dp) = digits_of(&format!("{:e}", f.abs()));
            let n = d.len();
            (d, dp, n, 6)
        }
        Some(p) => {
            let p = p.max(1);
            let (d, dp) = digits_of(&format!("{:.*e}", p - 1, f.abs()));
            let eprec = if p > d.len() && d.len() as i32 >= dp {
                d.len()
            } else {
                p
            };
            (d, dp, p, eprec)
        }
    };
    let exp = dp - 1;
    if exp < -4 || exp >= eprec as i32 {
        prec = prec.min(d.len());
        return fmt_e(&d, dp, prec.saturating_sub(1), e);
    }
    if prec as i32 > dp {
        prec = d.len();
    }
    fmt_f(&d, dp, (prec as i32 - dp).max(0) as usize)
}

fn format_float(out: &mut String, f: f64, verb: char, spec: Spec, v: &Value) {
    let body = if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        "Inf".to_string()
    } else {
        match verb {
            'v' => format_g(f, spec.prec, 'e'),
            'g' | 'G' => format_g(f, spec.prec, if verb == 'g' { 'e' } else { 'E' }),
            'e' | 'E' => {
                let p = spec.prec.unwrap_or(6);
                let (d, dp) = digits_of(&format!("{:.*e}", p, f.abs()));
                fmt_e(&d, dp, p, verb)
            }
            'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), f.abs()),
            _ => return bad_verb(out, verb, spec, v),
        }
    };
    let sign = if f.is_sign_negative() && !f.is_nan() {
        "-"
    } else if spec.plus || f.is_infinite() {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    if f.is_finite() && spec.zero && !spec.minus && !sign.is_empty() {
        out.push_str(sign);
        let w = spec.width.map(|w| w.saturating_sub(1));
        return pad(out, &body, Spec { width: w, ..spec });
    }
    let zero = spec.zero && f.is_finite();
    pad(out, &format!("{sign}{body}"), Spec { zero, ..spec });
}
