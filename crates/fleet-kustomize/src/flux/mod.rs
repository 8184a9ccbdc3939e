//! Builds a Flux `Kustomization` (`kustomize.toolkit.fluxcd.io/v1`) the way
//! kustomize-controller and `flux build kustomization` do:
//!
//! 1. when `spec.path` has no kustomization file, one is generated over the
//!    manifests below it (every `.yaml`/`.yml` file, and each subdirectory
//!    that has its own kustomization file, in walk order);
//! 2. `targetNamespace`, `namePrefix`, `nameSuffix`, `patches`,
//!    `components` (with `ignoreMissingComponents`) and `images` are written
//!    into that kustomization, as fluxcd/pkg's generator does;
//! 3. the result is built with load restrictions off; with
//!    `spec.decryption`, SOPS-encrypted files read as their plaintext
//!    ([`decrypt`]);
//! 4. Secret `data` entries holding SOPS files are decrypted, and an
//!    encrypted Secret left over (no `spec.decryption`) fails the build;
//! 5. each object is post-build substituted ([`crate::postbuild`]);
//! 6. owner labels (`kustomize.toolkit.fluxcd.io/name`, `/namespace`) and
//!    `commonMetadata` are set on every object.
//!
//! The generated kustomization is served from memory over the caller's
//! tree ([`FluxOverlayFs`]); nothing is written to disk, so concurrent
//! builds of one checkout cannot disturb each other (Flux takes a global
//! lock and rewrites the file in place).
//!
//! ```
//! use fleet_kustomize::flux::{build_kustomization, FluxBuildOptions};
//! use fleet_kustomize::fs::MemFs;
//! use fleet_model::Manifest;
//! use fleet_model::flux::kustomization::Kustomization;
//! let mut fs = MemFs::default();
//! fs.add("/repo/apps/web.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  env: ${env:=dev}\n");
//! let ks = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n  targetNamespace: prod\n  sourceRef:\n    kind: GitRepository\n    name: repo\n  postBuild:\n    substitute:\n      env: prod\n";
//! let ks: Kustomization = Manifest::read_all(ks, "ks.yaml").unwrap()[0].to_typed().unwrap();
//! let out = build_kustomization(&fs, "/repo", &ks, &FluxBuildOptions::default()).unwrap();
//! assert!(out.to_yaml().contains("  env: prod\n"));
//! assert!(out.to_yaml().contains("  namespace: prod\n"));
//! assert!(out.to_yaml().contains("kustomize.toolkit.fluxcd.io/name: apps\n"));
//! ```

pub mod decrypt;
mod repo;
mod tree;

pub use repo::{RenderFailure, RenderedKustomization, RepoRender, render_repo, render_repo_with};
pub use tree::{
    BuildOne, MAX_DEPTH, MAX_KUSTOMIZATIONS, Skipped, Tree, TreeNode, build_tree, build_tree_with,
    is_flux_kustomization,
};

use crate::build::{BuildOptions, LoadRestrictor, build};
use crate::fs::{self, FileSystem};
use crate::kustfile::FILE_NAMES;
use crate::postbuild::{PostBuildError, Substitution, Variables};
use crate::resource::describe_object;
use crate::{Error, ResourceSet};
use fleet_model::Value;
use fleet_model::flux::kustomization::{Kustomization, SubstituteReference};
use fleet_model::value::Mapping;
use fleet_model::yaml::{parse_documents, parse_one, to_string};
use indexmap::IndexMap;

/// The label naming the Kustomization that owns an object.
pub const OWNER_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
/// The label naming that Kustomization's namespace.
pub const OWNER_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";

