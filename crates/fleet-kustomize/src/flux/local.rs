//! A Flux repository checked out on disk: finding a Kustomization in it,
//! the SOPS keys and `substituteFrom` sources it holds, and one build the
//! way `flux build kustomization --path DIR` makes it.
//!
//! This is the front end `fleet build kustomization`, `fleet validate` and
//! `fleet image update` share; the reconciler reads the same things from
//! the cluster instead.
//!
//! ```no_run
//! use fleet_kustomize::flux::local::LocalBuild;
//! let build = LocalBuild::new("apps", "flux-system", "clusters/staging/apps");
//! let out = build.run().expect("builds");
//! print!("{}", out.set.to_yaml());
//! ```

use super::{
    FluxBuildError, FluxBuildOptions, RepoObject, SecretDataError, Skipped, SourceError,
    build_kustomization_dir, build_tree, decrypt_repo_objects, is_flux_kustomization, mask_secret,
    objects_in_file, secret_entries, substitute_sources,
};
use crate::ResourceSet;
use crate::fs::DiskFs;
use crate::sops::{KeyRing, SopsError};
use fleet_model::flux::kustomization::Kustomization;
use fleet_model::{Manifest, Source, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a local build could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A directory the caller named does not exist.
    #[error("{what} {path}: no such directory")]
    NoSuchDirectory {
        /// Which argument named it (`--path`, say).
        what: &'static str,
        /// The path as given.
        path: PathBuf,
    },
    /// A file the caller named cannot be read.
    #[error("{what} {path}: cannot read: {message}")]
    Read {
        /// Which argument named it.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error's kind.
        kind: std::io::ErrorKind,
        /// The I/O error, as text.
        message: String,
    },
    /// A file the caller named is not YAML.
    #[error("{what} {path}:{line}: {message}")]
    Yaml {
        /// Which argument named it.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The line.
        line: usize,
        /// What the parser said.
        message: String,
    },
    /// The Kustomization does not fit the schema.
    #[error("{at}: {message}")]
    Schema {
        /// `file:line`.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// `--kustomization-file` holds no Kustomization of that name.
    #[error(
        "failed to find kustomization with name '{name}' and namespace '{namespace}' in file '{}'",
        file.display()
    )]
    NotInFile {
        /// The name.
        name: String,
        /// The namespace.
        namespace: String,
        /// The file.
        file: PathBuf,
    },
    /// The repository holds no Kustomization of that name.
    #[error(
        "no Flux Kustomization '{namespace}/{name}' in the YAML files under {}; pass it with --kustomization-file{}",
        repo.display(),
        unreadable_note(unreadable)
    )]
    NotInRepo {
        /// The name.
        name: String,
        /// The namespace.
        namespace: String,
        /// The repository's top.
        repo: PathBuf,
        /// YAML files that do not parse (`file:line:column: why`): one of
        /// them may be where the Kustomization is.
        unreadable: Vec<String>,
    },
    /// The repository holds several, and none is for the directory built.
    #[error(
        "Flux Kustomization '{namespace}/{name}' is defined more than once ({}); pick one with --kustomization-file",
        files.join(", ")
    )]
    Ambiguous {
        /// The name.
        name: String,
        /// The namespace.
        namespace: String,
        /// The files defining one.
        files: Vec<String>,
    },
    /// `--decryption-secret` holds no Secret of the name the Kustomization wants.
    #[error(
        "--decryption-secret {}: no Secret '{}' in the file",
        file.display(),
        wanted.as_deref().unwrap_or("(spec.decryption.secretRef is not set)")
    )]
    NoDecryptionSecret {
        /// The file.
        file: PathBuf,
        /// The Secret `spec.decryption.secretRef` names.
        wanted: Option<String>,
    },
    /// A file the caller named holds no object of the kind needed.
    #[error("{what} {}: no {kind} in the file", path.display())]
    NoObject {
        /// Which argument named it.
        what: &'static str,
        /// The kind looked for.
        kind: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// A SOPS-encrypted Secret and no key given.
    #[error(
        "{what} {}: the Secret is SOPS-encrypted; pass its key with --decryption-key FILE",
        path.display()
    )]
    EncryptedWithoutKeys {
        /// Which argument named it.
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// A SOPS-encrypted Secret that none of the given keys opens.
    #[error("{what} {}: no given key decrypts the Secret", path.display())]
    NoKeyDecrypts {
        /// Which argument named it.
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// A key file that is neither an age identity nor a PGP private key.
    #[error(
        "--decryption-key {}: neither an age identity file (AGE-SECRET-KEY-1…) nor an armored PGP private key",
        file.display()
    )]
    NotAKey {
        /// The file.
        file: PathBuf,
    },
    /// A Secret value that is not base64.
    #[error(transparent)]
    SecretData(#[from] SecretDataError),
    /// The keys do not parse.
    #[error(transparent)]
    Keys(#[from] SopsError),
    /// A `substituteFrom` source that exists but cannot be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// `--recursive` needs the source root, and `--path` does not end with
    /// the Kustomization's `spec.path`.
    #[error(
        "--recursive: --path {dir} does not end with the Kustomization's spec.path '{spec_path}', so the source root is unknown; pass the directory spec.path names"
    )]
    UnknownSourceRoot {
        /// The directory built.
        dir: String,
        /// The Kustomization's `spec.path`.
        spec_path: String,
    },
    /// The build itself failed.
    #[error(transparent)]
    Build(#[from] FluxBuildError),
}

