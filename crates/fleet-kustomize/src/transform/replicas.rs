//! `replicas:` — sets the replica count of the named workloads.

use crate::error::Result;
use crate::fieldspec::{Create, FieldSpec, visit};
use crate::kustfile::Replica;
use crate::resource::ResMap;
use fleet_model::{Number, Value};

/// Sets `count` on every resource whose original or current name is `r.name`.
pub fn apply(resmap: &mut ResMap, r: &Replica, specs: &[FieldSpec]) -> Result<()> {
    for res in resmap.resources_mut() {
        if !res.all_ids().any(|id| id.name == r.name) {
            continue;
        }
        let id = res.id();
        for fs in specs {
            if fs.matches(&id.group, &id.version, &id.kind) {
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
    Ok(())
}
