//! The content-addressed tar.gz of a commit's tree, as fluxcd/pkg
//! `storage.Archive` writes it: the top directory `.` then every directory
//! and regular file depth first in name order (Go's `filepath.Walk`),
//! symbolic links skipped, submodules empty directories (their files
//! added with `recurseSubmodules`), owner and group ids and names
//! empty, times zero, modes normalised (directories `0750`, files `0600`,
//! executables `0700`), gzip without a time stamp. The same tree gives the
//! same bytes, and so the same `sha256:` digest, on every machine.
//!
//! The tree is read straight from Git objects, so no work tree is checked
//! out.

use std::io::Write;

use flate2::{Compression, GzBuilder};
use gix::ObjectId;

use super::exclude::{Exclusions, IGNORE_FILE, PatternError};

/// Directory mode in the archive (fluxcd/pkg `DefaultDirMode`).
pub const DIR_MODE: u32 = 0o750;
/// File mode in the archive (`DefaultFileMode`).
pub const FILE_MODE: u32 = 0o600;
/// Executable file mode in the archive (`DefaultExeFileMode`).
pub const EXE_MODE: u32 = 0o700;

/// Why a tree could not be archived.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A Git object could not be read.
    #[error("cannot read {what} from the fetched repository: {message}")]
    Object {
        /// The object (a path or the tree).
        what: String,
        /// What gix said.
        message: String,
    },
    /// An ignore pattern is invalid.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// Writing the archive failed.
    #[error("cannot write the archive: {0}")]
    Write(String),
    /// An included artifact could not be copied in.
    #[error("include of GitRepository '{name}' failed: {message}")]
    Include {
        /// The included GitRepository.
        name: String,
        /// Why.
        message: String,
    },
}

/// What goes into the archive besides the tree itself.
#[derive(Debug, Clone, Default)]
pub struct ArchiveSettings {
    /// `spec.ignore`.
    pub ignore: Option<String>,
    /// `spec.sparseCheckout`: only these directories (relative to the top)
    /// are kept; everything when empty.
    pub sparse_checkout: Vec<String>,
    /// `spec.include`: other artifacts copied in.
    pub include: Vec<IncludeFiles>,
    /// `spec.recurseSubmodules`: the fetched submodules, packed at their
    /// paths (submodules are left out when empty).
    pub submodules: Vec<SubmoduleTree>,
}

/// A fetched submodule: its repository and the commit the superproject
/// records, with its own submodules.
#[derive(Debug, Clone)]
pub struct SubmoduleTree {
    /// The path in the superproject.
    pub path: String,
    /// The repository holding the commit.
    pub repo: gix::Repository,
    /// The commit.
    pub commit: ObjectId,
    /// Its submodules.
    pub nested: Vec<SubmoduleTree>,
}

/// One `spec.include` entry with its artifact on disk: the artifact's
/// `from_path` (its top when unset) is copied to `to_path`, which must not
/// exist in the tree yet (source-controller renames the directory into
/// place, which fails on an existing one).
#[derive(Debug, Clone)]
pub struct IncludeFiles {
    /// The included GitRepository's name.
    pub name: String,
    /// The path in the included artifact.
    pub from_path: Option<String>,
    /// Where it lands.
    pub to_path: String,
    /// The included artifact's tar.gz.
    pub tarball: std::path::PathBuf,
}

/// One entry of the tree, in archive order.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) path: String,
    pub(super) kind: Kind,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
    Dir,
    File {
        blob: ObjectId,
        executable: bool,
    },
    /// A file from an included artifact.
    Data {
        data: Vec<u8>,
        executable: bool,
    },
}

/// Counts of what an archive holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArchiveCounts {
    /// Regular files written.
    pub files: usize,
    /// Directories written (the top included).
    pub dirs: usize,
}

