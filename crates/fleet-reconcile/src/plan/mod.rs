//! `fleet plan`: what a change to a fleet repository does to every
//! cluster, computed offline. The repository is rendered at two revisions
//! (a base commit read from Git objects, and a head commit or the work
//! tree) as the clusters would apply it, and the renders are compared per
//! target cluster, per Flux Kustomization, per object.
//!
//! It lives here, beside the reconciler, because it is the reconciler's
//! question asked ahead of time (what would apply, what would prune) and
//! because this crate holds the Git sources; the renderer stays free of
//! Git. Rendering is [`fleet_kustomize::flux::render_repo_with`]; Secret
//! masking is the flux layer's [`fleet_kustomize::flux::mask_secret`].
//!
//! ```no_run
//! use fleet_reconcile::plan::{PlanOptions, plan};
//! let result = plan(&PlanOptions::new(".")).unwrap();
//! print!("{}", result.to_text());
//! std::process::exit(if result.has_changes() { 1 } else { 0 });
//! ```

mod diff;
mod render;
mod report;

pub use render::DEFAULT_CLUSTER;
pub use report::MARKDOWN_LIMIT;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fleet_kustomize::fs::{DiskFs, FileSystem};
use serde::Serialize;

use crate::git_tree::{Commit, GitError, GitRepo};
use render::{RenderRequest, RevisionTree, render_revision, repo_objects};

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The fleet: a directory in a Git work tree.
    pub path: PathBuf,
    /// The base revision; `None`: the merge-base of `HEAD` with the
    /// default branch.
    pub base: Option<String>,
    /// The head revision; `None`: the work tree, uncommitted edits
    /// included.
    pub head: Option<String>,
    /// The GitRepository that stands for the repository.
    pub source: String,
    /// Only these clusters (all when empty).
    pub clusters: Vec<String>,
    /// Re-render at head only the Kustomizations whose inputs changed.
    pub changed_only: bool,
    /// Show Secret values instead of masking them.
    pub show_secrets: bool,
}

impl PlanOptions {
    /// The defaults for the fleet at `path`: merge-base to work tree,
    /// source `flux-system`, every cluster, Secrets masked.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        PlanOptions {
            path: path.into(),
            base: None,
            head: None,
            source: "flux-system".into(),
            clusters: Vec::new(),
            changed_only: false,
            show_secrets: false,
        }
    }
}

/// Why there is no plan.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The repository or a revision could not be read.
    #[error(transparent)]
    Git(#[from] GitError),
    /// PATH is not a directory of the repository's work tree.
    #[error("{path}: {message}")]
    Path {
        /// The path given.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A `--cluster` that neither revision has.
    #[error("cluster '{name}' is in neither revision (clusters: {known})")]
    UnknownCluster {
        /// The name given.
        name: String,
        /// The clusters there are.
        known: String,
    },
}

/// A revision compared.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RevisionInfo {
    /// The revision as given or found (`work tree` for uncommitted files).
    pub rev: String,
    /// The commit id; none for the work tree.
    pub commit: Option<String>,
}

/// Whether something exists at base, head or both.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// Only at head.
    Added,
    /// Only at base.
    Removed,
    /// At both.
    Kept,
}

/// What happens to one object.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Created.
    Added,
    /// Updated.
    Changed,
    /// Deleted by the Kustomization's garbage collection (`prune: true`).
    Pruned,
    /// No longer in Git but left on the cluster (`prune: false`).
    Orphaned,
}

/// One object's change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ObjectChange {
    /// `Kind/namespace/name`.
    pub object: String,
    /// What happens to it.
    pub action: Action,
    /// The changed fields (`spec.replicas`, `data.password`), for changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The unified diff of its YAML (Secret values masked unless shown),
    /// for changes.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub diff: String,
    /// Whether the change is in masked Secret values only, so the diff
    /// shows none of it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub masked: bool,
}

/// One Flux Kustomization's part of a cluster's plan.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KustomizationPlan {
    /// `namespace/name`.
    pub name: String,
    /// `spec.path` at head (at base for a removed one).
    pub path: String,
    /// Where its outermost Kustomization is defined (`file:line`), and the
    /// chain that rendered it.
    pub origin: String,
    /// Whether it appears or disappears.
    pub presence: Presence,
    /// `spec.prune` (at base for removed objects).
    pub prune: bool,
    /// Why it does not build at head (its objects are then not compared:
    /// Flux leaves the cluster as it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken: Option<String>,
    /// Why it did not build at base, when it builds at head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Objects added, changed and removed.
    pub changes: Vec<ObjectChange>,
    /// How many objects stay as they are.
    pub unchanged: usize,
}

