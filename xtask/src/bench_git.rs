//! `cargo xtask bench git`: fleet's Git source side by side with the `git`
//! program, in one run, against the same `git daemon` on loopback, on a
//! generated 500-cluster fleet repository (the `bench kustomize` tree):
//! - first fetch: `fleet source fetch` (shallow fetch of one branch, then
//!   the tar.gz artifact) vs `git clone --depth 1 --single-branch` (fetch,
//!   then the checkout);
//! - the "unchanged" check: `fleet source fetch --since REVISION` vs
//!   `git ls-remote`;
//! - artifact packing, in this process (fleet_reconcile's archive writer)
//!   vs `git archive --format=tar.gz`: time and size.
//!
//! Times are medians of the repeats; ratios are fleet's time over git's
//! (below 1.0: fleet is faster).

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::bench::{generate, median, release_fleet};
use fleet_testenv::git::{GitDaemon, Workdir, git};

fn run(cmd: &mut Command) -> Result<(Duration, Vec<u8>)> {
    let started = Instant::now();
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((elapsed, out.stdout))
}

fn git_program(args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    cmd
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn line(what: &str, ours: Duration, theirs: Duration, reference: &str) {
    println!(
        "{what}: fleet {} vs {reference} {} -> ratio {:.2}",
        ms(ours),
        ms(theirs),
        ours.as_secs_f64() / theirs.as_secs_f64().max(1e-9)
    );
}

/// Runs the benchmark with a fleet of `clusters` clusters and prints a
/// report.
pub fn git_bench(root: &Path, clusters: usize, repeats: usize) -> Result<()> {
    let fleet = release_fleet(root)?;
    let work = root.join("target/bench/git");
    let _ = std::fs::remove_dir_all(&work);
    let served = work.join("served");
    std::fs::create_dir_all(&served)?;
    // `generate` starts from an empty directory: before `git init`.
    generate(&served.join("fleet-work"), clusters)?;
    let repo = Workdir::new(&served, "fleet");
    let commit = repo.commit("generated fleet");
    repo.push();
    let files = git(&repo.path, &["ls-files"]).lines().count();
    let daemon = GitDaemon::start(&served);
    let url = daemon.url("fleet.git");
    println!(
        "fleet repository: {clusters} clusters, {files} files, commit {commit}; served by git daemon at {url}"
    );

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut digest = String::new();
    let mut size = 0u64;
    for i in 0..repeats {
        let out = work.join(format!("artifacts-{i}"));
        let (t, stdout) = run(Command::new(&fleet)
            .args([
                "source", "fetch", "--url", &url, "--branch", "main", "-o", "json", "--out",
            ])
            .arg(&out))?;
        ours.push(t);
        let v: serde_json::Value = serde_json::from_slice(&stdout)?;
        digest = v["digest"].as_str().unwrap_or_default().to_string();
        size = v["size"].as_u64().unwrap_or_default();
        let clone = work.join(format!("clone-{i}"));
        let (t, _) = run(git_program(&[
            "clone",
            "-q",
            "--depth",
            "1",
            "--single-branch",
            "--branch",
            "main",
            &url,
        ])
        .arg(&clone))?;
        theirs.push(t);
        let _ = std::fs::remove_dir_all(&out);
        let _ = std::fs::remove_dir_all(&clone);
    }
    line(
        "first fetch",
        median(ours),
        median(theirs),
        "git clone --depth 1 --single-branch",
    );

    let since = format!("main@sha1:{commit}");
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let out = work.join("unchanged");
    for _ in 0..repeats {
        let (t, stdout) = run(Command::new(&fleet)
            .args([
                "source", "fetch", "--url", &url, "--branch", "main", "--since", &since, "--out",
            ])
            .arg(&out))?;
        if !String::from_utf8_lossy(&stdout).starts_with("unchanged:") {
            bail!("fleet fetched although the remote did not move");
        }
        ours.push(t);
        let (t, _) = run(&mut git_program(&["ls-remote", &url, "refs/heads/main"]))?;
        theirs.push(t);
    }
    line(
        "unchanged check",
        median(ours),
        median(theirs),
        "git ls-remote",
    );

    let bare = gix::open(&repo.bare)?;
    let tree = gix::ObjectId::from_hex(commit.as_bytes())?;
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut our_size = 0;
    let mut their_size = 0;
    for _ in 0..repeats {
        let mut buf = Vec::new();
        let started = Instant::now();
        fleet_reconcile::source::archive::write_archive(
            &bare,
            tree,
            &Default::default(),
            &mut buf,
        )?;
        ours.push(started.elapsed());
        our_size = buf.len();
        let (t, stdout) =
            run(git_program(&["archive", "--format=tar.gz", &commit]).current_dir(&repo.bare))?;
        theirs.push(t);
        their_size = stdout.len();
    }
    line(
        "artifact packing",
        median(ours),
        median(theirs),
        "git archive --format=tar.gz",
    );
    println!(
        "artifact size: fleet {our_size} bytes (default exclusions applied; CLI artifact {size} bytes, {digest}) vs git archive {their_size} bytes"
    );
    if cfg!(debug_assertions) {
        println!(
            "note: packing is timed in this process, built without optimisations for workspace crates; run `cargo run --release -p xtask -- bench git` for release figures"
        );
    }
    Ok(())
}