impl LocalError {
    /// Whether the build met SOPS-encrypted files and had no keys for them
    /// (a caller may say how to give keys).
    pub fn is_missing_keys(&self) -> bool {
        matches!(
            self,
            LocalError::Build(FluxBuildError::Decrypt(
                super::decrypt::DecryptError::MissingKeys { .. }
            ))
        )
    }
}

/// The nearest ancestor of `dir` holding `.git`, else `dir` itself.
pub fn repository_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}

/// Every object in the YAML files under `dir`, in file-name order, skipping
/// what Git ignores (build output, vendored trees) and hidden entries.
/// Files that are not YAML hold no objects.
pub fn repository_objects(dir: &Path) -> Vec<RepoObject> {
    let mut out = Vec::new();
    for path in yaml_files(dir) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            out.extend(objects_in_file(&path.to_string_lossy(), &text));
        }
    }
    out
}

/// The `.yaml` and `.yml` regular files under `dir`, in file-name order,
/// skipping what Git ignores and hidden entries.
fn yaml_files(dir: &Path) -> impl Iterator<Item = PathBuf> {
    ignore::WalkBuilder::new(dir)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build()
        .flatten()
        .filter(|entry| {
            entry.file_type().is_some_and(|t| t.is_file())
                && matches!(
                    entry.path().extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                )
        })
        .map(ignore::DirEntry::into_path)
}

/// The YAML files under `dir` (walked as [`repository_objects`] walks
/// them) that do not parse, as `file:line:column: why`.
pub fn unreadable_yaml_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for path in yaml_files(dir) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            out.push(format!("{}: not UTF-8 text", path.display()));
            continue;
        };
        if let Err(e) = fleet_model::yaml::parse_documents(&text) {
            out.push(format!(
                "{}:{}:{}: {}",
                path.display(),
                e.line,
                e.column,
                e.message
            ));
        }
    }
    out
}

/// The tail of [`LocalError::NotInRepo`]'s message naming unreadable files.
fn unreadable_note(files: &[String]) -> String {
    match files {
        [] => String::new(),
        [one] => format!("; a YAML file that may define it does not parse: {one}"),
        many => format!(
            "; {} YAML files that may define it do not parse: {}",
            many.len(),
            many.join("; ")
        ),
    }
}

/// The manifest files under `path` (or `path` itself when it is a file):
/// `.yaml`, `.yml` and `.json`, kustomization files left out. Hidden
/// entries and what Git ignores are skipped, as in [`repository_objects`].
pub fn manifest_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if std::fs::metadata(path)?.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in ignore::WalkBuilder::new(path).build() {
        let entry = entry.map_err(std::io::Error::other)?;
        if entry.file_type().is_some_and(|t| t.is_file()) && is_manifest_file(entry.path()) {
            files.push(entry.into_path());
        }
    }
    files.sort();
    Ok(files)
}

/// Whether a YAML file holds Kubernetes objects: some document has an
/// `apiVersion` or a `kind`. A file of other YAML (a Prometheus
/// configuration that a generator reads) holds none; a file that does not
/// parse is left to the reader, which names the error.
pub fn holds_kubernetes_objects(text: &str) -> bool {
    let Ok(docs) = fleet_model::yaml::parse_documents(text) else {
        return true;
    };
    docs.is_empty()
        || docs.iter().any(|d| match &d.value {
            fleet_model::Value::Mapping(m) => {
                m.contains_key("apiVersion") || m.contains_key("kind")
            }
            _ => false,
        })
}