impl KustomizationPlan {
    /// Objects added.
    pub fn added(&self) -> usize {
        self.count(|a| a == Action::Added)
    }
    /// Objects changed.
    pub fn changed(&self) -> usize {
        self.count(|a| a == Action::Changed)
    }
    /// Objects pruned or orphaned.
    pub fn removed(&self) -> usize {
        self.count(|a| matches!(a, Action::Pruned | Action::Orphaned))
    }
    fn count(&self, f: impl Fn(Action) -> bool) -> usize {
        self.changes.iter().filter(|c| f(c.action)).count()
    }
    /// Whether it changes anything.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
            || self.presence != Presence::Kept
            || self.broken.is_some()
            || self.fixed.is_some()
    }
}

/// An image reference that changes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImageChange {
    /// `Kind/namespace/name`.
    pub object: String,
    /// The container.
    pub container: String,
    /// At base.
    pub from: Option<String>,
    /// At head.
    pub to: Option<String>,
}

/// A lint finding (`fleet validate`'s rules) that head has and base had not.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct NewFinding {
    /// The Kustomization (`namespace/name`).
    pub kustomization: String,
    /// `Kind/namespace/name`.
    pub object: String,
    /// The rule, e.g. `schema/invalid`.
    pub rule: String,
    /// `error` or `warning`.
    pub severity: String,
    /// What is wrong.
    pub message: String,
}

/// One target cluster's plan.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClusterPlan {
    /// The cluster: `clusters/<name>/`'s name, or `<name>` of the
    /// `<name>-kubeconfig` Secret its Kustomizations apply through.
    pub name: String,
    /// Whether it appears or disappears.
    pub presence: Presence,
    /// Its Kustomizations, by name.
    pub kustomizations: Vec<KustomizationPlan>,
    /// Image references that change.
    pub images: Vec<ImageChange>,
    /// New lint findings.
    pub findings: Vec<NewFinding>,
}

impl ClusterPlan {
    /// Whether it changes anything.
    pub fn has_changes(&self) -> bool {
        self.presence != Presence::Kept || self.kustomizations.iter().any(|k| k.has_changes())
    }
}

/// A Kustomization whose whole tree failed at head (and not so at base).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TreeFailure {
    /// `namespace/name`.
    pub kustomization: String,
    /// Where it is defined (`file:line`).
    pub origin: String,
    /// Why.
    pub error: String,
}

/// What a change does to every cluster.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Plan {
    /// The revision compared from.
    pub base: RevisionInfo,
    /// The revision compared to.
    pub head: RevisionInfo,
    /// Each cluster either revision has (or those asked for), by name.
    pub clusters: Vec<ClusterPlan>,
    /// Kustomization trees that no longer render at head.
    pub failures: Vec<TreeFailure>,
}

impl Plan {
    /// Whether anything changes (the command's exit 1).
    pub fn has_changes(&self) -> bool {
        !self.failures.is_empty() || self.clusters.iter().any(ClusterPlan::has_changes)
    }
}

/// A revision's files and where they are.
struct Loaded {
    info: RevisionInfo,
    mem: Option<fleet_kustomize::fs::MemFs>,
    files: Vec<String>,
}

impl Loaded {
    fn fs(&self) -> &dyn FileSystem {
        match &self.mem {
            Some(mem) => mem,
            None => &DiskFs,
        }
    }
}

fn commit_info(commit: &Commit) -> RevisionInfo {
    RevisionInfo {
        rev: commit.rev.clone(),
        commit: Some(commit.id.clone()),
    }
}

/// The files of `commit` under `dir`, mounted at `top`.
fn load_commit(repo: &GitRepo, commit: &Commit, top: &str, dir: &str) -> Result<Loaded, GitError> {
    let tree = repo.tree_files(commit, top)?;
    let files = tree
        .blobs
        .keys()
        .filter(|f| fleet_kustomize::fs::is_within(dir, f))
        .cloned()
        .collect();
    Ok(Loaded {
        info: commit_info(commit),
        mem: Some(tree.fs),
        files,
    })
}

