//! The last touches kustomize makes before printing: annotations are
//! rewritten as a sorted string map (its `RemoveBuildAnnotations` step), and
//! origin or transformer annotations are added when `buildMetadata` asks.

use crate::resource::{Resource, scalar_string};
use fleet_model::{Mapping, Value};

/// Finishes one resource for output.
pub fn finish(mut r: Resource, keep_origin: bool, keep_transformers: bool) -> Value {
    if keep_origin && let Some(origin) = r.origin.clone() {
        r.metadata_mut()
            .entry("annotations".to_string())
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if let Some(Value::Mapping(a)) = r.metadata_mut().get_mut("annotations") {
            a.insert("config.kubernetes.io/origin".into(), Value::String(origin));
        }
    }
    if keep_transformers && !r.transformations.is_empty() {
        let text: String = r.transformations.concat();
        if let Some(Value::Mapping(a)) = r
            .metadata_mut()
            .entry("annotations".to_string())
            .or_insert_with(|| Value::Mapping(Mapping::new()))
            .as_mapping_mut()
            .map(|m| Value::Mapping(std::mem::take(m)))
            .as_mut()
        {
            a.insert(
                "alpha.config.kubernetes.io/transformations".into(),
                Value::String(text),
            );
            let taken = std::mem::take(a);
            r.metadata_mut()
                .insert("annotations".into(), Value::Mapping(taken));
        }
    }
    normalize_annotations(&mut r.value);
    crate::output::normalize_numbers(&mut r.value);
    r.value
}

/// Rewrites `metadata.annotations` as kustomize's `SetAnnotations` writes a
/// `map[string]string`: keys sorted, every value a string.
fn normalize_annotations(v: &mut Value) {
    let Some(meta) = v.get_mut("metadata").and_then(Value::as_mapping_mut) else {
        return;
    };
    // kustomize removes its build annotations at the end and clears a map
    // that is left empty (`RemoveBuildAnnotations`): `annotations: {}` is
    // not printed.
    if matches!(meta.get("annotations"), Some(Value::Mapping(a)) if a.is_empty()) {
        meta.shift_remove("annotations");
        return;
    }
    let Some(Value::Mapping(ann)) = meta.get("annotations") else {
        return;
    };
    let mut entries: Vec<(String, Value)> = ann
        .iter()
        .map(|(k, v)| {
            let s = scalar_string(v)
                .map(Value::String)
                .unwrap_or_else(|| v.clone());
            (k.clone(), s)
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    meta.insert(
        "annotations".into(),
        Value::Mapping(entries.into_iter().collect()),
    );
}