fn is_manifest_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    // Kustomize's own files configure builds; they are not cluster objects.
    !crate::kustfile::FILE_NAMES.contains(&name)
        && matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        )
}

/// Every document of a YAML file the caller named (`what` says which
/// argument, for messages); a YAML error is an error, with file and line.
pub fn read_object_file(what: &'static str, file: &Path) -> Result<Vec<RepoObject>, LocalError> {
    let text = std::fs::read_to_string(file).map_err(|e| LocalError::Read {
        what,
        path: file.to_path_buf(),
        kind: e.kind(),
        message: e.to_string(),
    })?;
    let docs = fleet_model::yaml::parse_documents(&text).map_err(|e| LocalError::Yaml {
        what,
        path: file.to_path_buf(),
        line: e.line,
        message: e.message.clone(),
    })?;
    Ok(docs
        .into_iter()
        .map(|d| RepoObject {
            file: file.display().to_string(),
            line: d.line,
            value: d.value,
        })
        .collect())
}

/// Whether an object is called `name` in `namespace` (or names no namespace).
fn is_named(v: &Value, name: &str, namespace: &str) -> bool {
    let s = |path: &[&str]| v.pointer(path).and_then(Value::as_str).unwrap_or("");
    s(&["metadata", "name"]) == name && [namespace, ""].contains(&s(&["metadata", "namespace"]))
}

fn is_named_flux_kustomization(v: &Value, name: &str, namespace: &str) -> bool {
    is_flux_kustomization(v) && is_named(v, name, namespace)
}

/// The typed object; a schema error names its file and line.
fn typed<T: serde::de::DeserializeOwned>(object: &RepoObject) -> Result<T, LocalError> {
    let source = Source {
        file: object.file.clone(),
        line: object.line,
    };
    let manifest = Manifest::new(object.value.clone(), Some(source.clone())).map_err(|e| {
        LocalError::Schema {
            at: source.to_string(),
            message: e.to_string(),
        }
    })?;
    // The typed error names the file and line itself.
    manifest.to_typed().map_err(|e| LocalError::Schema {
        at: source.to_string(),
        message: format!("{}: field `{}`: {}", e.id, e.path, e.message),
    })
}

/// The Flux Kustomization `namespace/name` in `file`.
pub fn kustomization_in_file(
    file: &Path,
    name: &str,
    namespace: &str,
) -> Result<Kustomization, LocalError> {
    let objects = read_object_file("--kustomization-file", file)?;
    let found = objects
        .iter()
        .find(|o| is_named_flux_kustomization(&o.value, name, namespace))
        .ok_or_else(|| LocalError::NotInFile {
            name: name.to_string(),
            namespace: namespace.to_string(),
            file: file.to_path_buf(),
        })?;
    typed(found)
}

/// The Flux Kustomization `namespace/name` among a repository's objects.
/// When several clusters define one of that name, the one whose
/// `spec.path` is `dir` (compared by its tail, since the source root may
/// sit below the Git root) is meant.
pub fn kustomization_in_repository(
    objects: &[RepoObject],
    repo: &Path,
    dir: &Path,
    name: &str,
    namespace: &str,
) -> Result<Kustomization, LocalError> {
    let mut found: Vec<&RepoObject> = objects
        .iter()
        .filter(|o| is_named_flux_kustomization(&o.value, name, namespace))
        .collect();
    if found.len() > 1 {
        let points_at_dir = |o: &&RepoObject| {
            let path = o
                .value
                .pointer(&["spec", "path"])
                .and_then(Value::as_str)
                .unwrap_or("./");
            let tail = crate::fs::join("/", path);
            dir.to_string_lossy().ends_with(&tail)
        };
        if found.iter().any(points_at_dir) {
            found.retain(points_at_dir);
        }
    }
    match found.as_slice() {
        [one] => typed(one),
        [] => Err(LocalError::NotInRepo {
            name: name.to_string(),
            namespace: namespace.to_string(),
            repo: repo.to_path_buf(),
            unreadable: unreadable_yaml_files(repo),
        }),
        many => Err(LocalError::Ambiguous {
            name: name.to_string(),
            namespace: namespace.to_string(),
            files: many.iter().map(|o| o.file.clone()).collect(),
        }),
    }
}

