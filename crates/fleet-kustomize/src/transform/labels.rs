//! `labels:`, `commonLabels:` and `commonAnnotations:`.

use crate::build::{Accumulator, Target};
use crate::error::Result;
use crate::fieldspec::{
    Create, FieldSpec, joined_path, metadata_labels_only, node_at_mut, template_labels,
    visit_with_path,
};
use crate::resource::{ResMap, Resource, SharedEntry, ensure_mapping};
use fleet_model::Value;

/// Adds (or overwrites) each key of `pairs`, in sorted key order, at every
/// field the specs select, as kustomize's `SetEntry` does: the places where
/// a key was missing share the new value ([`SharedEntry`]), and overwriting
/// a value that is shared changes every place sharing it.
pub fn set_entries(
    resmap: &mut ResMap,
    pairs: &[(String, String)],
    specs: &[FieldSpec],
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let mut sorted = pairs.to_vec();
    sorted.sort();
    for r in resmap.resources_mut() {
        let id = r.id();
        let specs: Vec<&FieldSpec> = specs
            .iter()
            .filter(|fs| fs.matches(&id.group, &id.version, &id.kind))
            .collect();
        for (k, v) in &sorted {
            // (place, whether the key was there before)
            let mut places: Vec<(Box<str>, bool)> = Vec::new();
            for fs in &specs {
                visit_with_path(&mut r.value, fs, Create::Mapping, &mut |path, n| {
                    let m = ensure_mapping(n);
                    let existed = m.contains_key(k.as_str());
                    m.insert(k.clone(), Value::String(v.clone()));
                    places.push((joined_path(path), existed));
                    Ok(())
                })?;
            }
            share(r, k, v, &places);
        }
    }
    Ok(())
}

/// Updates the shared entries of `r` after `key` was set to `value` at
/// `places`: an overwritten place that shares its value with others
/// changes them too (while they still hold the shared value), and the
/// places where the key was new share the new value from now on.
fn share(r: &mut Resource, key: &str, value: &str, places: &[(Box<str>, bool)]) {
    let mut propagate: Vec<Box<str>> = Vec::new();
    for (place, existed) in places {
        let held = |e: &SharedEntry| e.key == key && e.places.contains(place);
        if *existed {
            if let Some(entry) = r.shared_entries.iter_mut().find(|e| held(e)) {
                for other in &entry.places {
                    if other != place {
                        propagate.push(other.clone());
                    }
                }
                let old = std::mem::replace(&mut entry.value, value.to_string());
                propagate.retain(|p| {
                    node_at_mut(&mut r.value, p)
                        .and_then(|m| m.get(key))
                        .and_then(Value::as_str)
                        == Some(old.as_str())
                });
                for p in &propagate {
                    if let Some(Value::Mapping(m)) = node_at_mut(&mut r.value, p) {
                        m.insert(key.to_string(), Value::String(value.to_string()));
                    }
                }
                propagate.clear();
            }
        } else {
            // A new node sits here now, whatever shared this place before.
            for entry in r.shared_entries.iter_mut().filter(|e| e.key == key) {
                entry.places.retain(|p| p != place);
            }
        }
    }
    r.shared_entries.retain(|e| e.places.len() > 1);
    let fresh: Vec<Box<str>> = places
        .iter()
        .filter(|(_, existed)| !existed)
        .map(|(p, _)| p.clone())
        .collect();
    if fresh.len() > 1 {
        r.shared_entries.push(SharedEntry {
            key: key.to_string(),
            places: fresh,
            value: value.to_string(),
        });
    }
}

/// Runs every `labels:` entry, then `commonLabels:`.
pub(crate) fn run_labels(t: &Target<'_>, ra: &mut Accumulator) -> Result<()> {
    for label in &t.kust.labels {
        let mut specs: Vec<FieldSpec> = label.fields.clone();
        let base = if label.include_selectors {
            ra.config.common_labels.clone()
        } else {
            let mut s = metadata_labels_only();
            if label.include_templates {
                s.extend(template_labels()?);
            }
            s
        };
        for fs in base.into_iter().chain(ra.config.labels.iter().cloned()) {
            if !specs.contains(&fs) {
                specs.push(fs);
            }
        }
        let pairs: Vec<(String, String)> = label.pairs.clone().into_iter().collect();
        set_entries(&mut ra.resmap, &pairs, &specs)?;
    }
    let pairs: Vec<(String, String)> = t.kust.common_labels.clone().into_iter().collect();
    set_entries(&mut ra.resmap, &pairs, &ra.config.common_labels)
}

/// Runs `commonAnnotations:`.
pub(crate) fn run_annotations(t: &Target<'_>, ra: &mut Accumulator) -> Result<()> {
    let pairs: Vec<(String, String)> = t.kust.common_annotations.clone().into_iter().collect();
    set_entries(&mut ra.resmap, &pairs, &ra.config.common_annotations)
}
