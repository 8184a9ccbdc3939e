//! Printing a build as `kubectl kustomize` prints it.
//!
//! kustomize marshals each resource to JSON and back through go-yaml v2
//! (`sigs.k8s.io/yaml`), so its output has every mapping's keys in v2's
//! natural order, numbers in Go's canonical form (integers in decimal,
//! floats as `strconv.FormatFloat(f, 'g', -1, 64)` unless they are
//! integral), and long scalars folded at 80 columns.

use crate::transform::json6902::format_go_float;
use fleet_model::value::NumberKind;
use fleet_model::yaml::{WriteOptions, to_string_documents_with};
use fleet_model::{Number, Value};

/// Renders resources (already passed through [`normalize_numbers`]) as
/// kustomize's YAML stream.
pub fn to_yaml(resources: &[Value]) -> String {
    to_string_documents_with(resources, WriteOptions::kustomize())
}

/// Rewrites numbers, in place, as they come out of Go's JSON round trip.
pub fn normalize_numbers(v: &mut Value) {
    match v {
        Value::Number(n) => *n = go_number(n),
        Value::Sequence(items) => items.iter_mut().for_each(normalize_numbers),
        Value::Mapping(m) => m.values_mut().for_each(normalize_numbers),
        _ => {}
    }
}

fn go_number(n: &Number) -> Number {
    if n.kind() == NumberKind::Int {
        if let Some(i) = n.as_i64() {
            return Number::from_i64(i);
        }
        if let Some(u) = n.as_u64() {
            return Number::from_u64(u);
        }
    }
    let f = n.as_f64();
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 {
        return Number::from_i64(f as i64);
    }
    Number::parse(&format_go_float(f)).unwrap_or_else(|| n.clone())
}
