//! `fleet_reconcile::source` against real Git servers started on loopback:
//! `file://`, `git daemon` and `git http-backend` behind a small HTTP
//! server (fleet_testenv::git).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use fleet_reconcile::source::{
    self, ContentSettings, FetchOutcome, FetchedArtifact, GitSource, Observed, Reference,
    SourceError, Storage,
};
use fleet_testenv::git::{GitDaemon, HttpAuth, HttpGit, Workdir};

struct Entry {
    name: String,
    kind: u8,
    mode: u32,
    mtime: u64,
    uid: u64,
    data: Vec<u8>,
}

fn entries(path: &Path) -> Vec<Entry> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push(Entry {
            name: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
            kind: header.entry_type().as_byte(),
            mode: header.mode().unwrap(),
            mtime: header.mtime().unwrap(),
            uid: header.uid().unwrap(),
            data,
        });
    }
    out
}

fn names(path: &Path) -> Vec<String> {
    entries(path).into_iter().map(|e| e.name).collect()
}

fn stored(outcome: FetchOutcome) -> FetchedArtifact {
    match outcome {
        FetchOutcome::Stored(a) => *a,
        FetchOutcome::Unchanged { revision } => panic!("unexpectedly unchanged at {revision}"),
    }
}

fn fleet_repo(root: &Path) -> (Workdir, String) {
    let work = Workdir::new(root, "fleet");
    work.write(&[
        (
            "clusters/prod/kustomization.yaml",
            "resources: [../../apps]\n",
        ),
        ("apps/deploy.yaml", "kind: Deployment\n"),
        ("apps/.sops.yaml", "creation_rules: []\n"),
        (".github/workflows/ci.yaml", "on: push\n"),
        ("docs/logo.png", "not really a png\n"),
        (".gitignore", "*.tmp\n"),
        ("scripts/run.sh", "#!/bin/sh\necho hi\n"),
    ]);
    std::fs::set_permissions(
        work.path.join("scripts/run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink("apps/deploy.yaml", work.path.join("link.yaml")).unwrap();
    let commit = work.commit("first");
    work.push();
    (work, commit)
}

fn main_branch(url: &str) -> GitSource {
    GitSource::new(url, Reference::Branch("main".into()))
}

#[test]
fn the_same_tree_over_file_git_and_http_gives_one_revision_and_digest() {
    let root = tempfile::tempdir().unwrap();
    let (_work, commit) = fleet_repo(root.path());
    let daemon = GitDaemon::start(root.path());
    let http = HttpGit::start(root.path(), HttpAuth::None);
    let urls = [
        format!("file://{}", root.path().join("fleet.git").display()),
        daemon.url("fleet.git"),
        http.url("fleet.git"),
    ];
    let mut digests = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let store = tempfile::tempdir().unwrap();
        let storage = Storage::new(store.path());
        let a = stored(
            source::fetch(
                &main_branch(url),
                &storage,
                "flux-system",
                &format!("r{i}"),
                None,
            )
            .unwrap(),
        );
        assert_eq!(a.revision, format!("main@sha1:{commit}"), "{url}");
        assert_eq!(
            a.path,
            format!("gitrepository/flux-system/r{i}/{commit}.tar.gz")
        );
        assert_eq!(a.artifact.revision, a.revision);
        assert_eq!(a.artifact.digest.as_deref(), Some(a.digest.as_str()));
        assert_eq!(a.artifact.size, Some(a.size as i64));
        assert_eq!(a.size, std::fs::metadata(&a.local_path).unwrap().len());
        assert!(a.digest.starts_with("sha256:") && a.digest.len() == 71);
        let latest = store
            .path()
            .join(format!("gitrepository/flux-system/r{i}/latest.tar.gz"));
        assert_eq!(
            std::fs::read(&latest).unwrap(),
            std::fs::read(&a.local_path).unwrap()
        );
        digests.push(a.digest);
        // Fetched again: the same bytes.
        let again = tempfile::tempdir().unwrap();
        let b = stored(
            source::fetch(
                &main_branch(url),
                &Storage::new(again.path()),
                "flux-system",
                "r",
                None,
            )
            .unwrap(),
        );
        digests.push(b.digest);
    }
    assert!(digests.windows(2).all(|w| w[0] == w[1]), "{digests:?}");
}

#[test]
fn the_archive_is_content_addressed_and_leaves_out_the_default_exclusions() {
    let root = tempfile::tempdir().unwrap();
    let (_work, _) = fleet_repo(root.path());
    let store = tempfile::tempdir().unwrap();
    let url = format!("file://{}", root.path().join("fleet.git").display());
    let a = stored(
        source::fetch(
            &main_branch(&url),
            &Storage::new(store.path()),
            "ns",
            "fleet",
            None,
        )
        .unwrap(),
    );
    let all = entries(&a.local_path);
    let listed: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        listed,
        [
            ".",
            "apps",
            "apps/deploy.yaml",
            "clusters",
            "clusters/prod",
            "clusters/prod/kustomization.yaml",
            "docs",
            "scripts",
            "scripts/run.sh",
        ],
        "the VCS files, CI files, images, .sops.yaml and the symlink are left out"
    );
    for e in &all {
        assert_eq!((e.mtime, e.uid), (0, 0), "{}", e.name);
        let expected = match (e.kind, e.name.as_str()) {
            (b'5', _) => 0o750,
            (_, "scripts/run.sh") => 0o700,
            _ => 0o600,
        };
        assert_eq!(e.mode, expected, "{}", e.name);
    }
    let deploy = all.iter().find(|e| e.name == "apps/deploy.yaml").unwrap();
    assert_eq!(deploy.data, b"kind: Deployment\n");
    assert_eq!(a.counts.files, 3);
}

