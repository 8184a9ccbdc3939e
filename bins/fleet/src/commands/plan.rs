//! `fleet plan [PATH]`: what a change does to every cluster of the fleet.

use anyhow::Result;
use fleet_reconcile::plan::{MARKDOWN_LIMIT, PlanOptions, plan};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fleet plan`.
#[derive(clap::Args)]
pub struct Args {
    /// The fleet: a directory in a Git work tree.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The revision to compare from (default: the merge-base of HEAD with
    /// the default branch).
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// The revision to compare to (default: the work tree, uncommitted
    /// edits included).
    #[arg(long, value_name = "REV")]
    head: Option<String>,
    /// The GitRepository that stands for the repository: Flux
    /// Kustomizations reading it are rendered.
    #[arg(long, value_name = "NAME", default_value = "flux-system")]
    source: String,
    /// Only these clusters.
    #[arg(long = "cluster", value_name = "NAME", num_args = 1..)]
    clusters: Vec<String>,
    /// Render at head only the Kustomizations whose inputs changed, against a
    /// snapshot of the base's render kept in the Git directory (made by the
    /// first such plan of a base commit).
    #[arg(long)]
    changed_only: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    output: Format,
    /// Show Secret values instead of masking them.
    #[arg(long)]
    show_secrets: bool,
}

/// `-o text|markdown|json`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// A summary table and the details, for a terminal.
    Text,
    /// A pull-request comment: one collapsible section per cluster.
    Markdown,
    /// The same data for tools.
    Json,
}

/// Plans; exits 0 when nothing changes, 1 when something does.
pub fn run(args: &Args) -> Result<ExitCode> {
    let opts = PlanOptions {
        path: args.path.clone(),
        base: args.base.clone(),
        head: args.head.clone(),
        source: args.source.clone(),
        clusters: args.clusters.clone(),
        changed_only: args.changed_only,
        show_secrets: args.show_secrets,
    };
    let result = plan(&opts)?;
    let text = match args.output {
        Format::Text => result.to_text(),
        Format::Markdown => result.to_markdown(MARKDOWN_LIMIT),
        Format::Json => result.to_json() + "\n",
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(if result.has_changes() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
