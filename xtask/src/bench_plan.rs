//! `cargo xtask bench plan`: `fleet plan` on the example fleet grown to N
//! workload clusters with `fleet cluster new` (each with its own overlay
//! on top of `infrastructure/staging`), committed in Git, for two changes
//! on a branch: one line in one cluster's overlay, and one line in a base
//! every cluster uses. Each is planned in full and with `--changed-only`
//! (its first run for a base commit, which renders the base and keeps its
//! snapshot, and later runs, which read the snapshot); beside it, in the same run, what a script does today: every cluster's
//! Kustomization paths rendered at both revisions by `kubectl kustomize`,
//! then diffed with `diff -u`.

use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::bench::{median, release_fleet, timed_exit};

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .output()
        .with_context(|| format!("running git {args:?}"))?;
    if !out.status.success() {
        bail!("git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Replaces the first `from` in a file with `to`.
fn edit(file: &Path, from: &str, to: &str) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    if !text.contains(from) {
        bail!("{} has no {from:?}", file.display());
    }
    std::fs::write(file, text.replacen(from, to, 1))
        .with_context(|| format!("writing {}", file.display()))
}

fn overlay(name: &str) -> String {
    format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../staging\nlabels:\n- pairs:\n    fleet.example.com/cluster: {name}\nreplicas:\n- name: ingress-nginx-controller\n  count: 2\n"
    )
}

/// The example fleet with `clusters` workload clusters, each with its own
/// overlay, committed on `main`; a branch `change` is checked out.
fn fleet_repo(root: &Path, fleet: &str, dir: &Path, clusters: usize) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    crate::bench_clusters::copy_tree(&root.join("examples/fleet"), dir)?;
    for i in 0..clusters {
        let name = format!("edge-{i}");
        let overlay_dir = dir.join("infrastructure").join(&name);
        std::fs::create_dir_all(&overlay_dir)?;
        std::fs::write(overlay_dir.join("kustomization.yaml"), overlay(&name))?;
        crate::bench_clusters::cluster_new(fleet, dir, &name, &format!("infrastructure/{name}"))?;
    }
    git(dir, &["init", "-q", "-b", "main"])?;
    git(dir, &["add", "-A"])?;
    git(dir, &["commit", "-q", "-m", "fleet"])?;
    Ok(())
}

/// The script a reviewer runs today: both revisions checked out, every
/// cluster's Kustomization paths built by `kubectl kustomize` at each, and
/// diffed. Written for `clusters` of the clusters.
fn kubectl_script(dir: &Path, clusters: usize) -> String {
    let mut paths = Vec::new();
    for i in 0..clusters {
        paths.push("cluster-templates/docker".to_string());
        paths.push(format!("infrastructure/edge-{i}"));
    }
    let mut script = String::new();
    let _ = writeln!(script, "set -eu\ncd '{}'", dir.display());
    let _ = writeln!(
        script,
        "out=$(mktemp -d)\ngit worktree add -q --detach \"$out/base\" main\ngit worktree add -q --detach \"$out/head\" HEAD"
    );
    let _ = writeln!(script, "for p in {}; do", paths.join(" "));
    let _ = writeln!(
        script,
        "  kubectl kustomize \"$out/base/$p\" > \"$out/a.yaml\"\n  kubectl kustomize \"$out/head/$p\" > \"$out/b.yaml\"\n  diff -u \"$out/a.yaml\" \"$out/b.yaml\" || true\ndone"
    );
    let _ = writeln!(
        script,
        "git worktree remove --force \"$out/base\"\ngit worktree remove --force \"$out/head\"\nrm -rf \"$out\""
    );
    script
}

fn millis(d: Duration) -> String {
    if d >= Duration::from_secs(10) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    }
}

struct Measure {
    median: Duration,
    peak_mib: u64,
}

fn measure(cmd: &[&str], repeats: usize) -> Result<Measure> {
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..repeats {
        let (t, mem, _) = timed_exit(cmd, &[0, 1])?;
        times.push(t);
        peak = peak.max(mem);
    }
    Ok(Measure {
        median: median(times),
        peak_mib: peak / 1024,
    })
}

/// Runs the benchmark and prints a report. kubectl runs on at most
/// `kubectl_clusters` clusters; above that its time is scaled linearly
/// (and said so).
pub fn plan(
    root: &Path,
    scales: &[usize],
    repeats: usize,
    with_kubectl: bool,
    kubectl_clusters: usize,
) -> Result<()> {
    let fleet = release_fleet(root)?;
    let work = root.join("target/bench/plan");
    for &n in scales {
        let dir = work.join(n.to_string());
        fleet_repo(root, &fleet, &dir, n)?;
        let dir_arg = dir.to_string_lossy().into_owned();
        let changes: [(&str, &str, &str, &str); 2] = [
            (
                "one line in one cluster's overlay",
                "infrastructure/edge-0/kustomization.yaml",
                "count: 2",
                "count: 3",
            ),
            (
                "one line in a base every cluster uses",
                "infrastructure/base/ingress-nginx/deployment.yaml",
                "controller:v1.11.3",
                "controller:v1.12.0",
            ),
        ];
        for (what, file, from, to) in changes {
            git(&dir, &["checkout", "-q", "-B", "change", "main"])?;
            edit(&dir.join(file), from, to)?;
            git(&dir, &["commit", "-q", "-am", what])?;
            let full = measure(&[&fleet, "plan", &dir_arg], repeats)?;
            // The first `--changed-only` of a base commit renders the base
            // in full and keeps its snapshot in the Git directory; later
            // ones read it.
            let kept = dir.join(".git/fleet/plan");
            let mut first = Vec::new();
            let mut first_peak = 0;
            for _ in 0..repeats {
                let _ = std::fs::remove_dir_all(&kept);
                let (t, mem, _) =
                    timed_exit(&[&fleet, "plan", &dir_arg, "--changed-only"], &[0, 1])?;
                first.push(t);
                first_peak = first_peak.max(mem / 1024);
            }
            let quick = measure(&[&fleet, "plan", &dir_arg, "--changed-only"], repeats)?;
            println!(
                "{n:>4} clusters, {what}: fleet plan {} ({} MiB), --changed-only first run {} ({} MiB), snapshot kept {} ({} MiB)",
                millis(full.median),
                full.peak_mib,
                millis(median(first)),
                first_peak,
                millis(quick.median),
                quick.peak_mib
            );
            if with_kubectl {
                let sample = n.min(kubectl_clusters.max(1));
                let script = work.join(format!("kubectl-plan-{n}.sh"));
                std::fs::write(&script, kubectl_script(&dir, sample))?;
                let script_arg = script.to_string_lossy().into_owned();
                let kubectl = measure(&["bash", &script_arg], repeats)?;
                let scaled = kubectl.median.mul_f64(n as f64 / sample as f64);
                let note = if sample < n {
                    format!(
                        " (measured on {sample} clusters: {}, scaled linearly)",
                        millis(kubectl.median)
                    )
                } else {
                    String::new()
                };
                println!(
                    "{n:>4} clusters, {what}: kubectl kustomize + diff -u script {}{note} ({} MiB); fleet plan {:.0}x faster, --changed-only {:.0}x",
                    millis(scaled),
                    kubectl.peak_mib,
                    scaled.as_secs_f64() / full.median.as_secs_f64(),
                    scaled.as_secs_f64() / quick.median.as_secs_f64()
                );
            }
        }
    }
    Ok(())
}
