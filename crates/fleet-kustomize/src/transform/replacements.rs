//! `replacements:` — copies a field of one resource into fields of others,
//! optionally one delimited part of a string, as kustomize's
//! ReplacementTransformer does.

use crate::build::{Accumulator, Target};
use crate::error::{Error, Result};
use crate::resource::{ResId, ResMap, Resource, ensure_mapping};
use crate::transform::select::LabelSelector;
use fleet_model::{Mapping, Value};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdSelector {
    group: Option<String>,
    version: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    label_selector: Option<String>,
    annotation_selector: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Options {
    delimiter: Option<String>,
    #[serde(default)]
    index: i64,
    #[serde(default)]
    create: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    #[serde(flatten)]
    id: IdSelector,
    field_path: Option<String>,
    options: Option<Options>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetSpec {
    select: Option<IdSelector>,
    #[serde(default)]
    reject: Vec<IdSelector>,
    #[serde(default)]
    field_paths: Vec<String>,
    options: Option<Options>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Replacement {
    path: Option<String>,
    source: Option<Source>,
    #[serde(default)]
    targets: Vec<TargetSpec>,
}

impl IdSelector {
    fn selects_id(&self, id: &ResId) -> bool {
        let eq = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w.is_empty() || w == have)
        };
        eq(&self.group, &id.group)
            && eq(&self.version, &id.version)
            && eq(&self.kind, &id.kind)
            && eq(&self.name, &id.name)
            && self.namespace.as_deref().is_none_or(|ns| {
                ns.is_empty()
                    || id.effective_namespace() == if ns.is_empty() { "default" } else { ns }
            })
    }

    fn selects(&self, r: &Resource) -> Result<bool> {
        if !r.all_ids().any(|id| self.selects_id(&id)) {
            return Ok(false);
        }
        if let Some(ls) = self.label_selector.as_deref().filter(|s| !s.is_empty())
            && !LabelSelector::parse(ls)?.matches(&r.labels())
        {
            return Ok(false);
        }
        if let Some(ls) = self
            .annotation_selector
            .as_deref()
            .filter(|s| !s.is_empty())
            && !LabelSelector::parse(ls)?.matches(&r.annotations())
        {
            return Ok(false);
        }
        Ok(true)
    }
}

/// Splits `a.b.[k=v.w].c` at dots outside brackets.
fn split_field_path(p: &str) -> Vec<String> {
    super::select::split_outside(p, ('[', ']'), '.')
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
}

fn scalar_text(v: &Value) -> String {
    crate::resource::scalar_string(v).unwrap_or_default()
}

fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v);
    };
    match v {
        Value::Mapping(m) => {
            let key = first
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .unwrap_or(first);
            lookup(m.get(key)?, rest)
        }
        Value::Sequence(items) => {
            if let Some(sel) = first.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                let (k, want) = sel.split_once('=')?;
                let item = items.iter().find(|i| {
                    if k.is_empty() {
                        scalar_text(i) == want
                    } else {
                        i.get(k).map(scalar_text).as_deref() == Some(want)
                    }
                })?;
                lookup(item, rest)
            } else {
                let idx: usize = first.parse().ok()?;
                lookup(items.get(idx)?, rest)
            }
        }
        _ => None,
    }
}

fn refine(value: &Value, opts: Option<&Options>) -> Result<Value> {
    let Some(o) = opts else {
        return Ok(value.clone());
    };
    let Some(d) = o.delimiter.as_deref().filter(|d| !d.is_empty()) else {
        return Ok(value.clone());
    };
    let text = scalar_text(value);
    let parts: Vec<&str> = text.split(d).collect();
    if o.index < 0 || o.index as usize >= parts.len() {
        return Err(Error::msg(format!(
            "options.index {} is out of bounds for value {text}",
            o.index
        )));
    }
    // kustomize copies the source node and replaces its text
    // (api/filters/replacement/replacement.go `getRefinedValue`), so the
    // part keeps the source's type: a part of a string is a string.
    let part = parts[o.index as usize];
    Ok(match value {
        Value::String(_) => Value::String(part.to_string()),
        _ => fleet_model::yaml::plain_scalar(part),
    })
}

