//! `fleet objects` on the example fleet and on bad manifests.

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn fleet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("running fleet: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn lists_and_checks_the_example_clusters() {
    let (code, stdout, stderr) = fleet(&["objects", "examples/fleet/clusters"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 9, "{stdout}");
    assert!(stdout.contains("examples/fleet/clusters/staging/flux-system.yaml:1\tsource.toolkit.fluxcd.io/v1\tGitRepository/flux-system/flux-system\tvalid"));
}

#[test]
fn invalid_objects_fail_with_file_line_and_field() {
    let (code, _, stderr) = fleet(&[
        "objects",
        "crates/fleet-model/tests/fixtures/bad/cases.yaml",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("bad/cases.yaml:9: Kustomization/prune-missing: field `spec.prune`: required field is missing"), "{stderr}");
}

#[test]
fn json_output_is_an_array_of_objects() {
    let (code, stdout, _) = fleet(&["objects", "-o", "json", "examples/fleet/clusters/staging"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
    assert_eq!(v.as_array().map(Vec::len), Some(3));
    assert_eq!(v[0]["schema"], "valid");
}

#[test]
fn a_missing_path_is_an_error_naming_it() {
    let (code, _, stderr) = fleet(&["objects", "no/such/dir"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no/such/dir"), "{stderr}");
}