/// The work tree's files under `dir`, walked as `fleet validate` walks a
/// repository (hidden entries and what Git ignores left out).
fn load_work_tree(dir: &Path) -> Loaded {
    let mut files = Vec::new();
    for entry in ignore::WalkBuilder::new(dir)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build()
        .flatten()
    {
        if entry.file_type().is_some_and(|t| t.is_file()) {
            files.push(entry.path().to_string_lossy().into_owned());
        }
    }
    Loaded {
        info: RevisionInfo {
            rev: "work tree".into(),
            commit: None,
        },
        mem: None,
        files,
    }
}

/// How many Kustomizations each revision built (the rest were reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builds {
    /// At base.
    pub base: usize,
    /// At head.
    pub head: usize,
}

/// Renders the fleet at both revisions and compares them.
pub fn plan(opts: &PlanOptions) -> Result<Plan, PlanError> {
    plan_counting_builds(opts).map(|(plan, _)| plan)
}

/// [`plan`], also telling how many Kustomizations were built at each
/// revision (with `changed_only`, head builds only those whose inputs
/// changed).
pub fn plan_counting_builds(opts: &PlanOptions) -> Result<(Plan, Builds), PlanError> {
    let bad_path = |message: &str| PlanError::Path {
        path: opts.path.display().to_string(),
        message: message.to_string(),
    };
    let repo = GitRepo::discover(&opts.path)?;
    let dir = std::fs::canonicalize(&opts.path).map_err(|e| bad_path(&e.to_string()))?;
    if !dir.is_dir() {
        return Err(bad_path("not a directory"));
    }
    let top = repo.top().to_string_lossy().into_owned();
    let dir_str = dir.to_string_lossy().into_owned();
    if !fleet_kustomize::fs::is_within(&top, &dir_str) {
        return Err(bad_path("not inside the repository's work tree"));
    }
    let base_commit = match &opts.base {
        Some(rev) => repo.resolve(rev)?,
        None => repo.default_base()?,
    };
    let head = match &opts.head {
        Some(rev) => load_commit(&repo, &repo.resolve(rev)?, &top, &dir_str)?,
        None => load_work_tree(&dir),
    };
    let base = load_commit(&repo, &base_commit, &top, &dir_str)?;

    let base_tree = RevisionTree {
        fs: base.fs(),
        top: top.clone(),
        dir: dir_str.clone(),
        files: base.files.clone(),
    };
    let head_tree = RevisionTree {
        fs: head.fs(),
        top: top.clone(),
        dir: dir_str.clone(),
        files: head.files.clone(),
    };
    let base_objects = repo_objects(&base_tree, None);
    let head_objects = if opts.changed_only {
        repo_objects(&head_tree, Some((&base_objects, base.fs())))
    } else {
        repo_objects(&head_tree, None)
    };
    let flat = |objects: &BTreeMap<String, Vec<_>>| -> Vec<_> {
        objects.values().flatten().cloned().collect()
    };
    let (base_objects, head_objects) = (flat(&base_objects), flat(&head_objects));
    let root = if head_objects.is_empty() {
        fleet_kustomize::flux::source_root(base.fs(), Some(&top), &dir_str, &base_objects)
    } else {
        fleet_kustomize::flux::source_root(head.fs(), Some(&top), &dir_str, &head_objects)
    };
    let (base_render, records) = render_revision(&RenderRequest {
        tree: &base_tree,
        source_root: &root,
        objects: &base_objects,
        source: &opts.source,
        reuse: None,
        record: opts.changed_only,
    });
    let (head_render, _) = render_revision(&RenderRequest {
        tree: &head_tree,
        source_root: &root,
        objects: &head_objects,
        source: &opts.source,
        reuse: opts.changed_only.then_some((&records, base.fs())),
        record: false,
    });
    let builds = Builds {
        base: base_render.built,
        head: head_render.built,
    };
    let mut result = diff::compare(
        base.info.clone(),
        head.info.clone(),
        &base_render,
        &head_render,
        opts.show_secrets,
    );
    if !opts.clusters.is_empty() {
        let known: Vec<String> = result.clusters.iter().map(|c| c.name.clone()).collect();
        if let Some(missing) = opts.clusters.iter().find(|c| !known.contains(c)) {
            return Err(PlanError::UnknownCluster {
                name: missing.clone(),
                known: known.join(", "),
            });
        }
        result.clusters.retain(|c| opts.clusters.contains(&c.name));
    }
    Ok((result, builds))
}
