//! `patchesStrategicMerge:`, `patches:` and `patchesJson6902:`.

use super::json6902;
use super::select::Compiled;
use super::smp::{self, Context, Merged};
use crate::build::{Accumulator, Target, load_resources};
use crate::error::{Error, Result};
use crate::kustfile::Selector;
use crate::resource::{ResId, ResMap, Resource, ensure_mapping};
use fleet_model::Value;

/// A patch read from a kustomization: strategic merge (one or more objects)
/// or JSON 6902 operations.
enum Patch {
    Strategic(Vec<Resource>),
    Json(json_patch::Patch),
}

/// Reads patch text, deciding like kustomize whether it is a strategic-merge
/// patch (objects) or a JSON 6902 patch (a list of operations).
fn parse_patch(text: &str, file: &str) -> Result<Patch> {
    let docs = fleet_model::yaml::parse_documents(text).map_err(|e| Error::Yaml {
        file: file.to_string(),
        error: e,
    })?;
    let non_null: Vec<&Value> = docs
        .iter()
        .map(|d| &d.value)
        .filter(|v| !v.is_null())
        .collect();
    // kustomize parses the text both ways and insists on exactly one
    // (api/internal/builtins/PatchTransformer.go): an empty list is both an
    // empty set of objects and an empty JSON patch, and a stream mixing
    // objects with a list of operations is neither.
    match non_null.as_slice() {
        [Value::Sequence(items)] if items.is_empty() => {
            return Err(Error::msg(format!(
                "{file}: illegally qualifies as both an SM and JSON patch: {}",
                text.trim()
            )));
        }
        [Value::Sequence(_)] => return Ok(Patch::Json(json6902::parse(text, file)?)),
        many if many.len() > 1 && many.iter().any(|v| matches!(v, Value::Sequence(_))) => {
            return Err(Error::msg(format!(
                "{file}: unable to parse SM or JSON patch from {}",
                text.trim()
            )));
        }
        _ => {}
    }
    Ok(Patch::Strategic(load_resources(text, file)?))
}

/// The patch text of a `path` or inline `patch`.
fn patch_text(
    t: &Target<'_>,
    path: Option<&str>,
    inline: Option<&str>,
) -> Result<(String, String)> {
    match (path, inline) {
        (Some(p), None) => Ok((t.read(p)?, crate::fs::join(&t.dir, p))),
        // kustomize trims an inline patch (`strings.TrimSpace` in
        // api/internal/builtins/PatchTransformer.go), so a block scalar that
        // ends it loses its final line break (`|` comes out as `|-`).
        (None, Some(text)) => Ok((
            text.trim().to_string(),
            format!("{} (inline patch)", t.file),
        )),
        (Some(_), Some(_)) => Err(Error::Kustomization {
            file: t.file.clone(),
            message: "a patch must have either a path or an inline patch, not both".into(),
        }),
        (None, None) => Err(Error::Kustomization {
            file: t.file.clone(),
            message: "a patch must have either a path or an inline patch".into(),
        }),
    }
}

/// Resources whose current or any previous id equals `id` (by effective namespace).
fn find_by_any_id(resmap: &ResMap, id: &ResId) -> Vec<usize> {
    resmap
        .resources()
        .iter()
        .enumerate()
        .filter(|(_, r)| r.all_ids().any(|x| x.same_as(id)))
        .map(|(i, _)| i)
        .collect()
}

/// Applies one strategic-merge patch object to the resource at `i`.
fn apply_smp(
    resmap: &mut ResMap,
    i: usize,
    patch: &Resource,
    allow_name_change: bool,
    allow_kind_change: bool,
) -> Result<()> {
    let before = resmap.resources()[i].id();
    let mut patch_value = patch.value.clone();
    // A targeted patch takes the target's identity unless it is meant to rename it.
    {
        let m = ensure_mapping(&mut patch_value);
        if !allow_kind_change {
            m.insert("kind".into(), Value::String(before.kind.clone()));
            m.insert("apiVersion".into(), Value::String(before.api_version()));
        }
    }
    if let Some(meta) = patch_value
        .get_mut("metadata")
        .and_then(Value::as_mapping_mut)
    {
        if !allow_name_change {
            meta.insert("name".into(), Value::String(before.name.clone()));
        }
        if before.namespace.is_empty() {
            meta.shift_remove("namespace");
        } else {
            meta.insert("namespace".into(), Value::String(before.namespace.clone()));
        }
    }
    let ctx = Context::for_group(&before.group);
    let dest = std::mem::take(&mut resmap.resources_mut()[i].value);
    match smp::merge_resource(dest, patch_value, ctx) {
        Merged::Deleted => {
            let mut n = 0;
            resmap.retain(|_| {
                n += 1;
                n - 1 != i
            });
        }
        Merged::Value(v) => {
            let mut r = std::mem::replace(
                &mut resmap.resources_mut()[i],
                Resource::new(Value::Null, ""),
            );
            r.value = v;
            if r.id() != before {
                r.previous.push(before);
            }
            resmap.replace_moved(i, r);
        }
    }
    Ok(())
}

