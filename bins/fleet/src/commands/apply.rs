//! `fleet apply kustomization NAME --path DIR`: one reconcile in the
//! foreground, by the code the controller runs.

use super::Output;
use super::ks_target::KsTarget;
use anyhow::{Context, Result};
use fleet_reconcile::reconcile::{ReconcileOptions, apply_local};
use std::io::Write;
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
    #[command(flatten)]
    target: KsTarget,
    /// Wait until every applied object is healthy.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` (and the Kustomization's health checks) may take,
    /// e.g. `2m` (default: the Kustomization's timeout).
    #[arg(long, value_name = "DURATION")]
    timeout: Option<String>,
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
    let options = ReconcileOptions {
        wait: args.wait,
        timeout,
        health_interval: Duration::from_secs(2),
        ..ReconcileOptions::default()
    };
    let applied = args.target.run(options, |client, request| async move {
        Ok(apply_local(&client, &request).await?)
    })?;
    let outcome = &applied.outcome;
    let mut out = std::io::stdout().lock();
    let id = args.target.id();
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
