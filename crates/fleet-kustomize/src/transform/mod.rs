//! The transformers, one module each, run in kustomize's order.

pub mod crds;
pub mod external;
pub mod finish;
pub mod generators;
pub mod hash;
pub mod images;
pub mod json6902;
pub mod labels;
pub mod name_reference;
pub mod namespace;
pub mod patch;
pub mod prefix_suffix;
pub mod replacements;
pub mod replicas;
pub mod select;
pub mod smp;
pub mod sort;
pub mod vars;

use crate::build::{Accumulator, Target};
use crate::error::Result;

/// kustomize's built-in transformers, in the order `configureBuiltinTransformers`
/// runs them: strategic-merge patches, patches, namespace, prefix/suffix,
/// labels, annotations, JSON 6902 patches, replicas, images, replacements.
pub(crate) fn run_builtin_transformers(t: &Target<'_>, ra: &mut Accumulator) -> Result<()> {
    patch::run_strategic_merge_files(t, ra)?;
    patch::run_patches(t, ra)?;
    if let Some(ns) = t.kust.namespace.as_deref() {
        namespace::apply(&mut ra.resmap, ns, &ra.config.namespace)?;
    }
    prefix_suffix::apply(
        &mut ra.resmap,
        t.kust.name_prefix.as_deref().unwrap_or(""),
        t.kust.name_suffix.as_deref().unwrap_or(""),
        &ra.config.name_prefix,
    )?;
    labels::run_labels(t, ra)?;
    labels::run_annotations(t, ra)?;
    patch::run_json6902(t, ra)?;
    for r in &t.kust.replicas {
        replicas::apply(&mut ra.resmap, r, &ra.config.replicas)?;
    }
    for img in &t.kust.images {
        images::apply(&mut ra.resmap, img, &ra.config.images)?;
    }
    replacements::run(t, ra)?;
    Ok(())
}
