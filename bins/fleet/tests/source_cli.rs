//! `fleet source fetch` end to end against `git daemon` and `git
//! http-backend` on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// The SOPS file writer of fleet-kustomize's tests, shared rather than copied.
#[path = "../../../crates/fleet-kustomize/tests/support/sops_writer.rs"]
mod sops_writer;

use std::path::Path;
use std::process::Command;

use fleet_testenv::git::{GitDaemon, HttpAuth, HttpGit, Workdir};

fn fleet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running fleet: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn repo(root: &Path) -> (Workdir, String) {
    let work = Workdir::new(root, "fleet");
    work.write(&[
        ("clusters/prod/kustomization.yaml", "resources: []\n"),
        (".github/ci.yaml", "on: push\n"),
    ]);
    let commit = work.commit("first");
    work.git(&["tag", "v1.0.0"]);
    work.push();
    (work, commit)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn fetch_by_url_writes_the_artifact_and_prints_revision_digest_size_and_path() {
    let root = tempfile::tempdir().unwrap();
    let (_work, commit) = repo(root.path());
    let daemon = GitDaemon::start(root.path());
    let out = tempfile::tempdir().unwrap();
    let url = daemon.url("fleet.git");
    let dir = out.path().to_string_lossy().into_owned();
    let (code, stdout, stderr) = fleet(&[
        "source", "fetch", "--url", &url, "--branch", "main", "--out", &dir,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let path = out
        .path()
        .join(format!("gitrepository/default/fleet/{commit}.tar.gz"));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("revision: main@sha1:{commit}"));
    assert!(lines[1].starts_with("digest: sha256:"), "{stdout}");
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(lines[2], format!("size: {size}"));
    assert_eq!(lines[3], format!("path: {}", path.display()));

    // JSON, by tag; then unchanged since that revision: nothing written.
    let (code, stdout, stderr) = fleet(&[
        "source", "fetch", "--url", &url, "--tag", "v1.0.0", "--out", &dir, "-o", "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v = json(&stdout);
    assert_eq!(v["revision"], format!("v1.0.0@sha1:{commit}"));
    assert_eq!(v["unchanged"], false);
    assert_eq!(v["size"], size);
    assert_eq!(v["path"], path.display().to_string());
    let since = format!("main@sha1:{commit}");
    std::fs::remove_file(&path).unwrap();
    let (code, stdout, stderr) = fleet(&[
        "source", "fetch", "--url", &url, "--branch", "main", "--since", &since, "--out", &dir,
        "-o", "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v = json(&stdout);
    assert_eq!(v["unchanged"], true);
    assert_eq!(v["revision"], since);
    assert!(!path.exists(), "nothing written when unchanged");
    let (code, stdout, _) = fleet(&[
        "source", "fetch", "--url", &url, "--branch", "main", "--since", &since, "--out", &dir,
    ]);
    assert_eq!((code, stdout), (0, format!("unchanged: {since}\n")));
}

#[test]
fn fetch_reads_a_gitrepository_file_and_its_ignore_flags() {
    let root = tempfile::tempdir().unwrap();
    let (_work, commit) = repo(root.path());
    let http = HttpGit::start(root.path(), HttpAuth::None);
    let file = root.path().join("repo.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: {}\n  ref:\n    branch: main\n",
            http.url("fleet.git")
        ),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_string_lossy().into_owned();
    let file = file.to_string_lossy().into_owned();
    let (code, stdout, stderr) = fleet(&["source", "fetch", &file, "--out", &dir, "-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let default = json(&stdout);
    assert_eq!(default["revision"], format!("main@sha1:{commit}"));
    assert_eq!(
        default["path"],
        out.path()
            .join(format!("gitrepository/flux-system/fleet/{commit}.tar.gz"))
            .display()
            .to_string()
    );
    // --ignore replaces the defaults: .github is kept, clusters/ is not, so
    // the artifact differs.
    let (code, stdout, stderr) = fleet(&[
        "source",
        "fetch",
        &file,
        "--ignore",
        "/clusters/",
        "--out",
        &dir,
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_ne!(json(&stdout)["digest"], default["digest"]);
}

#[test]
fn fetch_failures_exit_2_with_the_flux_reason() {
    let root = tempfile::tempdir().unwrap();
    repo(root.path());
    let daemon = GitDaemon::start(root.path());
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_string_lossy().into_owned();
    let url = daemon.url("fleet.git");
    let (code, stdout, stderr) = fleet(&[
        "source", "fetch", "--url", &url, "--branch", "nope", "--out", &dir,
    ]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert_eq!(
        stderr,
        format!("error: {url}: branch 'nope' not found (reason: GitOperationFailed)\n")
    );
    let (code, _, stderr) = fleet(&["source", "fetch", "--url", "gopher://x/y", "--out", &dir]);
    assert_eq!(code, 2);
    assert!(stderr.contains("(reason: URLInvalid)"), "{stderr}");
    let (code, _, stderr) = fleet(&[
        "source", "fetch", "--url", &url, "--branch", "main", "--tag", "v1", "--out", &dir,
    ]);
    assert_eq!(code, 2, "two references are refused by the parser");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn a_sops_encrypted_secret_is_decrypted_and_its_credentials_used() {
    if !sops_writer::age_available() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    repo(root.path());
    let http = HttpGit::start(
        root.path(),
        HttpAuth::Basic("fleet".into(), "s3cret".into()),
    );
    let (_, recipient) = sops_writer::age_keygen(root.path(), "identity");
    let identity = root
        .path()
        .join("identity.txt")
        .to_string_lossy()
        .into_owned();
    let mut writer = sops_writer::SopsWriter::new(&recipient, [7u8; 32]);
    writer.encrypted_regex = Some("^(data|stringData)$".into());
    let secret = root.path().join("secret.enc.yaml");
    std::fs::write(
        &secret,
        writer.yaml("apiVersion: v1\nkind: Secret\nmetadata:\n  name: git\nstringData:\n  username: fleet\n  password: s3cret\n"),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_string_lossy().into_owned();
    let secret = secret.to_string_lossy().into_owned();
    let url = http.url("fleet.git");
    // Without the key: refused before any request.
    let (code, _, stderr) = fleet(&[
        "source", "fetch", "--url", &url, "--secret", &secret, "--out", &dir,
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--decryption-key"), "{stderr}");
    // With it, the credentials are read; fleet refuses to send them over
    // plain http, and says so.
    let (code, _, stderr) = fleet(&[
        "source",
        "fetch",
        "--url",
        &url,
        "--branch",
        "main",
        "--secret",
        &secret,
        "--decryption-key",
        &identity,
        "--out",
        &dir,
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("credentials are not sent over plain http")
            && stderr.contains("(reason: AuthenticationFailed)"),
        "{stderr}"
    );
    assert_eq!(http.requests(), 0);
}

#[test]
fn an_included_repository_is_read_from_the_same_out_dir_and_named_when_missing() {
    let root = tempfile::tempdir().unwrap();
    let (_work, commit) = repo(root.path());
    let shared = Workdir::new(root.path(), "shared");
    shared.write(&[("base/app.yaml", "kind: ConfigMap\n")]);
    shared.commit("shared");
    shared.push();
    let daemon = GitDaemon::start(root.path());
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_string_lossy().into_owned();
    let file = root.path().join("repo.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: {}\n  ref:\n    branch: main\n  include:\n    - repository:\n        name: shared\n      fromPath: base\n      toPath: vendor\n",
            daemon.url("fleet.git")
        ),
    )
    .unwrap();
    let file = file.to_string_lossy().into_owned();
    let (code, _, stderr) = fleet(&["source", "fetch", &file, "--out", &dir]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no artifact available for include 'shared': fetch GitRepository flux-system/shared into"),
        "{stderr}"
    );
    // Fetch the included repository into the same directory first.
    let shared_file = root.path().join("shared.yaml");
    std::fs::write(
        &shared_file,
        format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: shared\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: {}\n  ref:\n    branch: main\n",
            daemon.url("shared.git")
        ),
    )
    .unwrap();
    let (code, _, stderr) = fleet(&[
        "source",
        "fetch",
        &shared_file.to_string_lossy(),
        "--out",
        &dir,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = fleet(&["source", "fetch", &file, "--out", &dir, "-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let v = json(&stdout);
    assert_eq!(v["revision"], format!("main@sha1:{commit}"));
    let tar = std::process::Command::new("tar")
        .args(["-tzf", v["path"].as_str().unwrap()])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&tar.stdout);
    assert!(listing.lines().any(|l| l == "vendor/app.yaml"), "{listing}");
}