/// Where SOPS keys come from besides the repository.
#[derive(Debug, Clone, Default)]
pub struct KeyFiles {
    /// A file holding the decryption Secret (`spec.decryption.secretRef`):
    /// its `*.agekey` and `*.asc` entries are the keys. Without it, the
    /// Secret is looked for among the repository's objects.
    pub secret: Option<PathBuf>,
    /// Private key files: age identity files or armored PGP secret keys.
    pub keys: Vec<PathBuf>,
}

/// The SOPS keys of a Kustomization: its decryption Secret (from
/// `files.secret`, else the unencrypted Secret of that name among
/// `repo_objects` in `namespace`), plus every key file. `None` when there
/// are none.
pub fn decryption_keys(
    ks: &Kustomization,
    repo_objects: &[RepoObject],
    namespace: &str,
    files: &KeyFiles,
) -> Result<Option<Arc<KeyRing>>, LocalError> {
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let wanted = ks
        .spec
        .decryption
        .as_ref()
        .and_then(|d| d.secret_ref.as_ref())
        .map(|r| r.name.as_str());
    let is_secret = |o: &&RepoObject| o.value.get("kind").and_then(Value::as_str) == Some("Secret");
    let named = |o: &&RepoObject| wanted.is_some_and(|w| is_named(&o.value, w, namespace));
    if let Some(file) = &files.secret {
        let objects = read_object_file("--decryption-secret", file)?;
        let secrets: Vec<&RepoObject> = objects.iter().filter(is_secret).collect();
        let chosen = match secrets.iter().copied().find(named) {
            Some(s) => s,
            None if secrets.len() == 1 => secrets[0],
            None => {
                return Err(LocalError::NoDecryptionSecret {
                    file: file.clone(),
                    wanted: wanted.map(str::to_string),
                });
            }
        };
        entries.extend(secret_entries(chosen)?);
    } else if wanted.is_some()
        && let Some(found) = repo_objects
            .iter()
            .filter(is_secret)
            .filter(|o| !crate::sops::is_encrypted(&o.value))
            .find(named)
    {
        entries.extend(secret_entries(found)?);
    }
    entries.extend(key_file_entries(&files.keys)?);
    if entries.is_empty() {
        return Ok(None);
    }
    let ring = KeyRing::from_secret_data(entries.iter().map(|(k, v)| (k.as_str(), v.as_slice())))?;
    Ok(Some(Arc::new(ring)))
}