#[test]
fn spec_ignore_and_sourceignore_replace_the_defaults_and_sparse_checkout_keeps_directories() {
    let root = tempfile::tempdir().unwrap();
    let (work, _) = fleet_repo(root.path());
    work.write(&[
        ("apps/.sourceignore", "*.yaml\n!keep.yaml\n"),
        ("apps/keep.yaml", "k\n"),
    ]);
    work.commit("sourceignore");
    work.push();
    let url = format!("file://{}", root.path().join("fleet.git").display());
    let store = tempfile::tempdir().unwrap();
    let storage = Storage::new(store.path());

    let mut with_ignore = main_branch(&url);
    with_ignore.content.ignore = Some("/clusters/\n".into());
    let a = stored(source::fetch(&with_ignore, &storage, "ns", "ignore", None).unwrap());
    let listed = names(&a.local_path);
    assert!(
        !listed.iter().any(|n| n.starts_with("clusters/")),
        "{listed:?}"
    );
    assert!(
        !listed.contains(&"apps/deploy.yaml".to_string()),
        "{listed:?}"
    );
    assert!(listed.contains(&"apps/keep.yaml".to_string()), "{listed:?}");
    // The defaults no longer apply, the VCS exclusions still do.
    assert!(listed.contains(&"docs/logo.png".to_string()), "{listed:?}");
    assert!(
        listed.contains(&".github/workflows/ci.yaml".to_string()),
        "{listed:?}"
    );
    assert!(!listed.contains(&".gitignore".to_string()), "{listed:?}");

    let mut sparse = main_branch(&url);
    sparse.content.sparse_checkout = vec!["clusters/prod".into()];
    let b = stored(source::fetch(&sparse, &storage, "ns", "sparse", None).unwrap());
    assert_eq!(
        names(&b.local_path),
        [
            ".",
            "clusters",
            "clusters/prod",
            "clusters/prod/kustomization.yaml"
        ]
    );
}

