//! Cross-crate integration tests for fleet live in `tests/tests/`; this
//! library holds the helpers they share.

use std::path::{Path, PathBuf};

/// The root of the fleet workspace.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}
