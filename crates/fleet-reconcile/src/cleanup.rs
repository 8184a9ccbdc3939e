//! kustomize-controller's metadata clean-up before an apply (its
//! `ApplyCleanupOptions`, done by `fluxcd/pkg/ssa`): what `kubectl edit`,
//! `kubectl apply` or an older controller wrote is handed to the apply's
//! field manager, so the next server-side apply, which does not set those
//! fields, removes them. That is how a kubectl edit gets reverted under
//! `kustomize.toolkit.fluxcd.io/ssa: Override` (the default); objects
//! marked `ssa: Merge` are left alone, and other tools' fields stay.
//!
//! - The annotations `kubectl.kubernetes.io/last-applied-configuration`,
//!   `kustomize.toolkit.fluxcd.io/checksum`, `fluxcd.io/sync-checksum` and
//!   `fluxcd.io/sync-gc-mark` are removed.
//! - `metadata.managedFields` entries of the managers whose name starts with
//!   `kubectl` (Apply and Update), `before-first-apply` (Update) and the
//!   apply's own field manager (Update), on the main resource (not a
//!   subresource such as `status` or `scale`), are merged into the field
//!   manager's Apply entry (a union of the field sets).
//!
//! ```
//! use fleet_reconcile::cleanup::cleanup_patch;
//! use serde_json::json;
//! let desired = json!({"metadata": {"name": "web"}});
//! let live = json!({"metadata": {"name": "web", "managedFields": [
//!     {"manager": "fleet", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
//!      "fieldsV1": {"f:data": {"f:a": {}}}},
//!     {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
//!      "fieldsV1": {"f:data": {"f:extra": {}}}}]}});
//! let patch = cleanup_patch(&desired, &live, "fleet").unwrap();
//! assert_eq!(patch["metadata"]["managedFields"][0]["fieldsV1"],
//!            json!({"f:data": {"f:a": {}, "f:extra": {}}}));
//! ```

use crate::apply::{SSA_KEY, metadata_value};
use serde_json::{Map, Value};

/// Annotations removed before an apply.
pub const CLEANUP_ANNOTATIONS: [&str; 4] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "kustomize.toolkit.fluxcd.io/checksum",
    "fluxcd.io/sync-checksum",
    "fluxcd.io/sync-gc-mark",
];

/// Whether a managed-fields entry is one the clean-up takes over: its
/// manager starts with `kubectl` (Apply or Update), or is
/// `before-first-apply` or `field_manager` itself with an Update, and it is
/// not about a subresource.
fn taken_over(entry: &Value, field_manager: &str) -> bool {
    let manager = entry.get("manager").and_then(Value::as_str).unwrap_or("");
    let operation = entry.get("operation").and_then(Value::as_str).unwrap_or("");
    let subresource = entry
        .get("subresource")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !subresource.is_empty() {
        return false;
    }
    match operation {
        "Apply" => manager.starts_with("kubectl"),
        "Update" => {
            manager.starts_with("kubectl")
                || manager.starts_with("before-first-apply")
                || manager.starts_with(field_manager)
        }
        _ => false,
    }
}

/// The merge patch that cleans `live` up before `desired` is applied by
/// `field_manager`, or `None` when there is nothing to clean (or `desired`
/// is marked `ssa: Merge`).
pub fn cleanup_patch(desired: &Value, live: &Value, field_manager: &str) -> Option<Value> {
    if metadata_value(desired, SSA_KEY) == Some("Merge") {
        return None;
    }
    let mut metadata = Map::new();
    if let Some(annotations) = live
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        let removed: Map<String, Value> = CLEANUP_ANNOTATIONS
            .iter()
            .filter(|key| annotations.contains_key(**key))
            .map(|key| (key.to_string(), Value::Null))
            .collect();
        if !removed.is_empty() {
            metadata.insert("annotations".to_string(), Value::Object(removed));
        }
    }
    if let Some(entries) = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        && let Some(merged) = merged_entries(entries, field_manager)
    {
        metadata.insert("managedFields".to_string(), Value::Array(merged));
    }
    if metadata.is_empty() {
        return None;
    }
    let mut patch = Map::new();
    patch.insert("metadata".to_string(), Value::Object(metadata));
    Some(Value::Object(patch))
}