/// The entries of private key files, named as a decryption Secret names
/// them (`FILE.agekey` for an age identity file, `FILE.asc` for an armored
/// PGP private key), for [`KeyRing::from_secret_data`].
pub fn key_file_entries(files: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>, LocalError> {
    let mut entries = Vec::new();
    for file in files {
        let data = std::fs::read(file).map_err(|e| LocalError::Read {
            what: "--decryption-key",
            path: file.clone(),
            kind: e.kind(),
            message: e.to_string(),
        })?;
        let text = String::from_utf8_lossy(&data);
        let kind = if text.contains("AGE-SECRET-KEY-") {
            "agekey"
        } else if text.contains("PGP PRIVATE KEY BLOCK") {
            "asc"
        } else {
            return Err(LocalError::NotAKey { file: file.clone() });
        };
        entries.push((format!("{}.{kind}", file.display()), data));
    }
    Ok(entries)
}

/// Every object of `kind` in `files`, typed (a v1beta2 image object is
/// upgraded to v1 first); a schema error names the file and line.
pub fn typed_objects_in_files<T: serde::de::DeserializeOwned>(
    what: &'static str,
    files: &[PathBuf],
    kind: &str,
) -> Result<Vec<T>, LocalError> {
    let mut out = Vec::new();
    for file in files {
        for object in read_object_file(what, file)? {
            if object.value.get("kind").and_then(Value::as_str) != Some(kind) {
                continue;
            }
            let upgraded = RepoObject {
                value: fleet_model::flux::image::upgrade_v1beta2(&object.value),
                ..object
            };
            out.push(typed(&upgraded)?);
        }
    }
    Ok(out)
}

/// The first GitRepository in `file`: its namespace (`default` when
/// unset), name and spec. A schema error names the file and line.
pub fn git_repository_in_file(
    file: &Path,
) -> Result<(String, String, fleet_model::flux::source::GitRepositorySpec), LocalError> {
    let objects = read_object_file("FILE", file)?;
    let found = objects
        .iter()
        .find(|o| o.value.get("kind").and_then(Value::as_str) == Some("GitRepository"))
        .ok_or_else(|| LocalError::NoObject {
            what: "FILE",
            kind: "GitRepository",
            path: file.to_path_buf(),
        })?;
    let repo: fleet_model::flux::source::GitRepository = typed(found)?;
    let namespace = repo
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let name = repo.metadata.name.clone().unwrap_or_default();
    Ok((namespace, name, repo.spec))
}

/// The data of the first Secret in `file` (`what` names the argument),
/// decrypted with the key files `keys` when it is SOPS-encrypted.
pub fn secret_data_in_file(
    what: &'static str,
    file: &Path,
    keys: &[PathBuf],
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, LocalError> {
    let mut objects = read_object_file(what, file)?;
    let encrypted =
        |objects: &[RepoObject]| objects.iter().any(|o| crate::sops::is_encrypted(&o.value));
    if encrypted(&objects) {
        let entries = key_file_entries(keys)?;
        if entries.is_empty() {
            return Err(LocalError::EncryptedWithoutKeys {
                what,
                path: file.to_path_buf(),
            });
        }
        let ring =
            KeyRing::from_secret_data(entries.iter().map(|(k, v)| (k.as_str(), v.as_slice())))?;
        decrypt_repo_objects(&mut objects, &ring, |f| std::fs::read(f).ok());
        if encrypted(&objects) {
            return Err(LocalError::NoKeyDecrypts {
                what,
                path: file.to_path_buf(),
            });
        }
    }
    let secret = objects
        .iter()
        .find(|o| o.value.get("kind").and_then(Value::as_str) == Some("Secret"))
        .ok_or_else(|| LocalError::NoObject {
            what,
            kind: "Secret",
            path: file.to_path_buf(),
        })?;
    Ok(secret_entries(secret)?.into_iter().collect())
}

/// The source root `dir` is `spec_path` of: `dir` with that path's tail
/// taken off.
pub fn source_root_of(dir: &Path, spec_path: &str) -> Result<String, LocalError> {
    let dir = crate::fs::join("/", &dir.to_string_lossy());
    let tail = crate::fs::join("/", spec_path);
    if tail == "/" {
        return Ok(dir);
    }
    match dir.strip_suffix(&tail) {
        Some("") => Ok("/".into()),
        Some(root) => Ok(root.to_string()),
        None => Err(LocalError::UnknownSourceRoot {
            dir,
            spec_path: spec_path.to_string(),
        }),
    }
}

/// One build of a Flux Kustomization from a local checkout, as
/// `flux build kustomization NAME --path DIR` makes it.
#[derive(Debug, Clone)]
pub struct LocalBuild {
    /// The Kustomization's name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The directory holding the manifests of `spec.path`.
    pub path: PathBuf,
    /// A file holding the Kustomization; without it, the repository around
    /// `path` is searched.
    pub kustomization_file: Option<PathBuf>,
    /// Files of ConfigMaps and Secrets for `postBuild.substituteFrom`; they
    /// win over those found in the repository.
    pub substitute_from: Vec<PathBuf>,
    /// Unset variables without a default fail the build.
    pub strict: bool,
    /// Where the SOPS keys come from besides the repository.
    pub keys: KeyFiles,
    /// Also build the Flux Kustomizations the output holds that read the
    /// same source, as rendered, and theirs in turn.
    pub recursive: bool,
    /// Show Secret values instead of masking them.
    pub show_secrets: bool,
}

/// What [`LocalBuild::run`] made.
#[derive(Debug, Clone, Default)]
pub struct LocalOutput {
    /// The objects, in build order (with `recursive`, each Kustomization's
    /// after its parent's).
    pub set: ResourceSet,
    /// Kustomizations a recursive build did not follow, and why.
    pub skipped: Vec<Skipped>,
}

impl LocalBuild {
    /// A build of `namespace/name` from `path`, with every option off.
    pub fn new(name: &str, namespace: &str, path: impl Into<PathBuf>) -> Self {
        LocalBuild {
            name: name.to_string(),
            namespace: namespace.to_string(),
            path: path.into(),
            kustomization_file: None,
            substitute_from: Vec::new(),
            strict: false,
            keys: KeyFiles::default(),
            recursive: false,
            show_secrets: false,
        }
    }

    /// Finds the Kustomization, its keys and substitution sources, and
    /// builds it.
    pub fn run(&self) -> Result<LocalOutput, LocalError> {
        let dir = std::fs::canonicalize(&self.path).map_err(|_| LocalError::NoSuchDirectory {
            what: "--path",
            path: self.path.clone(),
        })?;
        let repo = repository_root(&dir);
        let mut repo_objects = repository_objects(&repo);
        let ks = match &self.kustomization_file {
            Some(file) => kustomization_in_file(file, &self.name, &self.namespace)?,
            None => kustomization_in_repository(
                &repo_objects,
                &repo,
                &dir,
                &self.name,
                &self.namespace,
            )?,
        };
        let ns = ks
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| self.namespace.clone());
        let keys = decryption_keys(&ks, &repo_objects, &ns, &self.keys)?;
        let read = |f: &str| std::fs::read(f).ok();
        if let Some(keys) = &keys {
            decrypt_repo_objects(&mut repo_objects, keys, read);
        }
        let mut sources = substitute_sources(&repo_objects, &ns);
        for file in &self.substitute_from {
            let mut objects = read_object_file("--substitute-from", file)?;
            if let Some(keys) = &keys {
                decrypt_repo_objects(&mut objects, keys, read);
            }
            sources.extend(substitute_sources(&objects, &ns));
        }
        // A referenced source that exists but cannot be read (say, an
        // encrypted Secret) is reported as such rather than as missing.
        sources.check_referenced(&ks)?;
        let opts = FluxBuildOptions {
            strict_substitution: self.strict,
            substitute_sources: sources.data,
            decryption_keys: keys,
            keep_encrypted: false,
        };
        let mut out = if self.recursive {
            let root = source_root_of(&dir, ks.spec.path())?;
            let tree = build_tree(&DiskFs, &root, &ks, &opts)?;
            LocalOutput {
                set: ResourceSet {
                    resources: tree
                        .nodes
                        .into_iter()
                        .flat_map(|n| n.set.resources)
                        .collect(),
                },
                skipped: tree.skipped,
            }
        } else {
            LocalOutput {
                set: build_kustomization_dir(&DiskFs, &dir.to_string_lossy(), &ks, &opts)?,
                skipped: Vec::new(),
            }
        };
        if !self.show_secrets {
            out.set.resources.iter_mut().for_each(mask_secret);
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }

    fn ks(name: &str, path: &str) -> String {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substituteFrom:\n    - kind: ConfigMap\n      name: vars\n"
        )
    }

    fn repo() -> tempdir::TempDir {
        let dir = tempdir::TempDir::new();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".git")).expect("mkdir");
        write(
            root,
            "clusters/staging/apps.yaml",
            &ks("apps", "./apps/staging"),
        );
        write(root, "clusters/prod/apps.yaml", &ks("apps", "./apps/prod"));
        write(
            root,
            "clusters/staging/vars.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vars\n  namespace: flux-system\ndata:\n  env: staging\n",
        );
        for env in ["staging", "prod"] {
            write(
                root,
                &format!("apps/{env}/cm.yaml"),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  env: ${env}\n",
            );
        }
        dir
    }

    /// A temporary directory removed on drop (std only).
    mod tempdir {
        pub struct TempDir(std::path::PathBuf);
        impl TempDir {
            pub fn new() -> Self {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let path = std::env::temp_dir().join(format!(
                    "fleet-local-{}-{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&path).expect("mkdir");
                TempDir(path)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for TempDir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn picks_the_kustomization_whose_path_is_built_and_substitutes_from_the_repository() {
        let dir = repo();
        let build = LocalBuild::new("apps", "flux-system", dir.path().join("apps/staging"));
        let out = build.run().expect("builds");
        let yaml = out.set.to_yaml();
        assert!(yaml.contains("  env: staging\n"), "{yaml}");
        assert!(out.skipped.is_empty());
    }

    #[test]
    fn two_definitions_for_other_paths_are_ambiguous() {
        let dir = repo();
        std::fs::create_dir_all(dir.path().join("elsewhere")).expect("mkdir");
        let build = LocalBuild::new("apps", "flux-system", dir.path().join("elsewhere"));
        let err = build.run().expect_err("ambiguous");
        assert!(matches!(err, LocalError::Ambiguous { ref files, .. } if files.len() == 2));
        assert!(err.to_string().contains("--kustomization-file"), "{err}");
    }

    #[test]
    fn a_missing_name_and_a_missing_directory_are_named() {
        let dir = repo();
        let err = LocalBuild::new("nope", "flux-system", dir.path().join("apps/prod"))
            .run()
            .expect_err("not found");
        assert!(matches!(err, LocalError::NotInRepo { .. }), "{err}");
        // A file that does not parse may hold it: the error names it.
        std::fs::write(
            dir.path().join("broken.yaml"),
            "kind: Kustomization\n  bad: [\n",
        )
        .expect("write");
        let err = LocalBuild::new("nope", "flux-system", dir.path().join("apps/prod"))
            .run()
            .expect_err("not found");
        let text = err.to_string();
        assert!(
            text.contains("a YAML file that may define it does not parse: ")
                && text.contains("broken.yaml:2:"),
            "{text}"
        );
        let err = LocalBuild::new("apps", "flux-system", dir.path().join("missing"))
            .run()
            .expect_err("no dir");
        assert_eq!(
            err.to_string(),
            format!(
                "--path {}: no such directory",
                dir.path().join("missing").display()
            )
        );
    }

    #[test]
    fn the_source_root_is_the_path_without_spec_path() {
        let root = source_root_of(Path::new("/r/apps/staging"), "./apps/staging").expect("root");
        assert_eq!(root, "/r");
        assert_eq!(
            source_root_of(Path::new("/apps"), "apps").expect("root"),
            "/"
        );
        assert!(matches!(
            source_root_of(Path::new("/r/other"), "./apps"),
            Err(LocalError::UnknownSourceRoot { .. })
        ));
    }

    #[test]
    fn manifest_files_leave_out_kustomization_files_and_sort() {
        let dir = repo();
        write(
            dir.path(),
            "apps/prod/kustomization.yaml",
            "resources: [cm.yaml]\n",
        );
        let files = manifest_files(&dir.path().join("apps")).expect("walk");
        let names: Vec<String> = files
            .iter()
            .map(|f| {
                f.strip_prefix(dir.path())
                    .expect("under")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["apps/prod/cm.yaml", "apps/staging/cm.yaml"]);
    }

    #[test]
    fn a_key_file_that_is_no_key_is_refused() {
        let dir = repo();
        write(dir.path(), "not-a-key.txt", "hello\n");
        let ks: Kustomization = typed(&RepoObject {
            file: "ks.yaml".into(),
            line: 1,
            value: fleet_model::yaml::parse_one(&ks("apps", "./apps/prod")).expect("yaml"),
        })
        .expect("typed");
        let files = KeyFiles {
            secret: None,
            keys: vec![dir.path().join("not-a-key.txt")],
        };
        let err = decryption_keys(&ks, &[], "flux-system", &files).expect_err("refused");
        assert!(matches!(err, LocalError::NotAKey { .. }), "{err}");
    }

    #[test]
    fn repository_and_secret_files_are_read_or_refused_by_name() {
        let dir = tempdir::TempDir::new();
        write(
            dir.path(),
            "repo.yaml",
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\nspec:\n  interval: 1m\n  url: https://git.example.com/fleet.git\n",
        );
        write(
            dir.path(),
            "secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: auth\nstringData:\n  username: git\n",
        );
        let (ns, name, spec) = git_repository_in_file(&dir.path().join("repo.yaml")).expect("repo");
        assert_eq!((ns.as_str(), name.as_str()), ("default", "fleet"));
        assert_eq!(spec.url, "https://git.example.com/fleet.git");
        let err = git_repository_in_file(&dir.path().join("secret.yaml")).expect_err("no repo");
        assert!(
            matches!(
                err,
                LocalError::NoObject {
                    kind: "GitRepository",
                    ..
                }
            ),
            "{err}"
        );
        let data =
            secret_data_in_file("--secret", &dir.path().join("secret.yaml"), &[]).expect("secret");
        assert_eq!(data.get("username").map(Vec::as_slice), Some(&b"git"[..]));
        let err = secret_data_in_file("--secret", &dir.path().join("repo.yaml"), &[])
            .expect_err("no secret");
        assert!(
            err.to_string()
                .ends_with("repo.yaml: no Secret in the file"),
            "{err}"
        );
    }
}
