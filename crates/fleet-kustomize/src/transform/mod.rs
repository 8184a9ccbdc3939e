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
    let k = &t.kust;
    patch::run_strategic_merge_files(t, ra)?;
    if !k.patches_strategic_merge.is_empty() {
        t.record_transformer(ra, "PatchStrategicMergeTransformer");
    }
    patch::run_patches(t, ra)?;
    if !k.patches.is_empty() {
        t.record_transformer(ra, "PatchTransformer");
    }
    if let Some(ns) = k.namespace.as_deref().filter(|n| !n.is_empty()) {
        namespace::apply(&mut ra.resmap, ns, &ra.config.namespace)?;
        t.record_transformer(ra, "NamespaceTransformer");
    }
    let prefix = k.name_prefix.as_deref().unwrap_or("");
    let suffix = k.name_suffix.as_deref().unwrap_or("");
    prefix_suffix::apply(&mut ra.resmap, prefix, suffix, &ra.config.name_prefix)?;
    if !prefix.is_empty() {
        t.record_transformer(ra, "PrefixTransformer");
    }
    if !suffix.is_empty() {
        t.record_transformer(ra, "SuffixTransformer");
    }
    labels::run_labels(t, ra)?;
    if !k.labels.is_empty() || !k.common_labels.is_empty() {
        t.record_transformer(ra, "LabelTransformer");
    }
    labels::run_annotations(t, ra)?;
    if !k.common_annotations.is_empty() {
        t.record_transformer(ra, "AnnotationsTransformer");
    }
    patch::run_json6902(t, ra)?;
    if !k.patches_json6902.is_empty() {
        t.record_transformer(ra, "PatchJson6902Transformer");
    }
    for r in &k.replicas {
        replicas::apply(&mut ra.resmap, r, &ra.config.replicas)?;
    }
    if !k.replicas.is_empty() {
        t.record_transformer(ra, "ReplicaCountTransformer");
    }
    for img in &k.images {
        images::apply(&mut ra.resmap, img, &ra.config.images)?;
    }
    if !k.images.is_empty() {
        t.record_transformer(ra, "ImageTagTransformer");
    }
    replacements::run(t, ra)?;
    if !k.replacements.is_empty() {
        t.record_transformer(ra, "ReplacementTransformer");
    }
    Ok(())
}
