//! Implementations of the builtins and Sprig functions that need more than a line.

use crate::gotemplate::funcs::FnResult;
use crate::gotemplate::print::to_string;
use crate::gotemplate::value::Value;

const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

/// Go's `reflect.Kind` name of a value, as Sprig's error messages print it.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) | Value::Dict(_) => "map",
        Value::Struct(_) => "struct",
    }
}

/// Rejects results larger than the output cap before they are built.
fn check_size(n: usize) -> Result<(), String> {
    if n > crate::gotemplate::MAX_OUTPUT {
        return Err(format!(
            "result exceeds {} bytes",
            crate::gotemplate::MAX_OUTPUT
        ));
    }
    Ok(())
}

/// Go's builtin `len`.
pub(crate) fn length(a: &[Value]) -> FnResult {
    Ok(Value::Int(match &a[0] {
        Value::Nil => return Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Value::String(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        Value::Dict(m) => m.len(),
        v => return Err(format!("len of type {}", v.type_name())),
    } as i64))
}

fn index_arg(idx: &Value, cap: usize) -> Result<usize, String> {
    match idx {
        Value::Int(x) if *x < 0 || *x as u64 > cap as u64 => {
            Err(format!("index out of range: {x}"))
        }
        Value::Int(x) => Ok(*x as usize),
        Value::Nil => Err("cannot index slice/array with nil".into()),
        v => Err(format!(
            "cannot index slice/array with type {}",
            v.type_name()
        )),
    }
}

/// The zero value of the type of `v` (missing map entries).
fn zero_like(v: Option<&Value>) -> Value {
    match v {
        None | Some(Value::String(_)) => Value::from(""),
        Some(Value::Bool(_)) => Value::Bool(false),
        Some(Value::Int(_)) => Value::Int(0),
        Some(Value::Float(_)) => Value::Float(0.0),
        Some(Value::List(_)) => Value::List(Vec::new()),
        Some(Value::Map(_)) => Value::Map(Vec::new()),
        Some(Value::Nil | Value::Dict(_)) => Value::Nil,
        Some(Value::Struct(s)) => {
            let mut z = s.clone();
            z.fields
                .iter_mut()
                .for_each(|(_, f)| *f = zero_like(Some(f)));
            Value::Struct(z)
        }
    }
}

/// Go's builtin `index`.
pub(crate) fn index(a: &[Value]) -> FnResult {
    let mut item = a[0].clone();
    if item == Value::Nil {
        return Err("index of untyped nil".into());
    }
    for idx in &a[1..] {
        item = match &item {
            Value::Nil => return Err("index of nil pointer".into()),
            Value::List(l) => {
                let x = index_arg(idx, l.len())?;
                l.get(x)
                    .cloned()
                    .ok_or("reflect: slice index out of range")?
            }
            Value::String(s) => {
                let x = index_arg(idx, s.len())?;
                Value::Int(i64::from(
                    *s.as_bytes()
                        .get(x)
                        .ok_or("reflect: string index out of range")?,
                ))
            }
            Value::Map(m) => {
                let key_type = m
                    .first()
                    .map_or("string".to_string(), |(k, _)| k.type_name());
                if *idx == Value::Nil {
                    return Err(format!("value is nil; should be of type {key_type}"));
                }
                if idx.type_name() != key_type {
                    return Err(format!(
                        "value has type {}; should be {key_type}",
                        idx.type_name()
                    ));
                }
                m.iter()
                    .find(|(k, _)| k == idx)
                    .map_or_else(|| zero_like(m.first().map(|e| &e.1)), |e| e.1.clone())
            }
            Value::Dict(m) => match idx {
                Value::String(k) => m
                    .iter()
                    .find(|e| e.0 == *k)
                    .map_or(Value::Nil, |e| e.1.clone()),
                Value::Nil => return Err("value is nil; should be of type string".into()),
                v => {
                    return Err(format!(
                        "value has type {}; should be string",
                        v.type_name()
                    ));
                }
            },
            v => return Err(format!("can't index item of type {}", v.type_name())),
        };
    }
    Ok(item)
}

/// text/template's `evalArgs`: a lone string as is, anything else through `fmt.Sprint`.
pub(crate) fn eval_args(a: &[Value]) -> String {
    match a {
        [Value::String(s)] => s.clone(),
        _ => {
            let printable: Vec<Value> = a
                .iter()
                .map(|v| {
                    if *v == Value::Nil {
                        Value::from("<no value>")
                    } else {
                        v.clone()
                    }
                })
                .collect();
            crate::gotemplate::print::sprint(&printable)
        }
    }
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub(crate) fn js(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' | '>' | '&' | '=' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_ascii() || crate::gotemplate::print::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn urlquery(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn basic_kind(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 1,
        Value::Int(_) => 2,
        Value::Float(_) => 3,
        Value::String(_) => 4,
        _ => 0,
    }
}

fn comparable(v: &Value) -> bool {
    match v {
        Value::List(_) | Value::Map(_) | Value::Dict(_) => false,
        Value::Struct(s) => s.fields.iter().all(|(_, f)| comparable(f)),
        _ => true,
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
        || matches!(
            (a, b),
            (
                Value::Map(_) | Value::Dict(_),
                Value::Map(_) | Value::Dict(_)
            )
        )
}

/// Go's builtin `eq` (arg1 == any of the others).
pub(crate) fn eq(a: &[Value]) -> FnResult {
    let a1 = &a[0];
    if a.len() < 2 {
        return Err("missing argument for comparison".into());
    }
    for arg in &a[1..] {
        let truth = if basic_kind(a1) != basic_kind(arg) {
            if *a1 != Value::Nil && *arg != Value::Nil {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    a1.type_name(),
                    arg.type_name()
                ));
            }
            false
        } else if basic_kind(a1) != 0 {
            a1 == arg
        } else if *a1 == Value::Nil || *arg == Value::Nil {
            if !same_kind(a1, arg) && *a1 != Value::Nil && *arg != Value::Nil {
                return Err("non-comparable types".into());
            }
            a1 == arg
        } else if !same_kind(a1, arg) {
            let (x, y) = (to_string(a1), to_string(arg));
            return Err(format!(
                "non-comparable types {x}: {}, {}: {y}",
                a1.type_name(),
                arg.type_name()
            ));
        } else if !comparable(arg) {
            return Err(format!(
                "non-comparable type {}: {}",
                to_string(arg),
                arg.type_name()
            ));
        } else {
            a1 == arg && a1.type_name() == arg.type_name()
        };
        if truth {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

/// Go's builtin `lt`.
pub(crate) fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (basic_kind(a), basic_kind(b));
    if ka == 0 || kb == 0 {
        return Err("invalid type for comparison".into());
    }
    if ka != kb {
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        ));
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x < y),
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::String(x), Value::String(y)) => Ok(x < y),
        _ => Err("invalid type for comparison".into()),
    }
}