/// Why a Flux Kustomization could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FluxBuildError {
    /// Kustomizations rendering Kustomizations nest deeper than
    /// [`MAX_DEPTH`] (each level rendering a new one, for ever).
    #[error(
        "Kustomizations nest more than {} levels deep: {}; each renders the next, so the chain would not end",
        tree::MAX_DEPTH,
        .0.join(" > ")
    )]
    TooDeep(Vec<String>),
    /// One build renders more than [`MAX_KUSTOMIZATIONS`] Kustomizations.
    #[error(
        "more than {max} Kustomizations rendered from Kustomization {root}; stopping",
        max = tree::MAX_KUSTOMIZATIONS
    )]
    TooMany {
        /// `namespace/name` of the Kustomization the tree started from.
        root: String,
    },
    /// `spec.path` is not a directory of the source.
    #[error(
        "Kustomization {ks}: spec.path '{path}' is not a directory in the source; fix spec.path"
    )]
    MissingPath {
        /// `namespace/name` of the Kustomization.
        ks: String,
        /// The path.
        path: String,
    },
    /// A manifest the generator cannot read as Kubernetes YAML.
    #[error("failed to decode Kubernetes YAML from {file}: {message}")]
    BadManifest {
        /// The file.
        file: String,
        /// What the reader said.
        message: String,
    },
    /// A component path that is remote or absolute.
    #[error("component path '{0}' must be local and relative; vendor it into the repository")]
    RemoteComponent(String),
    /// The kustomize build failed.
    #[error("kustomize build failed: {0}")]
    Build(#[from] Error),
    /// Post-build substitution failed.
    #[error(transparent)]
    PostBuild(#[from] PostBuildError),
    /// SOPS decryption failed.
    #[error(transparent)]
    Decrypt(#[from] decrypt::DecryptError),
    /// An encrypted Secret in a Kustomization without `spec.decryption`.
    #[error(
        "{object} is SOPS encrypted, configuring decryption (spec.decryption) is required for this secret to be reconciled"
    )]
    Encrypted {
        /// The object.
        object: String,
    },
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct FluxBuildOptions {
    /// Unset variables without a default fail the build (Flux's
    /// `StrictPostBuildSubstitutions` gate; on by default in the controller).
    pub strict_substitution: bool,
    /// The data of the ConfigMaps and Secrets `postBuild.substituteFrom`
    /// names, by (kind, name); Secret values already decoded.
    pub substitute_sources: IndexMap<(String, String), IndexMap<String, String>>,
    /// The keys of the Secret `spec.decryption.secretRef` names (see
    /// [`crate::sops::KeyRing::from_secret_data`]); `None` when it was not
    /// found, which fails the build only if an encrypted file is met.
    pub decryption_keys: Option<std::sync::Arc<crate::sops::KeyRing>>,
    /// Build without decrypting, as a preview that masks Secret values
    /// does (`flux build` without keys): SOPS-encrypted files and Secrets
    /// pass through as they are, `decryption_keys` unused.
    pub keep_encrypted: bool,
}

/// `namespace/name` of a Kustomization, as errors and trees name it.
pub(crate) fn kustomization_id(ks: &Kustomization) -> String {
    format!(
        "{}/{}",
        ks.metadata.namespace.as_deref().unwrap_or(""),
        ks.metadata.name.as_deref().unwrap_or("")
    )
}

/// Builds a Flux Kustomization whose source tree is rooted at `root`.
pub fn build_kustomization(
    fs: &dyn FileSystem,
    root: &str,
    ks: &Kustomization,
    opts: &FluxBuildOptions,
) -> Result<ResourceSet, FluxBuildError> {
    let dir = fs::join(root, ks.spec.path());
    if !fs.is_dir(&dir) {
        // Named as written in the Kustomization, not as joined here.
        return Err(FluxBuildError::MissingPath {
            ks: kustomization_id(ks),
            path: ks.spec.path().to_string(),
        });
    }
    build_kustomization_dir(fs, &dir, ks, opts)
}

/// Like [`build_kustomization`], with the directory to build given directly
/// (as `flux build kustomization --path DIR` does).
pub fn build_kustomization_dir(
    fs: &dyn FileSystem,
    dir: &str,
    ks: &Kustomization,
    opts: &FluxBuildOptions,
) -> Result<ResourceSet, FluxBuildError> {
    let dir = fs::join("/", dir);
    if !fs.is_dir(&dir) {
        return Err(FluxBuildError::MissingPath {
            ks: kustomization_id(ks),
            path: dir,
        });
    }
    let (file, text) = flux_kustomization_file(fs, &dir, ks)?;
    let overlay = FluxOverlayFs::new(fs, &file, text);
    let build_opts = BuildOptions {
        load_restrictor: LoadRestrictor::None,
    };
    let keys = opts.decryption_keys.as_deref();
    let mut set = match &ks.spec.decryption {
        _ if opts.keep_encrypted => build(&overlay, &dir, &build_opts)?,
        Some(decryption) => {
            let secret = decryption.secret_ref.as_ref().map(|r| {
                format!(
                    "{}/{}",
                    ks.metadata.namespace.as_deref().unwrap_or(""),
                    r.name
                )
            });
            let decrypting = decrypt::DecryptingFs::new(&overlay, keys, secret);
            let built = build(&decrypting, &dir, &build_opts);
            if let Some(e) = decrypting.take_error() {
                return Err(e.into());
            }
            let mut set = built?;
            for obj in &mut set.resources {
                decrypt::decrypt_secret_data(obj, keys)?;
            }
            set
        }
        None => build(&overlay, &dir, &build_opts)?,
    };
    if let Some(obj) = set.resources.iter().find(|r| {
        !opts.keep_encrypted
            && r.get("kind").and_then(Value::as_str) == Some("Secret")
            && crate::sops::is_encrypted(r)
            && !decrypt::is_decryption_disabled(r)
    }) {
        return Err(FluxBuildError::Encrypted {
            object: describe_object(obj),
        });
    }
    if let Some(post_build) = &ks.spec.post_build {
        let resolve = |r: &SubstituteReference| {
            opts.substitute_sources
                .get(&(kind_name(r).to_string(), r.name.clone()))
                .cloned()
        };
        let vars = Variables::merge(post_build, resolve)?;
        Substitution::new(post_build, vars, opts.strict_substitution)
            .apply_all(&mut set.resources)?;
    }
    let name = ks.metadata.name.clone().unwrap_or_default();
    let namespace = ks.metadata.namespace.clone().unwrap_or_default();
    for obj in &mut set.resources {
        set_metadata(obj, "labels", OWNER_NAME_LABEL, &name);
        set_metadata(obj, "labels", OWNER_NAMESPACE_LABEL, &namespace);
        if let Some(cm) = &ks.spec.common_metadata {
            for (k, v) in &cm.labels {
                set_metadata(obj, "labels", k, v);
            }
            for (k, v) in &cm.annotations {
                set_metadata(obj, "annotations", k, v);
            }
        }
    }
    Ok(set)
}

/// The kustomization file Flux builds `dir` with: the existing one (or a
/// generated one) with the Kustomization's overrides written in. Returns
/// its path and text.
pub fn flux_kustomization_file(
    fs: &dyn FileSystem,
    dir: &str,
    ks: &Kustomization,
) -> Result<(String, String), FluxBuildError> {
    let existing = FILE_NAMES
        .iter()
        .map(|n| fs::join(dir, n))
        .find(|p| fs.is_file(p));
    let (path, mut kus) = match existing {
        Some(path) => {
            let text = crate::build::read_text(fs, &path)?;
            let value = parse_one(&text).map_err(|e| Error::Yaml {
                file: path.clone(),
                source: e,
            })?;
            let map = match value {
                Value::Mapping(m) => m,
                Value::Null => Mapping::new(),
                other => {
                    return Err(FluxBuildError::Build(Error::Kustomization {
                        file: path,
                        message: format!("expected a mapping, found {}", other.type_name()),
                    }));
                }
            };
            (path, map)
        }
        None => (fs::join(dir, FILE_NAMES[0]), generate(fs, dir)?),
    };
    let spec = &ks.spec;
    let mut put = |key: &str, value: Value| {
        kus.insert(key.to_string(), value);
    };
    if let Some(ns) = &spec.target_namespace {
        put("namespace", Value::String(ns.clone()));
    }
    if let Some(p) = spec.name_prefix.as_deref().filter(|p| !p.is_empty()) {
        put("namePrefix", Value::String(p.to_string()));
    }
    if let Some(s) = spec.name_suffix.as_deref().filter(|s| !s.is_empty()) {
        put("nameSuffix", Value::String(s.to_string()));
    }
    append(&mut kus, "patches", spec.patches.iter().map(patch_value));
    let mut components = Vec::new();
    for c in &spec.components {
        if !is_local_relative_path(c) {
            return Err(FluxBuildError::RemoteComponent(c.clone()));
        }
        if spec.ignore_missing_components
            && !fs.is_dir(&fs::join(dir, c))
            && !fs.is_file(&fs::join(dir, c))
        {
            continue;
        }
        components.push(Value::String(c.clone()));
    }
    append(&mut kus, "components", components.into_iter());
    for image in &spec.images {
        let mut m = Mapping::new();
        m.insert("name".into(), Value::String(image.name.clone()));
        for (key, v) in [
            ("newName", &image.new_name),
            ("newTag", &image.new_tag),
            ("digest", &image.digest),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                m.insert(key.into(), Value::String(v.to_string()));
            }
        }
        let images = kus
            .entry("images".to_string())
            .or_insert_with(|| Value::Sequence(Vec::new()));
        if let Value::Sequence(list) = images {
            // An entry for the same image is replaced whole, as Flux does.
            match list
                .iter_mut()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(&image.name))
            {
                Some(entry) => *entry = Value::Mapping(m),
                None => list.push(Value::Mapping(m)),
            }
        }
    }
    Ok((path, to_string(&Value::Mapping(kus))))
}

