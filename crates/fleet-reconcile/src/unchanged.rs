//! Telling, without asking the server, that applying an object would
//! change nothing, so the server-side dry-run (one request per object)
//! can be skipped on an unchanged re-apply.
//!
//! The answer is yes only when all of these hold, and otherwise the object
//! is dry-run as before:
//! - the field manager has applied the object before (an `Apply` entry in
//!   `metadata.managedFields`, on the main resource);
//! - every value the desired object sets is in the live object, equal
//!   (maps key by key, lists element by element with the same length,
//!   numbers by value); a value the server would normalise (`1000m` for
//!   `1`) or default inside a list element the manifest also sets reads as
//!   different, and the dry-run decides;
//! - every field the manager owns is still in the desired object (else
//!   the apply would remove it); list entries keyed on values are found in
//!   the live list, which the desired one matches element by element, and
//!   ownership paths that cannot be matched count as not there.
//!
//! Under these conditions the apply sends the same values for the same
//! fields, so its result equals the live object and the dry-run would say
//! unchanged: it is what [`crate::drift::has_drifted`] would conclude,
//! reached without the request.
//!
//! ```
//! use fleet_reconcile::unchanged::provably_unchanged;
//! use serde_json::json;
//! let desired = json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "a"}, "data": {"k": "v"}});
//! let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "a", "resourceVersion": "9", "managedFields": [
//!         {"manager": "fleet", "operation": "Apply", "fieldsType": "FieldsV1",
//!          "fieldsV1": {"f:data": {"f:k": {}}}}]},
//!     "data": {"k": "v"}});
//! assert!(provably_unchanged(&desired, &live, "fleet"));
//! ```

use serde_json::{Map, Value};

/// Whether applying `desired` as `field_manager` would leave `live` as it
/// is (see the module documentation); `false` means "ask the server".
pub fn provably_unchanged(desired: &Value, live: &Value, field_manager: &str) -> bool {
    let Some(owned) = owned_fields(live, field_manager) else {
        return false;
    };
    contained(desired, live) && owned_within(owned, desired, live)
}

/// The `fieldsV1` of `field_manager`'s Apply entry on the main resource.
fn owned_fields<'a>(live: &'a Value, field_manager: &str) -> Option<&'a Map<String, Value>> {
    live.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|e| {
            e.get("manager").and_then(Value::as_str) == Some(field_manager)
                && e.get("operation").and_then(Value::as_str) == Some("Apply")
                && e.get("subresource")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
        })?
        .get("fieldsV1")?
        .as_object()
}

/// Every value `desired` sets is in `live`, equal.
fn contained(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d
            .iter()
            .all(|(k, v)| l.get(k).is_some_and(|lv| contained(v, lv))),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(d, l)| contained(d, l))
        }
        (Value::Number(d), Value::Number(l)) => d == l || d.as_f64() == l.as_f64(),
        _ => desired == live,
    }
}