/// `unicode.ToUpper` (simple one-to-one case mapping).
pub(crate) fn simple_upper(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// `unicode.ToLower` (simple one-to-one case mapping).
pub(crate) fn simple_lower(c: char) -> char {
    let mut low = c.to_lowercase();
    match (low.next(), low.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Go's `strings.Title`.
pub(crate) fn title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let sep = if prev.is_ascii() {
                !(prev.is_ascii_alphanumeric() || prev == '_')
            } else {
                prev.is_whitespace()
            };
            prev = c;
            if sep { simple_upper(c) } else { c }
        })
        .collect()
}

/// Byte-indexed substring (Go slices strings by byte; a split character becomes U+FFFD).
fn bytes(s: &str, from: usize, to: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[from..to]).into_owned()
}

/// Sprig's `trunc`.
pub(crate) fn trunc(c: i64, s: &str) -> String {
    let n = s.len() as i64;
    if c < 0 && n + c > 0 {
        return bytes(s, (n + c) as usize, s.len());
    }
    if c >= 0 && n > c {
        return bytes(s, 0, c as usize);
    }
    s.to_string()
}

/// Sprig's `abbrev`.
pub(crate) fn abbrev(width: i64, s: &str) -> String {
    if width < 4 || s.len() as i64 <= width {
        return s.to_string();
    }
    bytes(s, 0, (width - 3) as usize) + "..."
}

/// `strings.Repeat`, bounded by the output cap.
pub(crate) fn repeat(count: i64, s: &str) -> Result<String, String> {
    if count < 0 {
        return Err("strings: negative Repeat count".into());
    }
    check_size((count as usize).saturating_mul(s.len()))?;
    Ok(s.repeat(count as usize))
}

/// Sprig's `indent`.
pub(crate) fn indent(n: i64, s: &str) -> Result<String, String> {
    let pad = repeat(n, " ")?;
    check_size(
        pad.len()
            .saturating_mul(s.matches('\n').count() + 1)
            .saturating_add(s.len()),
    )?;
    Ok(format!("{pad}{}", s.replace('\n', &format!("\n{pad}"))))
}

/// Joins the `%v`-like renderings of the non-nil arguments with spaces.
pub(crate) fn join_non_nil(a: &[Value], f: impl Fn(&Value) -> String) -> String {
    a.iter()
        .filter(|v| **v != Value::Nil)
        .map(f)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sprig's `strslice`.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .iter()
            .filter(|x| **x != Value::Nil)
            .map(to_string)
            .collect(),
        Value::Nil => Vec::new(),
        v => vec![to_string(v)],
    }
}