fn patch_value(p: &fleet_model::flux::meta::Patch) -> Value {
    let mut m = Mapping::new();
    m.insert("patch".into(), Value::String(p.patch.clone()));
    if let Some(t) = &p.target {
        let mut sel = Mapping::new();
        for (key, v) in [
            ("group", &t.group),
            ("version", &t.version),
            ("kind", &t.kind),
            ("name", &t.name),
            ("namespace", &t.namespace),
            ("labelSelector", &t.label_selector),
            ("annotationSelector", &t.annotation_selector),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                sel.insert(key.into(), Value::String(v.to_string()));
            }
        }
        m.insert("target".into(), Value::Mapping(sel));
    }
    Value::Mapping(m)
}

fn append(kus: &mut Mapping, key: &str, items: impl Iterator<Item = Value>) {
    let items: Vec<Value> = items.collect();
    if items.is_empty() {
        return;
    }
    match kus.get_mut(key) {
        Some(Value::Sequence(list)) => list.extend(items),
        _ => {
            kus.insert(key.to_string(), Value::Sequence(items));
        }
    }
}

/// The kustomization kustomize-controller generates for a directory without
/// one: every manifest below it, and each subdirectory that has its own
/// kustomization file (not descended into), in `filepath.Walk` order.
fn generate(fs: &dyn FileSystem, dir: &str) -> Result<Mapping, FluxBuildError> {
    let mut resources = Vec::new();
    scan(fs, dir, dir, &mut resources)?;
    let mut kus = Mapping::new();
    kus.insert(
        "apiVersion".into(),
        Value::String("kustomize.config.k8s.io/v1beta1".into()),
    );
    kus.insert("kind".into(), Value::String("Kustomization".into()));
    kus.insert(
        "resources".into(),
        Value::Sequence(resources.into_iter().map(Value::String).collect()),
    );
    Ok(kus)
}

