//! `fleet apply kustomization NAME --path DIR`: one reconcile in the
//! foreground, by the code the controller runs.

use super::Output;
use anyhow::{Context, Result};
use fleet_reconcile::reconcile::{LocalApply, ReconcileOptions, apply_local};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `fleet apply`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Reconcile a Flux Kustomization from a local directory onto a
    /// cluster: staged server-side apply, prune (when the Kustomization
    /// exists in the cluster), health checks, status.
    #[command(visible_alias = "ks")]
    Kustomization(KsArgs),
}

/// Arguments of `fleet apply kustomization`.
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
    /// Wait until every applied object is healthy.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` (and the Kustomization's health checks) may take,
    /// e.g. `2m` (default: the Kustomization's timeout).
    #[arg(long, value_name = "DURATION")]
    timeout: Option<String>,
    /// The server-side apply field manager (`kustomize-controller` takes
    /// over objects Flux applied without conflicts).
    #[arg(long, default_value = "fleet")]
    field_manager: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Applies; exits 0 when applied (and healthy with `--wait`), 1 when the
/// reconcile failed.
pub fn run(args: &Args) -> Result<ExitCode> {
    let What::Kustomization(args) = &args.what;
    let timeout = match &args.timeout {
        Some(t) => Some(
            fleet_model::GoDuration::from(t.as_str())
                .to_std()
                .with_context(|| format!("--timeout {t}"))?,
        ),
        None => None,
    };
    let request = LocalApply {
        name: args.name.clone(),
        namespace: args.namespace.clone(),
        path: args.path.clone(),
        kustomization_file: args.kustomization_file.clone(),
        options: ReconcileOptions {
            field_manager: args.field_manager.clone(),
            wait: args.wait,
            timeout,
            health_interval: Duration::from_secs(2),
            ..ReconcileOptions::default()
        },
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let applied = runtime.block_on(async {
        let client =
            fleet_capi::management::client(args.kubeconfig.as_deref(), args.context.as_deref())
                .await?;
        anyhow::Ok(apply_local(&client, &request).await?)
    })?;
    let outcome = &applied.outcome;
    let mut out = std::io::stdout().lock();
    let id = format!("{}/{}", args.namespace, args.name);
    if args.output == Output::Json {
        let changes: Vec<serde_json::Value> = outcome
            .changes
            .entries
            .iter()
            .map(|c| serde_json::json!({"id": c.id.to_string(), "action": c.action.to_string()}))
            .collect();
        let doc = serde_json::json!({
            "kustomization": id,
            "changes": changes,
            "inCluster": applied.in_cluster,
            "suspended": outcome.suspended,
            "ready": outcome.result.is_ok(),
            "error": outcome.result.as_ref().err().map(ToString::to_string),
            "revision": outcome.status.last_attempted_revision,
            "inventory": outcome.status.inventory.as_ref().map(|i| i.entries.len()),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else if outcome.suspended {
        writeln!(out, "Kustomization {id} is suspended: nothing applied")?;
    } else {
        write!(out, "{}", outcome.changes)?;
        if !applied.in_cluster {
            writeln!(
                out,
                "Kustomization {id} is not in the cluster: nothing pruned, no status written"
            )?;
        }
    }
    match &outcome.result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
