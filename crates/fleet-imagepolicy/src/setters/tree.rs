//! Applying setters to a directory tree: which files are looked at, which
//! object each change belongs to, and writing all files or none.

use super::{Change, MARKER_KEY, MarkerError, Options, Policies, rewrite_text};
use fleet_model::Value;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// The object a change belongs to; empty strings for missing fields, as
/// Flux reports them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

/// The changes of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectChanges {
    /// The object.
    pub object: ObjectRef,
    /// Its changes, in file order.
    pub changes: Vec<Change>,
}

/// One rewritten file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the tree's root.
    pub path: PathBuf,
    /// Changes per object, in file order.
    pub objects: Vec<ObjectChanges>,
}

/// The outcome of [`update_tree`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeUpdate {
    /// Files that changed, in path order.
    pub files: Vec<FileChange>,
    /// How many files were considered (right name, containing a marker).
    pub screened: usize,
    /// Entries with a manifest's name that were not read, and why (not a
    /// regular file, a link leaving the tree, larger than [`MAX_FILE_SIZE`]).
    pub skipped: Vec<(PathBuf, String)>,
}

/// The largest file setters read (16 MiB); larger ones are skipped.
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

impl TreeUpdate {
    /// Every change with its file and object, in order.
    pub fn changes(&self) -> impl Iterator<Item = (&Path, &ObjectRef, &Change)> {
        self.files.iter().flat_map(|f| {
            f.objects.iter().flat_map(move |o| {
                o.changes
                    .iter()
                    .map(move |c| (f.path.as_path(), &o.object, c))
            })
        })
    }
}

/// Why a tree update failed. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// The update path leaves the tree.
    #[error("update path {0:?} must be a relative path inside the repository")]
    PathOutsideTree(String),
    /// A file or directory could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// A marker cannot be applied.
    #[error("{path}: {error}")]
    Marker {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        error: MarkerError,
    },
    /// A marked file is not valid YAML (before or after the change).
    #[error("{path}: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> TreeError + '_ {
    move |error| TreeError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Rewrites every marked value under `root` (or `root/update_path`) with
/// the policies' images, writing all changed files or, on any error, none.
///
/// `dry_run` computes the result without writing.
pub fn update_tree(
    root: &Path,
    update_path: Option<&str>,
    policies: &Policies,
    options: Options,
    dry_run: bool,
) -> Result<TreeUpdate, TreeError> {
    let start = match update_path.filter(|p| !p.is_empty()) {
        Some(p) => {
            let rel = Path::new(p);
            if rel.components().any(|c| {
                matches!(
                    c,
                    Component::ParentDir | Component::RootDir | Component::Prefix(_)
                )
            }) {
                return Err(TreeError::PathOutsideTree(p.to_string()));
            }
            root.join(rel)
        }
        None => root.to_path_buf(),
    };
    let mut candidates = Vec::new();
    collect(&start, &mut candidates)?;
    candidates.sort();
    let mut update = TreeUpdate::default();
    let mut pending = Vec::new();
    let real_root = fs::canonicalize(root).map_err(io_error(root))?;
    for path in candidates {
        let text = match read_regular(&path, &real_root) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(Skip(reason)) => {
                let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                update.skipped.push((relative, reason));
                continue;
            }
        };
        if !text.contains(MARKER_KEY) {
            continue;
        }
        update.screened += 1;
        let (new_text, changes) =
            rewrite_text(&text, policies, options).map_err(|error| TreeError::Marker {
                path: path.clone(),
                error,
            })?;
        if changes.is_empty() {
            continue;
        }
        let objects = attribute(&path, &text, &new_text, changes)?;
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        update.files.push(FileChange {
            path: relative,
            objects,
        });
        pending.push((path, new_text));
    }
    if !dry_run {
        write_all(&pending)?;
    }
    Ok(update)
}

/// The latest images of the ImagePolicy objects (with `status.latestRef`)
/// in the YAML files under `root`, read as [`update_tree`] reads files
/// (regular files inside the tree, at most [`MAX_FILE_SIZE`] bytes, `.git`
/// left out). Files that are not manifests, or not readable, are passed
/// over: they hold no policy.
///
/// ```no_run
/// use fleet_imagepolicy::setters::policies_in_tree;
/// let policies = policies_in_tree(std::path::Path::new("clusters")).unwrap();
/// for name in policies.names() {
///     println!("{name}");
/// }
/// ```
pub fn policies_in_tree(root: &Path) -> Result<Policies, TreeError> {
    let mut candidates = Vec::new();
    collect(root, &mut candidates)?;
    candidates.sort();
    let real_root = fs::canonicalize(root).map_err(io_error(root))?;
    let mut found = Vec::new();
    for path in candidates {
        let Ok(Some(text)) = read_regular(&path, &real_root) else {
            continue;
        };
        if !text.contains("ImagePolicy") {
            continue;
        }
        let Ok(manifests) = fleet_model::Manifest::read_all(&text, &path.display().to_string())
        else {
            continue;
        };
        for manifest in &manifests {
            if let Ok(Some(fleet_model::TypedObject::ImagePolicy(policy))) =
                fleet_model::TypedObject::from_manifest(manifest)
            {
                found.push(policy);
            }
        }
    }
    Ok(Policies::from_image_policies(&found))
}

