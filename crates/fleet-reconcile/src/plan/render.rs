//! One revision of a fleet rendered as each target cluster would apply
//! it: every Flux Kustomization reading the source, grouped by the cluster
//! it applies to, with each build's inputs recorded so that a later render
//! can reuse the builds whose inputs did not change.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use fleet_kustomize::ResourceSet;
use fleet_kustomize::flux::{
    FluxBuildError, FluxBuildOptions, RepoObject, build_kustomization, is_flux_kustomization,
    objects_in_file, render_repo_with,
};
use fleet_kustomize::fs::{FileSystem, RecordingFs, relative};
use fleet_model::Value;
use fleet_model::flux::kustomization::Kustomization;

use super::snapshot::{
    Build, FileObjects, HeadCheck, Output, Recorded, Snapshot, SourceData, content_hash, kept,
    stored,
};

/// The cluster that Kustomizations defined outside `clusters/<name>/` (and
/// not sent elsewhere by `kubeConfig`) are reported under.
pub const DEFAULT_CLUSTER: &str = "default";

/// One revision's files, as the renderer reads them.
pub struct RevisionTree<'a> {
    /// The files.
    pub fs: &'a dyn FileSystem,
    /// The repository's top directory in `fs`.
    pub top: String,
    /// The directory whose manifests are read (PATH), in `fs`.
    pub dir: String,
    /// The regular files of the tree under `dir`, in path order.
    pub files: Vec<String>,
}

/// What a Kustomization applies at a revision.
#[derive(Debug, Clone)]
pub enum Objects {
    /// The objects.
    Set(ResourceSet),
    /// A build of the base's snapshot (an index into its builds): the same
    /// objects at this revision, kept as a summary.
    Build(usize),
}

/// One Kustomization's output at a revision.
#[derive(Debug, Clone)]
pub struct KsOutput {
    /// `spec.path` as rendered.
    pub path: String,
    /// `spec.prune`.
    pub prune: bool,
    /// The chain of Kustomizations that rendered it, outermost first.
    pub parents: Vec<String>,
    /// Where its outermost Kustomization is defined (`file:line`, the file
    /// relative to the repository's top).
    pub origin: String,
    /// Its objects, or why it did not build.
    pub result: Result<Objects, String>,
}

/// A revision rendered per cluster.
#[derive(Debug, Default)]
pub struct FleetRender {
    /// Cluster name → Kustomization key → output.
    pub clusters: BTreeMap<String, BTreeMap<String, KsOutput>>,
    /// Kustomizations whose tree failed before it could be split by
    /// cluster (a rendered Kustomization that does not fit the schema),
    /// by `namespace/name`, with where it is defined and why.
    pub failures: BTreeMap<String, (String, String)>,
    /// How many Kustomizations were built (not reused).
    pub built: usize,
}

/// The data of `postBuild.substituteFrom` sources, by (kind, name).
type Sources = indexmap::IndexMap<(String, String), indexmap::IndexMap<String, String>>;

/// Objects by the file they are in.
pub type ObjectsByFile = BTreeMap<String, Vec<RepoObject>>;

/// `namespace/name` of a Kustomization.
fn ks_id(ks: &Kustomization) -> String {
    format!(
        "{}/{}",
        ks.metadata.namespace.as_deref().unwrap_or(""),
        ks.metadata.name.as_deref().unwrap_or("")
    )
}

/// Whether stored substitution data is `live`'s.
fn same_sources(stored: &SourceData, live: &Sources) -> bool {
    stored.len() == live.len()
        && stored
            .iter()
            .zip(live)
            .all(|((k, v), (lk, lv))| k == lk && v == lv)
}

/// Whether `file` (under `dir`) is a manifest the renderer reads: a YAML
/// file, not hidden.
fn is_manifest(dir: &str, file: &str) -> bool {
    let is_yaml = file.ends_with(".yaml") || file.ends_with(".yml");
    let hidden = relative(dir, file)
        .split('/')
        .any(|part| part.starts_with('.') && part != "." && part != "..");
    is_yaml && !hidden
}

