//! Helpers behind `cargo xtask`, shared with the tests that check generated files.

use anyhow::{Context, Result};
use std::path::Path;

/// Says why a check cannot run: skipped (printed, `Ok`), or an error when
/// `FLEET_REQUIRE_CONFORMANCE` is set (as CI sets it), so a missing corpus
/// or oracle never passes a run that must check it.
pub fn skip(why: &str) -> Result<()> {
    if std::env::var_os("FLEET_REQUIRE_CONFORMANCE").is_some() {
        anyhow::bail!("{why} (FLEET_REQUIRE_CONFORMANCE is set)");
    }
    println!("{why}: skipped");
    Ok(())
}

/// Names of the generated files whose committed copy in `dir` is missing or differs,
/// plus committed `.yaml` files that are no longer generated.
pub fn stale_crd_files(dir: &Path, generated: &[(String, String)]) -> Result<Vec<String>> {
    let mut stale = Vec::new();
    for (name, text) in generated {
        let committed = std::fs::read_to_string(dir.join(name)).ok();
        if committed.as_deref() != Some(text.as_str()) {
            stale.push(name.clone());
        }
    }
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.ends_with(".yaml") && !generated.iter().any(|(n, _)| *n == name) {
                stale.push(name);
            }
        }
    }
    Ok(stale)
}

/// Cargo's target directory for this workspace: `$CARGO_TARGET_DIR`
/// (relative to the workspace root when relative), else `target/`.
pub fn target_dir(root: &Path) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"))
}

/// Where cargo puts a release build of this workspace: [`target_dir`], then
/// `release/`.
pub fn release_dir(root: &Path) -> std::path::PathBuf {
    target_dir(root).join("release")
}