#[test]
fn nothing_is_fetched_or_written_while_the_remote_stays_at_the_observed_revision() {
    let root = tempfile::tempdir().unwrap();
    let (work, first) = fleet_repo(root.path());
    let http = HttpGit::start(root.path(), HttpAuth::None);
    let url = http.url("fleet.git");
    let store = tempfile::tempdir().unwrap();
    let storage = Storage::new(store.path());
    let src = main_branch(&url);
    let a = stored(source::fetch(&src, &storage, "ns", "fleet", None).unwrap());
    let observed = Observed {
        revision: a.revision.clone(),
        content: ContentSettings::default(),
    };
    let before = http.requests();
    match source::fetch(&src, &storage, "ns", "fleet", Some(&observed)).unwrap() {
        FetchOutcome::Unchanged { revision } => assert_eq!(revision, format!("main@sha1:{first}")),
        FetchOutcome::Stored(_) => panic!("fetched although nothing changed"),
    }
    // One listing: the protocol v2 capability advertisement and ls-refs.
    assert_eq!(http.requests() - before, 2);
    assert_eq!(
        storage.artifacts("gitrepository/ns/fleet").unwrap().len(),
        1
    );

    // A content setting changed: rebuilt although the revision is the same.
    let mut ignoring = src.clone();
    ignoring.content.ignore = Some("docs/\n".into());
    let rebuilt =
        stored(source::fetch(&ignoring, &storage, "ns", "fleet", Some(&observed)).unwrap());
    assert_eq!(rebuilt.revision, a.revision);

    // The remote moved: a new artifact, the old ones garbage-collected.
    for n in 0..3 {
        work.write(&[("apps/n.yaml", &format!("n: {n}\n"))]);
        let commit = work.commit(&format!("change {n}"));
        work.push();
        std::thread::sleep(Duration::from_millis(20));
        let b = stored(source::fetch(&src, &storage, "ns", "fleet", Some(&observed)).unwrap());
        assert_eq!(b.revision, format!("main@sha1:{commit}"));
    }
    assert_eq!(
        storage.artifacts("gitrepository/ns/fleet").unwrap().len(),
        2
    );
}

#[test]
fn tags_semver_ref_names_and_commits_give_flux_revisions() {
    let root = tempfile::tempdir().unwrap();
    let (work, first) = fleet_repo(root.path());
    work.git(&["tag", "-a", "-m", "release", "v1.0.0"]);
    work.write(&[("apps/v.yaml", "v: 2\n")]);
    let second = work.commit("second");
    work.git(&["tag", "v1.2.0"]);
    work.git(&["tag", "v2.0.0-rc.1"]);
    work.git(&["checkout", "-q", "-b", "feature/x"]);
    work.write(&[("apps/f.yaml", "f: 1\n")]);
    let feature = work.commit("feature");
    work.push();
    work.git(&[
        "push",
        "-q",
        "origin",
        &format!("{feature}:refs/pull/1/head"),
    ]);
    let daemon = GitDaemon::start(root.path());
    let url = daemon.url("fleet.git");
    let store = tempfile::tempdir().unwrap();
    let storage = Storage::new(store.path());
    let fetch = |reference: Reference| {
        stored(source::fetch(&GitSource::new(&url, reference), &storage, "ns", "r", None).unwrap())
    };
    assert_eq!(
        fetch(Reference::Tag("v1.0.0".into())).revision,
        format!("v1.0.0@sha1:{first}")
    );
    assert_eq!(
        fetch(Reference::Semver(">=1.0.0 <2.0.0".into())).revision,
        format!("v1.2.0@sha1:{second}")
    );
    assert_eq!(
        fetch(Reference::Semver("~1.0".into())).revision,
        format!("v1.0.0@sha1:{first}")
    );
    assert_eq!(
        fetch(Reference::Branch("feature/x".into())).revision,
        format!("feature/x@sha1:{feature}")
    );
    assert_eq!(
        fetch(Reference::Name("refs/pull/1/head".into())).revision,
        format!("refs/pull/1/head@sha1:{feature}")
    );
    let commit_only = fetch(Reference::Commit {
        sha: first.clone(),
        branch: None,
    });
    assert_eq!(commit_only.revision, format!("sha1:{first}"));
    let on_branch = fetch(Reference::Commit {
        sha: second.clone(),
        branch: Some("main".into()),
    });
    assert_eq!(on_branch.revision, format!("main@sha1:{second}"));
    assert!(names(&on_branch.local_path).contains(&"apps/v.yaml".to_string()));
    // ls-remote only.
    let head = source::resolve(&GitSource::new(&url, Reference::Tag("v1.0.0".into()))).unwrap();
    assert_eq!(head.commit, first);
}

