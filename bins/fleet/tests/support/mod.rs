//! Helpers shared by the CLI tests (each test file includes this module).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the `fleet` binary: exit code, standard output, standard error.
pub fn fleet(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("running fleet: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// A fresh copy of `examples/fleet` in the temporary directory, named
/// after the test.
pub fn example_fleet_copy(test: &str) -> PathBuf {
    let repo = std::env::temp_dir().join(format!("fleet-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&repo);
    copy_tree(
        &PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/fleet")),
        &repo,
    );
    repo
}
