//! `fleet cluster template vars|render`: clusterctl's template convention.

use super::Output;
use anyhow::{Context, Result, bail};
use fleet_capi::scaffold::{NewCluster, scaffold};
use fleet_capi::template::{Template, Variables};
use fleet_model::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `fleet cluster`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Cluster templates with clusterctl's `${VAR}` / `${VAR:=default}` variables.
    Template(TemplateArgs),
    /// Add a cluster to a fleet repository: one small folder whose Flux
    /// Kustomizations render the shared template and apply the cluster's overlay.
    New(NewArgs),
    /// Each cluster's phase, control plane, infrastructure and machines, and
    /// what blocks it; from the management cluster or saved `kubectl get -o yaml` output.
    Status(super::cluster_status::StatusArgs),
}

#[derive(clap::Args)]
struct NewArgs {
    /// The cluster's name (DNS-1123: lower-case letters, digits, '-').
    name: String,
    /// The shared cluster template directory, relative to the repository.
    #[arg(long)]
    template: String,
    /// A template variable's value, `KEY=VALUE` (repeatable); CLUSTER_NAME is the name.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// The repository root.
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// The overlay applied to the new workload cluster, relative to the repository.
    #[arg(long, default_value = "infrastructure/base")]
    overlay: String,
    /// Where cluster folders live, relative to the repository (rendered by the management cluster).
    #[arg(long, default_value = "workloads")]
    clusters_dir: String,
    /// Namespace of the generated Flux Kustomizations.
    #[arg(long, default_value = "flux-system")]
    namespace: String,
    /// The GitRepository they read.
    #[arg(long, default_value = "flux-system")]
    source: String,
}

#[derive(clap::Args)]
struct TemplateArgs {
    #[command(subcommand)]
    command: TemplateCommand,
}

#[derive(clap::Subcommand)]
enum TemplateCommand {
    /// List a template's variables: required ones, and optional ones with their defaults.
    Vars(VarsArgs),
    /// Render a template: values from --set, the environment and --vars-file, in that order.
    Render(RenderArgs),
}

#[derive(clap::Args)]
struct VarsArgs {
    /// The template file.
    file: PathBuf,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(clap::Args)]
struct RenderArgs {
    /// The template file.
    file: PathBuf,
    /// A variable's value, `KEY=VALUE` (repeatable); wins over the environment and --vars-file.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// A YAML file of `KEY: value` pairs, like clusterctl's config file; the environment wins over it.
    #[arg(long, value_name = "FILE")]
    vars_file: Option<PathBuf>,
}

/// Runs `fleet cluster …`.
pub fn run(args: &Args) -> Result<ExitCode> {
    match &args.command {
        Command::New(a) => new_cluster(a),
        Command::Status(a) => super::cluster_status::run(a),
        Command::Template(t) => match &t.command {
            TemplateCommand::Vars(a) => vars(a),
            TemplateCommand::Render(a) => render(a),
        },
    }
}

fn load(file: &Path) -> Result<Template> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    Template::new(&text).with_context(|| format!("{}", file.display()))
}

fn vars(args: &VarsArgs) -> Result<ExitCode> {
    let template = load(&args.file)?;
    let variables = template.variables();
    let mut out = std::io::stdout().lock();
    if args.output == Output::Json {
        let map: serde_json::Map<String, serde_json::Value> = variables
            .iter()
            .map(|(k, d)| {
                (
                    k.to_string(),
                    d.map_or(serde_json::Value::Null, |d| d.into()),
                )
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&map)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let required: Vec<&str> = variables
        .iter()
        .filter(|(_, d)| d.is_none())
        .map(|(k, _)| *k)
        .collect();
    let optional: Vec<(&str, &str)> = variables
        .iter()
        .filter_map(|(k, d)| d.map(|d| (*k, d)))
        .collect();
    let width = variables.keys().map(|k| k.len()).max().unwrap_or(0);
    if !required.is_empty() {
        writeln!(out, "Required Variables:")?;
        for name in &required {
            writeln!(out, "  - {name}")?;
        }
    }
    if !optional.is_empty() {
        if !required.is_empty() {
            writeln!(out)?;
        }
        writeln!(out, "Optional Variables:")?;
        for (name, default) in &optional {
            writeln!(out, "  - {name:<width$} (defaults to {default})")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a `KEY: value` YAML file; scalars become their text.
fn vars_file(path: &Path) -> Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value =
        fleet_model::yaml::parse_one(&text).with_context(|| format!("{}", path.display()))?;
    let Some(map) = value.as_mapping() else {
        if value == Value::Null {
            return Ok(Vec::new());
        }
        bail!("{}: expected a mapping of KEY: value", path.display());
    };
    map.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                _ => bail!(
                    "{}: {k} must be a single value, not a list or mapping",
                    path.display()
                ),
            };
            Ok((k.clone(), text))
        })
        .collect()
}

/// Parses `KEY=VALUE` pairs.
pub fn parse_sets(sets: &[String]) -> Result<Vec<(String, String)>> {
    sets.iter()
        .map(|s| {
            let (k, v) = s
                .split_once('=')
                .with_context(|| format!("--set {s:?}: expected KEY=VALUE"))?;
            if k.is_empty() {
                bail!("--set {s:?}: the name before '=' is empty");
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

fn render(args: &RenderArgs) -> Result<ExitCode> {
    let template = load(&args.file)?;
    let sets = parse_sets(&args.set)?;
    template
        .check_known(sets.iter().map(|(k, _)| k))
        .with_context(|| format!("{}", args.file.display()))?;
    let mut vars = Variables::default();
    if let Some(file) = &args.vars_file {
        for (k, v) in vars_file(file)? {
            vars.set(&k, &v);
        }
    }
    // As clusterctl: the environment wins over the config file.
    for name in template.variables().keys() {
        if let Ok(value) = std::env::var(name) {
            vars.set(name, &value);
        }
    }
    for (k, v) in &sets {
        vars.set(k, v);
    }
    let rendered = template
        .render_checked(&vars)
        .with_context(|| format!("{}", args.file.display()))?;
    std::io::stdout().lock().write_all(rendered.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn new_cluster(args: &NewArgs) -> Result<ExitCode> {
    let new = NewCluster {
        name: args.name.clone(),
        template: args.template.clone(),
        overlay: args.overlay.clone(),
        clusters_dir: args.clusters_dir.clone(),
        values: parse_sets(&args.set)?.into_iter().collect(),
        namespace: args.namespace.clone(),
        source: args.source.clone(),
    };
    let files = scaffold(&args.repo, &new).context("nothing was written")?;
    let mut out = std::io::stdout().lock();
    for f in &files {
        writeln!(out, "created {}", args.repo.join(&f.path).display())?;
    }
    Ok(ExitCode::SUCCESS)
}
