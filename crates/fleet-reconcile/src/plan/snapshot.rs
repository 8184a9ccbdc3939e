//! What `--changed-only` keeps of a base revision's render between runs:
//! for each build, the Kustomization as rendered, its substitution data,
//! every path it read with that path's state at the base (a file's
//! content hash, a directory's entries, whether it exists), and a summary
//! of its output (how many objects, their digest, their images, the Flux
//! Kustomizations in it); for each Kustomization the render reports, which
//! build it is; and the Flux objects of each YAML file with the file's
//! hash. A base commit never changes, so a snapshot of its render stays
//! true; it is stored in the repository's Git directory under
//! `fleet/plan/`, named after the commit, the work tree, the planned directory, the
//! source and the build of fleet that made it (see [`build_stamp`]).
//!
//! With a snapshot a plan renders at head only the builds whose inputs
//! read differently, and builds at the base only the Kustomizations whose
//! output it has to show object by object.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use fleet_kustomize::ResourceSet;
use fleet_kustomize::flux::{RepoObject, is_flux_kustomization};
use fleet_kustomize::fs::{FileSystem, is_within, join, relative};
use fleet_model::Value;
use fleet_model::value::Number;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::diff::{container_images, object_key, object_name};

/// Bumped whenever what a snapshot holds changes.
const FORMAT: u32 = 1;

/// How many snapshots a repository keeps (the oldest are removed).
const KEEP: usize = 8;

/// A path's state at a revision: what a build that read it saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct PathState {
    is_file: bool,
    is_dir: bool,
    /// The SHA-256 of the file's bytes, when it reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    /// The directory's entries, when it lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entries: Option<Vec<String>>,
}

impl PathState {
    /// `path`'s state in `fs`.
    pub(super) fn of(fs: &dyn FileSystem, path: &str) -> PathState {
        let (is_file, is_dir) = fs.file_or_dir(path);
        PathState {
            is_file,
            is_dir,
            content: if is_file {
                fs.read(path).ok().map(|bytes| content_hash(&bytes))
            } else {
                None
            },
            entries: if is_dir { fs.list_dir(path).ok() } else { None },
        }
    }
}

/// The SHA-256 of some bytes, in hexadecimal.
pub(super) fn content_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A [`Value`] as a snapshot keeps it, in JSON: strings, booleans,
/// nulls, sequences and mappings as themselves, and numbers as written
/// (`010`, `1.0`, `.inf`, which JSON's numbers would not keep) as
/// `{"#": "010"}`. A mapping whose one key is `#` or `#map` is escaped as
/// `{"#map": [[key, value]]}`, so every JSON text reads back as the value
/// it was written from.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stored(pub Value);

/// Borrowed [`Stored`], for writing.
pub(super) struct StoredRef<'a>(pub &'a Value);

const NUMBER_KEY: &str = "#";
const ESCAPED_KEY: &str = "#map";

impl Serialize for StoredRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::String(text) => s.serialize_str(text),
            Value::Number(n) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(NUMBER_KEY, n.as_text())?;
                map.end()
            }
            Value::Sequence(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&StoredRef(item))?;
                }
                seq.end()
            }
            Value::Mapping(m) => {
                let escaped = m.len() == 1
                    && m.keys()
                        .next()
                        .is_some_and(|k| k == NUMBER_KEY || k == ESCAPED_KEY);
                let mut map = s.serialize_map(Some(m.len()))?;
                if escaped {
                    let pairs: Vec<(&String, StoredRef<'_>)> =
                        m.iter().map(|(k, v)| (k, StoredRef(v))).collect();
                    map.serialize_entry(ESCAPED_KEY, &pairs)?;
                } else {
                    for (k, v) in m {
                        map.serialize_entry(k, &StoredRef(v))?;
                    }
                }
                map.end()
            }
        }
    }
}