/// Every path of the ownership trie `fields` exists in `desired`. List
/// entries keyed on values (`k:{…}`) are found in `live`, which the
/// desired list matches element by element ([`contained`] checked that),
/// so a key field the server defaulted (a port's `protocol`) still finds
/// its element.
fn owned_within(fields: &Map<String, Value>, desired: &Value, live: &Value) -> bool {
    fields.iter().all(|(key, sub)| {
        let sub = sub.as_object();
        let deeper = |d: &Value, l: &Value| sub.is_none_or(|s| owned_within(s, d, l));
        if key == "." {
            return true;
        }
        if let Some(name) = key.strip_prefix("f:") {
            return desired.get(name).is_some_and(|d| {
                !d.is_null() && deeper(d, live.get(name).unwrap_or(&Value::Null))
            });
        }
        let (Some(items), Some(live_items)) = (desired.as_array(), live.as_array()) else {
            return false;
        };
        if let Some(json) = key.strip_prefix("k:") {
            let Ok(Value::Object(wanted)) = serde_json::from_str::<Value>(json) else {
                return false;
            };
            let Some(index) = live_items.iter().position(|item| {
                wanted.iter().all(|(k, v)| {
                    item.get(k)
                        .is_some_and(|iv| contained(v, iv) && contained(iv, v))
                })
            }) else {
                return false;
            };
            return items
                .get(index)
                .is_some_and(|d| deeper(d, &live_items[index]));
        }
        if let Some(json) = key.strip_prefix("v:") {
            let Ok(value) = serde_json::from_str::<Value>(json) else {
                return false;
            };
            return items.contains(&value);
        }
        if let Some(index) = key.strip_prefix("i:") {
            return index.parse::<usize>().ok().is_some_and(|i| {
                items
                    .get(i)
                    .is_some_and(|d| deeper(d, live_items.get(i).unwrap_or(&Value::Null)))
            });
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(fields: Value, body: Value) -> Value {
        let mut live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "a", "resourceVersion": "3",
                "labels": {"app": "web"},
                "managedFields": [
                    {"manager": "kube-controller-manager", "operation": "Update",
                     "subresource": "status", "fieldsV1": {"f:status": {}}},
                    {"manager": "fleet", "operation": "Apply", "fieldsType": "FieldsV1",
                     "fieldsV1": fields}]},
            "status": {"replicas": 2}});
        if let (Some(l), Value::Object(b)) = (live.as_object_mut(), body) {
            l.extend(b);
        }
        live
    }

    fn desired(spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "a", "labels": {"app": "web"}},
               "spec": spec})
    }

    fn owned() -> Value {
        json!({"f:metadata": {"f:labels": {"f:app": {}}},
               "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                   "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
    }

    fn spec(replicas: i64, image: &str) -> Value {
        json!({"replicas": replicas, "template": {"spec": {"containers": [
            {"name": "web", "image": image}]}}})
    }

    fn live_spec(replicas: i64, image: &str) -> Value {
        json!({"spec": {"replicas": replicas, "progressDeadlineSeconds": 600,
            "template": {"spec": {"containers": [{"name": "web", "image": image,
                "imagePullPolicy": "IfNotPresent"}]}}}})
    }

    #[test]
    fn the_same_values_on_the_same_owned_fields_are_unchanged() {
        let live = live(owned(), live_spec(2, "nginx:1"));
        assert!(provably_unchanged(
            &desired(spec(2, "nginx:1")),
            &live,
            "fleet"
        ));
    }

    #[test]
    fn a_changed_value_a_dropped_field_or_another_manager_ask_the_server() {
        let live = live(owned(), live_spec(2, "nginx:1"));
        // kubectl scale: the live value differs.
        assert!(!provably_unchanged(
            &desired(spec(3, "nginx:1")),
            &live,
            "fleet"
        ));
        // The manifest no longer sets replicas, which fleet owns: the apply
        // would remove it.
        let without = desired(json!({"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1"}]}}}));
        assert!(!provably_unchanged(&without, &live, "fleet"));
        // Never applied by this manager.
        assert!(!provably_unchanged(
            &desired(spec(2, "nginx:1")),
            &live,
            "kustomize-controller"
        ));
        // A container added by someone else: the list differs in length.
        let mut crowded = live.clone();
        if let Some(list) = crowded
            .pointer_mut("/spec/template/spec/containers")
            .and_then(Value::as_array_mut)
        {
            list.push(json!({"name": "sidecar", "image": "envoy"}));
        }
        assert!(!provably_unchanged(
            &desired(spec(2, "nginx:1")),
            &crowded,
            "fleet"
        ));
    }

    #[test]
    fn list_keys_and_set_values_are_matched_through_the_live_list() {
        let fields = json!({"f:spec": {"f:ports": {
            "k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}},
            "f:finalizers": {"v:\"a\"": {}}}});
        let fields = fields.as_object().cloned().unwrap_or_default();
        let live = json!({"spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                                   "finalizers": ["a"]}});
        // The server defaulted the protocol the manifest leaves out: the
        // entry is found in the live list, at the same position.
        let desired = json!({"spec": {"ports": [{"port": 80}], "finalizers": ["a"]}});
        assert!(owned_within(&fields, &desired, &live));
        // An owned entry the live list lacks is not provable.
        let udp =
            json!({"spec": {"ports": [{"port": 80, "protocol": "UDP"}], "finalizers": ["a"]}});
        assert!(!owned_within(&fields, &desired, &udp));
        // A set value the manifest dropped would be removed.
        let no_finalizer = json!({"spec": {"ports": [{"port": 80}], "finalizers": []}});
        assert!(!owned_within(&fields, &no_finalizer, &live));
    }
}