fn scan(
    fs: &dyn FileSystem,
    base: &str,
    dir: &str,
    out: &mut Vec<String>,
) -> Result<(), FluxBuildError> {
    let names = fs.list_dir(dir).map_err(|e| Error::Read {
        path: dir.to_string(),
        message: e.to_string(),
    })?;
    for name in names {
        let path = fs::join(dir, &name);
        let rel = format!("./{}", &path[base.len()..].trim_start_matches('/'));
        if is_excluded_from_artifacts(&name, fs.is_dir(&path)) {
            continue;
        }
        if fs.is_dir(&path) {
            if FILE_NAMES.iter().any(|k| fs.is_file(&fs::join(&path, k))) {
                out.push(rel);
            } else {
                scan(fs, base, &path, out)?;
            }
            continue;
        }
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        let text = crate::build::read_text(fs, &path)?;
        let docs = parse_documents(&text).map_err(|e| FluxBuildError::BadManifest {
            file: path.clone(),
            message: format!("line {}: {}", e.line, e.message),
        })?;
        if let Some(doc) = docs
            .iter()
            .find(|d| !matches!(d.value, Value::Mapping(_) | Value::Null))
        {
            return Err(FluxBuildError::BadManifest {
                file: path.clone(),
                message: format!(
                    "line {}: expected an object, found {}",
                    doc.line,
                    doc.value.type_name()
                ),
            });
        }
        out.push(rel);
    }
    Ok(())
}

