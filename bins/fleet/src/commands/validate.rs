//! `fleet validate DIR…`: lint findings over a repository, for CI.

use super::Output;
use anyhow::Result;
use fleet_capi::autoscaler::Severity;
use fleet_reconcile::validate::{ValidateOptions, validate};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fleet validate`.
#[derive(clap::Args)]
pub struct Args {
    /// Kustomization directories (rendered first, as kustomize would) or
    /// repository trees: each tree's Flux Kustomizations are rendered as
    /// the clusters would apply them (post-build substitutions included,
    /// with paths relative to the tree), and files no rendering used are
    /// checked as they are.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The GitRepository that stands for the tree: Flux Kustomizations
    /// reading it are rendered, others are not.
    #[arg(long, default_value = "flux-system")]
    source: String,
    /// The directory Flux Kustomizations' `spec.path`s start from (default:
    /// PATH, or the ancestor up to the Git work tree's top where they resolve).
    #[arg(long, value_name = "DIR")]
    source_root: Option<PathBuf>,
    /// Fail on post-build variables that are unset and have no default.
    #[arg(long)]
    strict: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Lints; exits 1 when any finding is an error.
pub fn run(args: &Args) -> Result<ExitCode> {
    let opts = ValidateOptions {
        source: args.source.clone(),
        source_root: args.source_root.clone(),
        strict: args.strict,
    };
    let found = validate(&args.paths, &opts)?;
    let reports = &found.reports;
    let errors = found.errors();
    let mut out = std::io::stdout().lock();
    if args.output == Output::Json {
        let items: Vec<serde_json::Value> = reports
            .iter()
            .map(|r| {
                serde_json::json!({
                    "rule": r.finding.rule,
                    "severity": if r.finding.severity == Severity::Error { "error" } else { "warning" },
                    "object": r.object,
                    "file": r.at,
                    "message": r.finding.message,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
    } else {
        for r in reports {
            let severity = if r.finding.severity == Severity::Error {
                "error"
            } else {
                "warning"
            };
            writeln!(
                out,
                "{}: {severity}[{}] {}: {}",
                r.at, r.finding.rule, r.object, r.finding.message
            )?;
        }
        let flux = if found.rendered > 0 {
            format!(" ({} Flux Kustomizations rendered)", found.rendered)
        } else {
            String::new()
        };
        writeln!(
            out,
            "{} objects checked{flux}: {errors} error(s), {} warning(s)",
            found.checked,
            found.warnings()
        )?;
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
