//! `fleet diff kustomization NAME --path DIR`: what a reconcile of the
//! local tree would change on the cluster (server-side dry-run).

use super::ks_target::KsTarget;
use anyhow::Result;
use fleet_reconcile::diff::diff_local;
use fleet_reconcile::reconcile::ReconcileOptions;
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `fleet diff`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Server-side dry-run of a Flux Kustomization's local build against the
    /// live cluster: `► Kind/ns/name drifted` with a diff, `created`, and
    /// `deleted` for what its stored inventory has and the build lacks.
    #[command(visible_alias = "ks")]
    Kustomization(KsArgs),
}

/// Arguments of `fleet diff kustomization`.
#[derive(clap::Args)]
struct KsArgs {
    #[command(flatten)]
    target: KsTarget,
}

/// Diffs; exits 0 without differences, 1 with some (2 on errors, from main).
pub fn run(args: &Args) -> Result<ExitCode> {
    let What::Kustomization(args) = &args.what;
    let report = args
        .target
        .run(ReconcileOptions::default(), |client, request| async move {
            Ok(diff_local(&client, &request).await?)
        })?;
    write!(std::io::stdout().lock(), "{report}")?;
    Ok(if report.entries.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
