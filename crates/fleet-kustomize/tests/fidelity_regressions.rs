//! Regression fixtures for the classes of difference `cargo xtask fidelity`
//! found between fleet and `kubectl kustomize`: one directory per class
//! under `tests/fixtures/fidelity/`, each a kustomization with either
//! `expected.yaml` (kustomize v5.5.0's output, produced by running
//! `kubectl kustomize` on the directory, never written by hand) or
//! `expected-error.txt` (a part of kustomize's refusal that fleet's error
//! must contain too).

use fleet_kustomize::{BuildOptions, build, fs::DiskFs};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fidelity")
        .join(name)
}

fn check(name: &str) {
    let dir = fixture(name);
    let result = build(&DiskFs, &dir.to_string_lossy(), &BuildOptions::default());
    let expected = std::fs::read_to_string(dir.join("expected.yaml")).ok();
    let expected_error = std::fs::read_to_string(dir.join("expected-error.txt")).ok();
    match (expected, expected_error, result) {
        (Some(want), _, Ok(set)) => {
            let got = set.to_yaml();
            assert!(
                got == want,
                "{name}: differs from kubectl kustomize\n--- kustomize\n{want}\n--- fleet\n{got}"
            );
        }
        (Some(_), _, Err(e)) => panic!("{name}: kustomize builds it, fleet refuses: {e}"),
        (None, Some(part), Err(e)) => {
            let msg = e.to_string();
            assert!(
                msg.contains(part.trim()),
                "{name}: fleet refuses, but not for kustomize's reason {:?}: {msg}",
                part.trim()
            );
        }
        (None, Some(_), Ok(set)) => panic!(
            "{name}: kustomize refuses it, fleet builds:\n{}",
            set.to_yaml()
        ),
        (None, None, _) => panic!("{name}: no expected.yaml or expected-error.txt"),
    }
}

macro_rules! fidelity {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
    };
}

fidelity! {
    block_scalar_ending_an_inline_patch,
    scalar_types_after_replacements,
    scalar_emission_edge_cases,
    json6902_escaped_paths_and_yaml11_values,
    build_metadata_managed_by_label,
    replacement_bracketed_key_without_dots_is_a_list_selector,
    patch_that_is_both_strategic_merge_and_json6902,
    go_regexp_literal_brace_in_target,
    replica_count_keeps_a_quoted_type,
    folded_scalars_through_go_yaml_round_trip,
    nel_is_a_line_break,
    nel_folds_in_quoted_scalars,
    patched_scalar_keeps_a_quoted_style,
    strategic_merge_drops_null_fields_it_walks,
    annotation_values_are_their_text,
    label_values_share_one_node_per_key,
}

/// Every fixture directory has a test above, so none is silently skipped.
#[test]
fn every_fidelity_fixture_is_tested() {
    let listed = [
        "block_scalar_ending_an_inline_patch",
        "scalar_types_after_replacements",
        "scalar_emission_edge_cases",
        "json6902_escaped_paths_and_yaml11_values",
        "build_metadata_managed_by_label",
        "replacement_bracketed_key_without_dots_is_a_list_selector",
        "patch_that_is_both_strategic_merge_and_json6902",
        "go_regexp_literal_brace_in_target",
        "replica_count_keeps_a_quoted_type",
        "folded_scalars_through_go_yaml_round_trip",
        "nel_is_a_line_break",
        "nel_folds_in_quoted_scalars",
        "patched_scalar_keeps_a_quoted_style",
        "strategic_merge_drops_null_fields_it_walks",
        "annotation_values_are_their_text",
        "label_values_share_one_node_per_key",
    ];
    let root = fixture("");
    let mut dirs: Vec<String> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut want: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(dirs, want);
}
