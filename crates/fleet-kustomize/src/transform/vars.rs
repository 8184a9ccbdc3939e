//! `vars:` — `$(NAME)` references in the fields kustomize allows, replaced
//! by a field of a named resource.

use crate::error::{Error, Result};
use crate::fieldspec::{Create, FieldSpec, TransformerConfig, visit};
use crate::kustfile::Var;
use crate::resource::{ResMap, scalar_string};
use fleet_model::Value;

/// Reads a dotted field path (`spec.ports[0].port`, `metadata.name`).
fn read_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        for idx in indexes.split('[').filter(|s| !s.is_empty()) {
            let n: usize = idx.trim_end_matches(']').parse().ok()?;
            cur = cur.as_sequence()?.get(n)?;
        }
    }
    Some(cur)
}

/// Binds a var to the one resource of the declaring kustomization it names
/// (kustomize ties a var to its resource when the var is declared, so
/// copies of a base elsewhere in the build do not make it ambiguous).
pub fn bind(resmap: &mut ResMap, var: &Var) -> Result<()> {
    let o = &var.objref;
    let (g, v) = match o.api_version.as_deref() {
        Some(av) => match av.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), av.to_string()),
        },
        None => (
            o.group.clone().unwrap_or_default(),
            o.version.clone().unwrap_or_default(),
        ),
    };
    let matches: Vec<usize> = resmap
        .resources()
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.all_ids().any(|id| {
                o.name.as_deref().is_none_or(|n| id.name == n)
                    && o.kind.as_deref().is_none_or(|k| id.kind == k)
                    && (g.is_empty() || id.group == g)
                    && (v.is_empty() || id.version == v)
                    && o.namespace.as_deref().is_none_or(|ns| {
                        id.effective_namespace() == if ns.is_empty() { "default" } else { ns }
                    })
            })
        })
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [i] => {
            resmap.resources_mut()[*i].var_names.push(var.name.clone());
            Ok(())
        }
        [] => Err(Error::msg(format!(
            "var '{}' cannot be mapped to a field in the set of known resources",
            var.name
        ))),
        _ => Err(Error::msg(format!(
            "var '{}' matches more than one resource",
            var.name
        ))),
    }
}

/// Replaces every `$(VAR)` in the var-reference fields.
pub fn resolve(resmap: &mut ResMap, vars: &[Var], config: &TransformerConfig) -> Result<()> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values: Vec<(String, Value)> = Vec::new();
    for var in vars {
        let r = resmap
            .resources()
            .iter()
            .find(|r| r.var_names.contains(&var.name))
            .ok_or_else(|| {
                Error::msg(format!(
                    "var '{}' cannot be mapped to a field in the set of known resources",
                    var.name
                ))
            })?;
        let path = if var.fieldref.fieldpath.is_empty() {
            "metadata.name"
        } else {
            &var.fieldref.fieldpath
        };
        let value = read_path(&r.value, path).cloned().ok_or_else(|| {
            Error::msg(format!(
                "field specified in var '{}' ({path}) not found in {}",
                var.name,
                r.id()
            ))
        })?;
        values.push((var.name.clone(), value));
    }
    for r in resmap.resources_mut() {
        let id = r.id();
        for fs in &config.var_reference {
            if !fs.matches(&id.group, &id.version, &id.kind) {
                continue;
            }
            let fs = FieldSpec {
                create: false,
                ..fs.clone()
            };
            visit(&mut r.value, &fs, Create::Scalar, &mut |n| {
                expand_node(n, &values);
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn expand_node(n: &mut Value, values: &[(String, Value)]) {
    match n {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("$(").and_then(|x| x.strip_suffix(')'))
                && let Some((_, v)) = values.iter().find(|(k, _)| k == name)
            {
                *n = v.clone();
                return;
            }
            *s = expand(s, values);
        }
        Value::Sequence(items) => items.iter_mut().for_each(|i| expand_node(i, values)),
        Value::Mapping(m) => m.values_mut().for_each(|v| expand_node(v, values)),
        _ => {}
    }
}

/// Kubernetes' `$(VAR)` expansion: `$$` escapes, unknown names stay as written.
fn expand(s: &str, values: &[(String, Value)]) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('(')
            && let Some(end) = body.find(')')
        {
            let name = &body[..end];
            match values.iter().find(|(k, _)| k == name) {
                Some((_, v)) => out.push_str(&scalar_string(v).unwrap_or_default()),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}
