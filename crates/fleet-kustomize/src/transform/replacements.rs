//! `replacements:` — copies a field of one resource into fields of others.

use crate::build::{Accumulator, Target};
use crate::error::{Error, Result};

/// Runs the kustomization's replacements.
pub(crate) fn run(t: &Target<'_>, ra: &mut Accumulator) -> Result<()> {
    let _ = ra;
    if t.kust.replacements.is_empty() {
        return Ok(());
    }
    Err(Error::Kustomization {
        file: t.file.clone(),
        message: "replacements are not supported yet".into(),
    })
}
