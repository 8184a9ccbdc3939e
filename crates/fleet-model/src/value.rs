//! An order-preserving, lossless value tree for Kubernetes manifests.
//!
//! [`Value`] is what every fleet crate passes around when it does not need a
//! typed object: keys keep the order they were written in, numbers keep the
//! text they were written with (`1.0` stays `1.0`, `0x1F` stays `0x1F`), and a
//! quoted `"123"` stays a string. It converts to and from `serde_json::Value`
//! for typed (de)serialisation.

use indexmap::IndexMap;
use std::fmt;

/// A mapping with keys in insertion order.
pub type Mapping = IndexMap<String, Value>;

/// One node of a manifest: null, boolean, number, string, sequence or mapping.
///
/// ```
/// use fleet_model::Value;
/// let v = fleet_model::yaml::parse_one("replicas: 3\nname: '007'\n").unwrap();
/// assert_eq!(v.get("replicas").and_then(Value::as_i64), Some(3));
/// assert_eq!(v.get("name").and_then(Value::as_str), Some("007"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`, `~` or an empty node.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer or floating-point number, kept as written.
    Number(Number),
    /// A string.
    String(String),
    /// A sequence.
    Sequence(Vec<Value>),
    /// A mapping with string keys, in document order.
    Mapping(Mapping),
}

/// A number kept exactly as it was written (YAML 1.2 core schema or JSON).
///
/// The text is validated on construction, so conversions never see junk.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number {
    text: String,
    kind: NumberKind,
}

/// Whether a [`Number`] is an integer or a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberKind {
    /// An integer: decimal, `0o` octal or `0x` hexadecimal.
    Int,
    /// A float, including `.inf`, `-.inf` and `.nan`.
    Float,
}

impl Number {
    /// Parses number text as YAML 1.2's core schema (and therefore JSON) reads it.
    ///
    /// Returns `None` when the text is not a number.
    pub fn parse(text: &str) -> Option<Number> {
        let kind = classify_number(text)?;
        Some(Number {
            text: text.to_string(),
            kind,
        })
    }

    /// The text as written.
    pub fn as_text(&self) -> &str {
        &self.text
    }

    /// Whether this is an integer or a float.
    pub fn kind(&self) -> NumberKind {
        self.kind
    }

