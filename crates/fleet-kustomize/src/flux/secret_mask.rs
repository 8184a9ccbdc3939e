//! Secret values hidden the way `flux build` hides them.

use fleet_model::Value;

/// What `flux build` puts in place of a Secret value it will not show.
pub const SECRET_MASK: &str = "**SOPS**";

/// Replaces every value of a Secret's `data` (with the base64 of
/// [`SECRET_MASK`]) and `stringData` (with the mask itself), as
/// `flux build kustomization` prints Secrets. Other objects are untouched.
pub fn mask_secret(obj: &mut Value) {
    if obj.get("kind").and_then(Value::as_str) != Some("Secret") {
        return;
    }
    let Some(map) = obj.as_mapping_mut() else {
        return;
    };
    for (field, mask) in [("data", "KipTT1BTKio="), ("stringData", SECRET_MASK)] {
        if let Some(Value::Mapping(values)) = map.get_mut(field) {
            for v in values.values_mut() {
                *v = Value::String(mask.to_string());
            }
        }
    }
}