impl Serialize for Stored {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoredRef(&self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Stored {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Stored, D::Error> {
        d.deserialize_any(StoredVisitor)
    }
}

struct StoredVisitor;

impl<'de> serde::de::Visitor<'de> for StoredVisitor {
    type Value = Stored;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a value as a plan snapshot keeps it")
    }
    fn visit_unit<E>(self) -> Result<Stored, E> {
        Ok(Stored(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Stored, E> {
        Ok(Stored(Value::Null))
    }
    fn visit_bool<E>(self, b: bool) -> Result<Stored, E> {
        Ok(Stored(Value::Bool(b)))
    }
    fn visit_str<E>(self, text: &str) -> Result<Stored, E> {
        Ok(Stored(Value::String(text.to_string())))
    }
    fn visit_string<E>(self, text: String) -> Result<Stored, E> {
        Ok(Stored(Value::String(text)))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Stored, A::Error> {
        let mut items = Vec::new();
        while let Some(Stored(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Stored(Value::Sequence(items)))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Stored, A::Error> {
        use serde::de::Error;
        let mut entries = fleet_model::Mapping::new();
        while let Some((key, Stored(value))) = map.next_entry::<String, Stored>()? {
            entries.insert(key, value);
        }
        if entries.len() != 1 {
            return Ok(Stored(Value::Mapping(entries)));
        }
        let bad = || A::Error::custom("a damaged escaped mapping");
        match entries.get_index(0) {
            Some((key, Value::String(text))) if key == NUMBER_KEY => Number::parse(text)
                .map(|n| Stored(Value::Number(n)))
                .ok_or_else(|| A::Error::custom(format!("{text:?} is not a number"))),
            Some((key, Value::Sequence(pairs))) if key == ESCAPED_KEY => {
                let mut out = fleet_model::Mapping::new();
                for pair in pairs {
                    match pair.as_sequence() {
                        Some([Value::String(k), v]) => {
                            out.insert(k.clone(), v.clone());
                        }
                        _ => return Err(bad()),
                    }
                }
                Ok(Stored(Value::Mapping(out)))
            }
            Some((key, _)) if key == NUMBER_KEY || key == ESCAPED_KEY => Err(bad()),
            _ => Ok(Stored(Value::Mapping(entries))),
        }
    }
}

/// A build's output, summarised.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Output {
    /// How many objects (by identity, as a plan counts them).
    pub count: usize,
    /// The SHA-256 of the objects as kept ([`Stored`], as JSON).
    pub digest: String,
    /// `(object, container, image)` of every container.
    pub images: Vec<(String, String, String)>,
    /// The Flux Kustomizations among the objects, in order (what a render
    /// follows).
    pub children: Vec<Stored>,
}

impl Output {
    /// The summary of `set`.
    pub(super) fn of(set: &ResourceSet) -> Output {
        let stored: Vec<StoredRef<'_>> = set.resources.iter().map(StoredRef).collect();
        let bytes = serde_json::to_vec(&stored).unwrap_or_default();
        let mut images = Vec::new();
        for object in &set.resources {
            let name = object_name(object);
            for (container, image) in container_images(object) {
                images.push((name.clone(), container, image));
            }
        }
        Output {
            count: set
                .resources
                .iter()
                .map(object_key)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            digest: content_hash(&bytes),
            images,
            children: set
                .resources
                .iter()
                .filter(|o| is_flux_kustomization(o))
                .map(|o| Stored(o.clone()))
                .collect(),
        }
    }
}

/// `postBuild.substituteFrom` data, by (kind, name).
pub(super) type SourceData = Vec<((String, String), indexmap::IndexMap<String, String>)>;

/// A build of a recording render: the build (its inputs and sources not
/// yet filled in), the paths it read (in the tree's namespace) and its
/// substitution data.
pub(super) type Recorded = (Build, std::collections::BTreeSet<String>, SourceData);

/// One build at the base.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Build {
    /// `namespace/name`.
    pub id: String,
    /// `spec.path` as rendered.
    pub path: String,
    /// The Kustomization as built, as JSON text.
    pub kustomization: String,
    /// Its `postBuild.substituteFrom` data (an index into
    /// [`Snapshot::sources`]).
    pub sources: u32,
    /// Every path it read (indexes into [`Snapshot::paths`]).
    pub inputs: Vec<u32>,
    /// What it gave.
    pub output: Output,
}

/// One Kustomization the base render reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Node {
    /// `spec.path` as rendered.
    pub path: String,
    /// `spec.prune`.
    pub prune: bool,
    /// The Kustomizations that rendered it, outermost first.
    pub parents: Vec<String>,
    /// Where its outermost Kustomization is defined (`file:line`).
    pub origin: String,
    /// The build it is (an index into [`Snapshot::builds`]), or why it did
    /// not build.
    pub result: Result<usize, String>,
}

/// The Flux objects of a YAML file (Kustomizations, and the ConfigMaps and
/// Secrets `substituteFrom` reads), with the hash of the file's bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct FileObjects {
    pub content: String,
    /// `(line, object)`.
    pub objects: Vec<(usize, Stored)>,
    /// Whether the file holds any object, kept or not (the source root
    /// is looked for at the base when head has none).
    pub any: bool,
}

/// What identifies a snapshot: the base commit, the work tree, the planned
/// directory and the source (the source root is checked after loading).
/// The work tree is part of it because build errors name absolute paths:
/// work trees of one repository share its Git directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct SnapshotKey {
    pub commit: String,
    /// The work tree's top.
    pub top: String,
    /// The planned directory, relative to the repository's top.
    pub dir: String,
    pub source: String,
}

/// A base revision's render, kept between runs. Paths are relative to the
/// repository's top (those outside it stay absolute), so a moved checkout
/// keeps its snapshots.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Snapshot {
    format: u32,
    version: String,
    pub key: SnapshotKey,
    /// Where `spec.path`s start, relative to the top.
    pub root: String,
    /// Objects of the YAML files under the directory, by file.
    pub files: BTreeMap<String, FileObjects>,
    /// Every path a build read, in order, with its state at the base.
    pub paths: Vec<(String, PathState)>,
    /// The distinct `postBuild.substituteFrom` data builds were given.
    pub sources: Vec<SourceData>,
    /// The builds.
    pub builds: Vec<Build>,
    /// Cluster → Kustomization → what the render reports.
    pub clusters: BTreeMap<String, BTreeMap<String, Node>>,
    /// Trees that failed before they could be split by cluster.
    pub failures: BTreeMap<String, (String, String)>,
}

/// What identifies the program that renders: this library's version, and
/// the running executable's size and modification time, so that a
/// snapshot made by another build of fleet (one that may render
/// differently) is never read.
fn build_stamp() -> String {
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            format!("{}:{modified}", m.len())
        })
        .unwrap_or_default();
    format!("{} {exe}", env!("CARGO_PKG_VERSION"))
}

