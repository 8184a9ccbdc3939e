//! `fleet validate`: lint findings over kustomization directories and
//! repository trees, for CI.
//!
//! A kustomization directory is rendered first, as kustomize would. A tree
//! has its Flux Kustomizations rendered as the clusters would apply them
//! (post-build substitutions included; see
//! [`fleet_kustomize::flux::render_repo`]), and the manifest files no
//! rendering read are checked as they are. Every object is checked against
//! the typed schema of the Flux and Cluster API kinds fleet knows, then by
//! [`fleet_capi::lint::lint`].
//!
//! ```no_run
//! use fleet_reconcile::validate::{validate, ValidateOptions};
//! use std::path::PathBuf;
//! let report = validate(&[PathBuf::from("clusters")], &ValidateOptions::default()).unwrap();
//! for r in &report.reports {
//!     println!("{}: {}: {}", r.at, r.object, r.finding.message);
//! }
//! assert_eq!(report.errors(), 0);
//! ```

use fleet_capi::autoscaler::{Finding, Severity};
use fleet_kustomize::BuildOptions;
use fleet_kustomize::flux::decrypt::DecryptError;
use fleet_kustomize::flux::local::{manifest_files, repository_objects};
use fleet_kustomize::flux::{FluxBuildError, FluxBuildOptions, RepoObject, render_repo};
use fleet_kustomize::fs::{DiskFs, RecordingFs};
use fleet_kustomize::postbuild::holds_placeholder;
use fleet_model::{Manifest, TypedObject};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How to validate.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// The GitRepository that stands for the tree: Flux Kustomizations
    /// reading it are rendered, others are not.
    pub source: String,
    /// The directory Flux Kustomizations' `spec.path`s start from; `None`:
    /// the tree, or its ancestor up to the Git work tree's top where they
    /// resolve ([`fleet_kustomize::flux::source_root`]).
    pub source_root: Option<PathBuf>,
    /// Fail on post-build variables that are unset and have no default.
    pub strict: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            source: "flux-system".into(),
            source_root: None,
            strict: false,
        }
    }
}

/// Why validation could not run (findings are not errors of this kind).
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// A path that does not exist or cannot be listed.
    #[error("{}: cannot read: {message}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error's kind.
        kind: std::io::ErrorKind,
        /// The I/O error, as text.
        message: String,
    },
    /// `--source-root` is not a directory.
    #[error("--source-root {}: no such directory", .0.display())]
    NoSourceRoot(PathBuf),
    /// A kustomization directory that does not build.
    #[error("rendering {}: {error}", path.display())]
    Render {
        /// The directory.
        path: PathBuf,
        /// Why (printed in the message, so not a `source()`).
        error: fleet_kustomize::Error,
    },
}