/// The value a replacement leaves in a target field: kustomize copies only
/// the text into a scalar target and keeps the target's type ("for scalar,
/// only copy the value (leave any type intact to auto-convert int->string
/// or string->int)", api/filters/replacement/replacement.go
/// `setFieldValue`). A field it created has no type yet, so the text reads
/// as a plain scalar would (`8080` becomes a number). Collections are
/// replaced by a copy of the source.
fn assign(target: &Value, new: Value, created: bool) -> Result<Value> {
    if matches!(new, Value::Mapping(_) | Value::Sequence(_)) {
        return Ok(new);
    }
    let text = scalar_text(&new);
    let mismatch = |what: &str| {
        Error::msg(format!(
            "replacement: cannot decode !!str `{text}` as a !!{what} (the target field is a {what}, and kustomize keeps its type)"
        ))
    };
    Ok(match target {
        _ if created => fleet_model::yaml::plain_scalar(&text),
        Value::Null => fleet_model::yaml::plain_scalar(&text),
        Value::String(_) => Value::String(text),
        Value::Number(n) => match fleet_model::Number::parse(&text) {
            Some(parsed)
                if parsed.kind() == n.kind()
                    || n.kind() == fleet_model::value::NumberKind::Float =>
            {
                Value::Number(parsed)
            }
            _ => {
                return Err(mismatch(match n.kind() {
                    fleet_model::value::NumberKind::Int => "int",
                    fleet_model::value::NumberKind::Float => "float",
                }));
            }
        },
        Value::Bool(_) => match fleet_model::yaml::plain_scalar(&text) {
            Value::Bool(b) => Value::Bool(b),
            _ => return Err(mismatch("bool")),
        },
        Value::Mapping(_) | Value::Sequence(_) => new,
    })
}

fn set_at(
    v: &mut Value,
    path: &[String],
    value: &Value,
    opts: Option<&Options>,
    create: bool,
) -> Result<bool> {
    set_at_created(v, path, value, opts, create, false)
}

fn set_at_created(
    v: &mut Value,
    path: &[String],
    value: &Value,
    opts: Option<&Options>,
    create: bool,
    created: bool,
) -> Result<bool> {
    let Some((first, rest)) = path.split_first() else {
        let new = match opts.and_then(|o| {
            o.delimiter
                .as_deref()
                .filter(|d| !d.is_empty())
                .map(|d| (d, o.index))
        }) {
            Some((d, index)) => {
                let current = scalar_text(v);
                let mut parts: Vec<String> = current.split(d).map(str::to_string).collect();
                let replacement = scalar_text(value);
                if index < 0 {
                    parts.insert(0, replacement);
                } else if index as usize >= parts.len() {
                    parts.push(replacement);
                } else {
                    parts[index as usize] = replacement;
                }
                Value::String(parts.join(d))
            }
            None => value.clone(),
        };
        *v = assign(v, new, created)?;
        return Ok(true);
    };
    // kyaml's SmarterPathSplitter drops the brackets of an element only when
    // they protect dots (`[a.b/c]`); `[x]` stays a list-element selector,
    // which must read `field=value` (kyaml/yaml `SplitIndexNameValue`).
    if first.starts_with('[') && first.ends_with(']') && !first.contains(['=', '.']) {
        return Err(Error::msg(format!(
            "unable to find or create field {:?} in replacement target: list path element must contain fieldName=fieldValue for element to match",
            path.join(".")
        )));
    }
    if first == "*" {
        let mut any = false;
        match v {
            Value::Sequence(items) => {
                for i in items {
                    any |= set_at(i, rest, value, opts, create)?;
                }
            }
            Value::Mapping(m) => {
                for (_, i) in m.iter_mut() {
                    any |= set_at(i, rest, value, opts, create)?;
                }
            }
            _ => {}
        }
        return Ok(any);
    }
    if let Some(sel) = first.strip_prefix('[').and_then(|s| s.strip_suffix(']'))
        && let Some((k, want)) = sel.split_once('=')
    {
        if v.is_null() && create {
            *v = Value::Sequence(Vec::new());
        }
        let Value::Sequence(items) = v else {
            return Ok(false);
        };
        let pos = items.iter().position(|i| {
            if k.is_empty() {
                scalar_text(i) == want
            } else {
                i.get(k).map(scalar_text).as_deref() == Some(want)
            }
        });
        let idx = match pos {
            Some(i) => i,
            None if create => {
                let mut m = Mapping::new();
                m.insert(k.to_string(), Value::String(want.to_string()));
                items.push(Value::Mapping(m));
                items.len() - 1
            }
            None => return Ok(false),
        };
        return set_at(&mut items[idx], rest, value, opts, create);
    }
    match v {
        Value::Sequence(items) => {
            let Ok(idx) = first.parse::<usize>() else {
                return Ok(false);
            };
            match items.get_mut(idx) {
                Some(item) => set_at(item, rest, value, opts, create),
                None => Ok(false),
            }
        }
        Value::Mapping(_) | Value::Null => {
            if v.is_null() && !create {
                return Ok(false);
            }
            let m = ensure_mapping(v);
            let key = first
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .unwrap_or(first);
            let mut fresh = false;
            if !m.contains_key(key) {
                if !create {
                    return Ok(false);
                }
                m.insert(key.to_string(), Value::Null);
                fresh = true;
            }
            match m.get_mut(key) {
                Some(child) => set_at_created(child, rest, value, opts, create, fresh),
                None => Ok(false),
            }
        }
        _ => Ok(false),
    }
}