/// Whether source-controller leaves this entry out of every artifact (its
/// default ignore patterns: VCS and CI files, `.sops.yaml`, `.flux.yaml`,
/// …), so that the generated kustomization never lists it. The patterns
/// have no inner slash, so in gitignore terms they match a name at any
/// depth.
pub fn is_excluded_from_artifacts(name: &str, is_dir: bool) -> bool {
    const DIRS: &[&str] = &[".git", ".github", ".circleci"];
    const FILES: &[&str] = &[
        ".gitignore",
        ".gitmodules",
        ".gitattributes",
        ".travis.yml",
        ".gitlab-ci.yml",
        "appveyor.yml",
        ".drone.yml",
        "cloudbuild.yaml",
        "codeship-services.yml",
        "codeship-steps.yml",
        ".goreleaser.yml",
        ".goreleaser.brew.yml",
        ".sops.yaml",
        ".flux.yaml",
        ".golangci.yaml",
    ];
    if is_dir {
        DIRS.contains(&name)
    } else {
        FILES.contains(&name)
    }
}

/// Whether a component path is local and relative, as fluxcd/pkg checks it.
pub fn is_local_relative_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let remote = [
        "git::",
        "gh:",
        "ssh://",
        "https://",
        "http://",
        "git@",
        "github.com:",
        "github.com/",
    ]
    .iter()
    .any(|p| p.len() < path.len() && lower.starts_with(p));
    !remote && !path.starts_with('/') && !lower.trim_start_matches("file://").starts_with('/')
}

fn set_metadata(obj: &mut Value, field: &str, key: &str, value: &str) {
    let Some(root) = obj.as_mapping_mut() else {
        return;
    };
    let meta = root
        .entry("metadata".to_string())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    let Some(meta) = meta.as_mapping_mut() else {
        return;
    };
    let map = meta
        .entry(field.to_string())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if map.is_null() {
        *map = Value::Mapping(Mapping::new());
    }
    if let Some(map) = map.as_mapping_mut() {
        map.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// The caller's tree with one kustomization file replaced (or added).
pub struct FluxOverlayFs<'a> {
    inner: &'a dyn FileSystem,
    path: String,
    content: Vec<u8>,
}

impl<'a> FluxOverlayFs<'a> {
    /// `inner` with the file at `path` reading as `content`.
    pub fn new(inner: &'a dyn FileSystem, path: &str, content: impl Into<Vec<u8>>) -> Self {
        FluxOverlayFs {
            inner,
            path: fs::join("/", path),
            content: content.into(),
        }
    }
}

impl FileSystem for FluxOverlayFs<'_> {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        if path == self.path {
            Ok(self.content.clone())
        } else {
            self.inner.read(path)
        }
    }
    fn is_dir(&self, path: &str) -> bool {
        self.inner.is_dir(path)
    }
    fn is_file(&self, path: &str) -> bool {
        path == self.path || self.inner.is_file(path)
    }
    fn list_dir(&self, path: &str) -> std::io::Result<Vec<String>> {
        let mut names = self.inner.list_dir(path)?;
        if fs::parent(&self.path) == path {
            let name = self.path[path.len()..].trim_start_matches('/').to_string();
            if let Err(i) = names.binary_search(&name) {
                names.insert(i, name);
            }
        }
        Ok(names)
    }
    fn real_path(&self, path: &str) -> std::io::Result<String> {
        if path == self.path {
            Ok(path.to_string())
        } else {
            self.inner.real_path(path)
        }
    }
}

/// What `flux build` puts in place of a Secret value it will not show.
pub const SECRET_MASK: &str = "**SOPS**";

/// Replaces every value of a Secret's `data` (with the base64 of
/// [`SECRET_MASK`]) and `stringData` (with the mask itself), as
/// `flux build kustomization` prints Secrets. Other objects are untouched.
pub fn mask_secret(obj: &mut Value) {
    if obj.get("kind").and_then(Value::as_str) != Some("Secret") {
        return;
    }
    let Some(map) = obj.as_mapping_mut() else {
        return;
    };
    for (field, mask) in [("data", "KipTT1BTKio="), ("stringData", SECRET_MASK)] {
        if let Some(Value::Mapping(values)) = map.get_mut(field) {
            for v in values.values_mut() {
                *v = Value::String(mask.to_string());
            }
        }
    }
}

