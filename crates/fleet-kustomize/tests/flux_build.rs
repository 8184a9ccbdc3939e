//! Flux Kustomization builds: the generated kustomization, each of Flux's
//! transforms, post-build substitution, owner labels and common metadata,
//! and the errors. The kustomize stage is compared with `kubectl kustomize`
//! run over the kustomization file Flux would write.

use fleet_kustomize::flux::{
    FluxBuildError, FluxBuildOptions, FluxOverlayFs, build_kustomization, flux_kustomization_file,
};
use fleet_kustomize::fs::{DiskFs, MemFs};
use fleet_kustomize::{BuildOptions, LoadRestrictor, build};
use fleet_model::Manifest;
use fleet_model::flux::kustomization::Kustomization;
use indexmap::IndexMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flux");
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

fn ks(spec: &str) -> Kustomization {
    let text = format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: fleet\n{spec}"
    );
    let manifests = Manifest::read_all(&text, "ks.yaml").unwrap_or_else(|e| panic!("{e}"));
    manifests[0].to_typed().unwrap_or_else(|e| panic!("{e}"))
}

fn build_ok(ks: &Kustomization, opts: &FluxBuildOptions) -> String {
    build_kustomization(&DiskFs, &fixtures().to_string_lossy(), ks, opts)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_yaml()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for entry in entries.flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Writes the kustomization Flux would write into a copy of the fixtures
/// and runs `kubectl kustomize` there, as kustomize-controller runs krusty.
fn kubectl_over_flux_file(rel_dir: &str, kustomization_text: &str, name: &str) -> Option<String> {
    let tmp = std::env::temp_dir().join(format!("fleet-flux-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_tree(&fixtures(), &tmp);
    let dir = tmp.join(rel_dir);
    for n in ["kustomization.yaml", "kustomization.yml", "Kustomization"] {
        let _ = std::fs::remove_file(dir.join(n));
    }
    std::fs::write(dir.join("kustomization.yaml"), kustomization_text)
        .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new("kubectl")
        .args(["kustomize", "--load-restrictor", "LoadRestrictionsNone"])
        .arg(&dir)
        .output()
        .ok();
    let _ = std::fs::remove_dir_all(&tmp);
    let out = out?;
    assert!(
        out.status.success(),
        "kubectl kustomize failed on the Flux kustomization:\n{kustomization_text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The kustomize stage of a Flux build must equal kubectl's build of the
/// same kustomization file.
fn check_kustomize_stage(rel_dir: &str, ks: &Kustomization, name: &str) -> String {
    let dir = fixtures().join(rel_dir).to_string_lossy().into_owned();
    let (file, text) = flux_kustomization_file(&DiskFs, &dir, ks).unwrap_or_else(|e| panic!("{e}"));
    let overlay = FluxOverlayFs::new(&DiskFs, &file, text.clone());
    let ours = build(
        &overlay,
        &dir,
        &BuildOptions {
            load_restrictor: LoadRestrictor::None,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .to_yaml();
    match kubectl_over_flux_file(rel_dir, &text, name) {
        Some(reference) => assert!(
            ours == reference,
            "{rel_dir}: differs from kubectl\n--- kubectl\n{reference}\n--- fleet\n{ours}"
        ),
        None => eprintln!("kubectl not found: {rel_dir} not compared"),
    }
    text
}

#[test]
fn generated_kustomization_lists_manifests_and_kustomized_subdirectories() {
    let text = check_kustomize_stage("plain", &ks("  path: ./plain\n"), "generated");
    assert_eq!(
        text,
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ./addons\n- ./apps/nested/config.yml\n- ./apps/web.yaml\n"
    );
}

#[test]
fn every_flux_transform_matches_kubectl_over_the_flux_kustomization() {
    let spec = ks(r#"  path: ./plain
  targetNamespace: team-a
  namePrefix: a-
  nameSuffix: -v1
  components:
  - ../components/ha
  - ../components/absent
  ignoreMissingComponents: true
  images:
  - name: nginx
    newName: registry.example.com/nginx
    newTag: "1.27"
  patches:
  - target:
      kind: Service
    patch: |
      - op: add
        path: /metadata/annotations
        value:
          team: a
"#);
    let text = check_kustomize_stage("plain", &spec, "transforms");
    assert!(text.contains("namespace: team-a\n"), "{text}");
    assert!(text.contains("components:\n- ../components/ha\n"), "{text}");
    assert!(!text.contains("absent"), "{text}");
}

#[test]
fn existing_kustomization_keeps_its_fields_and_an_image_is_replaced_whole() {
    let spec = ks(
        "  path: ./overlay\n  images:\n  - name: nginx\n    digest: sha256:0123456789012345678901234567890123456789012345678901234567890123\n",
    );
    let text = check_kustomize_stage("overlay", &spec, "overlay");
    assert!(
        text.contains("resources:\n- ../plain/apps/web.yaml\n"),
        "{text}"
    );
    assert!(
        !text.contains("1.26"),
        "the entry is replaced, not merged: {text}"
    );
}

#[test]
fn full_build_substitutes_labels_owner_and_common_metadata() {
    let spec = ks(r#"  path: ./plain
  targetNamespace: team-a
  commonMetadata:
    labels:
      team: a
    annotations:
      owner: platform
  postBuild:
    substitute:
      cluster_name: prod-eu
    substituteFrom:
    - kind: ConfigMap
      name: cluster-vars
    - kind: Secret
      name: cluster-secrets
    - kind: Secret
      name: absent
      optional: true
"#);
    let mut sources = IndexMap::new();
    sources.insert(
        ("ConfigMap".to_string(), "cluster-vars".to_string()),
        IndexMap::from([
            ("region".to_string(), "eu-central-1".to_string()),
            (
                "cluster_name".to_string(),
                "overridden-by-inline".to_string(),
            ),
            ("greeting".to_string(), "from configmap".to_string()),
        ]),
    );
    sources.insert(
        ("Secret".to_string(), "cluster-secrets".to_string()),
        IndexMap::from([("greeting".to_string(), "hello\n".to_string())]),
    );
    let opts = FluxBuildOptions {
        strict_substitution: true,
        substitute_sources: sources,
        ..FluxBuildOptions::default()
    };
    let out = build_ok(&spec, &opts);
    insta::assert_snapshot!("flux_full_build", out);
    for want in [
        "value: prod-eu\n",
        "value: hello\n",
        "region: eu-central-1\n",
        "escaped: ${not_a_var}\n",
        "raw: ${cluster_name}\n",
        "replicas: 1\n",
        "kustomize.toolkit.fluxcd.io/name: apps\n",
        "kustomize.toolkit.fluxcd.io/namespace: flux-system\n",
        "owner: platform\n",
        "team: a\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

#[test]
fn strict_mode_fails_naming_the_object_and_returns_nothing() {
    let spec = ks("  path: ./plain\n  postBuild:\n    substitute:\n      cluster_name: prod\n");
    let err = build_kustomization(
        &DiskFs,
        &fixtures().to_string_lossy(),
        &spec,
        &FluxBuildOptions {
            strict_substitution: true,
            ..Default::default()
        },
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        err.starts_with("ConfigMap/web-config: variable substitution failed: variable not set (strict mode): \"region\""),
        "{err}"
    );
    // Without strict mode the unset variables read as empty.
    let out = build_ok(&spec, &FluxBuildOptions::default());
    assert!(out.contains("region: null\n"), "{out}");
}

#[test]
fn missing_required_source_is_an_error() {
    let spec = ks(
        "  path: ./plain\n  postBuild:\n    substituteFrom:\n    - kind: ConfigMap\n      name: nowhere\n",
    );
    let err = build_kustomization(
        &DiskFs,
        &fixtures().to_string_lossy(),
        &spec,
        &FluxBuildOptions::default(),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("ConfigMap 'nowhere' not found"), "{err}");
}

fn mem_build(files: &[(&str, &str)], spec: &str) -> Result<String, FluxBuildError> {
    let mut fs = MemFs::default();
    for (path, text) in files {
        fs.add(path, *text);
    }
    build_kustomization(&fs, "/repo", &ks(spec), &FluxBuildOptions::default()).map(|s| s.to_yaml())
}

#[test]
fn bad_input_is_reported_with_the_file() {
    let err = mem_build(
        &[("/repo/apps/bad.yaml", "kind: [unclosed\n")],
        "  path: ./apps\n",
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        err.starts_with("failed to decode Kubernetes YAML from /repo/apps/bad.yaml: line 2: "),
        "{err}"
    );

    let err = mem_build(
        &[(
            "/repo/apps/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
        )],
        "  path: ./apps\n  components:\n  - https://github.com/org/repo//component\n",
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("must be local and relative"), "{err}");

    let err = mem_build(&[], "  path: ./missing\n")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("spec.path './missing' is not a directory in the source"),
        "{err}"
    );
}

#[test]
fn encrypted_objects_are_never_emitted() {
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: ENC[AES256_GCM,data:abc,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:xyz,type:str]\n  version: 3.9.0\n";
    let err = mem_build(
        &[("/repo/apps/secret.yaml", secret)],
        "  path: ./apps\n  decryption:\n    provider: sops\n",
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        err.starts_with("/repo/apps/secret.yaml: SOPS-encrypted, but no decryption keys were given (spec.decryption has no secretRef)"),
        "{err}"
    );
    // Without spec.decryption the Secret is refused after the build, as
    // kustomize-controller refuses it.
    let err = mem_build(&[("/repo/apps/secret.yaml", secret)], "  path: ./apps\n")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with(
            "Secret/s is SOPS encrypted, configuring decryption (spec.decryption) is required"
        ),
        "{err}"
    );
}

#[test]
fn empty_directory_builds_to_nothing() {
    let mut fs = MemFs::default();
    fs.add_dir("/repo/empty");
    let out = build_kustomization(&fs, "/repo", &ks("  path: ./empty\n"), &Default::default())
        .map(|s| s.to_yaml())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, "");
}

#[test]
fn files_source_controller_excludes_are_not_listed() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";
    let out = mem_build(
        &[
            ("/repo/cm.yaml", cm),
            ("/repo/.sops.yaml", "creation_rules:\n- age: age1xyz\n"),
            ("/repo/.github/workflows/ci.yaml", "on: push\njobs: {}\n"),
            ("/repo/sub/.gitlab-ci.yml", "stages: [test]\n"),
        ],
        "  path: ./\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    kustomize.toolkit.fluxcd.io/name: apps\n    kustomize.toolkit.fluxcd.io/namespace: flux-system\n  name: a\n"
    );
}