/// The managed-fields list with every taken-over entry merged into
/// `field_manager`'s Apply entry (placed last), or `None` when no entry is
/// taken over.
fn merged_entries(entries: &[Value], field_manager: &str) -> Option<Vec<Value>> {
    let is_own_apply = |e: &Value| {
        e.get("manager").and_then(Value::as_str) == Some(field_manager)
            && e.get("operation").and_then(Value::as_str) == Some("Apply")
    };
    let mut own: Option<Value> = entries.iter().rev().find(|e| is_own_apply(e)).cloned();
    let mut kept = Vec::with_capacity(entries.len());
    let mut edited = false;
    for entry in entries {
        if own.as_ref() == Some(entry) {
            continue;
        }
        if !taken_over(entry, field_manager) {
            kept.push(entry.clone());
            continue;
        }
        edited = true;
        match &mut own {
            None => {
                let mut renamed = entry.clone();
                renamed["manager"] = Value::String(field_manager.to_string());
                renamed["operation"] = Value::String("Apply".to_string());
                own = Some(renamed);
            }
            Some(own) => {
                let fields = union(
                    own.get("fieldsV1").unwrap_or(&Value::Null),
                    entry.get("fieldsV1").unwrap_or(&Value::Null),
                );
                own["fieldsV1"] = fields;
            }
        }
    }
    if !edited {
        return None;
    }
    kept.extend(own);
    Some(kept)
}

/// The union of two `FieldsV1` sets. A set is a trie of JSON objects
/// (`f:name`, `k:{…}`, `v:…`, `i:N`, and `.` for a node that is itself a
/// member), so the union is the deep merge of the two objects.
fn union(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = a.clone();
            for (key, value) in b {
                let merged = match out.get(key) {
                    Some(existing) => union(existing, value),
                    None => value.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Null, other) | (other, Value::Null) => other.clone(),
        (a, _) => a.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(manager: &str, operation: &str, fields: Value) -> Value {
        json!({"manager": manager, "operation": operation, "apiVersion": "v1",
               "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": fields})
    }

    #[test]
    fn kubectl_and_stale_entries_merge_into_the_apply_entry_and_others_stay() {
        let live = json!({"metadata": {"name": "x", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "a"},
        "managedFields": [
            entry("fleet", "Apply", json!({"f:data": {"f:a": {}}})),
            entry("kubectl-client-side-apply", "Update", json!({"f:data": {"f:b": {}}})),
            entry("kube-controller-manager", "Update", json!({"f:data": {"f:c": {}}})),
            entry("kubectl", "Apply", json!({"f:metadata": {"f:labels": {"f:l": {}}}})),
            entry("fleet", "Update", json!({"f:data": {"f:d": {}}})),
            {"manager": "kubectl-edit", "operation": "Update", "subresource": "status",
             "fieldsV1": {"f:status": {}}},
        ]}});
        let patch = cleanup_patch(&json!({"metadata": {"name": "x"}}), &live, "fleet")
            .unwrap_or_else(|| panic!("there is something to clean"));
        assert_eq!(
            patch["metadata"]["annotations"],
            json!({"kubectl.kubernetes.io/last-applied-configuration": null})
        );
        let entries = patch["metadata"]["managedFields"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let managers: Vec<&str> = entries
            .iter()
            .map(|e| e["manager"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            managers,
            ["kube-controller-manager", "kubectl-edit", "fleet"]
        );
        assert_eq!(entries[2]["operation"], "Apply");
        assert_eq!(
            entries[2]["fieldsV1"],
            json!({"f:data": {"f:a": {}, "f:b": {}, "f:d": {}},
                   "f:metadata": {"f:labels": {"f:l": {}}}})
        );
    }

    #[test]
    fn without_an_apply_entry_the_first_taken_over_entry_becomes_it() {
        let live = json!({"metadata": {"managedFields": [
            entry("before-first-apply", "Update", json!({"f:data": {"f:a": {}}})),
            entry("kubectl-edit", "Update", json!({"f:data": {"f:b": {}}}))]}});
        let patch = cleanup_patch(&json!({}), &live, "kustomize-controller")
            .unwrap_or_else(|| panic!("something to clean"));
        assert_eq!(
            patch["metadata"]["managedFields"],
            json!([{"manager": "kustomize-controller", "operation": "Apply", "apiVersion": "v1",
                    "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:data": {"f:a": {}, "f:b": {}}}}])
        );
    }

    #[test]
    fn nothing_to_clean_or_merge_mode_gives_no_patch() {
        let clean = json!({"metadata": {"managedFields": [
            entry("fleet", "Apply", json!({"f:data": {}})),
            entry("kube-controller-manager", "Update", json!({"f:status": {}}))]}});
        assert_eq!(cleanup_patch(&json!({}), &clean, "fleet"), None);
        let edited = json!({"metadata": {"managedFields": [
            entry("kubectl-edit", "Update", json!({"f:data": {}}))]}});
        let merge = json!({"metadata": {"annotations": {SSA_KEY: "Merge"}}});
        assert_eq!(cleanup_patch(&merge, &edited, "fleet"), None);
        assert!(cleanup_patch(&json!({}), &edited, "fleet").is_some());
    }
}