/// Applies a strategic-merge patch to the one resource whose (current or
/// earlier) id the patch names.
fn apply_to_named_target(
    resmap: &mut ResMap,
    patch: &Resource,
    file: &str,
    allow_name_change: bool,
    allow_kind_change: bool,
) -> Result<()> {
    let id = patch.id();
    match find_by_any_id(resmap, &id).as_slice() {
        [i] => apply_smp(resmap, *i, patch, allow_name_change, allow_kind_change),
        [] => Err(Error::msg(format!(
            "{file}: no matches for Id {id}; failed to find unique target for patch {id}"
        ))),
        _ => Err(Error::msg(format!(
            "{file}: multiple matches for Id {id}; failed to find unique target for patch {id}"
        ))),
    }
}

/// `patchesStrategicMerge:` — each entry a file (or inline YAML) of patches
/// that name their targets.
pub(crate) fn run_strategic_merge_files(t: &Target<'_>, ra: &mut Accumulator) -> Result<()> {
    for entry in &t.kust.patches_strategic_merge {
        apply_strategic_merge_entry(t, ra, entry)?;
    }
    Ok(())
}

/// Applies one `patchesStrategicMerge` entry: a file, or inline YAML.
pub(crate) fn apply_strategic_merge_entry(
    t: &Target<'_>,
    ra: &mut Accumulator,
    entry: &str,
) -> Result<()> {
    {
        let path = crate::fs::join(&t.dir, entry);
        let (text, file) = if t.fs.is_file(&path) {
            (t.read(entry)?, path)
        } else if entry.contains('\n') || entry.contains(':') {
            (
                entry.trim().to_string(),
                format!("{} (inline patchesStrategicMerge)", t.file),
            )
        } else {
            return Err(Error::Read {
                path,
                message: format!("patch file named in {} does not exist", t.file),
            });
        };
        for p in load_resources(&text, &file)? {
            apply_to_named_target(&mut ra.resmap, &p, &file, false, false)?;
        }
    }
    Ok(())
}

/// `patches:` — strategic-merge or JSON 6902, to a target selector or to
/// the resources the patch names.
pub(crate) fn run_patches(t: &Target<'_>, ra: &mut Accumulator) -> Result<()> {
    for p in &t.kust.patches {
        apply_patch(t, ra, p)?;
    }
    Ok(())
}

/// Applies one `patches` entry.
pub(crate) fn apply_patch(
    t: &Target<'_>,
    ra: &mut Accumulator,
    p: &crate::kustfile::PatchArgs,
) -> Result<()> {
    let (text, file) = patch_text(t, p.path.as_deref(), p.patch.as_deref())?;
    let allow_name = p.options.get("allowNameChange").copied().unwrap_or(false);
    let allow_kind = p.options.get("allowKindChange").copied().unwrap_or(false);
    match parse_patch(&text, &file)? {
        Patch::Json(ops) => {
            let Some(target) = &p.target else {
                return Err(Error::msg(format!(
                    "{file}: must specify a target for JSON patch {}",
                    text.trim()
                )));
            };
            apply_json_to_selected(&mut ra.resmap, target, &ops)?;
        }
        Patch::Strategic(objects) => match &p.target {
            Some(target) => {
                let sel = Compiled::new(target)?;
                for obj in &objects {
                    let picked = sel.select(&ra.resmap)?;
                    // Apply from the end so deletions keep earlier indices valid.
                    for i in picked.into_iter().rev() {
                        apply_smp(&mut ra.resmap, i, obj, allow_name, allow_kind)?;
                    }
                }
            }
            None => {
                for obj in &objects {
                    apply_to_named_target(&mut ra.resmap, obj, &file, allow_name, allow_kind)?;
                }
            }
        },
    }
    Ok(())
}

fn apply_json_to_selected(
    resmap: &mut ResMap,
    target: &Selector,
    ops: &json_patch::Patch,
) -> Result<()> {
    for i in Compiled::new(target)?.select(resmap)? {
        let mut r = resmap.resources()[i].clone();
        let before = r.id();
        r.value = json6902::apply(&r.value, ops, &before.to_string())?;
        if r.id() != before {
            r.previous.push(before);
        }
        resmap.replace(i, r);
    }
    Ok(())
}

/// `patchesJson6902:` — operations from a file (or inline), to one target.
pub(crate) fn run_json6902(t: &Target<'_>, ra: &mut Accumulator) -> Result<()> {
    for p in &t.kust.patches_json6902 {
        apply_json6902_entry(t, ra, p)?;
    }
    Ok(())
}

/// Applies one `patchesJson6902` entry.
pub(crate) fn apply_json6902_entry(
    t: &Target<'_>,
    ra: &mut Accumulator,
    p: &crate::kustfile::Json6902Patch,
) -> Result<()> {
    let Some(target) = &p.target else {
        return Err(Error::Kustomization {
            file: t.file.clone(),
            message: "patchesJson6902 entries need a target".into(),
        });
    };
    let (text, file) = patch_text(t, p.path.as_deref(), p.patch.as_deref())?;
    let ops = json6902::parse(&text, &file)?;
    // patchesJson6902 targets match names exactly, not as regular expressions.
    let exact = Selector {
        name: target.name.as_deref().map(regex::escape),
        namespace: target.namespace.as_deref().map(regex::escape),
        kind: target.kind.as_deref().map(regex::escape),
        group: target.group.as_deref().map(regex::escape),
        version: target.version.as_deref().map(regex::escape),
        ..Default::default()
    };
    apply_json_to_selected(&mut ra.resmap, &exact, &ops)
}
