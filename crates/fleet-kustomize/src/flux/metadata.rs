//! What kustomize-controller sets on every object it applies: the owner
//! labels naming the Kustomization, and `spec.commonMetadata`.

use super::{OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL};
use fleet_model::Value;
use fleet_model::flux::kustomization::Kustomization;
use fleet_model::value::Mapping;

/// Sets the owner labels and `commonMetadata` of `ks` on `obj`.
pub(super) fn stamp(obj: &mut Value, ks: &Kustomization) {
    let name = ks.metadata.name.as_deref().unwrap_or_default();
    let namespace = ks.metadata.namespace.as_deref().unwrap_or_default();
    set_metadata(obj, "labels", OWNER_NAME_LABEL, name);
    set_metadata(obj, "labels", OWNER_NAMESPACE_LABEL, namespace);
    if let Some(cm) = &ks.spec.common_metadata {
        for (k, v) in &cm.labels {
            set_metadata(obj, "labels", k, v);
        }
        for (k, v) in &cm.annotations {
            set_metadata(obj, "annotations", k, v);
        }
    }
}

fn set_metadata(obj: &mut Value, field: &str, key: &str, value: &str) {
    let Some(root) = obj.as_mapping_mut() else {
        return;
    };
    let meta = root
        .entry("metadata".to_string())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    let Some(meta) = meta.as_mapping_mut() else {
        return;
    };
    let map = meta
        .entry(field.to_string())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if map.is_null() {
        *map = Value::Mapping(Mapping::new());
    }
    if let Some(map) = map.as_mapping_mut() {
        map.insert(key.to_string(), Value::String(value.to_string()));
    }
}