/// The objects of a revision's YAML files, reusing `earlier` (objects by
/// file at another revision) where a file reads the same in `earlier_fs`.
pub fn repo_objects(
    tree: &RevisionTree<'_>,
    earlier: Option<(&ObjectsByFile, &dyn FileSystem)>,
) -> ObjectsByFile {
    let mut out = BTreeMap::new();
    for file in tree.files.iter().filter(|f| is_manifest(&tree.dir, f)) {
        let Ok(bytes) = tree.fs.read(file) else {
            continue;
        };
        if let Some((objects, fs)) = earlier
            && let Some(known) = objects.get(file)
            && fs.read(file).ok().as_deref() == Some(bytes.as_slice())
        {
            out.insert(file.clone(), known.clone());
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        out.insert(file.clone(), objects_in_file(file, &text));
    }
    out
}

/// The objects a render reads from a revision's YAML files: those of files
/// that read as at the snapshot's base come from it, the others are parsed.
/// `check` knows what head reads at the snapshot's paths; `files` are the
/// snapshot's (taken out of it). Also whether any file holds an object,
/// kept or not.
pub(super) fn kept_objects(
    tree: &RevisionTree<'_>,
    check: &HeadCheck<'_>,
    mut files: BTreeMap<String, FileObjects>,
) -> (ObjectsByFile, bool) {
    let mut out = BTreeMap::new();
    let mut any = false;
    for file in tree.files.iter().filter(|f| is_manifest(&tree.dir, f)) {
        let key = stored(&tree.top, file);
        let known = files.remove(&key);
        let mut bytes = None;
        let hash = match check.content(&key) {
            Some(hash) => hash.map(str::to_string),
            None => {
                bytes = tree.fs.read(file).ok();
                bytes.as_deref().map(content_hash)
            }
        };
        let Some(hash) = hash else {
            continue;
        };
        let objects = match known.filter(|known| known.content == hash) {
            Some(known) => {
                any |= known.any;
                known
                    .objects
                    .into_iter()
                    .map(|(line, value)| RepoObject {
                        file: file.clone(),
                        line,
                        value: value.0,
                    })
                    .collect()
            }
            None => {
                let Some(bytes) = bytes.or_else(|| tree.fs.read(file).ok()) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&bytes);
                let all = objects_in_file(file, &text);
                any |= !all.is_empty();
                all.into_iter().filter(|o| kept(&o.value)).collect()
            }
        };
        out.insert(file.clone(), objects);
    }
    (out, any)
}

/// The cluster a Kustomization defined in `file` (relative to the
/// repository's top) runs on: `<name>` for a file under `clusters/<name>/`.
fn cluster_of_file(file: &str) -> String {
    let parts: Vec<&str> = file.split('/').collect();
    parts
        .windows(3)
        .find(|w| w[0] == "clusters")
        .map(|w| w[1].to_string())
        .unwrap_or_else(|| DEFAULT_CLUSTER.to_string())
}

/// The cluster a Kustomization applies to through `spec.kubeConfig`:
/// Cluster API's `<cluster>-kubeconfig` Secret names `<cluster>`.
fn kubeconfig_cluster(ks: &Kustomization) -> Option<String> {
    let secret = ks.spec.kube_config.as_ref()?.secret_ref.as_ref()?;
    let name = secret.name.as_str();
    Some(name.strip_suffix("-kubeconfig").unwrap_or(name).to_string())
}

/// How a render builds.
pub enum Mode<'a, 'b> {
    /// Every Kustomization, its objects kept.
    Full,
    /// Every Kustomization, each build summarised (see [`Snapshot`]) into
    /// the builds returned; outputs are [`Objects::Build`].
    Record,
    /// Builds of the base's snapshot whose Kustomization, substitution data
    /// and inputs read the same here are not built again; their outputs are
    /// [`Objects::Build`].
    Reuse(&'b HeadCheck<'a>),
}

