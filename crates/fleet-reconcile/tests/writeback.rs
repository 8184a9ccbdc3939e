//! `fleet_reconcile::source::writeback` against real Git servers on
//! loopback (`git daemon` with receive-pack, `git http-backend` over TLS,
//! Debian's sshd): commits land with their author, message and signature,
//! nothing is pushed when nothing changed, other branches are created and
//! force-updated, push options reach the server, and writers racing on one
//! branch all land.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use fleet_reconcile::source::writeback::{
    self, Author, PushError, SigningKey, WriteBack, WriteError, WriteOutcome,
};
use fleet_reconcile::source::{Credentials, GitSource, Reference};
use fleet_testenv::git::{GitDaemon, Workdir, git};

fn repo(root: &Path) -> (Workdir, String) {
    let work = Workdir::new(root, "fleet");
    work.write(&[
        (
            "apps/deploy.yaml",
            "image: app:1.0 # {\"$imagepolicy\": \"ns:app\"}\n",
        ),
        ("README.md", "fleet\n"),
        ("scripts/run.sh", "#!/bin/sh\n"),
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

fn options() -> WriteBack {
    WriteBack::new(Author::new("Fleet Bot", "bot@fleet.invalid"))
}

fn bump(tree: &Path, to: &str) -> std::io::Result<Option<String>> {
    let path = tree.join("apps/deploy.yaml");
    let text = std::fs::read_to_string(&path)?;
    let (head, rest) = text.split_once("app:").expect("the image line");
    let tail = &rest[rest.find(' ').expect("the marker")..];
    std::fs::write(&path, format!("{head}app:{to}{tail}"))?;
    Ok(Some(format!("Update app to {to}")))
}

fn pushed(outcome: WriteOutcome) -> writeback::Pushed {
    match outcome {
        WriteOutcome::Pushed(p) => p,
        WriteOutcome::Unchanged { checkout_commit } => {
            panic!("nothing pushed (checked out {checkout_commit})")
        }
    }
}

/// `git` in the bare repository.
fn bare(work: &Workdir, args: &[&str]) -> String {
    git(&work.bare, args)
}

#[test]
fn a_change_is_committed_and_pushed_to_the_checkout_branch_and_the_rest_of_the_tree_is_kept() {
    let root = tempfile::tempdir().unwrap();
    let (work, first) = repo(root.path());
    let daemon = GitDaemon::start(root.path());
    let source = main_branch(&daemon.url("fleet.git"));
    let before = bare(&work, &["ls-tree", "-r", "HEAD"]);

    let out = pushed(writeback::commit_and_push(&source, &options(), |t| bump(t, "1.1")).unwrap());
    assert_eq!(out.branch, "main");
    assert_eq!(out.checkout_commit, first);
    assert_eq!(out.attempts, 1);
    assert_eq!(bare(&work, &["rev-parse", "main"]), out.commit);
    assert_eq!(bare(&work, &["rev-parse", "main^"]), first);
    assert_eq!(
        bare(
            &work,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", "main"]
        ),
        "Fleet Bot <bot@fleet.invalid>|Fleet Bot <bot@fleet.invalid>|Update app to 1.1"
    );
    assert_eq!(
        bare(&work, &["show", "main:apps/deploy.yaml"]),
        "image: app:1.1 # {\"$imagepolicy\": \"ns:app\"}"
    );
    // Only the changed file differs: modes, the executable and the link kept.
    let after = bare(&work, &["ls-tree", "-r", "HEAD"]);
    let changed: Vec<_> = after
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l))
        .collect();
    assert_eq!(changed.len(), 1, "{after}");
    assert!(changed[0].ends_with("\tapps/deploy.yaml"), "{after}");
    assert!(after.contains("100755 blob"), "{after}");
    assert!(after.contains("120000 blob"), "{after}");
    assert_eq!(
        bare(&work, &["diff", "--name-status", &first, "main"]),
        "M\tapps/deploy.yaml"
    );
    // Files added and removed by the change are recorded too.
    let out = pushed(
        writeback::commit_and_push(&source, &options(), |t| {
            std::fs::remove_file(t.join("README.md"))?;
            std::fs::create_dir_all(t.join("new/dir"))?;
            std::fs::write(t.join("new/dir/file.txt"), "x")?;
            Ok::<_, std::io::Error>(Some("add and remove".into()))
        })
        .unwrap(),
    );
    assert_eq!(
        bare(&work, &["diff", "--name-status", "main^", &out.commit]),
        "D\tREADME.md\nA\tnew/dir/file.txt"
    );
}

#[test]
fn nothing_changed_means_no_commit_and_no_push() {
    let root = tempfile::tempdir().unwrap();
    let (work, first) = repo(root.path());
    let daemon = GitDaemon::start(root.path());
    let source = main_branch(&daemon.url("fleet.git"));
    // The change rewrote a file with the same bytes: the tree is the same.
    let out = writeback::commit_and_push(&source, &options(), |t| {
        let p = t.join("README.md");
        std::fs::write(&p, std::fs::read(&p)?)?;
        Ok::<_, std::io::Error>(Some("no-op".into()))
    })
    .unwrap();
    assert_eq!(
        out,
        WriteOutcome::Unchanged {
            checkout_commit: first.clone()
        }
    );
    // The caller found nothing to change.
    let out =
        writeback::commit_and_push(&source, &options(), |_| Ok::<_, std::io::Error>(None)).unwrap();
    assert!(matches!(out, WriteOutcome::Unchanged { .. }));
    assert_eq!(bare(&work, &["rev-parse", "main"]), first);
    assert_eq!(
        bare(&work, &["for-each-ref", "--format=%(refname)"]),
        "refs/heads/main"
    );
    // A failing change pushes nothing and says what failed.
    let e = writeback::commit_and_push(&source, &options(), |_| {
        Err::<Option<String>, _>(std::io::Error::other("setter exploded"))
    })
    .unwrap_err();
    assert_eq!(e.reason(), "UpdateFailed");
    assert!(e.to_string().contains("setter exploded"), "{e}");
    assert_eq!(bare(&work, &["rev-parse", "main"]), first);
}

#[test]
fn another_push_branch_is_created_from_the_checkout_branch_and_force_updated_and_refspecs_and_push_options_are_sent()
 {
    let root = tempfile::tempdir().unwrap();
    let (work, first) = repo(root.path());
    // The server accepts push options and records them with a hook.
    bare(&work, &["config", "receive.advertisePushOptions", "true"]);
    let log = root.path().join("push-options.log");
    let hook = work.bare.join("hooks/post-receive");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\ni=0\nwhile [ $i -lt \"${{GIT_PUSH_OPTION_COUNT:-0}}\" ]; do eval \"echo \\$GIT_PUSH_OPTION_$i\" >> {}; i=$((i+1)); done\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let daemon = GitDaemon::start(root.path());
    let source = main_branch(&daemon.url("fleet.git"));
    let mut opts = options();
    opts.push_branch = Some("image-updates".into());
    opts.refspec = Some("HEAD:refs/heads/review".into());
    opts.push_options = BTreeMap::from([
        ("merge_request.create".to_string(), String::new()),
        ("ci.skip".to_string(), "true".to_string()),
    ]);

    let one = pushed(writeback::commit_and_push(&source, &opts, |t| bump(t, "1.1")).unwrap());
    assert_eq!(one.branch, "image-updates");
    assert_eq!(one.observed_source_commit(Some("main")), first);
    assert_eq!(bare(&work, &["rev-parse", "main"]), first, "main untouched");
    assert_eq!(bare(&work, &["rev-parse", "image-updates"]), one.commit);
    assert_eq!(bare(&work, &["rev-parse", "image-updates^"]), first);
    assert_eq!(bare(&work, &["rev-parse", "review"]), one.commit);
    let sent = std::fs::read_to_string(&log).unwrap();
    assert!(sent.contains("ci.skip=true\n"), "{sent}");
    assert!(sent.contains("merge_request.create\n"), "{sent}");

    // The next run starts again from main: the branch is overwritten, not
    // stacked (GitForcePushBranch).
    let mut opts2 = opts.clone();
    opts2.refspec = None;
    let two = pushed(writeback::commit_and_push(&source, &opts2, |t| bump(t, "1.2")).unwrap());
    assert_eq!(bare(&work, &["rev-parse", "image-updates^"]), first);
    assert_eq!(bare(&work, &["rev-parse", "image-updates"]), two.commit);
    assert_eq!(
        bare(&work, &["show", "image-updates:apps/deploy.yaml"]),
        "image: app:1.2 # {\"$imagepolicy\": \"ns:app\"}"
    );

    // A tag checkout has no branch to push to unless one is named.
    work.git(&["tag", "v1", &first]);
    work.push();
    let tag = GitSource::new(daemon.url("fleet.git"), Reference::Tag("v1".into()));
    let e = writeback::commit_and_push(&tag, &options(), |t| bump(t, "9")).unwrap_err();
    assert!(matches!(e, WriteError::NoPushBranch { .. }), "{e}");
    assert_eq!(e.reason(), "InvalidSourceConfig");
    let mut bad = options();
    bad.refspec = Some("no-colon".into());
    let e = writeback::commit_and_push(&source, &bad, |t| bump(t, "9")).unwrap_err();
    assert!(matches!(e, WriteError::InvalidRefspec(_)), "{e}");
}

#[test]
fn a_push_that_lost_the_race_is_redone_on_the_new_head() {
    let root = tempfile::tempdir().unwrap();
    let (work, first) = repo(root.path());
    let daemon = GitDaemon::start(root.path());
    let source = main_branch(&daemon.url("fleet.git"));
    // Another writer pushes between this writer's fetch and its push.
    let mut calls = 0;
    let out = pushed(
        writeback::commit_and_push(&source, &options(), |t| {
            calls += 1;
            if calls == 1 {
                work.write(&[("other.txt", "the other writer\n")]);
                work.commit("the other writer");
                work.push();
            }
            bump(t, "2.0")
        })
        .unwrap(),
    );
    assert_eq!(calls, 2);
    assert_eq!(out.attempts, 2);
    assert_ne!(out.checkout_commit, first);
    assert_eq!(bare(&work, &["rev-parse", "main^"]), out.checkout_commit);
    let files = bare(&work, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(files.contains("other.txt"), "{files}");
    assert!(bare(&work, &["show", "main:apps/deploy.yaml"]).contains("app:2.0"));

    // With one attempt allowed, the lost race is an error naming it.
    let mut once = options();
    once.attempts = 1;
    let mut calls = 0;
    let e = writeback::commit_and_push(&source, &once, |t| {
        calls += 1;
        work.write(&[("other.txt", &format!("again {calls}\n"))]);
        work.commit("again");
        work.push();
        bump(t, "3.0")
    })
    .unwrap_err();
    assert!(
        matches!(
            &e,
            WriteError::RaceLost {
                attempts: 1,
                last: PushError::Rejected { .. }
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("fetch first"), "{e}");
}

#[test]
fn two_writers_racing_on_one_branch_both_land_every_change() {
    let root = tempfile::tempdir().unwrap();
    let (work, first) = repo(root.path());
    let daemon = GitDaemon::start(root.path());
    let url = daemon.url("fleet.git");
    let rounds = 4;
    let writers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|who| {
            let source = main_branch(&url);
            std::thread::spawn(move || {
                let mut opts = options();
                opts.attempts = 30;
                let mut attempts = 0;
                for round in 0..rounds {
                    let out = writeback::commit_and_push(&source, &opts, |t| {
                        std::fs::write(t.join(format!("{who}-{round}.txt")), who)?;
                        Ok::<_, std::io::Error>(Some(format!("{who} {round}")))
                    })
                    .unwrap();
                    attempts += pushed(out).attempts;
                }
                attempts
            })
        })
        .collect();
    let attempts: u32 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let count = bare(&work, &["rev-list", "--count", &format!("{first}..main")]);
    assert_eq!(count, (2 * rounds).to_string());
    let files = bare(&work, &["ls-tree", "--name-only", "main"]);
    for who in ["a", "b"] {
        for round in 0..rounds {
            assert!(files.contains(&format!("{who}-{round}.txt")), "{files}");
        }
    }
    eprintln!("{} commits in {attempts} attempts", 2 * rounds);
}

fn gpg(home: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--pinentry-mode", "loopback"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn commits_signed_with_an_openpgp_or_ssh_key_verify_with_git() {
    let root = tempfile::tempdir().unwrap();
    let (work, _) = repo(root.path());
    let daemon = GitDaemon::start(root.path());
    let source = main_branch(&daemon.url("fleet.git"));

    // OpenPGP, with a passphrase.
    let home = root.path().join("gnupg");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    gpg(
        &home,
        &[
            "--passphrase",
            "pgp-pass",
            "--quick-gen-key",
            "Fleet Signer <signer@fleet.invalid>",
            "ed25519",
            "sign",
            "never",
        ],
    );
    let armored = gpg(
        &home,
        &[
            "--passphrase",
            "pgp-pass",
            "--armor",
            "--export-secret-keys",
        ],
    );
    let data = BTreeMap::from([
        ("git.asc".to_string(), armored),
        ("passphrase".to_string(), b"pgp-pass".to_vec()),
    ]);
    let mut opts = options();
    opts.signing = Some(SigningKey::from_secret_data(None, &data).unwrap());
    let out = pushed(writeback::commit_and_push(&source, &opts, |t| bump(t, "1.1")).unwrap());
    let verify = Command::new("git")
        .current_dir(&work.bare)
        .env("GNUPGHOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(["verify-commit", "--raw", &out.commit])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "{status}");
    assert!(status.contains("GOODSIG"), "{status}");
    // A wrong passphrase fails before anything is pushed.
    let wrong = BTreeMap::from([
        ("git.asc".to_string(), data["git.asc"].clone()),
        ("passphrase".to_string(), b"nope".to_vec()),
    ]);
    opts.signing = Some(SigningKey::from_secret_data(Some("gpg"), &wrong).unwrap());
    let e = writeback::commit_and_push(&source, &opts, |t| bump(t, "1.2")).unwrap_err();
    assert!(matches!(e, WriteError::Signing(_)), "{e}");
    assert_eq!(bare(&work, &["rev-parse", "main"]), out.commit);

    // SSH, with a passphrase.
    let key = root.path().join("signing_key");
    let keygen = Command::new("ssh-keygen")
        .args([
            "-q", "-t", "ed25519", "-N", "ssh-pass", "-C", "signer", "-f",
        ])
        .arg(&key)
        .output()
        .unwrap();
    assert!(keygen.status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let allowed = root.path().join("allowed_signers");
    std::fs::write(&allowed, format!("bot@fleet.invalid {public}")).unwrap();
    let data = BTreeMap::from([
        ("identity".to_string(), std::fs::read(&key).unwrap()),
        ("password".to_string(), b"ssh-pass".to_vec()),
    ]);
    opts.signing = Some(SigningKey::from_secret_data(Some("ssh"), &data).unwrap());
    let out = pushed(writeback::commit_and_push(&source, &opts, |t| bump(t, "1.3")).unwrap());
    let verify = Command::new("git")
        .current_dir(&work.bare)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args([
            "-c",
            "gpg.format=ssh",
            "-c",
            &format!("gpg.ssh.allowedSignersFile={}", allowed.display()),
            "verify-commit",
            &out.commit,
        ])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "{status}");
    assert!(
        status.contains("Good \"git\" signature for bot@fleet.invalid"),
        "{status}"
    );
    let e = SigningKey::from_secret_data(Some("x509"), &data).unwrap_err();
    assert!(e.to_string().contains("'x509'"), "{e}");
}

#[test]
fn pushes_over_https_with_credentials_and_over_ssh_with_an_encrypted_deploy_key() {
    use fleet_testenv::git::{HttpAuth, HttpGit, SshServer, TestPki, TlsOptions};
    let root = tempfile::tempdir().unwrap();
    let (work, _) = repo(root.path());
    let pki = TestPki::new(&root.path().join("pki"));
    let server = HttpGit::start_tls(
        root.path(),
        HttpAuth::Basic("fleet".into(), "s3cret".into()),
        TlsOptions {
            pki: &pki,
            require_client_cert: false,
        },
    );
    let mut source = main_branch(&server.url("fleet.git"));
    source.credentials = Credentials {
        username: Some("fleet".into()),
        password: Some("s3cret".into()),
        ca: Some(pki.read("ca.crt")),
        ..Credentials::default()
    };
    let out = pushed(writeback::commit_and_push(&source, &options(), |t| bump(t, "1.1")).unwrap());
    assert_eq!(bare(&work, &["rev-parse", "main"]), out.commit);
    source.credentials.password = Some("wrong".into());
    let e = writeback::commit_and_push(&source, &options(), |t| bump(t, "1.2")).unwrap_err();
    assert_eq!(e.reason(), "AuthenticationFailed", "{e}");

    if !SshServer::available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "sshd (openssh-server) is missing; .ci/run installs it"
        );
        eprintln!("ssh part skipped: sshd is not installed");
        return;
    }
    let ssh = SshServer::start(&root.path().join("sshd"));
    // The deploy key, encrypted with a passphrase (the Secret's `password`).
    let key = root.path().join("deploy_key");
    std::fs::write(&key, &ssh.identity).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let reencrypt = Command::new("ssh-keygen")
        .args(["-q", "-p", "-P", "", "-N", "deploy-pass", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        reencrypt.status.success(),
        "{}",
        String::from_utf8_lossy(&reencrypt.stderr)
    );
    let mut source = main_branch(&ssh.url(&work.bare));
    source.credentials = Credentials {
        identity: Some(std::fs::read(&key).unwrap()),
        password: Some("deploy-pass".into()),
        known_hosts: Some(ssh.known_hosts.clone()),
        ..Credentials::default()
    };
    let out = pushed(writeback::commit_and_push(&source, &options(), |t| bump(t, "1.3")).unwrap());
    assert_eq!(bare(&work, &["rev-parse", "main"]), out.commit);
    source.credentials.password = Some("wrong".into());
    let e = writeback::commit_and_push(&source, &options(), |t| bump(t, "1.4")).unwrap_err();
    assert_eq!(e.reason(), "AuthenticationFailed", "{e}");
    assert!(e.to_string().contains("does not decrypt"), "{e}");
}