/// Writes the archive of `tree` (a tree or commit id in `repo`) to `out`.
pub fn write_archive(
    repo: &gix::Repository,
    tree: ObjectId,
    settings: &ArchiveSettings,
    out: impl Write,
) -> Result<ArchiveCounts, ArchiveError> {
    let tree_id = repo
        .find_object(tree)
        .map_err(|e| object("the tree", e))?
        .peel_to_tree()
        .map_err(|e| object("the tree", e))?
        .id;
    let mut entries = Vec::new();
    walk(repo, tree_id, "", &mut entries)?;
    for submodule in &settings.submodules {
        add_submodule(submodule, &submodule.path, &mut entries)?;
    }
    let sparse: Vec<String> = settings
        .sparse_checkout
        .iter()
        .map(|d| d.trim_matches('/').to_string())
        .filter(|d| !d.is_empty() && d != ".")
        .collect();
    if !sparse.is_empty() {
        entries.retain(|e| in_sparse(&e.path, matches!(e.kind, Kind::Dir), &sparse));
    }
    for include in &settings.include {
        super::include::copy_in(include, &mut entries)?;
    }
    // Go's `filepath.Walk` order: component by component, in byte order.
    entries.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
    // `.sourceignore` files, top first then depth first in name order:
    // the order of `entries` already.
    let mut ignore_files = Vec::new();
    for entry in &entries {
        let (dir, name) = match entry.path.rsplit_once('/') {
            Some((dir, name)) => (dir, name),
            None => ("", entry.path.as_str()),
        };
        if name != IGNORE_FILE || dir.split('/').any(|c| c == ".git") {
            continue;
        }
        let text = match &entry.kind {
            Kind::File { blob, .. } => {
                let data = repo
                    .find_object(*blob)
                    .map_err(|e| object(&entry.path, e))?;
                String::from_utf8_lossy(&data.data).into_owned()
            }
            Kind::Data { data, .. } => String::from_utf8_lossy(data).into_owned(),
            Kind::Dir => continue,
        };
        ignore_files.push((dir.to_string(), text));
    }
    // Flux reads the top `.sourceignore` before those of subdirectories.
    ignore_files.sort_by_key(|(dir, _)| !dir.is_empty());
    let exclusions = Exclusions::new(&ignore_files, settings.ignore.as_deref())?;

    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(out, Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut counts = ArchiveCounts::default();
    append(&mut tar, ".", None, DIR_MODE)?;
    counts.dirs += 1;
    for entry in &entries {
        let is_dir = matches!(entry.kind, Kind::Dir);
        if exclusions.excluded(&entry.path, is_dir) {
            continue;
        }
        match &entry.kind {
            Kind::Dir => {
                append(&mut tar, &entry.path, None, DIR_MODE)?;
                counts.dirs += 1;
            }
            Kind::File { blob, executable } => {
                let data = repo
                    .find_object(*blob)
                    .map_err(|e| object(&entry.path, e))?;
                let mode = if *executable { EXE_MODE } else { FILE_MODE };
                append(&mut tar, &entry.path, Some(&data.data), mode)?;
                counts.files += 1;
            }
            Kind::Data { data, executable } => {
                let mode = if *executable { EXE_MODE } else { FILE_MODE };
                append(&mut tar, &entry.path, Some(data), mode)?;
                counts.files += 1;
            }
        }
    }
    let gz = tar.into_inner().map_err(write)?;
    let mut out = gz.finish().map_err(write)?;
    out.flush().map_err(write)?;
    Ok(counts)
}

/// Adds the files of `submodule` (and of its own submodules) under
/// `path`, read into memory from its repository.
fn add_submodule(
    submodule: &SubmoduleTree,
    path: &str,
    entries: &mut Vec<Entry>,
) -> Result<(), ArchiveError> {
    let repo = &submodule.repo;
    let tree = repo
        .find_object(submodule.commit)
        .map_err(|e| object(path, e))?
        .peel_to_tree()
        .map_err(|e| object(path, e))?
        .id;
    // The superproject's walk gave the submodule's directory already.
    let mut found = Vec::new();
    walk(repo, tree, path, &mut found)?;
    for entry in found {
        let kind = match entry.kind {
            Kind::File { blob, executable } => {
                let data = repo.find_object(blob).map_err(|e| object(&entry.path, e))?;
                Kind::Data {
                    data: data.data.clone(),
                    executable,
                }
            }
            other => other,
        };
        entries.push(Entry {
            path: entry.path,
            kind,
        });
    }
    for nested in &submodule.nested {
        add_submodule(nested, &format!("{path}/{}", nested.path), entries)?;
    }
    Ok(())
}

fn in_sparse(path: &str, is_dir: bool, sparse: &[String]) -> bool {
    sparse.iter().any(|dir| {
        path == dir
            || path.starts_with(&format!("{dir}/"))
            // The directories leading to a sparse directory.
            || (is_dir && dir.starts_with(&format!("{path}/")))
    })
}

/// Collects the entries under `tree` depth first, each directory's entries
/// in byte order of their names (as Go's `filepath.Walk` visits a checkout).
fn walk(
    repo: &gix::Repository,
    tree: ObjectId,
    prefix: &str,
    out: &mut Vec<Entry>,
) -> Result<(), ArchiveError> {
    let what = if prefix.is_empty() {
        "the tree"
    } else {
        prefix
    };
    let found = repo.find_object(tree).map_err(|e| object(what, e))?;
    let tree = found.try_into_tree().map_err(|e| object(what, e))?;
    let decoded = tree.decode().map_err(|e| object(what, e))?;
    let mut children: Vec<(String, gix::objs::tree::EntryMode, ObjectId)> = decoded
        .entries
        .iter()
        .map(|e| (e.filename.to_string(), e.mode, e.oid.to_owned()))
        .collect();
    children.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (name, mode, oid) in children {
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if mode.is_tree() {
            out.push(Entry {
                path: path.clone(),
                kind: Kind::Dir,
            });
            walk(repo, oid, &path, out)?;
        } else if mode.is_blob() {
            out.push(Entry {
                path,
                kind: Kind::File {
                    blob: oid,
                    executable: mode.is_executable(),
                },
            });
        } else if mode.is_commit() {
            // A submodule is an empty directory, as go-git checks it out;
            // with `recurseSubmodules` its files are added under it.
            out.push(Entry {
                path,
                kind: Kind::Dir,
            });
        }
        // Symbolic links are skipped.
    }
    Ok(())
}

/// The longest name a plain tar header holds.
const NAME_FIELD: usize = 100;

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    data: Option<&[u8]>,
    mode: u32,
) -> Result<(), ArchiveError> {
    let name = path.as_bytes();
    if name.len() > NAME_FIELD {
        // GNU long name: an `L` entry carrying the name, then the entry with
        // the name cut.
        let mut long = header(tar::EntryType::GNULongName, name.len() as u64 + 1, 0o644);
        set_name(&mut long, b"././@LongLink");
        long.set_cksum();
        let mut body = name.to_vec();
        body.push(0);
        tar.append(&long, body.as_slice()).map_err(write)?;
    }
    let (kind, size) = match data {
        Some(d) => (tar::EntryType::Regular, d.len() as u64),
        None => (tar::EntryType::Directory, 0),
    };
    let mut h = header(kind, size, mode);
    set_name(&mut h, &name[..name.len().min(NAME_FIELD)]);
    h.set_cksum();
    tar.append(&h, data.unwrap_or(&[])).map_err(write)
}

fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

fn set_name(h: &mut tar::Header, name: &[u8]) {
    let field = &mut h.as_old_mut().name;
    field.fill(0);
    field[..name.len()].copy_from_slice(name);
}

fn object(what: &str, e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Object {
        what: what.to_string(),
        message: e.to_string(),
    }
}

fn write(e: std::io::Error) -> ArchiveError {
    ArchiveError::Write(e.to_string())
}