/// How to render one revision.
pub struct RenderRequest<'a, 'b> {
    /// The revision's files.
    pub tree: &'a RevisionTree<'a>,
    /// Where `spec.path`s start.
    pub source_root: &'a str,
    /// The repository's objects.
    pub objects: &'a [RepoObject],
    /// The GitRepository that stands for the repository.
    pub source: &'a str,
    /// How to build.
    pub mode: Mode<'a, 'b>,
}

/// The key of the entry that marks a set as standing for a build: the
/// last entry of a set a [`Mode::Record`] or [`Mode::Reuse`] build returns
/// (the tree builder reads only the Flux Kustomizations of a set).
const BUILD_MARK: &str = "\0fleet-plan-build";

fn marked(mut resources: Vec<Value>, build: usize) -> ResourceSet {
    let mut mark = fleet_model::Mapping::new();
    mark.insert(
        BUILD_MARK.to_string(),
        Value::Number(fleet_model::Number::from_u64(build as u64)),
    );
    resources.push(Value::Mapping(mark));
    ResourceSet { resources }
}

fn mark_of(set: &ResourceSet) -> Option<usize> {
    match set.resources.last()? {
        Value::Mapping(m) if m.len() == 1 => match m.get(BUILD_MARK)? {
            Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
            _ => None,
        },
        _ => None,
    }
}

/// The options a build of `snapshot` ran with.
pub(super) fn build_options(snapshot: &Snapshot, build: &Build) -> FluxBuildOptions {
    FluxBuildOptions {
        keep_encrypted: true,
        substitute_sources: snapshot
            .sources
            .get(build.sources as usize)
            .map(|data| data.iter().cloned().collect())
            .unwrap_or_default(),
        ..FluxBuildOptions::default()
    }
}