    /// The value as `i64`, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self.kind {
            NumberKind::Int => parse_int(&self.text).and_then(|v| i64::try_from(v).ok()),
            NumberKind::Float => None,
        }
    }

    /// The value as `u64`, if it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match self.kind {
            NumberKind::Int => parse_int(&self.text).and_then(|v| u64::try_from(v).ok()),
            NumberKind::Float => None,
        }
    }

    /// The value as `f64` (integers are converted).
    pub fn as_f64(&self) -> f64 {
        match self.kind {
            NumberKind::Int => parse_int(&self.text).map_or(f64::NAN, |v| v as f64),
            NumberKind::Float => parse_float(&self.text),
        }
    }

    /// The number as JSON text: the original text when it is already valid
    /// JSON, otherwise its canonical decimal form. Non-finite floats have no
    /// JSON form and give `None`.
    pub fn to_json_text(&self) -> Option<String> {
        if is_json_number(&self.text) {
            return Some(self.text.clone());
        }
        match self.kind {
            NumberKind::Int => parse_int(&self.text).map(|v| v.to_string()),
            NumberKind::Float => {
                let f = parse_float(&self.text);
                f.is_finite().then(|| format_float(f))
            }
        }
    }

    /// Builds a number from an `i64`.
    pub fn from_i64(v: i64) -> Number {
        Number {
            text: v.to_string(),
            kind: NumberKind::Int,
        }
    }

    /// Builds a number from a `u64`.
    pub fn from_u64(v: u64) -> Number {
        Number {
            text: v.to_string(),
            kind: NumberKind::Int,
        }
    }

    /// Builds a number from an `f64`; `.inf`, `-.inf` and `.nan` for non-finite values.
    pub fn from_f64(v: f64) -> Number {
        let text = if v.is_nan() {
            ".nan".to_string()
        } else if v.is_infinite() {
            if v > 0.0 { ".inf" } else { "-.inf" }.to_string()
        } else {
            format_float(v)
        };
        Number {
            text,
            kind: NumberKind::Float,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Formats a finite float so that it reads back as a float (`1.0`, not `1`).
fn format_float(f: f64) -> String {
    let s = format!("{f:?}");
    if s.contains(['.', 'e', 'E']) || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// The number text with yaml's `_` digit separators removed.
fn without_underscores(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('_') {
        std::borrow::Cow::Owned(text.replace('_', ""))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Reads an integer the way Go's `strconv.ParseInt(s, 0, 64)` does after
/// yaml.v3 removed the underscores: sign, then `0x`, `0o`, `0b`, a leading `0`
/// for octal, or decimal; the result must fit in `i64` or `u64`.
///
/// ```
/// use fleet_model::value::parse_go_int;
/// assert_eq!(parse_go_int("0x1F"), Some(31));
/// assert_eq!(parse_go_int("-010"), Some(-8));
/// assert_eq!(parse_go_int("1_000"), Some(1000));
/// assert_eq!(parse_go_int("18446744073709551616"), None);
/// ```
pub fn parse_go_int(text: &str) -> Option<i128> {
    parse_int(text)
}

fn parse_int(text: &str) -> Option<i128> {
    let plain = without_underscores(text);
    let plain: &str = &plain;
    let (neg, body) = match plain.as_bytes().first() {
        Some(b'-') => (true, &plain[1..]),
        Some(b'+') => (false, &plain[1..]),
        _ => (false, plain),
    };
    let lower_owned;
    let lower: &str = if body.bytes().any(|b| b.is_ascii_uppercase()) {
        lower_owned = body.to_ascii_lowercase();
        &lower_owned
    } else {
        body
    };
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    let value = if neg { -magnitude } else { magnitude };
    let fits = i64::try_from(value).is_ok() || (!neg && u64::try_from(value).is_ok());
    fits.then_some(value)
}

/// YAML's spellings of infinity and not-a-number.
fn is_special_float(text: &str) -> bool {
    matches!(
        text,
        ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
    )
}

fn parse_float(text: &str) -> f64 {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => f64::INFINITY,
        "-.inf" | "-.Inf" | "-.INF" => f64::NEG_INFINITY,
        ".nan" | ".NaN" | ".NAN" => f64::NAN,
        _ => text.replace('_', "").parse::<f64>().unwrap_or(f64::NAN),
    }
}

/// Classifies a plain scalar as kustomize's YAML library (go-yaml v3) resolves
/// numbers: integers as Go's `ParseInt` reads them once underscores are
/// removed (so `0755` is octal and `1_000` is an integer), then floats matching
/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, and the `.inf` and
/// `.nan` spellings.
pub(crate) fn classify_number(text: &str) -> Option<NumberKind> {
    if is_special_float(text) {
        return Some(NumberKind::Float);
    }
    match text.as_bytes().first() {
        Some(c) if c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.') => {}
        _ => return None,
    }
    if parse_int(text).is_some() {
        return Some(NumberKind::Int);
    }
    let plain = without_underscores(text);
    let plain: &str = &plain;
    let body = plain.strip_prefix(['-', '+']).unwrap_or(plain);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            int.bytes().all(|c| c.is_ascii_digit())
                && frac.bytes().all(|c| c.is_ascii_digit())
                && (!int.is_empty() || !frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|c| c.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
    });
    // Go's `strconv.ParseFloat` fails with a range error past the largest
    // float64, and the YAML libraries then read the text as a string
    // (go-yaml `resolve.go`): `1e999` is a string, not infinity.
    (mantissa_ok && exponent_ok && parse_float(text).is_finite()).then_some(NumberKind::Float)
}

fn is_json_number(text: &str) -> bool {
    // -? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][-+]?[0-9]+)?
    let body = text.strip_prefix('-').unwrap_or(text);
    let (int_end, rest) = match body.find(['.', 'e', 'E']) {
        Some(i) => (&body[..i], &body[i..]),
        None => (body, ""),
    };
    let int_ok = int_end == "0"
        || (!int_end.is_empty()
            && !int_end.starts_with('0')
            && int_end.bytes().all(|c| c.is_ascii_digit()));
    if !int_ok {
        return false;
    }
    let (frac, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let frac_ok =
        frac.is_empty() || (frac.len() > 1 && frac[1..].bytes().all(|c| c.is_ascii_digit()));
    let exp_ok = exp.is_none_or(|e| {
        let d = e.strip_prefix(['-', '+']).unwrap_or(e);
        !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit())
    });
    frac_ok && exp_ok
}

impl Value {
    /// The value at `key` if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Mapping(m) => m.get(key),
            _ => None,
        }
    }

    /// A mutable reference to the value at `key` if this is a mapping that has it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match self {
            Value::Mapping(m) => m.get_mut(key),
            _ => None,
        }
    }

    /// Follows a path of mapping keys, e.g. `["metadata", "name"]`.
    pub fn pointer<'a>(&'a self, path: &[&str]) -> Option<&'a Value> {
        path.iter().try_fold(self, |v, k| v.get(k))
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer, if this is an integer number that fits in `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The mapping, if this is a mapping.
    pub fn as_mapping(&self) -> Option<&Mapping> {
        match self {
            Value::Mapping(m) => Some(m),
            _ => None,
        }
    }

    /// The mapping, mutably, if this is a mapping.
    pub fn as_mapping_mut(&mut self) -> Option<&mut Mapping> {
        match self {
            Value::Mapping(m) => Some(m),
            _ => None,
        }
    }

    /// The sequence, if this is a sequence.
    pub fn as_sequence(&self) -> Option<&[Value]> {
        match self {
            Value::Sequence(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A short name of this value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Sequence(_) => "sequence",
            Value::Mapping(_) => "mapping",
        }
    }

    /// Converts to a `serde_json::Value` (key order is kept).
    ///
    /// Fails only for non-finite floats, which JSON cannot hold.
    pub fn to_json_value(&self) -> Result<serde_json::Value, NonFiniteNumber> {
        Ok(match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => {
                let text = n
                    .to_json_text()
                    .ok_or_else(|| NonFiniteNumber(n.text.clone()))?;
                let parsed: serde_json::Number =
                    text.parse().map_err(|_| NonFiniteNumber(n.text.clone()))?;
                serde_json::Value::Number(parsed)
            }
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Sequence(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(Value::to_json_value)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Mapping(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), v.to_json_value()?)))
                    .collect::<Result<_, NonFiniteNumber>>()?,
            ),
        })
    }
}

/// A float such as `.inf` or `.nan` that has no JSON form.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the number {0} has no JSON form (JSON has no infinity or NaN)")]
pub struct NonFiniteNumber(pub String);

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => {
                let text = n.to_string();
                Value::Number(
                    Number::parse(&text)
                        .unwrap_or_else(|| Number::from_f64(n.as_f64().unwrap_or(f64::NAN))),
                )
            }
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => {
                Value::Sequence(a.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(o) => {
                Value::Mapping(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Number(Number::from_i64(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_classified_as_yaml_core_schema_does() {
        for (text, kind) in [
            ("0", Some(NumberKind::Int)),
            ("-12", Some(NumberKind::Int)),
            ("+7", Some(NumberKind::Int)),
            ("0x1F", Some(NumberKind::Int)),
            ("0o17", Some(NumberKind::Int)),
            ("1.0", Some(NumberKind::Float)),
            (".5", Some(NumberKind::Float)),
            ("1.", Some(NumberKind::Float)),
            ("1e3", Some(NumberKind::Float)),
            ("-1.5E-3", Some(NumberKind::Float)),
            (".inf", Some(NumberKind::Float)),
            (".nan", Some(NumberKind::Float)),
            ("1_000", Some(NumberKind::Int)),
            ("0755", Some(NumberKind::Int)),
            ("0b101", Some(NumberKind::Int)),
            ("09", Some(NumberKind::Float)),
            ("18446744073709551616", Some(NumberKind::Float)),
            ("1e999", None),
            ("-1e999", None),
            ("1e-999", Some(NumberKind::Float)),
            ("_1", None),
            ("0x", None),
            ("1.2.3", None),
            ("e3", None),
            (".", None),
            ("600Mi", None),
            ("", None),
        ] {
            assert_eq!(classify_number(text), kind, "{text}");
        }
    }

    #[test]
    fn json_text_keeps_valid_json_and_canonicalises_the_rest() {
        let n = |t: &str| Number::parse(t).map(|n| n.to_json_text());
        assert_eq!(n("1.50"), Some(Some("1.50".into())));
        assert_eq!(n("0x1F"), Some(Some("31".into())));
        assert_eq!(n("+7"), Some(Some("7".into())));
        assert_eq!(n(".5"), Some(Some("0.5".into())));
        assert_eq!(n("0755"), Some(Some("493".into())));
        assert_eq!(n("1_000"), Some(Some("1000".into())));
        assert_eq!(n(".inf"), Some(None));
    }

    #[test]
    fn integers_convert_within_range_only() {
        let big = Number::parse("18446744073709551615").map(|n| (n.as_i64(), n.as_u64()));
        assert_eq!(big, Some((None, Some(u64::MAX))));
        assert_eq!(Number::parse("-3").and_then(|n| n.as_u64()), None);
    }

    #[test]
    fn floats_from_f64_read_back_as_floats() {
        assert_eq!(Number::from_f64(1.0).as_text(), "1.0");
        assert_eq!(Number::from_f64(f64::NEG_INFINITY).as_text(), "-.inf");
        assert_eq!(Number::from_f64(2.5).kind(), NumberKind::Float);
    }
}
