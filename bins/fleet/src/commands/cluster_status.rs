//! `fleet cluster status [NAME]`: each Cluster API cluster at a glance,
//! read from the management cluster or from `kubectl get -o yaml` output.

use super::Output;
use anyhow::{Context, Result, bail};
use fleet_capi::management;
use fleet_capi::summary::{ClusterSummary, objects_in_text, summarize_objects};
use fleet_model::Value;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fleet cluster status`.
#[derive(clap::Args)]
pub struct StatusArgs {
    /// Only this cluster.
    name: Option<String>,
    /// Read the objects from YAML or JSON files (`-` for standard input)
    /// instead of the management cluster, e.g. the output of
    /// `kubectl get clusters,kubeadmcontrolplanes,machinedeployments,machines -A -o yaml`.
    #[arg(long = "from", value_name = "FILE")]
    from: Vec<PathBuf>,
    /// Only clusters in this namespace (default: all namespaces).
    #[arg(short, long)]
    namespace: Option<String>,
    /// The management cluster's kubeconfig (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE", conflicts_with = "from")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    #[arg(long, conflicts_with = "from")]
    context: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Prints the summaries; errors when NAME is given and not found.
pub fn run(args: &StatusArgs) -> Result<ExitCode> {
    let objects = if args.from.is_empty() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        runtime.block_on(live_objects(args))?
    } else {
        file_objects(&args.from)?
    };
    let summaries: Vec<ClusterSummary> = summarize_objects(&objects)
        .into_iter()
        .filter(|s| args.namespace.as_ref().is_none_or(|ns| *ns == s.namespace))
        .filter(|s| args.name.as_ref().is_none_or(|n| *n == s.name))
        .collect();
    if let Some(name) = &args.name
        && summaries.is_empty()
    {
        let scope = args
            .namespace
            .as_deref()
            .map_or("any namespace".to_string(), |ns| format!("namespace {ns}"));
        bail!("no Cluster named {name} in {scope}");
    }
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Json => {
            let rows: Vec<serde_json::Value> = summaries.iter().map(json_row).collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        }
        Output::Text => write_table(&mut out, &summaries)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn json_row(s: &ClusterSummary) -> serde_json::Value {
    serde_json::json!({
        "namespace": s.namespace,
        "name": s.name,
        "phase": s.phase,
        "controlPlaneReady": s.control_plane_ready,
        "infrastructureReady": s.infrastructure_ready,
        "machinesReady": s.machines_ready,
        "machinesDesired": s.machines_desired,
        "blocking": s.blocking,
    })
}

fn write_table(out: &mut impl Write, summaries: &[ClusterSummary]) -> Result<()> {
    if summaries.is_empty() {
        writeln!(out, "No Cluster API clusters found.")?;
        return Ok(());
    }
    let ready = |b: bool| if b { "ready" } else { "not ready" };
    let header = [
        "NAMESPACE",
        "CLUSTER",
        "PHASE",
        "CONTROL PLANE",
        "INFRASTRUCTURE",
        "MACHINES",
    ];
    let rows: Vec<[String; 6]> = summaries
        .iter()
        .map(|s| {
            [
                s.namespace.clone(),
                s.name.clone(),
                s.phase.clone(),
                ready(s.control_plane_ready).to_string(),
                ready(s.infrastructure_ready).to_string(),
                format!("{}/{}", s.machines_ready, s.machines_desired),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[&str]| -> String {
        let mut text = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        text.truncate(text.trim_end().len());
        text
    };
    writeln!(out, "{}", line(&header))?;
    for (row, summary) in rows.iter().zip(summaries) {
        writeln!(out, "{}", line(&row.each_ref().map(String::as_str)))?;
        for why in &summary.blocking {
            writeln!(out, "  blocking: {why}")?;
        }
    }
    Ok(())
}

/// Objects from files (`-`: standard input).
fn file_objects(paths: &[PathBuf]) -> Result<Vec<Value>> {
    let mut objects = Vec::new();
    for path in paths {
        let (name, text) = if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading standard input")?;
            ("<stdin>".to_string(), text)
        } else {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            (path.display().to_string(), text)
        };
        objects.extend(objects_in_text(&text).with_context(|| name.clone())?);
    }
    Ok(objects)
}

/// The Cluster API objects of the management cluster; control planes whose
/// provider is missing are warned about.
async fn live_objects(args: &StatusArgs) -> Result<Vec<Value>> {
    let client = management::client(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
    let listed = management::cluster_objects(&client, args.namespace.as_deref()).await?;
    for warning in &listed.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(listed.objects)
}