/// Renders one revision; returns it and, for [`Mode::Record`], its builds.
pub fn render_revision(request: &RenderRequest<'_, '_>) -> (FleetRender, Vec<Recorded>) {
    let tree = request.tree;
    let opts = FluxBuildOptions {
        keep_encrypted: true,
        ..FluxBuildOptions::default()
    };
    let records: RefCell<Vec<Recorded>> = RefCell::new(Vec::new());
    // Builds that failed, by (id, path): the tree goes on without them, as
    // Flux applies the Kustomizations that build.
    let failed: RefCell<HashMap<(String, String), String>> = RefCell::new(HashMap::new());
    let built = RefCell::new(0usize);
    // The snapshot's builds by (id, path).
    let candidates: HashMap<(&str, &str), Vec<usize>> = match &request.mode {
        Mode::Reuse(check) => {
            let snapshot = check.snapshot;
            let mut by_key: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
            for (i, b) in snapshot.builds.iter().enumerate() {
                by_key
                    .entry((b.id.as_str(), b.path.as_str()))
                    .or_default()
                    .push(i);
            }
            by_key
        }
        _ => HashMap::new(),
    };
    let build =
        |ks: &Kustomization, opts: &FluxBuildOptions| -> Result<ResourceSet, FluxBuildError> {
            let key = (ks_id(ks), ks.spec.path().to_string());
            if let Mode::Reuse(check) = &request.mode
                && let Some(found) = candidates.get(&(key.0.as_str(), key.1.as_str()))
            {
                let snapshot = check.snapshot;
                let kustomization = serde_json::to_string(ks).unwrap_or_default();
                let reusable = found.iter().copied().find(|&i| {
                    let b = &snapshot.builds[i];
                    b.kustomization == kustomization
                        && snapshot
                            .sources
                            .get(b.sources as usize)
                            .is_some_and(|data| same_sources(data, &opts.substitute_sources))
                        && check.unchanged(b)
                });
                if let Some(i) = reusable {
                    let children = snapshot.builds[i]
                        .output
                        .children
                        .iter()
                        .map(|c| c.0.clone())
                        .collect();
                    failed.borrow_mut().remove(&key);
                    return Ok(marked(children, i));
                }
            }
            *built.borrow_mut() += 1;
            let result = match request.mode {
                Mode::Record => {
                    let recording = RecordingFs::new(tree.fs);
                    build_kustomization(&recording, request.source_root, ks, opts).map(|set| {
                        let mut records = records.borrow_mut();
                        let output = Output::of(&set);
                        let children = set
                            .resources
                            .into_iter()
                            .filter(is_flux_kustomization)
                            .collect();
                        let build = Build {
                            id: key.0.clone(),
                            path: key.1.clone(),
                            kustomization: serde_json::to_string(ks).unwrap_or_default(),
                            sources: 0,
                            inputs: Vec::new(),
                            output,
                        };
                        let data = opts
                            .substitute_sources
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect();
                        records.push((build, recording.inputs(), data));
                        marked(children, records.len() - 1)
                    })
                }
                _ => build_kustomization(tree.fs, request.source_root, ks, opts),
            };
            match result {
                Ok(set) => {
                    // The last build of a Kustomization is the one reported
                    // (one built on its own, then as its parent renders it).
                    failed.borrow_mut().remove(&key);
                    Ok(set)
                }
                Err(e) => {
                    failed.borrow_mut().insert(key, e.to_string());
                    Ok(ResourceSet::default())
                }
            }
        };
    let render = render_repo_with(request.objects, request.source, &opts, &build);
    let failed = failed.into_inner();
    let display = |file: &str| relative(&tree.top, file);
    let mut out = FleetRender {
        built: built.into_inner(),
        ..FleetRender::default()
    };
    for failure in render.failures {
        out.failures.insert(
            failure.id,
            (
                format!("{}:{}", display(&failure.origin.file), failure.origin.line),
                failure.error.to_string(),
            ),
        );
    }
    // The cluster each rendered Kustomization applies to, by its root's
    // file and its id (a child goes where its parent applies it, unless
    // its own kubeConfig sends it elsewhere).
    let mut targets: HashMap<(String, String), String> = HashMap::new();
    for node in render.rendered {
        let origin_file = display(&node.origin.file);
        let inherited = node
            .parents
            .last()
            .and_then(|p| targets.get(&(origin_file.clone(), p.clone())).cloned())
            .unwrap_or_else(|| cluster_of_file(&origin_file));
        let cluster = kubeconfig_cluster(&node.kustomization).unwrap_or(inherited);
        targets.insert((origin_file.clone(), node.id.clone()), cluster.clone());
        let result = match failed.get(&(node.id.clone(), node.path.clone())) {
            Some(error) => Err(error.clone()),
            None => Ok(match mark_of(&node.set) {
                Some(build) => Objects::Build(build),
                None => Objects::Set(node.set),
            }),
        };
        let output = KsOutput {
            path: node.path.clone(),
            prune: node.kustomization.spec.prune,
            parents: node.parents,
            origin: format!("{origin_file}:{}", node.origin.line),
            result,
        };
        let kustomizations = out.clusters.entry(cluster).or_default();
        let key = if kustomizations.contains_key(&node.id) {
            format!("{} ({})", node.id, node.path)
        } else {
            node.id
        };
        kustomizations.insert(key, output);
    }
    (out, records.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_under_clusters_name_belongs_to_that_cluster() {
        assert_eq!(
            cluster_of_file("clusters/staging/flux-system.yaml"),
            "staging"
        );
        assert_eq!(cluster_of_file("fleet/clusters/eu/sync/ks.yaml"), "eu");
        assert_eq!(cluster_of_file("clusters.yaml"), DEFAULT_CLUSTER);
        assert_eq!(cluster_of_file("flux/sync.yaml"), DEFAULT_CLUSTER);
    }
}
