//! Reading the conformance corpora in `../shared/conformance`, shared by
//! the corpus tests of fleet-imagepolicy and fleet-capi (included by path).

#![allow(dead_code)]

use serde_json::Value as Json;
use std::path::PathBuf;

/// `../shared/conformance/<dir>` seen from the workspace.
pub fn corpus_dir(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance")
        .join(dir)
}

/// Whether a missing corpus must fail the run (CI sets this).
pub fn required() -> bool {
    std::env::var_os("FLEET_REQUIRE_CONFORMANCE").is_some()
}

/// Reads one JSON file of a corpus, or `None` (skip) when the corpus is not
/// checked out and not required.
pub fn corpus(dir: &str, file: &str) -> Option<Json> {
    let path = corpus_dir(dir).join(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if required() => {
            panic!("{}: {e} (FLEET_REQUIRE_CONFORMANCE is set)", path.display())
        }
        Err(_) => {
            eprintln!("corpus not found at {}: skipped", path.display());
            return None;
        }
    };
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The rows of a corpus file that is a JSON array.
pub fn rows(dir: &str, file: &str) -> Vec<Json> {
    corpus(dir, file)
        .map(|j| j.as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
}

/// Panics with every failure listed, or prints the count.
pub fn report(what: &str, total: usize, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{what}: {} of {total} rows fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{what}: {total}/{total} rows pass");
}