/// Whether a repository object is one a render reads.
pub(super) fn kept(object: &Value) -> bool {
    is_flux_kustomization(object)
        || matches!(
            object.get("kind").and_then(Value::as_str),
            Some("ConfigMap" | "Secret")
        )
}

/// A path as stored: relative to `top` when inside it.
pub(super) fn stored(top: &str, path: &str) -> String {
    if is_within(top, path) {
        relative(top, path)
    } else {
        path.to_string()
    }
}

/// A stored path back in the tree's namespace.
pub(super) fn restored(top: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        join(top, path)
    }
}

impl Snapshot {
    /// An empty snapshot for `key`.
    pub(super) fn new(key: SnapshotKey, root: String) -> Snapshot {
        Snapshot {
            format: FORMAT,
            version: build_stamp(),
            key,
            root,
            files: BTreeMap::new(),
            paths: Vec::new(),
            sources: Vec::new(),
            builds: Vec::new(),
            clusters: BTreeMap::new(),
            failures: BTreeMap::new(),
        }
    }

    /// Records the kept objects of the base's YAML files.
    pub(super) fn add_files(
        &mut self,
        top: &str,
        fs: &dyn FileSystem,
        objects: &BTreeMap<String, Vec<RepoObject>>,
    ) {
        for (file, found) in objects {
            let Ok(bytes) = fs.read(file) else {
                continue;
            };
            self.files.insert(
                stored(top, file),
                FileObjects {
                    content: content_hash(&bytes),
                    objects: found
                        .iter()
                        .filter(|o| kept(&o.value))
                        .map(|o| (o.line, Stored(o.value.clone())))
                        .collect(),
                    any: !found.is_empty(),
                },
            );
        }
    }

