//! `fleet diff kustomization NAME --path DIR`: what a reconcile of the
//! local tree would change on the cluster (server-side dry-run).

use super::ks_target::KsTarget;
use anyhow::{Result, bail};
use fleet_reconcile::diff::{LocalSources, diff_local_recursive};
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
    /// Also diff every Kustomization of the build that exists in the
    /// cluster, from its local source, and theirs in turn.
    #[arg(long)]
    recursive: bool,
    /// With --recursive: where sources are on disk, as
    /// `Kind/namespace/name=DIR` (repeat, or separate with commas). A child
    /// reading its parent's source needs none.
    #[arg(long, value_delimiter = ',', value_name = "KIND/NS/NAME=DIR")]
    local_sources: Vec<String>,
}

/// Diffs; exits 0 without differences, 1 with some (2 on errors, from main).
pub fn run(args: &Args) -> Result<ExitCode> {
    let What::Kustomization(args) = &args.what;
    let mut sources = LocalSources::new();
    for entry in &args.local_sources {
        let Some((key, dir)) = entry.split_once('=') else {
            bail!(
                "--local-sources {entry:?}: expected Kind/namespace/name=DIR, like GitRepository/flux-system/flux-system=./"
            );
        };
        if key.split('/').count() != 3 || dir.is_empty() {
            bail!(
                "--local-sources {entry:?}: expected Kind/namespace/name=DIR, like GitRepository/flux-system/flux-system=./"
            );
        }
        sources.insert(key.to_string(), std::path::PathBuf::from(dir));
    }
    let recursive = args.recursive.then_some(&sources);
    let report = args
        .target
        .run(ReconcileOptions::default(), |client, request| async move {
            Ok(diff_local_recursive(&client, &request, recursive).await?)
        })?;
    write!(std::io::stdout().lock(), "{report}")?;
    Ok(if report.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
