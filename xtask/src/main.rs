//! Development tasks for fleet, run as `cargo xtask <task>`.
//!
//! - `crds`: writes the CRDs of the Flux kinds to `config/crd/`
//!   (`--check` fails instead when the committed files are out of date).
//! - `conformance kustomize [--record]`: runs the kustomize corpus against
//!   `fleet build`; fails below the recorded pass count (`--record` raises it).

//! - `bench kustomize [--scales 10,100,500] [--repeats N] [--no-kubectl]`:
//!   fleet build against kubectl kustomize on a generated fleet.
//! - `bench images [--repeats N]`: `fleet image select` on 100,000 tags per
//!   policy kind and `fleet image update` on a 5,000-file tree.
//! - `bench clusters [--scales 10,100,500] [--repeats N]`: `fleet validate`
//!   on the example fleet grown to N clusters with `fleet cluster new`.
//! - `bench apply [--repeats N]`: fleet's staged server-side apply of 1,000
//!   objects on fleet-testenv, first and unchanged, beside a bare
//!   one-apply-per-object kube-rs loop (the API server's floor).
//! - `bench plan [--scales 100,500] [--repeats N] [--no-kubectl]
//!   [--kubectl-clusters N]`: `fleet plan` (full and `--changed-only`) on
//!   that fleet for a one-overlay and a base change, beside a script of
//!   `kubectl kustomize` at both revisions and `diff -u`.
//! - `fidelity [--seeds N] [--start S] [--keep-failures DIR] [--jobs J]
//!   [--min-pass P] [--verbose]`: builds N randomly generated, realistic
//!   kustomization trees with fleet and with `kubectl kustomize` and groups
//!   the differences (CI runs a fixed set of seeds).
//! - `testenv build`: builds `fleet-testenv` (a real control plane from Go
//!   modules, in `tests/testenv/`) and prints its path.
//! - `testenv up ARGS…`: builds it and runs `fleet-testenv up ARGS…`.

mod bench;
mod bench_apply;
mod bench_clusters;
mod bench_git;
mod bench_images;
mod bench_plan;
mod conformance;
mod fidelity;
mod fidelity_gen;
mod testenv;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "fleet development tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Generate the Flux CRDs into config/crd/.
    Crds {
        /// Compare with the committed files instead of writing them.
        #[arg(long)]
        check: bool,
    },
    /// Benchmark fleet against the reference tool on generated input.
    Bench {
        /// What to benchmark.
        #[arg(value_parser = ["kustomize", "images", "clusters", "apply", "plan", "git"])]
        what: String,
        /// Fleet sizes (clusters) for the whole-fleet build.
        #[arg(long, value_delimiter = ',', default_value = "10,100,500")]
        scales: Vec<usize>,
        /// Repetitions per measurement (the median is reported).
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        /// Skip kubectl kustomize.
        #[arg(long)]
        no_kubectl: bool,
        /// `bench plan`: run the kubectl script on at most this many
        /// clusters and scale its time linearly to the fleet's size.
        #[arg(long, default_value_t = 100)]
        kubectl_clusters: usize,
    },
    /// Build or run fleet-testenv, the real control plane the tests use.
    Testenv {
        #[command(subcommand)]
        action: TestenvAction,
    },
    /// Differential run against kubectl kustomize on generated trees.
    Fidelity {
        /// How many trees.
        #[arg(long, default_value_t = 200)]
        seeds: u64,
        /// First seed.
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// Copy failing trees here, with kustomize's and fleet's output.
        #[arg(long)]
        keep_failures: Option<PathBuf>,
        /// Worker threads.
        #[arg(long, default_value_t = 2)]
        jobs: usize,
        /// Fail when fewer than this percentage of trees match.
        #[arg(long, default_value_t = 0.0)]
        min_pass: f64,
        /// Print the first difference of each group.
        #[arg(long)]
        verbose: bool,
    },
    /// Run a conformance corpus from ../shared/conformance.
    Conformance {
        /// Which corpus.
        #[arg(value_parser = ["kustomize"])]
        corpus: String,
        /// Raise the recorded pass count when more cases pass.
        #[arg(long)]
        record: bool,
    },
}

#[derive(Subcommand)]
enum TestenvAction {
    /// go build the binary into target/testenv/ and print its path.
    Build,
    /// Build it, then run `fleet-testenv up` with these arguments
    /// (e.g. `--dir /tmp/env --clusters 2`).
    Up {
        /// Arguments for `fleet-testenv up`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.task {
        Task::Crds { check } => crds(&workspace_root().join("config/crd"), check),
        Task::Testenv { action } => match action {
            TestenvAction::Build => {
                println!("{}", testenv::build(&workspace_root())?.display());
                Ok(())
            }
            TestenvAction::Up { args } => testenv::up(&workspace_root(), &args),
        },
        Task::Fidelity {
            seeds,
            start,
            keep_failures,
            jobs,
            min_pass,
            verbose,
        } => fidelity::run(&fidelity::Options {
            start,
            seeds,
            keep_failures,
            jobs,
            verbose,
            min_pass_percent: min_pass,
        }),
        Task::Conformance { corpus: _, record } => {
            conformance::kustomize(&workspace_root(), record)
        }
        Task::Bench {
            what,
            scales,
            repeats,
            no_kubectl,
            kubectl_clusters,
        } => match what.as_str() {
            "images" => bench_images::images(&workspace_root(), repeats.max(1)),
            "clusters" => bench_clusters::clusters(&workspace_root(), &scales, repeats.max(1)),
            "apply" => bench_apply::apply(&workspace_root(), repeats.max(1)),
            "git" => bench_git::git_bench(
                &workspace_root(),
                scales.iter().copied().max().unwrap_or(500),
                repeats.max(1),
            ),
            "plan" => bench_plan::plan(
                &workspace_root(),
                &scales,
                repeats.max(1),
                !no_kubectl,
                kubectl_clusters,
            ),
            _ => bench::kustomize(&workspace_root(), &scales, repeats.max(1), !no_kubectl),
        },
    }
}

fn crds(dir: &Path, check: bool) -> Result<()> {
    let files = fleet_model::crd::flux_crd_files().context("rendering the CRDs")?;
    if check {
        let stale = xtask::stale_crd_files(dir, &files)?;
        if !stale.is_empty() {
            bail!(
                "these CRDs in {} are out of date: {}; run `cargo xtask crds`",
                dir.display(),
                stale.join(", ")
            );
        }
        println!("{} CRDs up to date", files.len());
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in &files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