    /// Adds the builds of a recording render, with the states at the base
    /// (read from `fs`) of the paths they read.
    pub(super) fn add_builds(
        &mut self,
        top: &str,
        fs: &(dyn FileSystem + Sync),
        recorded: Vec<Recorded>,
    ) {
        let mut paths: Vec<String> = recorded
            .iter()
            .flat_map(|(_, inputs, _)| inputs.iter().cloned())
            .collect();
        paths.sort();
        paths.dedup();
        let index: HashMap<&str, u32> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let mut sources: Vec<SourceData> = Vec::new();
        let builds = recorded
            .into_iter()
            .map(|(mut build, inputs, data)| {
                build.inputs = inputs
                    .iter()
                    .filter_map(|p| index.get(p.as_str()).copied())
                    .collect();
                let at = match sources.iter().position(|known| *known == data) {
                    Some(at) => at,
                    None => {
                        sources.push(data);
                        sources.len() - 1
                    }
                };
                build.sources = u32::try_from(at).unwrap_or(u32::MAX);
                build
            })
            .collect();
        self.sources = sources;
        let refs: Vec<&String> = paths.iter().collect();
        let states = states_of(fs, &refs);
        self.paths = paths
            .iter()
            .zip(states)
            .map(|(p, state)| (stored(top, p), state))
            .collect();
        self.builds = builds;
    }

    /// The file a snapshot with `key` is kept in, under `dir`.
    fn file_for(dir: &Path, key: &SnapshotKey) -> PathBuf {
        let text = format!(
            "{FORMAT}\0{}\0{}\0{}\0{}\0{}",
            build_stamp(),
            key.commit,
            key.top,
            key.dir,
            key.source
        );
        let name = &content_hash(text.as_bytes())[..32];
        dir.join(format!("{name}.json"))
    }

    /// The snapshot kept for `key` under `dir`, if there is a readable one
    /// of this format, made by this build of fleet.
    pub(super) fn load(dir: &Path, key: &SnapshotKey) -> Option<Snapshot> {
        let bytes = std::fs::read(Snapshot::file_for(dir, key)).ok()?;
        let snapshot: Snapshot = serde_json::from_slice(&bytes).ok()?;
        let (builds, paths) = (snapshot.builds.len(), snapshot.paths.len());
        let whole = snapshot
            .clusters
            .values()
            .flat_map(|nodes| nodes.values())
            .all(|node| node.result.as_ref().map_or(true, |&i| i < builds))
            && snapshot
                .builds
                .iter()
                .flat_map(|b| &b.inputs)
                .all(|&i| (i as usize) < paths)
            && snapshot
                .builds
                .iter()
                .all(|b| (b.sources as usize) < snapshot.sources.len());
        (snapshot.format == FORMAT
            && snapshot.version == build_stamp()
            && &snapshot.key == key
            && whole)
            .then_some(snapshot)
    }

    /// Keeps the snapshot under `dir` (written whole, then renamed into
    /// place), removing the oldest beyond the last few. A snapshot that
    /// cannot be written is only a lost saving, so errors are returned for
    /// the caller to ignore or report.
    pub(super) fn save(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let file = Snapshot::file_for(dir, &self.key);
        let partial = file.with_extension(format!("json.{}.tmp", std::process::id()));
        std::fs::write(
            &partial,
            serde_json::to_vec(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&partial, &file)?;
        let mut kept: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)?
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        kept.sort();
        let excess = kept.len().saturating_sub(KEEP);
        for (_, old) in kept.into_iter().take(excess) {
            let _ = std::fs::remove_file(old);
        }
        Ok(())
    }
}

/// The states of `paths` in `fs`, read on a few threads (each is a few
/// system calls on a disk).
fn states_of(fs: &(dyn FileSystem + Sync), paths: &[&String]) -> Vec<PathState> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let chunk = paths.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|p| PathState::of(fs, p))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // A chunk whose thread failed is read again here, so states stay
        // in the order of `paths`.
        handles
            .into_iter()
            .zip(paths.chunks(chunk))
            .flat_map(|(h, part)| {
                h.join()
                    .unwrap_or_else(|_| part.iter().map(|p| PathState::of(fs, p)).collect())
            })
            .collect()
    })
}

/// What head reads at the paths of a snapshot, and whether a build's
/// inputs read there as at the base.
pub(super) struct HeadCheck<'a> {
    pub snapshot: &'a Snapshot,
    /// Per path of the snapshot: its state at head.
    head: Vec<PathState>,
    /// Per path of the snapshot: whether it reads as at the base.
    same: Vec<bool>,
    /// Stored path → index.
    index: HashMap<&'a str, usize>,
}