/// Why a candidate file was not read.
struct Skip(String);

/// Reads a regular file inside the tree, at most [`MAX_FILE_SIZE`] bytes:
/// FIFOs, devices and sockets are never opened (a FIFO would block), and a
/// link must resolve to a regular file inside `real_root`. `Ok(None)`: a
/// dangling link, skipped silently as Flux's reader skips it.
fn read_regular(path: &Path, real_root: &Path) -> Result<Option<String>, Skip> {
    use std::io::Read;
    let link = fs::symlink_metadata(path).map_err(|e| Skip(e.to_string()))?;
    let meta = if link.file_type().is_symlink() {
        let Ok(target) = fs::canonicalize(path) else {
            return Ok(None);
        };
        if !target.starts_with(real_root) {
            return Err(Skip(format!(
                "a link to {}, outside the tree",
                target.display()
            )));
        }
        fs::metadata(&target).map_err(|e| Skip(e.to_string()))?
    } else {
        link
    };
    if !meta.is_file() {
        return Err(Skip("not a regular file".to_string()));
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(Skip(format!(
            "{} bytes, more than the {MAX_FILE_SIZE}-byte limit",
            meta.len()
        )));
    }
    let file = fs::File::open(path).map_err(|e| Skip(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Skip(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(Skip(format!("more than the {MAX_FILE_SIZE}-byte limit")));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Skip("not UTF-8 text".to_string()))
}

/// Files under `dir` whose names setters look at; `.git` is skipped and
/// directory symlinks are not followed.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), TreeError> {
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(io_error(&path))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if file_type.is_dir() {
            if name != ".git" {
                collect(&path, out)?;
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") || name == "Kustomization" {
            if file_type.is_symlink() && path.is_dir() {
                continue;
            }
            out.push(path);
        }
    }
    Ok(())
}

/// Groups a file's changes by the object (document) they fall in, and
/// checks that the rewritten text is still the same documents.
fn attribute(
    path: &Path,
    old: &str,
    new: &str,
    changes: Vec<Change>,
) -> Result<Vec<ObjectChanges>, TreeError> {
    let yaml_error = |e: fleet_model::yaml::YamlError| TreeError::Yaml {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let docs = fleet_model::yaml::parse_documents(old).map_err(yaml_error)?;
    let after = fleet_model::yaml::parse_documents(new).map_err(|e| TreeError::Yaml {
        path: path.to_path_buf(),
        message: format!("the rewritten file would not parse ({e}); nothing was written"),
    })?;
    if after.len() != docs.len() {
        return Err(TreeError::Yaml {
            path: path.to_path_buf(),
            message: "the rewrite would change the number of documents; nothing was written".into(),
        });
    }
    let mut objects: Vec<ObjectChanges> = Vec::new();
    for change in changes {
        let doc = docs
            .iter()
            .rev()
            .find(|d| d.line <= change.line)
            .or(docs.first());
        let object = doc
            .map(|d| object_ref(&d.value))
            .unwrap_or_else(|| object_ref(&Value::Null));
        match objects.last_mut() {
            Some(last) if last.object == object => last.changes.push(change),
            _ => objects.push(ObjectChanges {
                object,
                changes: vec![change],
            }),
        }
    }
    Ok(objects)
}

fn object_ref(value: &Value) -> ObjectRef {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let metadata = value.get("metadata");
    ObjectRef {
        api_version: text(value.get("apiVersion")),
        kind: text(value.get("kind")),
        namespace: text(metadata.and_then(|m| m.get("namespace"))),
        name: text(metadata.and_then(|m| m.get("name"))),
    }
}

/// Writes every file through a temporary sibling and a rename; when any
/// temporary file cannot be written, the others are removed and no file
/// is replaced. A symlink is written through to its target.
fn write_all(pending: &[(PathBuf, String)]) -> Result<(), TreeError> {
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup = |staged: &[(PathBuf, PathBuf)]| {
        for (tmp, _) in staged {
            let _ = fs::remove_file(tmp);
        }
    };
    for (path, text) in pending {
        let target = fs::canonicalize(path).map_err(io_error(path))?;
        let mut tmp = target.clone().into_os_string();
        tmp.push(".fleet-update.tmp");
        let tmp = PathBuf::from(tmp);
        let permissions = fs::metadata(&target).map(|m| m.permissions());
        let written = fs::write(&tmp, text).and_then(|()| match permissions {
            Ok(p) => fs::set_permissions(&tmp, p),
            Err(_) => Ok(()),
        });
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            cleanup(&staged);
            return Err(io_error(path)(e));
        }
        staged.push((tmp, target));
    }
    for (i, (tmp, target)) in staged.iter().enumerate() {
        if let Err(e) = fs::rename(tmp, target) {
            cleanup(&staged[i..]);
            return Err(io_error(target)(e));
        }
    }
    Ok(())
}
