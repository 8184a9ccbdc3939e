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
mod snapshot;

pub use render::DEFAULT_CLUSTER;
pub use report::MARKDOWN_LIMIT;

use std::path::{Path, PathBuf};

use fleet_kustomize::fs::{DiskFs, FileSystem};
use serde::Serialize;

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::BTreeMap;

use fleet_kustomize::flux::{RepoObject, build_kustomization, source_root};
use fleet_model::flux::kustomization::Kustomization;

use crate::git_tree::{Commit, GitError, GitRepo};
use render::{
    FleetRender, KsOutput, Mode, Objects, ObjectsByFile, RenderRequest, RevisionTree,
    build_options, kept_objects, render_revision, repo_objects,
};
use snapshot::{HeadCheck, Node, Snapshot, SnapshotKey, stored};

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
    /// Re-render at head only the Kustomizations whose inputs changed,
    /// against a snapshot of the base's render kept in the Git directory
    /// (made on the first such plan of a base commit).
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
        self.sync_fs()
    }

    fn sync_fs(&self) -> &(dyn FileSystem + Sync) {
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
    // Walked on a few threads, then put in the order a sorted walk visits
    // them (by path component).
    let found = std::sync::Mutex::new(Vec::new());
    ignore::WalkBuilder::new(dir)
        // One core is left to reading the base's snapshot, which runs
        // beside the walk.
        .threads(
            std::thread::available_parallelism()
                .map(|n| n.get().saturating_sub(1))
                .unwrap_or(1)
                .clamp(1, 4),
        )
        .build_parallel()
        .run(|| {
            Box::new(|entry| {
                if let Ok(entry) = entry
                    && entry.file_type().is_some_and(|t| t.is_file())
                    && let Ok(mut found) = found.lock()
                {
                    found.push(entry.path().to_string_lossy().into_owned());
                }
                ignore::WalkState::Continue
            })
        });
    let mut files = found.into_inner().unwrap_or_default();
    files.sort_by(|a, b| a.split('/').cmp(b.split('/')));
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

/// Where a repository keeps plan snapshots.
fn snapshot_dir(repo: &GitRepo) -> PathBuf {
    repo.common_dir().join("fleet").join("plan")
}

/// The repository and the two revisions of a plan.
struct Revisions {
    repo: GitRepo,
    top: String,
    dir: String,
    base_commit: Commit,
    /// Loaded up front for a full plan, when first needed with
    /// `changed_only`.
    base: OnceCell<Loaded>,
    /// The base commit read on demand, for a few builds.
    base_on_demand: OnceCell<crate::git_tree::CommitFs>,
    head: Loaded,
    /// What names the base's snapshot.
    key: SnapshotKey,
}

impl Revisions {
    /// Opens the repository and the revisions; with `changed_only`, reads
    /// the base's snapshot (if one is kept) beside loading the head.
    fn open(opts: &PlanOptions) -> Result<(Revisions, Option<Snapshot>), PlanError> {
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
        let key = SnapshotKey {
            commit: base_commit.id.clone(),
            top: top.clone(),
            dir: stored(&top, &dir_str),
            source: opts.source.clone(),
        };
        let cache = snapshot_dir(&repo);
        let (head, snapshot) = std::thread::scope(|scope| {
            let snapshot = opts
                .changed_only
                .then(|| scope.spawn(|| Snapshot::load(&cache, &key)));
            let head = match &opts.head {
                Some(rev) => repo
                    .resolve(rev)
                    .and_then(|commit| load_commit(&repo, &commit, &top, &dir_str)),
                None => Ok(load_work_tree(&dir)),
            };
            (head, snapshot.and_then(|s| s.join().ok().flatten()))
        });
        let revisions = Revisions {
            repo,
            top,
            dir: dir_str,
            base_commit,
            base: OnceCell::new(),
            base_on_demand: OnceCell::new(),
            head: head?,
            key,
        };
        Ok((revisions, snapshot))
    }

    fn base(&self) -> Result<&Loaded, GitError> {
        if let Some(loaded) = self.base.get() {
            return Ok(loaded);
        }
        let loaded = load_commit(&self.repo, &self.base_commit, &self.top, &self.dir)?;
        Ok(self.base.get_or_init(|| loaded))
    }

    /// The base's files for the build after `built` others: the commit read
    /// on demand for the first few, the whole tree loaded for more (reading
    /// on demand finds each path from the top and reads shared files again
    /// for every build).
    fn base_for(&self, built: usize) -> Result<&dyn FileSystem, GitError> {
        const FEW: usize = 8;
        if let Some(loaded) = self.base.get() {
            return Ok(loaded.fs());
        }
        if built >= FEW {
            return Ok(self.base()?.fs());
        }
        if let Some(fs) = self.base_on_demand.get() {
            return Ok(fs);
        }
        let fs = self.repo.commit_fs(&self.base_commit, &self.top)?;
        Ok(self.base_on_demand.get_or_init(|| fs))
    }

    fn tree<'a>(&self, loaded: &'a Loaded) -> RevisionTree<'a> {
        RevisionTree {
            fs: loaded.fs(),
            top: self.top.clone(),
            dir: self.dir.clone(),
            files: loaded.files.clone(),
        }
    }
}

