//! `fleet diff kustomization NAME --path DIR`: what a reconcile of the
//! local tree would change on the cluster (server-side dry-run).

use anyhow::{Context, Result};
use fleet_reconcile::diff::diff_local;
use fleet_reconcile::reconcile::{LocalApply, ReconcileOptions};
use std::io::Write;
use std::path::PathBuf;
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
    /// The Kustomization's name.
    name: String,
    /// The Kustomization's namespace.
    #[arg(short, long, default_value = "flux-system")]
    namespace: String,
    /// The local directory holding the manifests of `spec.path`.
    #[arg(long)]
    path: PathBuf,
    /// A file holding the Kustomization; without it, the cluster's object
    /// is used, else the repository around `--path` is searched.
    #[arg(long)]
    kustomization_file: Option<PathBuf>,
    /// The kubeconfig (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    #[arg(long)]
    context: Option<String>,
    /// The server-side apply field manager the dry-run uses.
    #[arg(long, default_value = "fleet")]
    field_manager: String,
}

/// Diffs; exits 0 without differences, 1 with some (2 on errors, from main).
pub fn run(args: &Args) -> Result<ExitCode> {
    let What::Kustomization(args) = &args.what;
    let request = LocalApply {
        name: args.name.clone(),
        namespace: args.namespace.clone(),
        path: args.path.clone(),
        kustomization_file: args.kustomization_file.clone(),
        options: ReconcileOptions {
            field_manager: args.field_manager.clone(),
            ..ReconcileOptions::default()
        },
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let client =
            fleet_capi::management::client(args.kubeconfig.as_deref(), args.context.as_deref())
                .await?;
        anyhow::Ok(diff_local(&client, &request).await?)
    })?;
    write!(std::io::stdout().lock(), "{report}")?;
    Ok(if report.entries.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
