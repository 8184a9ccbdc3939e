//! `replicas:` — sets the replica count of the named workloads.

use crate::error::Result;
use crate::fieldspec::{Create, FieldSpec, visit};
use crate::kustfile::Replica;
use crate::resource::ResMap;
use fleet_model::{Number, Value};

/// Sets `count` on every resource whose original or current name is `r.name`.
/// A name that matches no resource of the configured kinds is kustomize's
/// error, naming the kinds.
pub fn apply(resmap: &mut ResMap, r: &Replica, specs: &[FieldSpec]) -> Result<()> {
    let mut found = false;
    for res in resmap.resources_mut() {
        if !res.all_ids().any(|id| id.name == r.name) {
            continue;
        }
        let id = res.id();
        for fs in specs {
            if fs.matches(&id.group, &id.version, &id.kind) {
                found = true;
                visit(&mut res.value, fs, Create::Scalar, &mut |n| {
                    // kyaml's FieldSetter changes the text of an existing
                    // scalar and keeps its tag (api/filters/replicacount via
                    // filtersutil.SetScalar): a quoted "2" stays a string.
                    *n = match n {
                        Value::String(_) => Value::String(r.count.to_string()),
                        _ => Value::Number(Number::from_i64(r.count)),
                    };
                    Ok(())
                })?;
            }
        }
    }
    if found {
        return Ok(());
    }
    // The kinds as kustomize lists them: its merged configuration is sorted
    // by `Gvk.IsLessThan`, each printed `Kind.Version.Group`.
    let mut kinds: Vec<(i64, String)> = specs
        .iter()
        .map(|fs| {
            let or = |s: &str, none: &str| {
                if s.is_empty() {
                    none.to_string()
                } else {
                    s.to_string()
                }
            };
            (
                super::sort::default_kind_rank(&fs.kind),
                format!(
                    "{}.{}.{}",
                    or(&fs.kind, "[noKind]"),
                    or(&fs.version, "[noVer]"),
                    or(&fs.group, "[noGrp]")
                ),
            )
        })
        .collect();
    kinds.sort();
    let kinds: Vec<String> = kinds.into_iter().map(|(_, k)| k).collect();
    Err(crate::error::Error::msg(format!(
        "resource with name {} does not match a config with the following GVK [{}]",
        r.name,
        kinds.join(" ")
    )))
}
