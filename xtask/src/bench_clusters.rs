//! `cargo xtask bench clusters`: `fleet validate` on the example fleet
//! grown to N workload clusters with `fleet cluster new`, every Flux
//! Kustomization rendered (the shared Cluster API template once per
//! cluster, with its substitutions) and linted.
//!
//! There is no reference to run beside it here: flux-local needs the
//! `flux` CLI, which no registry of this workplace carries.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::bench::{median, release_fleet, timed};

/// Copies a directory tree.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying to {}", target.display()))?;
        }
    }
    Ok(())
}

/// `fleet cluster new NAME` in the fleet at `repo`, from the example's
/// Docker template, applying `overlay` to the new cluster.
pub(crate) fn cluster_new(fleet: &str, repo: &Path, name: &str, overlay: &str) -> Result<()> {
    let out = Command::new(fleet)
        .args(["cluster", "new", name, "--repo"])
        .arg(repo)
        .args([
            "--template",
            "cluster-templates/docker",
            "--overlay",
            overlay,
        ])
        .args(["--set", "KUBERNETES_VERSION=v1.31.2"])
        .output()?;
    if !out.status.success() {
        bail!(
            "fleet cluster new {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The example fleet with `clusters` scaffolded workload clusters.
fn fleet_repo(root: &Path, fleet: &str, dir: &Path, clusters: usize) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    copy_tree(&root.join("examples/fleet"), dir)?;
    for i in 0..clusters {
        cluster_new(fleet, dir, &format!("edge-{i}"), "infrastructure/staging")?;
    }
    Ok(())
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Runs the benchmark and prints a report.
pub fn clusters(root: &Path, scales: &[usize], repeats: usize) -> Result<()> {
    let fleet = release_fleet(root)?;
    let work = root.join("target/bench/clusters");
    for &n in scales {
        let dir = work.join(n.to_string());
        fleet_repo(root, &fleet, &dir, n)?;
        let dir_arg = dir.to_string_lossy();
        let mut times = Vec::new();
        let mut peak = 0;
        let mut summary = String::new();
        for _ in 0..repeats {
            let (t, mem, stdout) = timed(&[&fleet, "validate", &dir_arg], None)?;
            times.push(t);
            peak = peak.max(mem);
            summary = String::from_utf8_lossy(&stdout)
                .lines()
                .last()
                .unwrap_or_default()
                .to_string();
        }
        let m = median(times);
        println!(
            "fleet validate, {n:>4} workload clusters: median {} ({} per cluster), peak RSS {} MiB -> {summary}",
            millis(m),
            millis(m / u32::try_from(n.max(1)).unwrap_or(u32::MAX)),
            peak / 1024
        );
    }
    Ok(())
}
