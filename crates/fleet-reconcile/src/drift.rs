//! Drift: whether a server-side dry-run of the desired object differs from
//! the live object, as fluxcd/pkg `ssa` decides it (`hasDrifted`): labels,
//! annotations, and the whole object outside `metadata` and `status`,
//! compared with Kubernetes' `Semantic.DeepDerivative` (what the desired
//! side leaves unset or empty does not count).

use serde_json::Value;

/// Whether `dry_run` (the server's answer to a dry-run apply) differs from
/// `live`. An object the server would create (no `resourceVersion`) has
/// always drifted.
///
/// ```
/// use serde_json::json;
/// use fleet_reconcile::drift::has_drifted;
/// let live = json!({"metadata": {"resourceVersion": "7", "labels": {"a": "1"},
///     "managedFields": []}, "spec": {"replicas": 2}, "status": {"ready": 1}});
/// let same = json!({"metadata": {"resourceVersion": "7", "labels": {"a": "1"}},
///     "spec": {"replicas": 2}, "status": {"ready": 0}});
/// assert!(!has_drifted(&live, &same));
/// let scaled = json!({"metadata": {"resourceVersion": "7", "labels": {"a": "1"}}, "spec": {"replicas": 3}});
/// assert!(has_drifted(&live, &scaled));
/// ```
pub fn has_drifted(live: &Value, dry_run: &Value) -> bool {
    let resource_version = dry_run
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if resource_version.is_empty() {
        return true;
    }
    for field in ["/metadata/labels", "/metadata/annotations"] {
        let desired = dry_run.pointer(field).unwrap_or(&Value::Null);
        let actual = live.pointer(field).unwrap_or(&Value::Null);
        if !derivative(desired, actual) {
            return true;
        }
    }
    let (Value::Object(desired), Value::Object(actual)) = (dry_run, live) else {
        return dry_run != live;
    };
    desired
        .iter()
        .filter(|(key, _)| *key != "metadata" && *key != "status")
        .any(|(key, value)| !derivative(value, actual.get(key).unwrap_or(&Value::Null)))
}

/// `Semantic.DeepDerivative(desired, actual)` on JSON: null, empty strings
/// and missing map keys on the desired side match anything; lists must have
/// the same length (a nil list matches anything, an empty one only an empty
/// one); numbers compare by value.
fn derivative(desired: &Value, actual: &Value) -> bool {
    match (desired, actual) {
        (Value::Null, _) => true,
        (Value::String(d), _) if d.is_empty() => true,
        (Value::Object(d), Value::Object(a)) => d
            .iter()
            .all(|(k, v)| derivative(v, a.get(k).unwrap_or(&Value::Null))),
        (Value::Object(d), Value::Null) => d.values().all(|v| derivative(v, &Value::Null)),
        (Value::Array(d), Value::Array(a)) => {
            d.len() == a.len() && d.iter().zip(a).all(|(d, a)| derivative(d, a))
        }
        (Value::Number(d), Value::Number(a)) => d.as_f64() == a.as_f64(),
        _ => desired == actual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "resourceVersion": "5", "uid": "u", "labels": {"x": "1", "extra": "kubectl"},
                "managedFields": [{"manager": "fleet"}]},
            "data": {"a": "1", "b": "2"}})
    }

    #[test]
    fn a_dry_run_without_resource_version_is_a_creation() {
        assert!(has_drifted(
            &Value::Null,
            &json!({"metadata": {"name": "c"}})
        ));
    }

    #[test]
    fn metadata_bookkeeping_and_status_are_not_drift() {
        let dry = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "resourceVersion": "5", "labels": {"x": "1"}},
            "data": {"a": "1", "b": "2"}, "status": {"anything": true}});
        assert!(
            !has_drifted(&live(), &dry),
            "labels only the live side has are not drift"
        );
    }

    #[test]
    fn changed_values_labels_and_annotations_are_drift() {
        let base = json!({"metadata": {"resourceVersion": "5", "labels": {"x": "1"}}, "data": {"a": "1", "b": "2"}});
        let mut value = base.clone();
        value["data"]["a"] = json!("9");
        assert!(has_drifted(&live(), &value));
        let mut label = base.clone();
        label["metadata"]["labels"]["x"] = json!("2");
        assert!(has_drifted(&live(), &label));
        let mut annotation = base;
        annotation["metadata"]["annotations"] = json!({"note": "new"});
        assert!(has_drifted(&live(), &annotation));
    }

    #[test]
    fn lists_compare_by_length_and_element() {
        let live = json!({"metadata": {"resourceVersion": "1"}, "spec": {"ports": [{"port": 80}, {"port": 443}]}});
        let fewer =
            json!({"metadata": {"resourceVersion": "1"}, "spec": {"ports": [{"port": 80}]}});
        assert!(has_drifted(&live, &fewer));
        let same = json!({"metadata": {"resourceVersion": "1"}, "spec": {"ports": [{"port": 80.0}, {"port": 443}]}});
        assert!(!has_drifted(&live, &same));
    }
}