/// `strings.SplitN` (n < 0: all).
pub(crate) fn split_list(sep: &str, n: i64, s: &str) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    if sep.is_empty() {
        let mut parts: Vec<String> = s.chars().map(String::from).collect();
        if parts.len() > limit {
            let tail: String = parts[limit - 1..].concat();
            parts.truncate(limit - 1);
            parts.push(tail);
        }
        return parts;
    }
    s.splitn(limit, sep).map(String::from).collect()
}

/// Sprig's `split`/`splitn`: a `map[string]string` keyed `_0`, `_1`, ...
pub(crate) fn split(sep: &str, n: i64, s: &str) -> Value {
    let parts = split_list(sep, n, s);
    Value::Map(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (Value::String(format!("_{i}")), Value::String(p)))
            .collect(),
    )
}

/// Sprig's `sortAlpha`.
pub(crate) fn sort_alpha(a: &[Value]) -> FnResult {
    let mut l = match &a[0] {
        Value::List(_) => strslice(&a[0]),
        v => vec![to_string(v)],
    };
    l.sort();
    Ok(Value::from(l))
}

/// `strconv.Atoi`.
pub(crate) fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// spf13/cast's `ToInt64` (errors become 0).
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => {
            let mut t = s.as_str();
            if let Some((int, frac)) = s.split_once('.')
                && !frac.is_empty()
                && frac.bytes().all(|b| b == b'0')
            {
                t = int;
            }
            crate::gotemplate::literal::parse_int(t)
                .and_then(|x| i64::try_from(x).ok())
                .unwrap_or(0)
        }
        _ => 0,
    }
}

/// Applies `f` to a list argument, with Sprig's errors for anything else.
pub(crate) fn list_op(what: &str, v: &Value, f: impl Fn(&[Value]) -> Value) -> FnResult {
    match v {
        Value::List(l) => Ok(f(l)),
        Value::Nil => Err(NIL_DEREF.into()),
        v => Err(format!("Cannot {what} on type {}", kind(v))),
    }
}

/// Sprig's `uniq` (first occurrences, in order).
pub(crate) fn uniq(l: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

/// Sprig's `has needle haystack`.
pub(crate) fn has(a: &[Value]) -> FnResult {
    match &a[1] {
        Value::Nil => Ok(Value::Bool(false)),
        Value::List(l) => Ok(Value::Bool(l.contains(&a[0]))),
        v => Err(format!("Cannot find has on type {}", kind(v))),
    }
}

/// Sprig's `concat`.
pub(crate) fn concat(a: &[Value]) -> FnResult {
    let mut out = Vec::new();
    for v in a {
        match v {
            Value::List(l) => out.extend(l.iter().cloned()),
            Value::Nil => return Err(NIL_DEREF.into()),
            v => return Err(format!("Cannot concat type {} as list", kind(v))),
        }
    }
    Ok(Value::List(out))
}

/// Sprig's `slice list [start [end]]` (overrides Go's builtin `slice`).
pub(crate) fn slice(a: &[Value]) -> FnResult {
    match &a[0] {
        Value::List(l) if l.is_empty() => Ok(Value::Nil),
        Value::List(l) => {
            let start = a.get(1).map_or(0, to_int64);
            let end = a.get(2).map_or(l.len() as i64, to_int64);
            if start < 0 || end < start || end > l.len() as i64 {
                return Err("reflect.Value.Slice: slice index out of bounds".into());
            }
            Ok(Value::List(l[start as usize..end as usize].to_vec()))
        }
        Value::Nil => Err(NIL_DEREF.into()),
        v => Err(format!(
            "list should be type of slice or array but {}",
            kind(v)
        )),
    }
}

/// Sprig's `dict`.
pub(crate) fn dict(a: &[Value]) -> Value {
    let mut out: Vec<(String, Value)> = Vec::new();
    for pair in a.chunks(2) {
        let key = to_string(&pair[0]);
        let val = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
        match out.iter_mut().find(|e| e.0 == key) {
            Some(e) => e.1 = val,
            None => out.push((key, val)),
        }
    }
    Value::Dict(out)
}

/// Sprig's `keys`, sorted (Sprig returns Go's random map order).
pub(crate) fn keys(a: &[Value]) -> Value {
    let mut k: Vec<String> = a
        .iter()
        .flat_map(|d| match d {
            Value::Dict(m) => m.iter().map(|e| e.0.clone()).collect(),
            _ => Vec::new(),
        })
        .collect();
    k.sort();
    Value::from(k)
}

/// Looks a key up in a dict.
pub(crate) fn dict_get(d: &Value, key: &str) -> Option<Value> {
    match d {
        Value::Dict(m) => m.iter().find(|e| e.0 == key).map(|e| e.1.clone()),
        _ => None,
    }
}