impl<'a> HeadCheck<'a> {
    /// Reads every path of `snapshot` in `head` (the tree's top at `top`).
    /// Directories first: a path whose directory is among them and lists
    /// no entry of its name is absent without asking (most paths a build
    /// reads are probes of files that are not there, `kustomization.yml`
    /// beside `kustomization.yaml`).
    pub(super) fn new(top: &str, head: &(dyn FileSystem + Sync), snapshot: &'a Snapshot) -> Self {
        let paths: Vec<String> = snapshot
            .paths
            .iter()
            .map(|(p, _)| restored(top, p))
            .collect();
        let index: HashMap<&str, usize> = snapshot
            .paths
            .iter()
            .enumerate()
            .map(|(i, (p, _))| (p.as_str(), i))
            .collect();
        let by_path: HashMap<&str, usize> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), i))
            .collect();
        let was_dir = |i: usize| snapshot.paths[i].1.is_dir;
        let dirs: Vec<usize> = (0..paths.len()).filter(|&i| was_dir(i)).collect();
        let dir_refs: Vec<&String> = dirs.iter().map(|&i| &paths[i]).collect();
        let mut states: Vec<Option<PathState>> = vec![None; paths.len()];
        for (i, state) in dirs.iter().zip(states_of(head, &dir_refs)) {
            states[*i] = Some(state);
        }
        let absent = PathState {
            is_file: false,
            is_dir: false,
            content: None,
            entries: None,
        };
        let mut rest = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            if states[i].is_some() {
                continue;
            }
            let (dir, name) = match path.rfind('/') {
                Some(at) if at > 0 => (&path[..at], &path[at + 1..]),
                Some(_) => ("/", &path[1..]),
                None => ("", path.as_str()),
            };
            let listed = by_path
                .get(dir)
                .and_then(|&d| states[d].as_ref())
                .map(|parent| match &parent.entries {
                    Some(entries) => entries.iter().any(|e| e == name),
                    // A directory that does not list (no read permission)
                    // may still hold it: ask.
                    None if parent.is_dir => true,
                    // Not a directory: nothing is in it.
                    None => false,
                });
            match listed {
                Some(false) => states[i] = Some(absent.clone()),
                _ => rest.push(i),
            }
        }
        let rest_refs: Vec<&String> = rest.iter().map(|&i| &paths[i]).collect();
        for (i, state) in rest.iter().zip(states_of(head, &rest_refs)) {
            states[*i] = Some(state);
        }
        let head: Vec<PathState> = states
            .into_iter()
            .map(|s| s.unwrap_or_else(|| absent.clone()))
            .collect();
        let same = head
            .iter()
            .zip(&snapshot.paths)
            .map(|(head, (_, base))| head == base)
            .collect();
        HeadCheck {
            snapshot,
            head,
            same,
            index,
        }
    }

    /// Whether every input of `build` reads at head as at the base.
    pub(super) fn unchanged(&self, build: &Build) -> bool {
        build
            .inputs
            .iter()
            .all(|&i| self.same.get(i as usize).copied().unwrap_or(false))
    }

    /// The content hash at head of a file among the snapshot's paths
    /// (`stored`, as the snapshot stores it): `None` when it is not one of
    /// them, `Some(None)` when it does not read.
    pub(super) fn content(&self, stored: &str) -> Option<Option<&str>> {
        let i = *self.index.get(stored)?;
        Some(self.head.get(i)?.content.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_value_reads_back_as_written() {
        let text = "n: [010, 0x1f, 1.0, -0, .inf, 1e3]\ns: ['010', '', \"#\"]\nb: [true, false, ~]\nhash: {'#': '1'}\nescaped: {'#map': [[a, 1]]}\nnested: {'#': {'#map': x}}\nempty: {}\nlist: []\norder: {z: 1, a: 2, m: 3}\n";
        let value = fleet_model::yaml::parse_one(text).unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_string(&StoredRef(&value)).unwrap_or_else(|e| panic!("{e}"));
        let back: Stored = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.0, value, "{json}");
    }

    #[test]
    fn a_damaged_kept_value_is_an_error_not_a_guess() {
        for damaged in [
            r##"{"#": "ten"}"##,
            r##"{"#map": [["a"]]}"##,
            r##"{"#map": 1}"##,
            "1",
        ] {
            assert!(
                serde_json::from_str::<Stored>(damaged).is_err(),
                "{damaged}"
            );
        }
    }
}