fn parse_replacements(t: &Target<'_>, list: &[serde_json::Value]) -> Result<Vec<Replacement>> {
    let mut out = Vec::new();
    for raw in list {
        let r: Replacement =
            serde_json::from_value(raw.clone()).map_err(|e| Error::Kustomization {
                file: t.file.clone(),
                message: format!("invalid replacement: {e}"),
            })?;
        match &r.path {
            Some(p) => {
                if r.source.is_some() || !r.targets.is_empty() {
                    return Err(Error::Kustomization {
                        file: t.file.clone(),
                        message: "a replacement with a path cannot also have a source or targets"
                            .into(),
                    });
                }
                let text = t.read(p)?;
                let file = crate::fs::join(&t.dir, p);
                for doc in fleet_model::yaml::parse_documents(&text).map_err(|e| Error::Yaml {
                    file: file.clone(),
                    error: e,
                })? {
                    let json = doc
                        .value
                        .to_json_value()
                        .map_err(|e| Error::msg(e.to_string()))?;
                    let items = match json {
                        serde_json::Value::Array(a) => a,
                        serde_json::Value::Null => continue,
                        other => vec![other],
                    };
                    for item in items {
                        out.push(serde_json::from_value(item).map_err(|e| {
                            Error::Kustomization {
                                file: file.clone(),
                                message: format!("invalid replacement: {e}"),
                            }
                        })?);
                    }
                }
            }
            None => out.push(r),
        }
    }
    Ok(out)
}

/// Runs the kustomization's replacements.
pub(crate) fn run(t: &Target<'_>, ra: &mut Accumulator) -> Result<()> {
    run_list(t, ra, &t.kust.replacements)
}

/// Runs a list of replacements (from a kustomization or a ReplacementTransformer).
pub(crate) fn run_list(
    t: &Target<'_>,
    ra: &mut Accumulator,
    list: &[serde_json::Value],
) -> Result<()> {
    for r in parse_replacements(t, list)? {
        apply(&mut ra.resmap, &r)?;
    }
    Ok(())
}

fn apply(resmap: &mut ResMap, r: &Replacement) -> Result<()> {
    let Some(source) = &r.source else {
        return Err(Error::msg("a replacement needs a source"));
    };
    let mut found: Option<&Resource> = None;
    for res in resmap.resources() {
        if source.id.selects(res)? {
            if found.is_some() {
                return Err(Error::msg(format!(
                    "more than one match for replacement source {:?}",
                    source.id
                )));
            }
            found = Some(res);
        }
    }
    let src = found.ok_or_else(|| {
        Error::msg(format!(
            "nothing selected by replacement source {:?}",
            source.id
        ))
    })?;
    let field_path = source
        .field_path
        .as_deref()
        .filter(|p| !p.is_empty())
        .unwrap_or("metadata.name");
    let value = lookup(&src.value, &split_field_path(field_path)).ok_or_else(|| {
        Error::msg(format!(
            "fieldPath `{field_path}` is missing for replacement source {}",
            src.id()
        ))
    })?;
    let value = refine(value, source.options.as_ref())?;
    for target in &r.targets {
        let Some(select) = &target.select else {
            return Err(Error::msg("a replacement target needs a select"));
        };
        for res in resmap.resources_mut() {
            if !select.selects(res)? {
                continue;
            }
            let mut rejected = false;
            for rej in &target.reject {
                rejected |= rej.selects(res)?;
            }
            if rejected {
                continue;
            }
            for fp in &target.field_paths {
                let path = split_field_path(fp);
                let create = target.options.as_ref().is_some_and(|o| o.create);
                let done = set_at(
                    &mut res.value,
                    &path,
                    &value,
                    target.options.as_ref(),
                    create,
                )?;
                if !done && !create {
                    return Err(Error::msg(format!(
                        "unable to find field \"{fp}\" in replacement target {}",
                        res.id()
                    )));
                }
            }
        }
    }
    resmap.reindex();
    Ok(())
}
