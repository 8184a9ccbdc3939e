//! One rule for every fleet error: a cause is printed once. An error whose
//! message includes its cause's text does not also return that cause from
//! `source()`, so a caller printing the chain (`error: {e:#}` with anyhow,
//! or walking `source()`) never shows the same text twice.
//!
//! Each case below makes a real, nested failure through a crate's public
//! API and checks the rendered chain.

#![allow(clippy::expect_used)]

use std::error::Error;
use std::path::PathBuf;

/// The chain as anyhow's `{:#}` prints it: each message, then each
/// `source()`'s, joined by ": ".
fn chain(e: &dyn Error) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut next = e.source();
    while let Some(cause) = next {
        out.push(cause.to_string());
        next = cause.source();
    }
    out
}

/// The first cause whose text an error above it already prints, with the
/// whole chain.
fn repeated(e: &dyn Error) -> Option<String> {
    let links = chain(e);
    for (i, cause) in links.iter().enumerate().skip(1) {
        if let Some(above) = links[..i].iter().find(|a| a.contains(cause.as_str())) {
            return Some(format!(
                "the cause {cause:?} is printed by {above:?} and returned by source() too; full chain: {}",
                links.join(": ")
            ));
        }
    }
    None
}

/// Fails when a cause's text already appears in an error above it.
fn assert_printed_once(what: &str, e: &dyn Error) {
    assert!(!e.to_string().is_empty(), "{what}: empty message");
    if let Some(why) = repeated(e) {
        panic!("{what}: {why}");
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("fleet-error-chains-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn yaml_errors_in_manifests_and_kustomizations() {
    let err = fleet_model::Manifest::read_all("a: [1, 2\n", "bad.yaml").expect_err("bad YAML");
    assert_printed_once("ManifestError::Yaml", &err);
    assert!(err.to_string().starts_with("bad.yaml:"), "{err}");

    let mut fs = fleet_kustomize::fs::MemFs::default();
    fs.add("/app/kustomization.yaml", "resources: [cm.yaml]\n");
    fs.add("/app/cm.yaml", "kind: ConfigMap\nmetadata: {name: [\n");
    let err = fleet_kustomize::build(&fs, "/app", &fleet_kustomize::BuildOptions::default())
        .expect_err("bad resource");
    assert_printed_once("fleet_kustomize::Error", &err);
}

#[test]
fn flux_build_errors_wrapping_kustomize_and_substitution() {
    use fleet_kustomize::flux::{FluxBuildOptions, build_kustomization};
    use fleet_model::flux::kustomization::Kustomization;
    let ks = |extra: &str| -> Kustomization {
        let text = format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: repo\n{extra}"
        );
        fleet_model::Manifest::read_all(&text, "ks.yaml").expect("ks")[0]
            .to_typed()
            .expect("typed")
    };
    let mut fs = fleet_kustomize::fs::MemFs::default();
    fs.add(
        "/repo/apps/kustomization.yaml",
        "resources: [missing.yaml]\n",
    );
    let err = build_kustomization(&fs, "/repo", &ks(""), &FluxBuildOptions::default())
        .expect_err("missing resource");
    assert_printed_once("FluxBuildError::Build", &err);

    let mut fs = fleet_kustomize::fs::MemFs::default();
    fs.add(
        "/repo/apps/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  env: ${env}\n",
    );
    let opts = FluxBuildOptions {
        strict_substitution: true,
        ..FluxBuildOptions::default()
    };
    let err = build_kustomization(
        &fs,
        "/repo",
        &ks("  postBuild:\n    substitute:\n      other: x\n"),
        &opts,
    )
    .expect_err("unset variable in strict mode");
    assert_printed_once("PostBuildError::Substitute", &err);
}

#[test]
fn local_builds_validation_and_setters() {
    let dir = temp_dir("local");
    let err =
        fleet_kustomize::flux::local::LocalBuild::new("apps", "flux-system", dir.join("nope"))
            .run()
            .expect_err("no such directory");
    assert_printed_once("LocalError", &err);

    let err = fleet_reconcile::validate::validate(
        &[dir.join("missing")],
        &fleet_reconcile::validate::ValidateOptions::default(),
    )
    .expect_err("missing path");
    assert_printed_once("ValidateError", &err);

    let err = fleet_imagepolicy::setters::policies_in_tree(&dir.join("missing"))
        .expect_err("missing tree");
    assert_printed_once("TreeError::Io", &err);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn durations_and_templates() {
    let err = fleet_model::GoDuration::from("10 parsecs")
        .to_std()
        .expect_err("bad duration");
    assert_printed_once("DurationError", &err);
    let err = fleet_capi::template::Template::new("name: ${CLUSTER_NAME\n")
        .and_then(|t| t.render(&fleet_capi::template::Variables::default()))
        .expect_err("bad template");
    assert_printed_once("TemplateError", &err);
}

#[test]
fn the_checker_catches_a_cause_printed_twice() {
    /// An error made the wrong way on purpose.
    #[derive(Debug)]
    struct Twice(std::io::Error);
    impl std::fmt::Display for Twice {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "reading x: {}", self.0)
        }
    }
    impl Error for Twice {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }
    let bad = Twice(std::io::Error::other("disk on fire"));
    let why = repeated(&bad).expect("a cause printed twice is caught");
    assert!(why.contains("disk on fire"), "{why}");
    assert_eq!(repeated(&std::io::Error::other("alone")), None);
}
