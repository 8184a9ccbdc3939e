//! `labels:`, `commonLabels:` and `commonAnnotations:`.

use crate::build::{Accumulator, Target};
use crate::error::Result;
use crate::fieldspec::{Create, FieldSpec, metadata_labels_only, template_labels, visit};
use crate::resource::{ResMap, ensure_mapping};
use fleet_model::Value;

/// Adds (or overwrites) each key of `pairs`, in sorted key order, at every
/// field the specs select.
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
        for fs in specs {
            if !fs.matches(&id.group, &id.version, &id.kind) {
                continue;
            }
            visit(&mut r.value, fs, Create::Mapping, &mut |n| {
                let m = ensure_mapping(n);
                for (k, v) in &sorted {
                    m.insert(k.clone(), Value::String(v.clone()));
                }
                Ok(())
            })?;
        }
    }
    Ok(())
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
