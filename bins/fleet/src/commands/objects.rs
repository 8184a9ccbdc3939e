//! `fleet objects PATH…`

use anyhow::{Context, Result};
use fleet_model::{Manifest, TypedObject};
use std::io::Write;
use std::path::{Path, PathBuf};
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
        collect(path, &mut files).with_context(|| format!("reading {}", path.display()))?;
    }
    files.sort();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for file in &files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let name = file.display().to_string();
        match Manifest::read_all(&text, &name) {
            Err(e) => problems.push(e.to_string()),
            Ok(manifests) => {
                for m in manifests {
                    let check = match TypedObject::from_manifest(&m) {
                        Ok(Some(_)) => "valid",
                        Ok(None) => "-",
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
    for p in &problems {
        eprintln!("error: {p}");
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn is_manifest_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    // Kustomize's own files configure builds; they are not cluster objects.
    !fleet_kustomize::kustfile::FILE_NAMES.contains(&name)
        && matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        )
}

/// The manifest files under `path` (or `path` itself), kustomization files
/// left out. Hidden entries and what Git ignores (build output, vendored
/// trees) are skipped, as in [`super::build_kustomization::repo_objects`].
pub fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    if std::fs::metadata(path)?.is_file() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    for entry in ignore::WalkBuilder::new(path).build() {
        let entry = entry?;
        if entry.file_type().is_some_and(|t| t.is_file()) && is_manifest_file(entry.path()) {
            files.push(entry.into_path());
        }
    }
    Ok(())
}
