//! One revision of a fleet rendered as each target cluster would apply
//! it: every Flux Kustomization reading the source, grouped by the cluster
//! it applies to, with each build's inputs recorded so that a later render
//! can reuse the builds whose inputs did not change.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use fleet_kustomize::ResourceSet;
use fleet_kustomize::flux::{
    FluxBuildError, FluxBuildOptions, RepoObject, build_kustomization, objects_in_file,
    render_repo_with,
};
use fleet_kustomize::fs::{FileSystem, RecordingFs, relative};
use fleet_model::flux::kustomization::Kustomization;

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
    pub result: Result<ResourceSet, String>,
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

/// What a build read and gave, kept to reuse it at another revision.
#[derive(Debug, Clone)]
struct BuildRecord {
    kustomization: serde_json::Value,
    sources: Sources,
    inputs: BTreeSet<String>,
    set: ResourceSet,
}

/// Builds recorded at one revision, by Kustomization `namespace/name` and
/// `spec.path` (one Kustomization may be built in more than one form: on
/// its own from its file, and as its parent renders it).
#[derive(Debug, Default)]
pub struct BuildRecords {
    records: HashMap<(String, String), Vec<BuildRecord>>,
}

/// The Kustomization's content and the substitution data it was given,
/// in a form that compares.
fn build_key(ks: &Kustomization, opts: &FluxBuildOptions) -> (serde_json::Value, Sources) {
    let kustomization = serde_json::to_value(ks).unwrap_or(serde_json::Value::Null);
    (kustomization, opts.substitute_sources.clone())
}

/// `namespace/name` of a Kustomization.
fn ks_id(ks: &Kustomization) -> String {
    format!(
        "{}/{}",
        ks.metadata.namespace.as_deref().unwrap_or(""),
        ks.metadata.name.as_deref().unwrap_or("")
    )
}

/// Whether every recorded input of a build reads the same in `base` and
/// `head`: a file's bytes, a path's existence and kind, a directory's
/// entries. Answers are kept per path in `seen`.
fn inputs_unchanged(
    inputs: &BTreeSet<String>,
    base: &dyn FileSystem,
    head: &dyn FileSystem,
    seen: &mut HashMap<String, bool>,
) -> bool {
    inputs.iter().all(|path| {
        *seen.entry(path.clone()).or_insert_with(|| {
            base.is_file(path) == head.is_file(path)
                && base.is_dir(path) == head.is_dir(path)
                && (!base.is_file(path) || base.read(path).ok() == head.read(path).ok())
                && (!base.is_dir(path) || base.list_dir(path).ok() == head.list_dir(path).ok())
        })
    })
}

/// The objects of a revision's YAML files, reusing `earlier` (objects by
/// file at another revision) where a file reads the same in `earlier_fs`.
pub fn repo_objects(
    tree: &RevisionTree<'_>,
    earlier: Option<(&ObjectsByFile, &dyn FileSystem)>,
) -> ObjectsByFile {
    let mut out = BTreeMap::new();
    for file in &tree.files {
        let is_yaml = file.ends_with(".yaml") || file.ends_with(".yml");
        let hidden = relative(&tree.dir, file)
            .split('/')
            .any(|part| part.starts_with('.') && part != "." && part != "..");
        if !is_yaml || hidden {
            continue;
        }
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

/// How to render one revision.
pub struct RenderRequest<'a> {
    /// The revision's files.
    pub tree: &'a RevisionTree<'a>,
    /// Where `spec.path`s start.
    pub source_root: &'a str,
    /// The repository's objects.
    pub objects: &'a [RepoObject],
    /// The GitRepository that stands for the repository.
    pub source: &'a str,
    /// Builds of another revision to reuse where their inputs read the
    /// same here (`--changed-only`), with that revision's files.
    pub reuse: Option<(&'a BuildRecords, &'a dyn FileSystem)>,
    /// Whether to record this render's builds for reuse.
    pub record: bool,
}

/// Renders one revision; returns it and, when asked, its builds.
pub fn render_revision(request: &RenderRequest<'_>) -> (FleetRender, BuildRecords) {
    let tree = request.tree;
    let opts = FluxBuildOptions {
        keep_encrypted: true,
        ..FluxBuildOptions::default()
    };
    let records = RefCell::new(BuildRecords::default());
    // Builds that failed, by (id, path): the tree goes on without them, as
    // Flux applies the Kustomizations that build.
    let failed: RefCell<HashMap<(String, String), String>> = RefCell::new(HashMap::new());
    let seen = RefCell::new(HashMap::new());
    let built = RefCell::new(0usize);
    let build =
        |ks: &Kustomization, opts: &FluxBuildOptions| -> Result<ResourceSet, FluxBuildError> {
            let key = (ks_id(ks), ks.spec.path().to_string());
            if let Some((earlier, earlier_fs)) = request.reuse
                && let Some(candidates) = earlier.records.get(&key)
            {
                let (kustomization, sources) = build_key(ks, opts);
                let mut seen = seen.borrow_mut();
                let reusable = candidates.iter().find(|record| {
                    record.kustomization == kustomization
                        && record.sources == sources
                        && inputs_unchanged(&record.inputs, earlier_fs, tree.fs, &mut seen)
                });
                if let Some(record) = reusable {
                    failed.borrow_mut().remove(&key);
                    if request.record {
                        let mut records = records.borrow_mut();
                        records.records.entry(key).or_default().push(record.clone());
                    }
                    return Ok(record.set.clone());
                }
            }
            *built.borrow_mut() += 1;
            let recording = RecordingFs::new(tree.fs);
            match build_kustomization(&recording, request.source_root, ks, opts) {
                Ok(set) => {
                    // The last build of a Kustomization is the one reported
                    // (one built on its own, then as its parent renders it).
                    failed.borrow_mut().remove(&key);
                    if request.record {
                        let (kustomization, sources) = build_key(ks, opts);
                        records
                            .borrow_mut()
                            .records
                            .entry(key)
                            .or_default()
                            .push(BuildRecord {
                                kustomization,
                                sources,
                                inputs: recording.inputs(),
                                set: set.clone(),
                            });
                    }
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
            None => Ok(node.set),
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
    use fleet_kustomize::fs::MemFs;

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

    #[test]
    fn an_input_that_reads_the_same_leaves_a_build_reusable() {
        let mut base = MemFs::default();
        base.add("/r/app/kustomization.yaml", "resources: [a.yaml]\n");
        base.add("/r/app/a.yaml", "kind: A\n");
        let mut head = base.clone();
        let inputs: BTreeSet<String> = ["/r/app/kustomization.yaml", "/r/app", "/r/app/b.yaml"]
            .into_iter()
            .map(String::from)
            .collect();
        let mut seen = HashMap::new();
        assert!(inputs_unchanged(&inputs, &base, &head, &mut seen));
        // A file appearing where the build looked for one changes its input.
        head.add("/r/app/b.yaml", "kind: B\n");
        assert!(!inputs_unchanged(
            &inputs,
            &base,
            &head,
            &mut HashMap::new()
        ));
    }
}
