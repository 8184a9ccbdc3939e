//! `transformers:` and `generators:` entries that configure kustomize's
//! built-in plugins (`apiVersion: builtin`). Exec, container and Go plugins
//! are not run: they would execute arbitrary code during a build.

use crate::build::{Accumulator, Target};
use crate::error::{Error, Result};

/// Runs the `transformers:` entries.
pub(crate) fn run_transformers(t: &Target<'_>, ra: &mut Accumulator) -> Result<()> {
    let _ = ra;
    if t.kust.transformers.is_empty()
        && t.kust.generators.is_empty()
        && t.kust.validators.is_empty()
    {
        return Ok(());
    }
    Err(Error::Kustomization {
        file: t.file.clone(),
        message: "transformer, generator and validator plugins (the transformers:, generators: and validators: fields) are not supported yet".into(),
    })
}