fn flat(objects: ObjectsByFile) -> Vec<RepoObject> {
    objects.into_values().flatten().collect()
}

/// [`plan`], also telling how many Kustomizations were built at each
/// revision (with `changed_only`, head builds only those whose inputs
/// changed, and base only those whose objects the plan shows).
pub fn plan_counting_builds(opts: &PlanOptions) -> Result<(Plan, Builds), PlanError> {
    let (revisions, snapshot) = Revisions::open(opts)?;
    let (mut result, builds) = if opts.changed_only {
        plan_changed_only(&revisions, opts, snapshot)?
    } else {
        plan_full(&revisions, opts)?
    };
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

/// Where `spec.path`s start: found from head's objects (`head`, of which
/// `head_has_any` tells whether head has any object at all, kept or not),
/// or base's when head has none.
fn root_of(
    revisions: &Revisions,
    head: &[RepoObject],
    head_has_any: bool,
    base: impl FnOnce() -> Result<Vec<RepoObject>, GitError>,
) -> Result<String, GitError> {
    let top = Some(revisions.top.as_str());
    if head_has_any {
        Ok(source_root(revisions.head.fs(), top, &revisions.dir, head))
    } else {
        let base_objects = base()?;
        Ok(source_root(
            revisions.base()?.fs(),
            top,
            &revisions.dir,
            &base_objects,
        ))
    }
}

/// Both revisions rendered in full.
fn plan_full(revisions: &Revisions, opts: &PlanOptions) -> Result<(Plan, Builds), PlanError> {
    let base = revisions.base()?;
    let (base_tree, head_tree) = (revisions.tree(base), revisions.tree(&revisions.head));
    let base_objects = flat(repo_objects(&base_tree, None));
    let head_objects = flat(repo_objects(&head_tree, None));
    let root = root_of(revisions, &head_objects, !head_objects.is_empty(), || {
        Ok(base_objects.clone())
    })?;
    let render = |tree: &RevisionTree<'_>, objects: &[RepoObject]| {
        render_revision(&RenderRequest {
            tree,
            source_root: &root,
            objects,
            source: &opts.source,
            mode: Mode::Full,
        })
        .0
    };
    let base_render = render(&base_tree, &base_objects);
    let head_render = render(&head_tree, &head_objects);
    let builds = Builds {
        base: base_render.built,
        head: head_render.built,
    };
    let none = |_: usize| Err("no snapshot".to_string());
    let plan = diff::compare(
        base.info.clone(),
        revisions.head.info.clone(),
        &base_render,
        &head_render,
        &diff::Builds {
            builds: &[],
            objects: &none,
        },
        opts.show_secrets,
    );
    Ok((plan, builds))
}

/// The base's render from a snapshot kept for it (made and kept now when
/// there is none), head rendered building only what reads differently.
fn plan_changed_only(
    revisions: &Revisions,
    opts: &PlanOptions,
    kept: Option<Snapshot>,
) -> Result<(Plan, Builds), PlanError> {
    let key = revisions.key.clone();
    let cache = snapshot_dir(&revisions.repo);
    let head_tree = revisions.tree(&revisions.head);
    let head_fs = revisions.head.sync_fs();
    let base_objects = || Ok(flat(repo_objects(&revisions.tree(revisions.base()?), None)));
    if let Some(mut snapshot) = kept {
        let files = std::mem::take(&mut snapshot.files);
        let check = HeadCheck::new(&revisions.top, head_fs, &snapshot);
        let (kept_by_file, head_has_any) = kept_objects(&head_tree, &check, files);
        let head_objects = flat(kept_by_file);
        let root = root_of(revisions, &head_objects, head_has_any, base_objects)?;
        if snapshot.root == stored(&revisions.top, &root) {
            let head = Head {
                tree: &head_tree,
                objects: &head_objects,
                root: &root,
            };
            let planned = plan_from_snapshot(revisions, opts, &check, &head, 0);
            drop(check);
            drop_beside((snapshot, head_objects));
            return planned;
        }
    }
    let by_file = repo_objects(&head_tree, None);
    let head_objects = flat(by_file.clone());
    let root = root_of(
        revisions,
        &head_objects,
        !head_objects.is_empty(),
        base_objects,
    )?;
    let Some((snapshot, built)) =
        make_snapshot(revisions, key, &cache, opts, &root, Some(&by_file))?
    else {
        // A base render a snapshot cannot describe is planned in full.
        return plan_full(revisions, opts);
    };
    let check = HeadCheck::new(&revisions.top, head_fs, &snapshot);
    let head = Head {
        tree: &head_tree,
        objects: &head_objects,
        root: &root,
    };
    let planned = plan_from_snapshot(revisions, opts, &check, &head, built);
    drop(check);
    drop_beside((snapshot, head_objects));
    planned
}

/// Frees `value` on another thread: a snapshot and a revision's objects are
/// many small allocations, and freeing them is no part of the answer.
fn drop_beside<T: Send + 'static>(value: T) {
    let spawned = std::thread::Builder::new()
        .name("fleet-plan-free".into())
        .spawn(move || drop(value));
    // Without a thread, the value was dropped with the closure here.
    let _ = spawned;
}