impl ValidateError {
    fn read(path: &Path, e: &std::io::Error) -> Self {
        ValidateError::Read {
            path: path.to_path_buf(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// One finding, with where it is reported.
#[derive(Debug, Clone)]
pub struct Report {
    /// `file:line`, or the rendering that produced the object.
    pub at: String,
    /// The object's id, `-` for a file that did not parse.
    pub object: String,
    /// The finding.
    pub finding: Finding,
}

/// What [`validate`] found.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    /// Every finding, in the order met.
    pub reports: Vec<Report>,
    /// How many objects were checked.
    pub checked: usize,
    /// How many Flux Kustomizations were rendered.
    pub rendered: usize,
}

impl Validation {
    /// How many findings are errors.
    pub fn errors(&self) -> usize {
        self.reports
            .iter()
            .filter(|r| r.finding.severity == Severity::Error)
            .count()
    }

    /// How many findings are warnings.
    pub fn warnings(&self) -> usize {
        self.reports.len() - self.errors()
    }
}

/// Lints every path: kustomization directories rendered, trees with their
/// Flux Kustomizations rendered, other files as they are.
pub fn validate(paths: &[PathBuf], opts: &ValidateOptions) -> Result<Validation, ValidateError> {
    let mut out = Validation::default();
    for path in paths {
        let (manifests, rendered) = manifests(opts, path, &mut out.reports)?;
        out.rendered += rendered;
        for (manifest, at) in manifests {
            out.checked += 1;
            check(&manifest, at, &mut out.reports);
        }
    }
    Ok(out)
}

/// The schema check and the lint rules for one object.
fn check(manifest: &Manifest, at: Option<String>, reports: &mut Vec<Report>) {
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
    if let Err(e) = TypedObject::from_manifest(manifest)
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

fn is_kustomization_dir(dir: &Path) -> bool {
    fleet_kustomize::kustfile::FILE_NAMES
        .iter()
        .any(|f| dir.join(f).is_file())
}

/// Manifests to check, each with where to report its findings (`None`:
/// the manifest's own file and line).
type Checked = Vec<(Manifest, Option<String>)>;

/// A finding about a rendered object whose id cannot be read: an error at
/// the rendering.
fn unreadable(at: &str, e: &fleet_model::id::IdError) -> Report {
    Report {
        at: at.to_string(),
        object: "-".into(),
        finding: Finding {
            rule: "yaml/parse",
            severity: Severity::Error,
            message: e.to_string(),
        },
    }
}

/// The manifests to check: a kustomization directory's rendered output, or
/// a tree's rendered Flux Kustomizations and the manifest files no
/// rendering used.
fn manifests(
    opts: &ValidateOptions,
    path: &Path,
    reports: &mut Vec<Report>,
) -> Result<(Checked, usize), ValidateError> {
    if path.is_dir() && is_kustomization_dir(path) {
        let dir = std::fs::canonicalize(path).map_err(|e| ValidateError::read(path, &e))?;
        let set = fleet_kustomize::build(&DiskFs, &dir.to_string_lossy(), &BuildOptions::default())
            .map_err(|error| ValidateError::Render {
                path: path.to_path_buf(),
                error,
            })?;
        let label = format!("{} (rendered)", path.display());
        let mut checked = Vec::new();
        for value in set.resources {
            match Manifest::new(value, None) {
                Ok(manifest) => checked.push((manifest, Some(label.clone()))),
                Err(e) => reports.push(unreadable(&label, &e)),
            }
        }
        return Ok((checked, 0));
    }
    let mut out = Vec::new();
    let (used, rendered) = if path.is_dir() {
        flux_rendered(opts, path, &mut out, reports)?
    } else {
        (BTreeSet::new(), 0)
    };
    let files = manifest_files(path).map_err(|e| ValidateError::read(path, &e))?;
    for file in files {
        let canonical = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if used.contains(&canonical) {
            continue;
        }
        let text = std::fs::read_to_string(&file).map_err(|e| ValidateError::read(&file, &e))?;
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
    opts: &ValidateOptions,
    path: &Path,
    out: &mut Checked,
    reports: &mut Vec<Report>,
) -> Result<(BTreeSet<PathBuf>, usize), ValidateError> {
    let dir = std::fs::canonicalize(path).map_err(|e| ValidateError::read(path, &e))?;
    // Walked from PATH as given, so findings name files as the user does.
    let objects = repository_objects(path);
    let root = match &opts.source_root {
        Some(root) => std::fs::canonicalize(root)
            .map_err(|_| ValidateError::NoSourceRoot(root.to_path_buf()))?,
        None => source_root(&dir, &objects),
    };
    let fs = RecordingFs::new(&DiskFs);
    let build = FluxBuildOptions {
        strict_substitution: opts.strict,
        ..FluxBuildOptions::default()
    };
    let render = render_repo(&fs, &root.to_string_lossy(), &objects, &opts.source, &build);
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
    // A `--source` that no Kustomization reads (a typo, or a repository
    // whose GitRepository is named otherwise) would check nothing rendered.
    if render.rendered.is_empty() && render.failures.is_empty() {
        let read: BTreeSet<&str> = objects
            .iter()
            .filter(|o| fleet_kustomize::flux::is_flux_kustomization(&o.value))
            .filter(|o| {
                o.value
                    .pointer(&["spec", "sourceRef", "kind"])
                    .and_then(fleet_model::Value::as_str)
                    == Some("GitRepository")
            })
            .filter_map(|o| {
                o.value
                    .pointer(&["spec", "sourceRef", "name"])
                    .and_then(fleet_model::Value::as_str)
            })
            .filter(|name| !name.contains("${"))
            .collect();
        if !read.is_empty() {
            let names: Vec<&str> = read.into_iter().collect();
            reports.push(Report {
                at: path.display().to_string(),
                object: "-".into(),
                finding: Finding {
                    rule: "flux/unknown-source",
                    severity: Severity::Warning,
                    message: format!(
                        "no Flux Kustomization reads GitRepository '{}', so none was rendered; they read {}: pass --source {}",
                        opts.source,
                        names
                            .iter()
                            .map(|n| format!("'{n}'"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        names[0]
                    ),
                },
            });
        }
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
            match Manifest::new(value, None) {
                Ok(manifest) => out.push((manifest, Some(at.clone()))),
                Err(e) => reports.push(unreadable(&at, &e)),
            }
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

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_tree_reports_schema_errors_at_the_defining_kustomization() {
        let dir = std::env::temp_dir().join(format!("fleet-validate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("apps")).expect("mkdir");
        std::fs::create_dir_all(dir.join("clusters")).expect("mkdir");
        std::fs::write(
            dir.join("clusters/apps.yaml"),
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substitute:\n      every: 5m\n",
        )
        .expect("write");
        std::fs::write(
            dir.join("apps/repo.yaml"),
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  interval: ${every}\n  url: 42\n",
        )
        .expect("write");
        let got = validate(std::slice::from_ref(&dir), &ValidateOptions::default());
        let _ = std::fs::remove_dir_all(&dir);
        let got = got.expect("runs");
        assert_eq!(got.rendered, 1);
        assert_eq!(got.checked, 2, "{:?}", got.reports);
        assert_eq!(got.errors(), 1, "{:?}", got.reports);
        let report = &got.reports[0];
        assert_eq!(report.finding.rule, "schema/invalid");
        assert!(
            report.at.contains("Kustomization flux-system/apps"),
            "{}",
            report.at
        );
        assert_eq!(report.object, "GitRepository/flux-system/app");
    }

    #[test]
    fn a_source_no_kustomization_reads_is_a_warning_naming_the_ones_read() {
        let dir = std::env::temp_dir().join(format!("fleet-validate-src-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("apps")).expect("mkdir");
        std::fs::write(
            dir.join("apps.yaml"),
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: fleet-repo\n",
        )
        .expect("write");
        let typo = ValidateOptions {
            source: "flux-sytem".into(),
            ..ValidateOptions::default()
        };
        let got = validate(std::slice::from_ref(&dir), &typo);
        let right = ValidateOptions {
            source: "fleet-repo".into(),
            ..ValidateOptions::default()
        };
        let fine = validate(std::slice::from_ref(&dir), &right);
        let _ = std::fs::remove_dir_all(&dir);
        let got = got.expect("runs");
        let warning = got
            .reports
            .iter()
            .find(|r| r.finding.rule == "flux/unknown-source")
            .expect("a warning");
        assert_eq!(warning.finding.severity, Severity::Warning);
        assert!(
            warning
                .finding
                .message
                .ends_with("they read 'fleet-repo': pass --source fleet-repo"),
            "{}",
            warning.finding.message
        );
        let fine = fine.expect("runs");
        assert_eq!(fine.rendered, 1);
        assert!(
            fine.reports
                .iter()
                .all(|r| r.finding.rule != "flux/unknown-source")
        );
    }
}
