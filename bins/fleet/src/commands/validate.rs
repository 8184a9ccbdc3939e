//! `fleet validate DIR…`: lint findings over a repository, for CI.

use super::Output;
use anyhow::{Context, Result};
use fleet_capi::autoscaler::{Finding, Severity};
use fleet_kustomize::BuildOptions;
use fleet_kustomize::flux::decrypt::DecryptError;
use fleet_kustomize::flux::{FluxBuildError, FluxBuildOptions, RepoObject, render_repo};
use fleet_kustomize::fs::{DiskFs, RecordingFs};
use fleet_kustomize::postbuild::holds_placeholder;
use fleet_model::{Manifest, TypedObject};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
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

/// Manifests to check, each with where to report its findings (`None`:
/// the manifest's own file and line).
type Checked = Vec<(Manifest, Option<String>)>;

/// The manifests to check: a kustomization directory's rendered output, or
/// a tree's rendered Flux Kustomizations and the manifest files no
/// rendering used.
fn manifests(args: &Args, path: &Path, reports: &mut Vec<Report>) -> Result<(Checked, usize)> {
    if path.is_dir() && is_kustomization_dir(path) {
        let dir = std::fs::canonicalize(path)
            .with_context(|| format!("{}: no such directory", path.display()))?;
        let set = fleet_kustomize::build(&DiskFs, &dir.to_string_lossy(), &BuildOptions::default())
            .with_context(|| format!("rendering {}", path.display()))?;
        let label = format!("{} (rendered)", path.display());
        let checked = set
            .resources
            .into_iter()
            .map(|value| {
                let manifest = Manifest::new(value, None).with_context(|| label.clone())?;
                Ok((manifest, Some(label.clone())))
            })
            .collect::<Result<_>>()?;
        return Ok((checked, 0));
    }
    let mut out = Vec::new();
    let (used, rendered) = if path.is_dir() {
        flux_rendered(args, path, &mut out, reports)?
    } else {
        (BTreeSet::new(), 0)
    };
    let mut files = Vec::new();
    super::objects::collect(path, &mut files)
        .with_context(|| format!("reading {}", path.display()))?;
    files.sort();
    for file in files {
        let canonical = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if used.contains(&canonical) {
            continue;
        }
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        match Manifest::read_all(&text, &file.display().to_string()) {
            Ok(ms) => out.extend(ms.into_iter().map(|m| (m, None))),
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
    Ok((out, rendered))
}

/// Where the source's `spec.path`s start, looked for from `dir` up to the
/// Git work tree's top (the first ancestor holding `.git`).
fn source_root(dir: &Path, objects: &[RepoObject]) -> PathBuf {
    let top = dir.ancestors().find(|a| a.join(".git").exists());
    let top = top.map(|t| t.to_string_lossy().into_owned());
    PathBuf::from(fleet_kustomize::flux::source_root(
        &DiskFs,
        top.as_deref(),
        &dir.to_string_lossy(),
        objects,
    ))
}

/// Renders the Flux Kustomizations of the tree at `path` into `out`;
/// returns the files the renderings read and how many were rendered.
fn flux_rendered(
    args: &Args,
    path: &Path,
    out: &mut Checked,
    reports: &mut Vec<Report>,
) -> Result<(BTreeSet<PathBuf>, usize)> {
    let dir = std::fs::canonicalize(path)
        .with_context(|| format!("{}: no such directory", path.display()))?;
    // Walked from PATH as given, so findings name files as the user does.
    let objects = super::build_kustomization::repo_objects(path);
    let root = match &args.source_root {
        Some(root) => std::fs::canonicalize(root)
            .with_context(|| format!("--source-root {}: no such directory", root.display()))?,
        None => source_root(&dir, &objects),
    };
    let fs = RecordingFs::new(&DiskFs);
    let opts = FluxBuildOptions {
        strict_substitution: args.strict,
        ..FluxBuildOptions::default()
    };
    let render = render_repo(&fs, &root.to_string_lossy(), &objects, &args.source, &opts);
    for failure in &render.failures {
        let (rule, severity, message) = match &failure.error {
            FluxBuildError::Decrypt(DecryptError::MissingKeys { .. }) => (
                "flux/not-rendered",
                Severity::Warning,
                format!(
                    "{}; fleet validate has no SOPS keys, so this Kustomization was not checked",
                    failure.error
                ),
            ),
            error => ("flux/build", Severity::Error, error.to_string()),
        };
        reports.push(Report {
            at: failure.origin.to_string(),
            object: format!("Kustomization/{}", failure.id),
            finding: Finding {
                rule,
                severity,
                message,
            },
        });
    }
    let rendered = render.rendered.len();
    for node in render.rendered {
        let at = if node.parents.is_empty() {
            format!("{}: Kustomization {}", node.origin, node.id)
        } else {
            format!(
                "{}: Kustomization {} (via {})",
                node.origin,
                node.id,
                node.parents.join(" > ")
            )
        };
        for value in node.set.resources {
            let manifest = Manifest::new(value, None).with_context(|| at.clone())?;
            out.push((manifest, Some(at.clone())));
        }
    }
    let used = fs.read_files().into_iter().map(PathBuf::from).collect();
    Ok((used, rendered))
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
    let mut rendered = 0;
    for path in &args.paths {
        let (manifests, kustomizations) = manifests(args, path, &mut reports)?;
        rendered += kustomizations;
        for (manifest, at) in manifests {
            checked += 1;
            let at = at.unwrap_or_else(|| {
                manifest
                    .source()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            });
            let object = manifest.id().to_string();
            // A template's `${VAR}` placeholders are checked once rendered
            // (`fleet build ks`), not against the schema as text.
            let templated = holds_placeholder(manifest.value());
            if let Err(e) = TypedObject::from_manifest(&manifest)
                && !templated
            {
                reports.push(Report {
                    at: at.clone(),
                    object: object.clone(),
                    finding: Finding {
                        rule: "schema/invalid",
                        severity: Severity::Error,
                        // Where and which object are in the report already.
                        message: format!("field `{}`: {}", e.path, e.message),
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
        let flux = if rendered > 0 {
            format!(" ({rendered} Flux Kustomizations rendered)")
        } else {
            String::new()
        };
        writeln!(
            out,
            "{checked} objects checked{flux}: {errors} error(s), {} warning(s)",
            reports.len() - errors
        )?;
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
