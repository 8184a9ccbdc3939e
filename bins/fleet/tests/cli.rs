//! The `fleet` binary end to end: objects, build, envsubst.

// The SOPS file writer of fleet-kustomize's tests (Debian's age seals the
// data keys), shared rather than copied.
#[path = "../../../crates/fleet-kustomize/tests/support/sops_writer.rs"]
mod sops_writer;

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
    assert_eq!(stdout.lines().count(), 16, "{stdout}");
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

fn fleet_stdin(args: &[&str], input: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleet"));
    cmd.args(args)
        .current_dir(repo())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("running fleet: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn envsubst_substitutes_from_the_environment() {
    let (code, out, _) = fleet_stdin(
        &["envsubst"],
        "region: ${FLEET_TEST_REGION:=eu} tier: ${FLEET_TEST_TIER:=web} $${keep}\n",
        &[("FLEET_TEST_REGION", "us-east-1")],
    );
    assert_eq!(code, 0);
    assert_eq!(out, "region: us-east-1 tier: web ${keep}\n");
}

#[test]
fn envsubst_strict_fails_on_unset_variables() {
    let (code, _, err) = fleet_stdin(
        &["envsubst", "--strict"],
        "${FLEET_TEST_SURELY_UNSET}\n",
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.contains("FLEET_TEST_SURELY_UNSET"), "{err}");
}

#[test]
fn build_renders_the_example_cluster() {
    let (code, out, err) = fleet(&["build", "examples/fleet/infrastructure/staging"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("name: ingress-nginx-controller") && out.contains("memory: 256Mi"));
    let (code, json, _) = fleet(&[
        "build",
        "-o",
        "json",
        "examples/fleet/infrastructure/staging",
    ]);
    assert_eq!(code, 0);
    assert!(json.trim_start().starts_with('{'));
}

#[test]
fn build_kustomization_renders_each_cluster_with_its_substitutions() {
    for cluster in ["staging", "production-eu", "production-us"] {
        let path = format!("examples/fleet/infrastructure/{cluster}");
        let (code, stdout, stderr) =
            fleet(&["build", "kustomization", "infrastructure", "--path", &path]);
        assert_eq!(code, 0, "{cluster}: {stderr}");
        assert!(
            stdout.contains(&format!("        cluster: {cluster}\n")),
            "{cluster}: {stdout}"
        );
        assert!(stdout.contains("        tier: workload\n"), "{stdout}");
        assert!(
            !stdout.contains("${"),
            "{cluster}: unsubstituted variable in\n{stdout}"
        );
        let kinds = stdout.matches("\nkind: ").count() + usize::from(stdout.starts_with("kind: "));
        let owned = stdout
            .matches("kustomize.toolkit.fluxcd.io/name: infrastructure\n")
            .count();
        assert!(
            kinds > 5 && kinds == owned,
            "{cluster}: {kinds} objects, {owned} labelled"
        );
        insta::assert_snapshot!(format!("flux_infrastructure_{cluster}"), stdout);
    }
}

#[test]
fn build_kustomization_renders_the_management_kustomization() {
    let (code, stdout, stderr) = fleet(&[
        "build",
        "ks",
        "flux-system",
        "--path",
        "examples/fleet/clusters/staging",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("kind: Kustomization\nmetadata:\n  labels:\n    kustomize.toolkit.fluxcd.io/name: flux-system\n    kustomize.toolkit.fluxcd.io/namespace: flux-system\n  name: infrastructure\n"), "{stdout}");
    assert!(stdout.contains("      cluster_name: staging\n"), "{stdout}");
}

#[test]
fn the_management_kustomization_builds_every_cluster_it_renders() {
    let (code, stdout, stderr) = fleet(&[
        "build",
        "ks",
        "workload-clusters",
        "--path",
        "examples/fleet/workloads",
        "--recursive",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("${"), "unsubstituted variable:\n{stdout}");
    // The management layer's substitutions reach the per-cluster
    // Kustomizations (settings from the fleet-settings ConfigMap) ...
    assert!(stdout.contains("  name: production-eu-infrastructure\n  namespace: flux-system\nspec:\n  interval: 10m\n  kubeConfig:\n    secretRef:\n      name: production-eu-kubeconfig\n"), "{stdout}");
    // ... and theirs, as rendered, reach each cluster's objects.
    for (cluster, tier) in [
        ("production-eu", "production"),
        ("production-us", "production"),
        ("staging", "workload"),
    ] {
        assert!(
            stdout.contains(&format!("hostname: ingress.{cluster}.example.com\n")),
            "{cluster}"
        );
        let owner = format!("kustomize.toolkit.fluxcd.io/name: {cluster}-infrastructure\n");
        assert!(stdout.matches(&owner).count() > 5, "{cluster}: {owner}");
        assert!(
            stdout.contains(&format!(
                "        cluster: {cluster}\n        tier: {tier}\n"
            )),
            "{cluster}"
        );
    }
    insta::assert_snapshot!("flux_management_recursive", stdout);

    // Without --recursive only the first level is built, as flux build does.
    let (code, first, _) = fleet(&[
        "build",
        "ks",
        "workload-clusters",
        "--path",
        "examples/fleet/workloads",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        first.matches("\nkind: ").count() + usize::from(first.starts_with("kind: ")),
        3
    );
    // A --path that is not the Kustomization's spec.path cannot find the root.
    let (code, _, stderr) = fleet(&[
        "build",
        "ks",
        "workload-clusters",
        "--path",
        "examples/fleet/infrastructure/staging",
        "--kustomization-file",
        "examples/fleet/clusters/management/workload-clusters.yaml",
        "--recursive",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("does not end with the Kustomization's spec.path './workloads'"),
        "{stderr}"
    );
}

#[test]
fn build_kustomization_masks_secrets_unless_asked() {
    let dir = "bins/fleet/tests/fixtures/flux-secret";
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "build",
            "kustomization",
            "app",
            "--path",
            "bins/fleet/tests/fixtures/flux-secret/app",
            "--kustomization-file",
            "bins/fleet/tests/fixtures/flux-secret/ks.yaml",
            "--substitute-from",
            "bins/fleet/tests/fixtures/flux-secret/vars.yaml",
        ];
        a.extend_from_slice(extra);
        a
    };
    let (code, masked, stderr) = fleet(&args(&[]));
    assert_eq!(code, 0, "{dir}: {stderr}");
    assert!(
        masked.contains("  user: KipTT1BTKio=\n") && masked.contains("  password: '**SOPS**'\n"),
        "{masked}"
    );
    let (code, shown, stderr) = fleet(&args(&["--show-secrets"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        shown.contains("  user: YWRtaW4=\n") && shown.contains("  password: s3cr3t\n"),
        "{shown}"
    );
}

#[test]
fn build_kustomization_errors_name_what_to_fix() {
    let (code, _, stderr) = fleet(&[
        "build",
        "ks",
        "nope",
        "--path",
        "examples/fleet/infrastructure/staging",
        "--kustomization-file",
        "examples/fleet/clusters/staging/infrastructure.yaml",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("failed to find kustomization with name 'nope' and namespace 'flux-system' in file 'examples/fleet/clusters/staging/infrastructure.yaml'"), "{stderr}");
    let (code, _, stderr) = fleet(&[
        "build",
        "ks",
        "nope",
        "--path",
        "examples/fleet/infrastructure/staging",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no Flux Kustomization 'flux-system/nope'")
            && stderr.contains("--kustomization-file"),
        "{stderr}"
    );
    let (code, stdout, stderr) = fleet(&[
        "build",
        "ks",
        "app-strict",
        "--path",
        "bins/fleet/tests/fixtures/flux-secret/app",
        "--kustomization-file",
        "bins/fleet/tests/fixtures/flux-secret/ks-strict.yaml",
        "--strict",
    ]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "nothing is printed on failure: {stdout}");
    assert!(
        stderr.contains("Secret/db: variable substitution failed: variable not set (strict mode): \"db_password\""),
        "{stderr}"
    );
}

#[test]
fn build_kustomization_decrypts_with_the_given_keys() {
    if !sops_writer::age_available() {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("fleet-cli-sops-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("app")).unwrap_or_else(|e| panic!("{e}"));
    let (identity, recipient) = sops_writer::age_keygen(&tmp, "identity");
    let mut writer = sops_writer::SopsWriter::new(&recipient, [7u8; 32]);
    writer.encrypted_regex = Some("^(data|stringData)$".into());
    let write = |name: &str, text: &str| {
        std::fs::write(tmp.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
    };
    write(
        "app/db.yaml",
        &writer.yaml("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: ${db_password:=hunter2}\n"),
    );
    write(
        "ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: fleet\n  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n  postBuild:\n    substitute:\n      unused: x\n",
    );
    let indented: String = identity.lines().map(|l| format!("    {l}\n")).collect();
    write(
        "sops-age.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops-age\n  namespace: flux-system\nstringData:\n  age.agekey: |\n{indented}"
        ),
    );
    let path = |name: &str| tmp.join(name).to_string_lossy().into_owned();
    let base = [
        "build".to_string(),
        "ks".into(),
        "app".into(),
        "--path".into(),
        path("app"),
        "--kustomization-file".into(),
        path("ks.yaml"),
    ];
    let run = |extra: &[String]| {
        let args: Vec<&str> = base.iter().chain(extra).map(String::as_str).collect();
        fleet(&args)
    };

    let (code, stdout, stderr) = run(&[
        "--decryption-key".into(),
        path("identity.txt"),
        "--show-secrets".into(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("  password: hunter2\n") && !stdout.contains("ENC["),
        "{stdout}"
    );

    let (code, stdout, stderr) = run(&["--decryption-secret".into(), path("sops-age.yaml")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("  password: '**SOPS**'\n"),
        "masked by default: {stdout}"
    );

    let (code, stdout, stderr) = run(&[]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "nothing printed: {stdout}");
    assert!(
        stderr.contains(
            "app/db.yaml: SOPS-encrypted, but no decryption keys were given (spec.decryption.secretRef names Secret 'flux-system/sops-age'); provide them to the build\nhint: pass the Secret with --decryption-secret FILE or its keys with --decryption-key FILE\n"
        ),
        "{stderr}"
    );

    let (code, _, stderr) = run(&["--decryption-key".into(), path("ks.yaml")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("neither an age identity file"), "{stderr}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn objects_and_validate_skip_what_git_ignores() {
    let dir = std::env::temp_dir().join(format!("fleet-gitignore-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("out")).unwrap_or_else(|e| panic!("{e}"));
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(&dir)
        .status();
    if !git.is_ok_and(|s| s.success()) {
        eprintln!("git not available: skipped");
        return;
    }
    std::fs::write(dir.join(".gitignore"), "out/\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("out/junk.yaml"), "kind: [unclosed\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("app.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let root = dir.display().to_string();
    let (code, out, err) = fleet(&["objects", &root]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ConfigMap/app") && !out.contains("junk"),
        "{out}"
    );
    let (code, out, err) = fleet(&["validate", &root]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.ends_with("1 objects checked: 0 error(s), 0 warning(s)\n"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The whole example fleet lists: the cluster template's objects are
/// marked `template` (their `${VAR}`s are checked once rendered) and a
/// configuration file that is not Kubernetes objects is skipped, saying so.
#[test]
fn objects_lists_the_whole_example_fleet() {
    let (code, stdout, stderr) = fleet(&["objects", "examples/fleet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("KubeadmControlPlane/${NAMESPACE:=fleet-clusters}/${CLUSTER_NAME}-control-plane\ttemplate\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains("skipped examples/fleet/infrastructure/base/observability/prometheus.yml: not Kubernetes objects"),
        "{stderr}"
    );
    assert!(!stderr.contains("error:"), "{stderr}");
}
