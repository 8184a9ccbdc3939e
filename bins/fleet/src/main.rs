//! `fleet`: the command-line interface for people and CI.
//!
//! The binary only parses arguments, calls the fleet crates and prints; the
//! logic lives in the libraries.

mod commands;

/// mimalloc: a render is many small allocations (one per YAML node),
/// which it serves faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Run Kubernetes clusters as a service with GitOps.
#[derive(Parser)]
#[command(name = "fleet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the Kubernetes objects in YAML/JSON files and check the Flux and
    /// Cluster API ones against their schemas.
    Objects(commands::objects::Args),
    /// Render a kustomization directory exactly as `kubectl kustomize` does.
    Build(commands::build::Args),
    /// Substitute `${VAR}` expressions in standard input from the environment,
    /// with the grammar Flux's post-build substitution uses.
    Envsubst(commands::envsubst::Args),
    /// Image automation: pick tags by policy, scan registries, rewrite
    /// `$imagepolicy` markers.
    Image(commands::image::Args),
    /// Cluster API clusters: templates with clusterctl's variables.
    Cluster(commands::cluster::Args),
    /// Lint a repository for CI: schemas, Cluster API, health-check and
    /// autoscaler rules; exits 1 on errors.
    Validate(commands::validate::Args),
    /// What a change does to every cluster: the fleet rendered at two Git
    /// revisions, compared per cluster, Kustomization and object; exits 1
    /// when something changes.
    Plan(commands::plan::Args),
    /// Reconcile onto a cluster from a local tree, by the code the
    /// controller runs (`fleet apply ks NAME --path DIR`).
    Apply(commands::apply::Args),
    /// What a reconcile of a local tree would change on a cluster, by
    /// server-side dry-run (`fleet diff ks NAME --path DIR`); exits 1 when
    /// something differs.
    Diff(commands::diff::Args),
    /// Git sources as Flux's source-controller keeps them: fetch a
    /// reference and write its content-addressed artifact.
    Source(commands::source::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Objects(args) => commands::objects::run(&args),
        Command::Build(args) => commands::build::run(&args),
        Command::Envsubst(args) => commands::envsubst::run(&args),
        Command::Image(args) => commands::image::run(&args),
        Command::Cluster(args) => commands::cluster::run(&args),
        Command::Validate(args) => commands::validate::run(&args),
        Command::Plan(args) => commands::plan::run(&args),
        Command::Apply(args) => commands::apply::run(&args),
        Command::Diff(args) => commands::diff::run(&args),
        Command::Source(args) => commands::source::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
