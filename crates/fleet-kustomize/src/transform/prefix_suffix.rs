//! `namePrefix:` / `nameSuffix:` — renames resources, keeping their history
//! so that references can be fixed afterwards.

use crate::error::Result;
use crate::fieldspec::FieldSpec;
use crate::resource::ResMap;

/// Applies prefix and suffix to every resource the specs allow.
pub fn apply(resmap: &mut ResMap, prefix: &str, suffix: &str, specs: &[FieldSpec]) -> Result<()> {
    if prefix.is_empty() && suffix.is_empty() {
        return Ok(());
    }
    for r in resmap.resources_mut() {
        let id = r.id();
        let skipped = specs.iter().any(|fs| {
            fs.skip && fs.path == "metadata/name" && fs.matches(&id.group, &id.version, &id.kind)
        });
        let applies = specs.iter().any(|fs| {
            !fs.skip && fs.path == "metadata/name" && fs.matches(&id.group, &id.version, &id.kind)
        });
        // kustomize never prefixes Namespace names (its PrefixTransformer
        // skips them whatever the field specs say).
        if skipped || !applies || id.kind == "Namespace" {
            continue;
        }
        let name = format!("{prefix}{}{suffix}", id.name);
        r.rename(&name);
        if !prefix.is_empty() {
            r.prefixes.push(prefix.to_string());
        }
        if !suffix.is_empty() {
            r.suffixes.push(suffix.to_string());
        }
    }
    resmap.reindex();
    Ok(())
}
