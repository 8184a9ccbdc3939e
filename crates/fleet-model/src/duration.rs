//! Go duration strings (`metav1.Duration`), as Flux and Cluster API write them.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::time::Duration as StdDuration;

/// A duration written as Go writes it: `10m`, `1h30m`, `1.5s`, `500ms`.
///
/// The text is kept as written; [`GoDuration::to_std`] reads it.
///
/// ```
/// use fleet_model::GoDuration;
/// assert_eq!(GoDuration::from("1m30s").to_std().unwrap().as_secs(), 90);
/// assert!(GoDuration::from("10 minutes").to_std().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GoDuration(pub String);

/// A duration string Go's `time.ParseDuration` would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?}: use Go's form, e.g. 30s, 5m, 1h30m, 500ms")]
pub struct DurationError(pub String);

impl From<&str> for GoDuration {
    fn from(s: &str) -> Self {
        GoDuration(s.to_string())
    }
}

impl GoDuration {
    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses like Go's `time.ParseDuration` (units ns, us, µs, ms, s, m, h;
    /// an optional sign; `0` alone). Negative durations are refused.
    pub fn to_std(&self) -> Result<StdDuration, DurationError> {
        parse_go_duration(&self.0).ok_or_else(|| DurationError(self.0.clone()))
    }

    /// Formats a duration as Go's `Duration.String()` does (`1h0m0s`, `5m0s`, `1.5s`, `0s`).
    pub fn format(d: StdDuration) -> String {
        format_go_duration(d)
    }
}

fn parse_go_duration(s: &str) -> Option<StdDuration> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Some(StdDuration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return None;
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_end];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += value * nanos_per_unit;
    }
    (total.is_finite() && total < 9.3e18).then(|| StdDuration::from_nanos(total.round() as u64))
}

fn format_go_duration(d: StdDuration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000_000_000 {
        let (unit, div) = if nanos < 1_000 {
            ("ns", 1u128)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", trim_fraction(nanos, div));
    }
    let secs_total = nanos / 1_000_000_000;
    let h = secs_total / 3600;
    let m = (secs_total % 3600) / 60;
    let s = trim_fraction(nanos % 60_000_000_000, 1_000_000_000);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

fn trim_fraction(value: u128, div: u128) -> String {
    let whole = value / div;
    let frac = value % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl JsonSchema for GoDuration {
    fn schema_name() -> Cow<'static, str> {
        "GoDuration".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_forms() {
        let secs = |s: &str| GoDuration::from(s).to_std().map(|d| d.as_millis());
        assert_eq!(secs("1h30m"), Ok(5_400_000));
        assert_eq!(secs("1.5s"), Ok(1_500));
        assert_eq!(secs("500ms"), Ok(500));
        assert_eq!(secs("0"), Ok(0));
        assert!(secs("5").is_err());
        assert!(secs("-5s").is_err());
        assert!(secs("5d").is_err());
        assert!(secs("").is_err());
    }

    #[test]
    fn formats_as_go_does() {
        assert_eq!(GoDuration::format(StdDuration::from_secs(600)), "10m0s");
        assert_eq!(GoDuration::format(StdDuration::from_secs(3600)), "1h0m0s");
        assert_eq!(GoDuration::format(StdDuration::from_millis(1500)), "1.5s");
        assert_eq!(GoDuration::format(StdDuration::ZERO), "0s");
        assert_eq!(GoDuration::format(StdDuration::from_millis(20)), "20ms");
    }
}