fn fetch_error(src: &GitSource) -> SourceError {
    let store = tempfile::tempdir().unwrap();
    match source::fetch(src, &Storage::new(store.path()), "ns", "r", None) {
        Ok(o) => panic!("expected an error, got {o:?}"),
        Err(e) => e,
    }
}

#[test]
fn failures_are_typed_with_flux_reasons() {
    let root = tempfile::tempdir().unwrap();
    let (work, _) = fleet_repo(root.path());
    work.git(&["tag", "v1.0.0"]);
    work.push();
    Workdir::new(root.path(), "empty");
    let daemon = GitDaemon::start(root.path());
    let url = daemon.url("fleet.git");

    let e = fetch_error(&main_branch(&daemon.url("empty.git")));
    assert!(matches!(e, SourceError::EmptyRepository { .. }), "{e}");
    assert_eq!(e.reason(), "EmptyGitRepository");

    let e = fetch_error(&GitSource::new(&url, Reference::Branch("nope".into())));
    assert!(matches!(e, SourceError::ReferenceNotFound { .. }), "{e}");
    assert_eq!(e.to_string(), format!("{url}: branch 'nope' not found"));
    assert_eq!(e.reason(), "GitOperationFailed");

    let e = fetch_error(&GitSource::new(&url, Reference::Tag("v9".into())));
    assert_eq!(e.to_string(), format!("{url}: tag 'v9' not found"));

    let e = fetch_error(&GitSource::new(&url, Reference::Semver(">=5.0.0".into())));
    assert!(matches!(e, SourceError::NoTagInRange { .. }), "{e}");

    let e = fetch_error(&GitSource::new(
        &url,
        Reference::Semver("not a range".into()),
    ));
    assert!(matches!(e, SourceError::InvalidRange { .. }), "{e}");

    let missing = "0123456789012345678901234567890123456789".to_string();
    let e = fetch_error(&GitSource::new(
        &url,
        Reference::Commit {
            sha: missing,
            branch: None,
        },
    ));
    assert!(matches!(e, SourceError::CommitNotFound { .. }), "{e}");

    let e = fetch_error(&main_branch("not a url at all ::"));
    assert_eq!(e.reason(), "URLInvalid", "{e}");
    let e = fetch_error(&main_branch("ftp://127.0.0.1/x.git"));
    assert_eq!(e.reason(), "URLInvalid", "{e}");

    let e = fetch_error(&main_branch("ssh://git@127.0.0.1/x.git"));
    assert!(matches!(e, SourceError::Secret { .. }), "{e}");
    assert_eq!(e.reason(), "AuthenticationFailed");
    let mut with_passphrase = main_branch("ssh://git@127.0.0.1/x.git");
    with_passphrase.credentials = secret(&[
        ("identity", b"key"),
        ("known_hosts", b"hosts"),
        ("password", b"passphrase"),
    ]);
    // A passphrase is for a key: a Secret whose identity is none says so.
    let e = fetch_error(&with_passphrase);
    assert!(matches!(e, SourceError::Secret { .. }), "{e}");
    assert!(
        e.to_string().contains("not a PEM-encoded private key"),
        "{e}"
    );

    // A closed port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = fetch_error(&main_branch(&format!("git://127.0.0.1:{port}/fleet.git")));
    assert!(matches!(e, SourceError::Unreachable { .. }), "{e}");
    assert_eq!(e.reason(), "GitOperationFailed");
}

