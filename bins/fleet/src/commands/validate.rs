//! `fleet validate DIR…`: lint findings over a repository, for CI.

use super::Output;
use anyhow::{Context, Result};
use fleet_capi::autoscaler::{Finding, Severity};
use fleet_kustomize::{BuildOptions, fs::DiskFs};
use fleet_model::{Manifest, TypedObject, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `fleet validate`.
#[derive(clap::Args)]
pub struct Args {
    /// Kustomization directories (rendered first, as kustomize would) or
    /// trees of manifest files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// One reported finding.
struct Report {
    at: String,
    object: String,
    finding: Finding,
}

fn is_kustomization_dir(dir: &Path) -> bool {
    fleet_kustomize::kustfile::FILE_NAMES
        .iter()
        .any(|f| dir.join(f).is_file())
}

/// Whether a value still holds a `${VAR}` placeholder somewhere.
fn templated(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("${"),
        Value::Sequence(items) => items.iter().any(templated),
        Value::Mapping(map) => map.iter().any(|(k, v)| k.contains("${") || templated(v)),
        _ => false,
    }
}

/// The manifests to check: a kustomization directory's rendered output, or
/// every manifest file of a tree.
fn manifests(path: &Path, reports: &mut Vec<Report>) -> Result<Vec<Manifest>> {
    if path.is_dir() && is_kustomization_dir(path) {
        let dir = std::fs::canonicalize(path)
            .with_context(|| format!("{}: no such directory", path.display()))?;
        let set = fleet_kustomize::build(&DiskFs, &dir.to_string_lossy(), &BuildOptions::default())
            .with_context(|| format!("rendering {}", path.display()))?;
        let label = format!("{} (rendered)", path.display());
        return set
            .resources
            .into_iter()
            .map(|value| Manifest::new(value, None).with_context(|| label.clone()))
            .collect();
    }
    let mut files = Vec::new();
    super::objects::collect(path, &mut files)
        .with_context(|| format!("reading {}", path.display()))?;
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        match Manifest::read_all(&text, &file.display().to_string()) {
            Ok(ms) => out.extend(ms),
            // Data files (generator inputs, tool configs) hold no objects.
            Err(_) if !looks_like_objects(&text) => {}
            Err(e) => reports.push(Report {
                at: file.display().to_string(),
                object: "-".into(),
                finding: Finding {
                    rule: "yaml/parse",
                    severity: Severity::Error,
                    message: e.to_string(),
                },
            }),
        }
    }
    Ok(out)
}

/// Whether some document of a file has a `kind`: only then is a file
/// that fails to read as manifests an error rather than a data file.
fn looks_like_objects(text: &str) -> bool {
    match fleet_model::yaml::parse_documents(text) {
        Ok(docs) => docs.iter().any(|d| d.value.get("kind").is_some()),
        Err(_) => true,
    }
}

/// Lints; exits 1 when any finding is an error.
pub fn run(args: &Args) -> Result<ExitCode> {
    let mut reports = Vec::new();
    let mut checked = 0;
    for path in &args.paths {
        for manifest in manifests(path, &mut reports)? {
            checked += 1;
            let at = manifest
                .source()
                .map(ToString::to_string)
                .unwrap_or_default();
            let object = manifest.id().to_string();
            // A template's `${VAR}` placeholders are checked once rendered
            // (`fleet build ks`), not against the schema as text.
            let templated = templated(manifest.value());
            if let Err(e) = TypedObject::from_manifest(&manifest)
                && !templated
            {
                reports.push(Report {
                    at: at.clone(),
                    object: object.clone(),
                    finding: Finding {
                        rule: "schema/invalid",
                        severity: Severity::Error,
                        message: e.to_string(),
                    },
                });
            }
            for finding in fleet_capi::lint::lint(manifest.value()) {
                reports.push(Report {
                    at: at.clone(),
                    object: object.clone(),
                    finding,
                });
            }
        }
    }
    let errors = reports
        .iter()
        .filter(|r| r.finding.severity == Severity::Error)
        .count();
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
        for r in &reports {
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
        writeln!(
            out,
            "{checked} objects checked: {errors} error(s), {} warning(s)",
            reports.len() - errors
        )?;
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