/// A manifest found in a repository, with the file it came from.
#[derive(Debug, Clone)]
pub struct RepoObject {
    /// The file.
    pub file: String,
    /// The 1-based line its document starts on.
    pub line: usize,
    /// The object.
    pub value: Value,
}

/// Where a repository's `spec.path`s start: of `dir` and its ancestors up
/// to `top` (the Git work tree's top; the filesystem's root when `None`),
/// the nearest one under which the most of the Flux Kustomizations'
/// `spec.path`s in `objects` exist. A fleet in a subdirectory of a
/// repository resolves `./clusters/...` from wherever those paths are.
pub fn source_root(
    fs: &dyn FileSystem,
    top: Option<&str>,
    dir: &str,
    objects: &[RepoObject],
) -> String {
    let paths: Vec<&str> = objects
        .iter()
        .filter(|o| is_flux_kustomization(&o.value))
        .filter_map(|o| o.value.pointer(&["spec", "path"]).and_then(Value::as_str))
        .filter(|p| !p.contains("${"))
        .collect();
    let mut best = (0, dir.to_string());
    let mut candidate = dir.to_string();
    loop {
        let resolved = paths
            .iter()
            .filter(|p| fs.is_dir(&fs::join(&candidate, p)))
            .count();
        if resolved > best.0 {
            best = (resolved, candidate.clone());
        }
        let parent = fs::parent(&candidate);
        if Some(candidate.as_str()) == top || parent == candidate || candidate == "/" {
            break;
        }
        candidate = parent;
    }
    best.1
}

/// The objects (mappings) in one YAML file's text; nothing when it is not
/// YAML.
pub fn objects_in_file(file: &str, text: &str) -> Vec<RepoObject> {
    let Ok(docs) = parse_documents(text) else {
        return Vec::new();
    };
    docs.into_iter()
        .filter(|d| matches!(d.value, Value::Mapping(_)))
        .map(|d| RepoObject {
            file: file.to_string(),
            line: d.line,
            value: d.value,
        })
        .collect()
}

/// Why a Secret found in a repository cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: Secret '{name}' key '{key}' is not valid base64; fix the value or use stringData")]
pub struct SecretDataError {
    /// The file.
    pub file: String,
    /// The Secret.
    pub name: String,
    /// The key.
    pub key: String,
}

/// A Secret's entries as bytes: `data` base64-decoded, then `stringData`,
/// in file order (the form [`crate::sops::KeyRing::from_secret_data`]
/// reads).
pub fn secret_entries(secret: &RepoObject) -> Result<Vec<(String, Vec<u8>)>, SecretDataError> {
    use base64::Engine;
    let name = secret
        .value
        .pointer(&["metadata", "name"])
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = Vec::new();
    for (field, encoded) in [("data", true), ("stringData", false)] {
        let Some(Value::Mapping(map)) = secret.value.get(field) else {
            continue;
        };
        for (key, value) in map {
            let text = text_of(value);
            let bytes = if encoded {
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|_| SecretDataError {
                        file: secret.file.clone(),
                        name: name.to_string(),
                        key: key.clone(),
                    })?
            } else {
                text.as_bytes().to_vec()
            };
            out.push((key.clone(), bytes));
        }
    }
    Ok(out)
}

/// Replaces the objects of every SOPS-encrypted file among `objects` with
/// its decrypted objects (`read` gives a file's bytes). Files that do not
/// decrypt stay as they are: they matter only if a build needs them, and
/// then it reports them.
pub fn decrypt_repo_objects(
    objects: &mut Vec<RepoObject>,
    keys: &crate::sops::KeyRing,
    read: impl Fn(&str) -> Option<Vec<u8>>,
) {
    use crate::sops::{Format, MacCheck, decrypt_file};
    let mut files: Vec<String> = objects
        .iter()
        .filter(|o| crate::sops::is_encrypted(&o.value))
        .map(|o| o.file.clone())
        .collect();
    files.dedup();
    for file in files {
        let format = Format::for_path(&file);
        let Some(plain) = read(&file)
            .and_then(|data| decrypt_file(&data, format, format, keys, MacCheck::Verify).ok())
        else {
            continue;
        };
        let replacement = objects_in_file(&file, &String::from_utf8_lossy(&plain));
        let Some(at) = objects.iter().position(|o| o.file == file) else {
            continue;
        };
        objects.retain(|o| o.file != file);
        let at = at.min(objects.len());
        objects.splice(at..at, replacement);
    }
}

