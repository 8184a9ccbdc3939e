//! A work tree without an index: a commit's tree written out as files, and
//! the tree a directory holds written back as Git objects, as `git add -A`
//! would record it.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use gix::ObjectId;
use gix::objs::tree::{Entry, EntryKind};

use super::WriteError;

/// Writes the tree `tree` of `repo` into the existing directory `dir`:
/// files (executable ones with mode 0755), symbolic links and directories;
/// a submodule becomes an empty directory, its commit kept by
/// [`write_tree`].
pub(super) fn check_out(
    repo: &gix::Repository,
    tree: ObjectId,
    dir: &Path,
) -> Result<(), WriteError> {
    let found = repo
        .find_object(tree)
        .map_err(|e| object("the checked out tree", e))?;
    let decoded = found
        .try_into_tree()
        .map_err(|e| object("the checked out tree", e))?;
    let entries: Vec<(Vec<u8>, EntryKind, ObjectId)> = decoded
        .decode()
        .map_err(|e| object("the checked out tree", e))?
        .entries
        .iter()
        .map(|e| (e.filename.to_vec(), e.mode.kind(), e.oid.to_owned()))
        .collect();
    for (name, kind, oid) in entries {
        let name = std::ffi::OsStr::from_bytes(&name);
        if name == ".git" || name == ".." || name == "." || name.as_bytes().contains(&b'/') {
            continue;
        }
        let path = dir.join(name);
        match kind {
            EntryKind::Tree | EntryKind::Commit => {
                std::fs::create_dir(&path).map_err(|e| io(&path, e))?;
                if kind == EntryKind::Tree {
                    check_out(repo, oid, &path)?;
                }
            }
            EntryKind::Blob | EntryKind::BlobExecutable => {
                let blob = repo
                    .find_object(oid)
                    .map_err(|e| object(&path.display().to_string(), e))?;
                std::fs::write(&path, &blob.data).map_err(|e| io(&path, e))?;
                if kind == EntryKind::BlobExecutable {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                        .map_err(|e| io(&path, e))?;
                }
            }
            EntryKind::Link => {
                let blob = repo
                    .find_object(oid)
                    .map_err(|e| object(&path.display().to_string(), e))?;
                let target = std::ffi::OsStr::from_bytes(&blob.data);
                std::os::unix::fs::symlink(target, &path).map_err(|e| io(&path, e))?;
            }
        }
    }
    Ok(())
}

/// Writes the tree `dir` holds into `repo` and returns its id (`None` for
/// a directory with nothing Git records): regular files as blobs
/// (executable when the owner may execute them), symbolic links as links,
/// `.git` left out, and the submodules of `base` (the tree checked out)
/// kept where their directory still exists.
pub(super) fn write_tree(
    repo: &gix::Repository,
    dir: &Path,
    base: Option<ObjectId>,
) -> Result<Option<ObjectId>, WriteError> {
    let submodules = match base {
        Some(base) => submodules_of(repo, base)?,
        None => Vec::new(),
    };
    let base_trees = match base {
        Some(base) => subtrees_of(repo, base)?,
        None => Vec::new(),
    };
    let mut entries = Vec::new();
    let listing = std::fs::read_dir(dir).map_err(|e| io(dir, e))?;
    for item in listing {
        let item = item.map_err(|e| io(dir, e))?;
        let name = item.file_name();
        if name == ".git" {
            continue;
        }
        let path = item.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
        let filename: gix::bstr::BString = name.as_bytes().into();
        let file_type = meta.file_type();
        if file_type.is_dir() {
            if let Some((_, commit)) = submodules.iter().find(|(n, _)| *n == filename) {
                entries.push(Entry {
                    mode: EntryKind::Commit.into(),
                    filename,
                    oid: *commit,
                });
                continue;
            }
            let base_tree = base_trees
                .iter()
                .find(|(n, _)| *n == filename)
                .map(|(_, id)| *id);
            if let Some(tree) = write_tree(repo, &path, base_tree)? {
                entries.push(Entry {
                    mode: EntryKind::Tree.into(),
                    filename,
                    oid: tree,
                });
            }
        } else if file_type.is_symlink() {
            let target = std::fs::read_link(&path).map_err(|e| io(&path, e))?;
            let id = repo
                .write_blob(target.as_os_str().as_bytes())
                .map_err(|e| object(&path.display().to_string(), e))?;
            entries.push(Entry {
                mode: EntryKind::Link.into(),
                filename,
                oid: id.detach(),
            });
        } else if file_type.is_file() {
            let data = std::fs::read(&path).map_err(|e| io(&path, e))?;
            let id = repo
                .write_blob(&data)
                .map_err(|e| object(&path.display().to_string(), e))?;
            let kind = if meta.permissions().mode() & 0o100 != 0 {
                EntryKind::BlobExecutable
            } else {
                EntryKind::Blob
            };
            entries.push(Entry {
                mode: kind.into(),
                filename,
                oid: id.detach(),
            });
        }
        // Sockets, fifos and devices are not recorded by Git.
    }
    if entries.is_empty() {
        return Ok(None);
    }
    entries.sort();
    let tree = gix::objs::Tree { entries };
    let id = repo
        .write_object(&tree)
        .map_err(|e| object(&dir.display().to_string(), e))?;
    Ok(Some(id.detach()))
}

type Named = Vec<(gix::bstr::BString, ObjectId)>;

fn entries_of(
    repo: &gix::Repository,
    tree: ObjectId,
    kind: EntryKind,
) -> Result<Named, WriteError> {
    let found = repo
        .find_object(tree)
        .map_err(|e| object("the checked out tree", e))?;
    let tree = found
        .try_into_tree()
        .map_err(|e| object("the checked out tree", e))?;
    Ok(tree
        .decode()
        .map_err(|e| object("the checked out tree", e))?
        .entries
        .iter()
        .filter(|e| e.mode.kind() == kind)
        .map(|e| (e.filename.to_owned(), e.oid.to_owned()))
        .collect())
}

fn submodules_of(repo: &gix::Repository, tree: ObjectId) -> Result<Named, WriteError> {
    entries_of(repo, tree, EntryKind::Commit)
}

fn subtrees_of(repo: &gix::Repository, tree: ObjectId) -> Result<Named, WriteError> {
    entries_of(repo, tree, EntryKind::Tree)
}

fn object(what: &str, e: impl std::fmt::Display) -> WriteError {
    WriteError::Repository {
        operation: format!("reading or writing {what}"),
        message: e.to_string(),
    }
}

fn io(path: &Path, e: std::io::Error) -> WriteError {
    WriteError::WorkTree {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
