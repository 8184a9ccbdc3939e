//! Drift: whether a server-side dry-run of the desired object differs from
//! the live object, as fluxcd/pkg `ssa` decides it today (`hasDrifted`):
//! labels, annotations, and the whole object outside `metadata` and
//! `status`, compared with Kubernetes' `Semantic.DeepEqual`. The dry-run
//! answer is the whole object the apply would leave, so a field the apply
//! would remove (one the field manager owns and the manifest dropped) is
//! drift too. (Older fluxcd/pkg releases compared with `DeepDerivative`,
//! which let such removals go unapplied.)

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
        if !semantic_eq(desired, actual) {
            return true;
        }
    }
    let (Value::Object(desired), Value::Object(actual)) = (dry_run, live) else {
        return dry_run != live;
    };
    let outside = |(key, _): &(&String, &Value)| *key != "metadata" && *key != "status";
    let desired: Vec<_> = desired.iter().filter(outside).collect();
    let actual: Vec<_> = actual.iter().filter(outside).collect();
    desired.len() != actual.len()
        || desired.iter().any(|(key, value)| {
            !actual
                .iter()
                .find(|(k, _)| k == key)
                .is_some_and(|(_, v)| semantic_eq(value, v))
        })
}

/// `Semantic.DeepEqual` on JSON: structural equality where a missing or
/// null map or list equals an empty one, and numbers compare by value.
fn semantic_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, Value::Object(m)) | (Value::Object(m), Value::Null) => m.is_empty(),
        (Value::Null, Value::Array(v)) | (Value::Array(v), Value::Null) => v.is_empty(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| semantic_eq(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| semantic_eq(v, w))
        }
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
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
            "metadata": {"name": "c", "resourceVersion": "5", "labels": {"x": "1", "extra": "kubectl"}},
            "data": {"a": "1", "b": "2"}, "status": {"anything": true}});
        assert!(!has_drifted(&live(), &dry));
    }

    #[test]
    fn what_the_apply_would_remove_is_drift() {
        // The dry-run answer is the object after the apply: a label or a
        // data key missing from it would be removed.
        let without_label = json!({"metadata": {"resourceVersion": "5", "labels": {"x": "1"}},
            "data": {"a": "1", "b": "2"}});
        assert!(has_drifted(&live(), &without_label));
        let without_key = json!({"metadata": {"resourceVersion": "5",
            "labels": {"x": "1", "extra": "kubectl"}}, "data": {"a": "1"}});
        assert!(has_drifted(&live(), &without_key));
        // An empty map is no map.
        let empty = json!({"metadata": {"resourceVersion": "1", "annotations": {}}});
        let bare = json!({"metadata": {"resourceVersion": "1"}});
        assert!(!has_drifted(&bare, &empty));
    }

    #[test]
    fn changed_values_labels_and_annotations_are_drift() {
        let base = json!({"metadata": {"resourceVersion": "5", "labels": {"x": "1", "extra": "kubectl"}}, "data": {"a": "1", "b": "2"}});
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