/// The head revision as a plan renders it.
struct Head<'a> {
    tree: &'a RevisionTree<'a>,
    objects: &'a [RepoObject],
    root: &'a str,
}

/// The plan against the base's snapshot (`check` holds it, with what head
/// reads at its paths); `base_built`: builds made for the snapshot.
fn plan_from_snapshot(
    revisions: &Revisions,
    opts: &PlanOptions,
    check: &HeadCheck<'_>,
    head: &Head<'_>,
    base_built: usize,
) -> Result<(Plan, Builds), PlanError> {
    let (snapshot, root) = (check.snapshot, head.root);
    let (head_render, _) = render_revision(&RenderRequest {
        tree: head.tree,
        source_root: root,
        objects: head.objects,
        source: &opts.source,
        mode: Mode::Reuse(check),
    });
    let base_render = FleetRender {
        clusters: snapshot
            .clusters
            .iter()
            .map(|(cluster, nodes)| {
                let outputs = nodes
                    .iter()
                    .map(|(key, node)| (key.clone(), output_of(node)))
                    .collect();
                (cluster.clone(), outputs)
            })
            .collect(),
        failures: snapshot.failures.clone(),
        built: 0,
    };
    // A build's objects, when the plan shows them one by one: built again
    // at the base (a build reused at head reads there as at the base).
    let rebuilt = Cell::new(0usize);
    let base_error: RefCell<Option<GitError>> = RefCell::new(None);
    let objects = |i: usize| -> Result<fleet_kustomize::ResourceSet, String> {
        let build = snapshot
            .builds
            .get(i)
            .ok_or_else(|| format!("the base snapshot has no build {i}"))?;
        let base = revisions.base_for(rebuilt.get()).map_err(|e| {
            let text = e.to_string();
            base_error.borrow_mut().get_or_insert(e);
            text
        })?;
        let ks: Kustomization = serde_json::from_str(&build.kustomization)
            .map_err(|e| format!("the kept Kustomization {} does not read: {e}", build.id))?;
        rebuilt.set(rebuilt.get() + 1);
        build_kustomization(base, root, &ks, &build_options(snapshot, build))
            .map_err(|e| e.to_string())
    };
    let plan = diff::compare(
        base_info(revisions),
        revisions.head.info.clone(),
        &base_render,
        &head_render,
        &diff::Builds {
            builds: &snapshot.builds,
            objects: &objects,
        },
        opts.show_secrets,
    );
    if let Some(error) = base_error.into_inner() {
        return Err(error.into());
    }
    Ok((
        plan,
        Builds {
            base: base_built + rebuilt.get(),
            head: head_render.built,
        },
    ))
}

fn base_info(revisions: &Revisions) -> RevisionInfo {
    commit_info(&revisions.base_commit)
}

fn output_of(node: &Node) -> KsOutput {
    KsOutput {
        path: node.path.clone(),
        prune: node.prune,
        parents: node.parents.clone(),
        origin: node.origin.clone(),
        result: node.result.clone().map(Objects::Build),
    }
}

/// Renders the base in full from `root`, recording each build, and keeps
/// the snapshot (a snapshot that cannot be written is only a lost saving).
/// `head`: the head's objects by file, whose parses the base reuses where
/// files read the same. Returns the snapshot and how many builds it took;
/// `None` when a reported Kustomization is no recorded build (a build that
/// failed under one parent and built under another: the render reports
/// the first), which a snapshot cannot describe.
fn make_snapshot(
    revisions: &Revisions,
    key: SnapshotKey,
    cache: &Path,
    opts: &PlanOptions,
    root: &str,
    head: Option<&ObjectsByFile>,
) -> Result<Option<(Snapshot, usize)>, PlanError> {
    let base = revisions.base()?;
    let base_tree = revisions.tree(base);
    let by_file = repo_objects(&base_tree, head.map(|h| (h, revisions.head.fs())));
    let base_objects = flat(by_file.clone());
    let (render, builds) = render_revision(&RenderRequest {
        tree: &base_tree,
        source_root: root,
        objects: &base_objects,
        source: &opts.source,
        mode: Mode::Record,
    });
    let mut snapshot = Snapshot::new(key, stored(&revisions.top, root));
    snapshot.add_builds(&revisions.top, base.sync_fs(), builds);
    snapshot.add_files(&revisions.top, base.fs(), &by_file);
    snapshot.failures = render.failures;
    for (cluster, outputs) in render.clusters {
        let mut nodes = BTreeMap::new();
        for (k, o) in outputs {
            let result = match o.result {
                Ok(Objects::Build(i)) => Ok(i),
                Ok(Objects::Set(_)) => return Ok(None),
                Err(e) => Err(e),
            };
            let node = Node {
                path: o.path,
                prune: o.prune,
                parents: o.parents,
                origin: o.origin,
                result,
            };
            nodes.insert(k, node);
        }
        snapshot.clusters.insert(cluster, nodes);
    }
    let _ = snapshot.save(cache);
    Ok(Some((snapshot, render.built)))
}
