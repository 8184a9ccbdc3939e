//! Differential tests: every fixture (one per kustomization feature) and
//! every overlay of the example fleet is built by fleet and, when
//! `kubectl kustomize` is on the machine, compared with it byte for byte.
//! The output is also pinned by a reviewed snapshot, so the test checks
//! something on machines without kubectl too.

use fleet_kustomize::{BuildOptions, build, fs::DiskFs};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn kubectl_kustomize(dir: &Path) -> Option<String> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn check(rel: &Path, snapshot: &str) {
    let dir = root().join(rel);
    let dir = std::fs::canonicalize(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let ours = build(&DiskFs, &dir.to_string_lossy(), &BuildOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .to_yaml();
    match kubectl_kustomize(&dir) {
        Some(reference) => assert!(
            ours == reference,
            "{} differs from kubectl kustomize:\n--- kubectl\n{reference}\n--- fleet\n{ours}",
            rel.display()
        ),
        None => eprintln!(
            "kubectl not found: {} checked against its snapshot only",
            rel.display()
        ),
    }
    insta::assert_snapshot!(snapshot, ours);
}

macro_rules! differential {
    ($($name:ident => $path:expr),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(Path::new($path), stringify!($name));
            }
        )*
    };
}

differential! {
    names_namespace_prefix_suffix_and_references => "tests/fixtures/names/overlay",
    labels_selectors_templates_and_annotations => "tests/fixtures/labels",
    images_and_replicas => "tests/fixtures/images",
    patches_of_every_kind => "tests/fixtures/patches",
    generators_with_hashes_merge_and_replace => "tests/fixtures/generators/overlay",
    components => "tests/fixtures/components/base",
    replacements_and_vars => "tests/fixtures/replacements",
    sort_fifo => "tests/fixtures/sortfifo",
    sort_legacy_with_options => "tests/fixtures/sortlegacy",
    custom_configurations => "tests/fixtures/configurations",
    scalar_formatting => "tests/fixtures/formatting",
    case_insensitive_field_names => "tests/fixtures/casefold",
    example_fleet_staging => "../../examples/fleet/infrastructure/staging",
    example_fleet_production => "../../examples/fleet/infrastructure/production",
    example_fleet_production_eu => "../../examples/fleet/infrastructure/production-eu",
    example_fleet_production_us => "../../examples/fleet/infrastructure/production-us",
    example_fleet_cluster_staging => "../../examples/fleet/clusters/staging",
}