#[test]
fn a_server_that_never_answers_times_out_within_spec_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut src = main_branch(&format!("git://127.0.0.1:{port}/fleet.git"));
    src.timeout = Duration::from_millis(500);
    let started = std::time::Instant::now();
    let e = fetch_error(&src);
    assert!(matches!(e, SourceError::Timeout { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(silent);
}

#[test]
fn http_credentials_are_required_where_the_server_asks_and_never_sent_in_clear() {
    let root = tempfile::tempdir().unwrap();
    fleet_repo(root.path());
    let http = HttpGit::start(
        root.path(),
        HttpAuth::Basic("fleet".into(), "secret".into()),
    );
    let e = fetch_error(&main_branch(&http.url("fleet.git")));
    assert!(matches!(e, SourceError::Authentication { .. }), "{e}");
    assert_eq!(e.reason(), "AuthenticationFailed");

    let mut data = BTreeMap::new();
    data.insert("username".to_string(), b"fleet".to_vec());
    data.insert("password".to_string(), b"secret".to_vec());
    let mut src = main_branch(&http.url("fleet.git"));
    src.credentials = source::Credentials::from_secret_data(&data).unwrap();
    let before = http.requests();
    let e = fetch_error(&src);
    assert!(e.to_string().contains("plain http"), "{e}");
    assert_eq!(http.requests(), before, "nothing was sent");
}

#[test]
fn a_failed_fetch_leaves_the_previous_artifact_untouched() {
    let root = tempfile::tempdir().unwrap();
    fleet_repo(root.path());
    let daemon = GitDaemon::start(root.path());
    let store = tempfile::tempdir().unwrap();
    let storage = Storage::new(store.path());
    let a = stored(
        source::fetch(
            &main_branch(&daemon.url("fleet.git")),
            &storage,
            "ns",
            "r",
            None,
        )
        .unwrap(),
    );
    let bytes = std::fs::read(&a.local_path).unwrap();
    let broken = GitSource::new(daemon.url("fleet.git"), Reference::Branch("gone".into()));
    assert!(source::fetch(&broken, &storage, "ns", "r", None).is_err());
    assert_eq!(std::fs::read(&a.local_path).unwrap(), bytes);
    let latest = store.path().join("gitrepository/ns/r/latest.tar.gz");
    assert_eq!(std::fs::read(latest).unwrap(), bytes);
}

fn secret(pairs: &[(&str, &[u8])]) -> source::Credentials {
    let data: BTreeMap<String, Vec<u8>> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect();
    source::Credentials::from_secret_data(&data).unwrap()
}

#[test]
fn https_with_a_private_ca_basic_and_bearer_credentials_and_a_client_certificate() {
    use fleet_testenv::git::{TestPki, TlsOptions};
    let root = tempfile::tempdir().unwrap();
    let (_work, commit) = fleet_repo(root.path());
    let pki = TestPki::new(&root.path().join("pki"));
    let ca = pki.read("ca.crt");
    let expected = format!("main@sha1:{commit}");
    let fetch = |url: &str, credentials: source::Credentials| {
        let mut src = main_branch(url);
        src.credentials = credentials;
        let store = tempfile::tempdir().unwrap();
        source::fetch(&src, &Storage::new(store.path()), "ns", "r", None)
    };

    let basic = HttpGit::start_tls(
        root.path(),
        HttpAuth::Basic("fleet".into(), "s3cret".into()),
        TlsOptions {
            pki: &pki,
            require_client_cert: false,
        },
    );
    let url = basic.url("fleet.git");
    assert!(url.starts_with("https://"));
    // The server's CA is not trusted without ca.crt.
    let e = fetch(
        &url,
        secret(&[("username", b"fleet"), ("password", b"s3cret")]),
    )
    .unwrap_err();
    assert!(matches!(e, SourceError::Git { .. }), "{e}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    let ok = fetch(
        &url,
        secret(&[
            ("username", b"fleet"),
            ("password", b"s3cret"),
            ("ca.crt", &ca),
        ]),
    )
    .unwrap();
    assert_eq!(stored(ok).revision, expected);
    let e = fetch(
        &url,
        secret(&[
            ("username", b"fleet"),
            ("password", b"wrong"),
            ("ca.crt", &ca),
        ]),
    )
    .unwrap_err();
    assert!(matches!(e, SourceError::Authentication { .. }), "{e}");
    assert_eq!(e.reason(), "AuthenticationFailed");

    let bearer = HttpGit::start_tls(
        root.path(),
        HttpAuth::Bearer("t0ken".into()),
        TlsOptions {
            pki: &pki,
            require_client_cert: false,
        },
    );
    let ok = fetch(
        &bearer.url("fleet.git"),
        secret(&[("bearerToken", b"t0ken"), ("ca.crt", &ca)]),
    )
    .unwrap();
    assert_eq!(stored(ok).revision, expected);
    let e = fetch(
        &bearer.url("fleet.git"),
        secret(&[("bearerToken", b"nope"), ("ca.crt", &ca)]),
    )
    .unwrap_err();
    assert_eq!(e.reason(), "AuthenticationFailed", "{e}");

    let mtls = HttpGit::start_tls(
        root.path(),
        HttpAuth::None,
        TlsOptions {
            pki: &pki,
            require_client_cert: true,
        },
    );
    let url = mtls.url("fleet.git");
    assert!(
        fetch(&url, secret(&[("ca.crt", &ca)])).is_err(),
        "no client certificate"
    );
    let cert = pki.read("client.crt");
    let key = pki.read("client.key");
    let ok = fetch(
        &url,
        secret(&[("ca.crt", &ca), ("tls.crt", &cert), ("tls.key", &key)]),
    )
    .unwrap();
    assert_eq!(stored(ok).revision, expected);
}

#[test]
fn ssh_with_a_deploy_key_and_known_hosts_and_an_unknown_host_refused() {
    use fleet_testenv::git::SshServer;
    if !SshServer::available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "sshd (openssh-server) is missing; .ci/run installs it"
        );
        eprintln!("skipped: sshd is not installed (apt-get install openssh-server)");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (_work, commit) = fleet_repo(root.path());
    let server = SshServer::start(&root.path().join("sshd"));
    let url = server.url(&root.path().join("fleet.git"));
    let fetch = |credentials: source::Credentials| {
        let mut src = main_branch(&url);
        src.credentials = credentials;
        let store = tempfile::tempdir().unwrap();
        source::fetch(&src, &Storage::new(store.path()), "ns", "r", None)
    };
    let ok = fetch(secret(&[
        ("identity", &server.identity),
        ("known_hosts", &server.known_hosts),
    ]))
    .unwrap();
    let ok = stored(ok);
    assert_eq!(ok.revision, format!("main@sha1:{commit}"));
    // Same tree as over git:// and http: the same digest.
    let daemon = GitDaemon::start(root.path());
    let store = tempfile::tempdir().unwrap();
    let other = stored(
        source::fetch(
            &main_branch(&daemon.url("fleet.git")),
            &Storage::new(store.path()),
            "ns",
            "r",
            None,
        )
        .unwrap(),
    );
    assert_eq!(ok.digest, other.digest);

    // A host key that is not the server's: refused.
    let wrong = b"[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n".to_vec();
    let wrong = String::from_utf8_lossy(&wrong).replace(
        "]:1 ",
        &format!(
            "]:{} ",
            url.split(':')
                .nth(2)
                .and_then(|p| p.split('/').next())
                .unwrap()
        ),
    );
    let e = fetch(secret(&[
        ("identity", &server.identity),
        ("known_hosts", wrong.as_bytes()),
    ]))
    .unwrap_err();
    assert_eq!(e.reason(), "GitOperationFailed", "{e}");
    assert!(
        e.to_string().contains("the host key is not in known_hosts"),
        "{e}"
    );
    // No known_hosts: refused before connecting.
    let e = fetch(secret(&[("identity", &server.identity)])).unwrap_err();
    assert_eq!(e.reason(), "AuthenticationFailed", "{e}");
}

#[test]
fn spec_include_copies_another_artifact_in_and_a_new_included_artifact_rebuilds() {
    use fleet_model::flux::source::{GitRepositoryInclude, GitRepositorySpec};
    let root = tempfile::tempdir().unwrap();
    let (_work, first) = fleet_repo(root.path());
    let shared = Workdir::new(root.path(), "shared");
    shared.write(&[
        ("base/app.yaml", "kind: ConfigMap\n"),
        ("base/nested/more.yaml", "kind: Secret\n"),
        ("other/x.yaml", "x: 1\n"),
    ]);
    shared.commit("shared");
    shared.push();
    let daemon = GitDaemon::start(root.path());
    let store = tempfile::tempdir().unwrap();
    let storage = Storage::new(store.path());
    stored(
        source::fetch(
            &main_branch(&daemon.url("shared.git")),
            &storage,
            "ns",
            "shared",
            None,
        )
        .unwrap(),
    );

    let spec = |include: Vec<GitRepositoryInclude>| GitRepositorySpec {
        url: daemon.url("fleet.git"),
        interval: "1m".into(),
        reference: Some(fleet_model::flux::source::GitRepositoryRef {
            branch: Some("main".into()),
            ..Default::default()
        }),
        include,
        ..Default::default()
    };
    let include = |from: Option<&str>, to: Option<&str>| GitRepositoryInclude {
        repository: fleet_model::flux::meta::LocalObjectReference {
            name: "shared".into(),
        },
        from_path: from.map(str::to_string),
        to_path: to.map(str::to_string),
    };
    let resolve = |name: &str| source::included_from_storage(&storage, "ns", name);
    let src = GitSource::from_spec_including(
        &spec(vec![include(Some("base"), Some("vendor/../vendor/base"))]),
        None,
        resolve,
    )
    .unwrap();
    let with = stored(source::fetch(&src, &storage, "ns", "fleet", None).unwrap());
    assert_eq!(with.revision, format!("main@sha1:{first}"));
    let listed = names(&with.local_path);
    for expected in [
        "vendor",
        "vendor/base",
        "vendor/base/app.yaml",
        "vendor/base/nested",
        "vendor/base/nested/more.yaml",
        "apps/deploy.yaml",
    ] {
        assert!(
            listed.iter().any(|n| n == expected),
            "{expected} in {listed:?}"
        );
    }
    assert!(!listed.iter().any(|n| n.contains("other")), "{listed:?}");
    // Walk order holds with the included directory among the others.
    let mut sorted = listed.clone();
    sorted.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    assert_eq!(listed, sorted);
    let plain = stored(
        source::fetch(
            &main_branch(&daemon.url("fleet.git")),
            &storage,
            "ns",
            "plain",
            None,
        )
        .unwrap(),
    );
    assert_ne!(plain.digest, with.digest);

    // The status records the include; the same included artifact: unchanged.
    let mut status = fleet_model::flux::source::GitRepositoryStatus::default();
    source::record(&mut status, &src, &with);
    assert_eq!(status.included_artifacts.len(), 1);
    let observed = Observed::from_status(&status).unwrap();
    assert!(matches!(
        source::fetch(&src, &storage, "ns", "fleet", Some(&observed)).unwrap(),
        FetchOutcome::Unchanged { .. }
    ));
    // The included repository moved: this artifact is rebuilt.
    shared.write(&[("base/app.yaml", "kind: ConfigMap\ndata: {}\n")]);
    shared.commit("shared 2");
    shared.push();
    stored(
        source::fetch(
            &main_branch(&daemon.url("shared.git")),
            &storage,
            "ns",
            "shared",
            None,
        )
        .unwrap(),
    );
    let src2 = GitSource::from_spec_including(
        &spec(vec![include(Some("base"), Some("vendor/base"))]),
        None,
        resolve,
    )
    .unwrap();
    let rebuilt = stored(source::fetch(&src2, &storage, "ns", "fleet", Some(&observed)).unwrap());
    assert_eq!(rebuilt.revision, with.revision);
    assert_ne!(rebuilt.digest, with.digest);

    // toPath defaults to the repository's name; the whole artifact lands.
    let src3 =
        GitSource::from_spec_including(&spec(vec![include(None, None)]), None, resolve).unwrap();
    let names =
        names(&stored(source::fetch(&src3, &storage, "ns", "fleet", None).unwrap()).local_path);
    assert!(
        names.iter().any(|n| n == "shared/other/x.yaml"),
        "{names:?}"
    );

    // An existing toPath, a missing fromPath, a missing artifact: errors.
    let clash =
        GitSource::from_spec_including(&spec(vec![include(None, Some("apps"))]), None, resolve)
            .unwrap();
    let e = source::fetch(&clash, &storage, "ns", "fleet", None).unwrap_err();
    assert_eq!(
        (e.condition_type(), e.reason()),
        ("IncludeUnavailable", "CopyFailure"),
        "{e}"
    );
    assert!(
        e.to_string().contains("toPath 'apps' already exists"),
        "{e}"
    );
    let missing =
        GitSource::from_spec_including(&spec(vec![include(Some("nope"), None)]), None, resolve)
            .unwrap();
    let e = source::fetch(&missing, &storage, "ns", "fleet", None).unwrap_err();
    assert!(
        e.to_string()
            .contains("fromPath 'nope' is not in the artifact"),
        "{e}"
    );
    let e = GitSource::from_spec(&spec(vec![include(None, None)]), None).unwrap_err();
    assert_eq!(
        (e.condition_type(), e.reason()),
        ("IncludeUnavailable", "NoArtifact")
    );
    assert_eq!(e.to_string(), "no artifact available for include 'shared'");
}

#[test]
fn recurse_submodules_packs_nested_submodules_at_their_recorded_commits() {
    let root = tempfile::tempdir().unwrap();
    // leaf <- lib <- fleet, with relative URLs as `git submodule add` records them.
    let leaf = Workdir::new(root.path(), "leaf");
    leaf.write(&[("leaf.txt", "leaf v1\n")]);
    leaf.commit("leaf");
    leaf.push();
    let lib = Workdir::new(root.path(), "lib");
    lib.write(&[("lib/base.yaml", "kind: ConfigMap\n")]);
    lib.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        "../leaf.git",
        "vendor/leaf",
    ]);
    lib.commit("lib");
    lib.push();
    let (work, _) = fleet_repo(root.path());
    work.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        "../lib.git",
        "third_party/lib",
    ]);
    let commit = work.commit("with lib");
    work.push();
    // The submodule moves on afterwards: the recorded commit is what counts.
    leaf.write(&[("leaf.txt", "leaf v2\n")]);
    leaf.commit("leaf 2");
    leaf.push();

    let daemon = GitDaemon::start(root.path());
    let store = tempfile::tempdir().unwrap();
    let storage = Storage::new(store.path());
    let mut src = main_branch(&daemon.url("fleet.git"));
    let without = stored(source::fetch(&src, &storage, "ns", "plain", None).unwrap());
    // Without recursion a submodule is an empty directory, as go-git
    // leaves it.
    let plain: Vec<String> = names(&without.local_path)
        .into_iter()
        .filter(|n| n.starts_with("third_party"))
        .collect();
    assert_eq!(plain, ["third_party", "third_party/lib"]);

    src.content.recurse_submodules = true;
    let with = stored(source::fetch(&src, &storage, "ns", "fleet", None).unwrap());
    assert_eq!(with.revision, format!("main@sha1:{commit}"));
    let files = entries(&with.local_path);
    let get = |name: &str| {
        files
            .iter()
            .find(|e| e.name == name)
            .map(|e| String::from_utf8_lossy(&e.data).into_owned())
    };
    assert_eq!(
        get("third_party/lib/lib/base.yaml").as_deref(),
        Some("kind: ConfigMap\n")
    );
    assert_eq!(
        get("third_party/lib/vendor/leaf/leaf.txt").as_deref(),
        Some("leaf v1\n")
    );
    assert!(get(".gitmodules").is_none(), "VCS files stay out");
    let listed: Vec<String> = files.iter().map(|e| e.name.clone()).collect();
    let mut sorted = listed.clone();
    sorted.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    assert_eq!(listed, sorted);
    // Same tree over file://: the same digest.
    let mut local = main_branch(&format!("file://{}", work.bare.display()));
    local.content.recurse_submodules = true;
    let again = stored(source::fetch(&local, &storage, "ns", "again", None).unwrap());
    assert_eq!(again.digest, with.digest);

    // A submodule that cannot be fetched names itself.
    std::fs::rename(root.path().join("leaf.git"), root.path().join("gone.git")).unwrap();
    let e = source::fetch(&src, &storage, "ns", "fleet", None).unwrap_err();
    assert!(
        e.to_string().contains("fetching submodule 'vendor/leaf'"),
        "{e}"
    );
}
