//! `fleet objects PATH…`

use anyhow::{Context, Result};
use fleet_kustomize::flux::local::{holds_kubernetes_objects, manifest_files};
use fleet_model::{Manifest, TypedObject};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fleet objects`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or directories (searched recursively for .yaml, .yml and .json,
    /// leaving out kustomization files).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    output: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// One line per object: file:line, id, schema check.
    Table,
    /// A JSON array of {file, line, id, apiVersion, typed}.
    Json,
}

/// Lists objects; exits 1 when a file or a Flux/Cluster API object is invalid.
pub fn run(args: &Args) -> Result<ExitCode> {
    let mut files = Vec::new();
    for path in &args.paths {
        files.extend(manifest_files(path).with_context(|| format!("reading {}", path.display()))?);
    }
    files.sort();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut skipped = Vec::new();
    for file in &files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let name = file.display().to_string();
        if !holds_kubernetes_objects(&text) {
            skipped.push(name);
            continue;
        }
        match Manifest::read_all(&text, &name) {
            Err(e) => problems.push(e.to_string()),
            Ok(manifests) => {
                for m in manifests {
                    let check = match TypedObject::from_manifest(&m) {
                        Ok(Some(_)) => "valid",
                        Ok(None) => "-",
                        // A template's `${VAR}` stands where a typed value
                        // goes: it is checked once rendered.
                        Err(_) if fleet_model::envsubst::holds_placeholder(m.value()) => "template",
                        Err(e) => {
                            problems.push(e.to_string());
                            "INVALID"
                        }
                    };
                    rows.push((m, check));
                }
            }
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.output {
        Format::Table => {
            for (m, check) in &rows {
                let at = m.source().map(|s| s.to_string()).unwrap_or_default();
                writeln!(out, "{at}\t{}\t{}\t{check}", m.api_version(), m.id())?;
            }
        }
        Format::Json => {
            let items: Vec<serde_json::Value> = rows
                .iter()
                .map(|(m, check)| {
                    serde_json::json!({
                        "file": m.source().map(|s| s.file.clone()),
                        "line": m.source().map(|s| s.line),
                        "apiVersion": m.api_version(),
                        "id": m.id().to_string(),
                        "schema": check,
                    })
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
        }
    }
    for file in &skipped {
        eprintln!(
            "skipped {file}: not Kubernetes objects (no apiVersion or kind; a configuration file read by a generator?)"
        );
    }
    for p in &problems {
        eprintln!("error: {p}");
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
