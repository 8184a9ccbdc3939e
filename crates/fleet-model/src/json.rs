//! Writes [`Value`] trees as JSON, keeping key order and number text.
//!
//! `serde_json` would re-format numbers through `f64` (`1.50` becomes `1.5`),
//! so the writer is a small one of ours; string escaping is delegated to
//! `serde_json`.
//!
//! ```
//! let v = fleet_model::yaml::parse_one("b: 1.50\na: [x]\n").unwrap();
//! assert_eq!(fleet_model::json::to_string(&v).unwrap(), r#"{"b":1.50,"a":["x"]}"#);
//! ```

use crate::value::{NonFiniteNumber, Value};

/// Compact JSON.
pub fn to_string(value: &Value) -> Result<String, NonFiniteNumber> {
    let mut out = String::new();
    write(&mut out, value, None)?;
    Ok(out)
}

/// JSON indented by two spaces, as `serde_json::to_string_pretty` lays it out.
pub fn to_string_pretty(value: &Value) -> Result<String, NonFiniteNumber> {
    let mut out = String::new();
    write(&mut out, value, Some(0))?;
    Ok(out)
}

fn newline(out: &mut String, indent: Option<usize>) {
    if let Some(n) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', n));
    }
}

fn write(out: &mut String, value: &Value, indent: Option<usize>) -> Result<(), NonFiniteNumber> {
    let inner = indent.map(|n| n + 2);
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let text = n
                .to_json_text()
                .ok_or_else(|| NonFiniteNumber(n.as_text().to_string()))?;
            out.push_str(&text);
        }
        Value::String(s) => push_string(out, s),
        Value::Sequence(items) if items.is_empty() => out.push_str("[]"),
        Value::Sequence(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, inner);
                write(out, item, inner)?;
            }
            newline(out, indent);
            out.push(']');
        }
        Value::Mapping(m) if m.is_empty() => out.push_str("{}"),
        Value::Mapping(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, inner);
                push_string(out, k);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write(out, v, inner)?;
            }
            newline(out, indent);
            out.push('}');
        }
    }
    Ok(())
}

fn push_string(out: &mut String, s: &str) {
    // Serialising a &str to JSON cannot fail.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_one;

    #[test]
    fn pretty_output_matches_serde_json_layout() {
        let v = parse_one("a: {b: [1, 2], c: {}}\nd: \"q\\\"\"\n").unwrap_or_default();
        let ours = to_string_pretty(&v).unwrap_or_default();
        let theirs = v
            .to_json_value()
            .ok()
            .and_then(|j| serde_json::to_string_pretty(&j).ok())
            .unwrap_or_default();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn non_finite_numbers_are_refused() {
        let v = parse_one("a: .inf\n").unwrap_or_default();
        assert!(to_string(&v).is_err());
    }
}
