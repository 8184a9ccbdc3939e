//! `namespace:` — sets the namespace of every namespaced resource, renames a
//! core Namespace object, and points RoleBinding subjects named `default` at it.

use crate::error::Result;
use crate::fieldspec::{Create, FieldSpec, visit};
use crate::resource::{ResMap, ensure_mapping, is_cluster_scoped};
use fleet_model::Value;

/// Applies the namespace transformer.
pub fn apply(resmap: &mut ResMap, ns: &str, specs: &[FieldSpec]) -> Result<()> {
    if ns.is_empty() {
        return Ok(());
    }
    for r in resmap.resources_mut() {
        let id = r.id();
        let mut new_name: Option<String> = None;
        let mut new_namespace = false;
        for fs in specs {
            if !fs.matches(&id.group, &id.version, &id.kind) {
                continue;
            }
            match fs.path.as_str() {
                "metadata/namespace" => {
                    if !is_cluster_scoped(&id.group, &id.kind) {
                        new_namespace = true;
                    }
                }
                "metadata/name" => {
                    if id.kind == "Namespace" && id.group.is_empty() {
                        new_name = Some(ns.to_string());
                    }
                }
                p if p.starts_with("subjects") => {}
                _ => {
                    let mut value = r.value.clone();
                    visit(&mut value, fs, Create::Scalar, &mut |n| {
                        *n = Value::String(ns.to_string());
                        Ok(())
                    })?;
                    r.value = value;
                }
            }
        }
        if matches!(id.kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
            && let Some(Value::Sequence(subjects)) = r.value.get_mut("subjects")
        {
            for s in subjects {
                if s.get("name").and_then(Value::as_str) == Some("default") {
                    ensure_mapping(s).insert("namespace".into(), Value::String(ns.to_string()));
                }
            }
        }
        if new_namespace {
            r.set_namespace(ns);
        }
        if let Some(name) = new_name {
            r.rename(&name);
        }
    }
    resmap.reindex();
    Ok(())
}
