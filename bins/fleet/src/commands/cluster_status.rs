//! `fleet cluster status [NAME]`: each Cluster API cluster at a glance,
//! read from the management cluster or from `kubectl get -o yaml` output.

use super::Output;
use anyhow::{Context, Result, bail};
use fleet_capi::summary::{ClusterSummary, summarize_objects};
use fleet_model::Value;
use kube::api::{Api, DynamicObject, ListParams, TypeMeta};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::ApiResource;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// The Cluster API group.
const CAPI_GROUP: &str = "cluster.x-k8s.io";
/// The kinds read from it.
const CAPI_KINDS: [&str; 3] = ["Cluster", "MachineDeployment", "Machine"];

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

/// Objects from files; `kind: List` documents are unpacked.
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
        let documents = fleet_model::yaml::parse_documents(&text).with_context(|| name.clone())?;
        for document in documents {
            let value = document.value;
            let is_list = value
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k == "List" || k.ends_with("List"));
            match value.get("items").and_then(Value::as_sequence) {
                Some(items) if is_list => objects.extend(items.iter().cloned()),
                _ => objects.push(value),
            }
        }
    }
    Ok(objects)
}

/// A kube-rs error under `what`: its message already holds its causes, so
/// they are not chained again.
fn kube_error(what: &str, error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{what}: {error}")
}

async fn management_client(args: &StatusArgs) -> Result<kube::Client> {
    let options = KubeConfigOptions {
        context: args.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|e| kube_error("reading the kubeconfig", e))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options).await
        }
        None => kube::Config::from_kubeconfig(&options).await,
    }
    .map_err(|e| {
        kube_error(
            "loading the management cluster's kubeconfig (pass --kubeconfig FILE, or --from FILE to read saved objects)",
            e,
        )
    })?;
    kube::Client::try_from(config).map_err(|e| kube_error("building the Kubernetes client", e))
}

/// The API resource serving `kind` in `group`, at the server's preferred version.
async fn resource(client: &kube::Client, group: &str, kind: &str) -> Result<ApiResource> {
    let api_group = kube::discovery::group(client, group).await.map_err(|e| {
        kube_error(
            &format!("discovering API group {group} (is its provider installed in the management cluster?)"),
            e,
        )
    })?;
    let (resource, _) = api_group
        .recommended_kind(kind)
        .with_context(|| format!("the API group {group} serves no kind {kind}"))?;
    Ok(resource)
}

async fn list(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
) -> Result<Vec<Value>> {
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    };
    let listed = api
        .list(&ListParams::default())
        .await
        .map_err(|e| kube_error(&format!("listing {}", resource.plural), e))?;
    listed
        .items
        .into_iter()
        .map(|mut object| {
            // List items of built-in kinds carry no apiVersion/kind.
            object.types.get_or_insert_with(|| TypeMeta {
                api_version: resource.api_version.clone(),
                kind: resource.kind.clone(),
            });
            Ok(Value::from(serde_json::to_value(&object)?))
        })
        .collect()
}

/// Clusters, MachineDeployments and Machines, and the control planes the
/// Clusters refer to, from the management cluster.
async fn live_objects(args: &StatusArgs) -> Result<Vec<Value>> {
    let client = management_client(args).await?;
    let namespace = args.namespace.as_deref();
    let mut objects = Vec::new();
    for kind in CAPI_KINDS {
        let resource = resource(&client, CAPI_GROUP, kind).await?;
        objects.extend(list(&client, &resource, namespace).await?);
    }
    // v1beta1 refers to the control plane by apiVersion, v1beta2 by apiGroup.
    let control_plane_kinds: BTreeSet<(String, String)> = objects
        .iter()
        .filter_map(|o| o.pointer(&["spec", "controlPlaneRef"]))
        .filter_map(|r| {
            let kind = r.get("kind")?.as_str()?;
            let group = match r.get("apiGroup").and_then(Value::as_str) {
                Some(group) => group,
                None => fleet_model::id::split_api_version(r.get("apiVersion")?.as_str()?).0,
            };
            // Control planes are never in the core group.
            (!group.is_empty()).then(|| (group.to_string(), kind.to_string()))
        })
        .collect();
    // A control plane whose provider is missing leaves its Clusters "not
    // ready" rather than hiding every other cluster.
    for (group, kind) in control_plane_kinds {
        match resource(&client, &group, &kind).await {
            Ok(resource) => objects.extend(list(&client, &resource, namespace).await?),
            Err(e) => eprintln!("warning: {e:#}"),
        }
    }
    Ok(objects)
}