/// Why a `substituteFrom` source found in a repository cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// A Secret whose values are SOPS-encrypted.
    #[error(
        "{file}: Secret '{name}' is SOPS-encrypted and no given key opens it; provide the decryption keys, or its values in a plain file"
    )]
    Encrypted {
        /// The file.
        file: String,
        /// The Secret.
        name: String,
    },
    /// A Secret `data` value that is not base64.
    #[error(transparent)]
    BadBase64(#[from] SecretDataError),
}

/// The ConfigMaps and Secrets among `objects` that live in `namespace` (or
/// name none), keyed by (kind, name), as `substituteFrom` reads them:
/// ConfigMap `data`, Secret `data` base64-decoded with `stringData` on top.
///
/// Sources that cannot be read (an encrypted Secret, bad base64) are
/// returned apart, so that only a build that references one fails.
pub fn substitute_sources(objects: &[RepoObject], namespace: &str) -> SubstituteSources {
    let mut out = SubstituteSources::default();
    for obj in objects {
        let v = &obj.value;
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != "ConfigMap" && kind != "Secret" {
            continue;
        }
        let ns = v
            .pointer(&["metadata", "namespace"])
            .and_then(Value::as_str)
            .unwrap_or("");
        if !ns.is_empty() && ns != namespace {
            continue;
        }
        let Some(name) = v.pointer(&["metadata", "name"]).and_then(Value::as_str) else {
            continue;
        };
        let key = (kind.to_string(), name.to_string());
        match source_data(obj, kind, name) {
            Ok(data) => {
                out.unreadable.shift_remove(&key);
                out.data.insert(key, data);
            }
            Err(e) => {
                out.data.shift_remove(&key);
                out.unreadable.insert(key, e);
            }
        }
    }
    out
}

/// ConfigMap and Secret data for `substituteFrom`, by (kind, name).
#[derive(Debug, Clone, Default)]
pub struct SubstituteSources {
    /// Readable sources.
    pub data: IndexMap<(String, String), IndexMap<String, String>>,
    /// Sources that exist but cannot be read, and why.
    pub unreadable: IndexMap<(String, String), SourceError>,
}

impl SubstituteSources {
    /// Adds `other`, whose entries win.
    pub fn extend(&mut self, other: SubstituteSources) {
        for (k, v) in other.data {
            self.unreadable.shift_remove(&k);
            self.data.insert(k, v);
        }
        for (k, e) in other.unreadable {
            self.data.shift_remove(&k);
            self.unreadable.insert(k, e);
        }
    }

    /// The first unreadable source a Kustomization references.
    pub fn check_referenced(&self, ks: &Kustomization) -> Result<(), SourceError> {
        for r in ks.spec.post_build.iter().flat_map(|p| &p.substitute_from) {
            let key = (kind_name(r).to_string(), r.name.clone());
            if let Some(e) = self.unreadable.get(&key) {
                return Err(e.clone());
            }
        }
        Ok(())
    }
}

fn kind_name(r: &SubstituteReference) -> &'static str {
    match r.kind {
        fleet_model::flux::kustomization::SubstituteKind::ConfigMap => "ConfigMap",
        fleet_model::flux::kustomization::SubstituteKind::Secret => "Secret",
    }
}

fn source_data(
    obj: &RepoObject,
    kind: &str,
    name: &str,
) -> Result<IndexMap<String, String>, SourceError> {
    let v = &obj.value;
    if kind == "Secret" {
        if crate::sops::is_encrypted(v) {
            return Err(SourceError::Encrypted {
                file: obj.file.clone(),
                name: name.to_string(),
            });
        }
        return Ok(secret_entries(obj)?
            .into_iter()
            .map(|(k, bytes)| (k, String::from_utf8_lossy(&bytes).into_owned()))
            .collect());
    }
    Ok(match v.get("data") {
        Some(Value::Mapping(m)) => m.iter().map(|(k, x)| (k.clone(), text_of(x))).collect(),
        _ => IndexMap::new(),
    })
}

/// A data value as text: strings as they are, other scalars as YAML writes them.
fn text_of(x: &Value) -> String {
    match x {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => fleet_model::yaml::to_string(other).trim_end().to_string(),
    }
}
