//! A fleet repository at a Git revision, read straight from Git objects
//! with gix: the commit's tree is loaded into an in-memory
//! [`FileSystem`](fleet_kustomize::fs::FileSystem), so a render at that
//! revision never touches (or depends on) the work tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fleet_kustomize::fs::{MemFs, join};

/// Why a repository or a revision could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No Git repository at or above the path.
    #[error("{path}: not in a Git repository ({message})")]
    NotARepository {
        /// The path given.
        path: String,
        /// What gix said.
        message: String,
    },
    /// A bare repository has no work tree to plan.
    #[error("{path}: a bare Git repository has no work tree; run fleet plan in a checkout")]
    Bare {
        /// The repository.
        path: String,
    },
    /// A revision that does not name a commit.
    #[error("revision '{rev}' does not exist in {repo} ({message})")]
    UnknownRevision {
        /// The revision as given.
        rev: String,
        /// The repository.
        repo: String,
        /// What gix said.
        message: String,
    },
    /// No default branch to compare with.
    #[error("{repo}: no default branch found (tried origin/HEAD, main, master); pass --base REV")]
    NoDefaultBranch {
        /// The repository.
        repo: String,
    },
    /// The two revisions share no history.
    #[error("no merge-base between HEAD and {branch} in {repo} ({message}); pass --base REV")]
    NoMergeBase {
        /// The default branch.
        branch: String,
        /// The repository.
        repo: String,
        /// What gix said.
        message: String,
    },
    /// An object of a revision's tree could not be read.
    #[error("revision '{rev}': cannot read {what}: {message}")]
    Read {
        /// The revision.
        rev: String,
        /// What was being read (a path, the tree).
        what: String,
        /// What gix said.
        message: String,
    },
}

/// A commit picked by a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The revision as the user gave it (or how it was found).
    pub rev: String,
    /// The commit's full hexadecimal id.
    pub id: String,
}

impl Commit {
    /// `rev (abcdef123456)`, or the short id when the revision is the id.
    pub fn label(&self) -> String {
        let short = &self.id[..self.id.len().min(12)];
        if self.id.starts_with(&self.rev) {
            short.to_string()
        } else {
            format!("{} ({short})", self.rev)
        }
    }
}

/// The files of a commit's tree, mounted at a directory of an in-memory
/// tree.
pub struct TreeFiles {
    /// The tree, readable by the renderer.
    pub fs: MemFs,
    /// Each regular file's absolute path (under the mount point) and blob id.
    pub blobs: BTreeMap<String, String>,
}

/// A commit's tree read on demand, mounted at a directory: the same
/// answers as [`GitRepo::tree_files`]'s tree (regular files and
/// directories; symbolic links and submodules left out; the mount point's
/// ancestors are directories), without reading every blob first. For
/// renders that read a few paths of a large tree.
pub struct CommitFs {
    repo: gix::Repository,
    tree: gix::ObjectId,
    mount: String,
}

impl CommitFs {
    /// What `path` is in the tree: `None` when absent (or a link or a
    /// submodule), else whether it is a directory and its object.
    fn entry(&self, path: &str) -> Option<(bool, gix::ObjectId)> {
        if path == self.mount {
            return Some((true, self.tree));
        }
        let rest = if self.mount == "/" {
            path.strip_prefix('/')?
        } else {
            path.strip_prefix(self.mount.as_str())?.strip_prefix('/')?
        };
        let tree = self.repo.find_tree(self.tree).ok()?;
        let entry = tree.lookup_entry_by_path(rest).ok()??;
        let mode = entry.mode();
        if mode.is_tree() {
            Some((true, entry.object_id()))
        } else if mode.is_blob() {
            Some((false, entry.object_id()))
        } else {
            None
        }
    }

    /// Whether `path` is an ancestor of the mount point.
    fn above_mount(&self, path: &str) -> bool {
        path != self.mount && fleet_kustomize::fs::is_within(path, &self.mount)
    }
}

impl fleet_kustomize::fs::FileSystem for CommitFs {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        let missing = || {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{path}: no such file"),
            )
        };
        match self.entry(path) {
            Some((false, id)) => self
                .repo
                .find_object(id)
                .map(|blob| blob.data.clone())
                .map_err(|e| std::io::Error::other(format!("{path}: {e}"))),
            _ => Err(missing()),
        }
    }
    fn is_dir(&self, path: &str) -> bool {
        self.above_mount(path) || matches!(self.entry(path), Some((true, _)))
    }
    fn is_file(&self, path: &str) -> bool {
        matches!(self.entry(path), Some((false, _)))
    }
    fn list_dir(&self, path: &str) -> std::io::Result<Vec<String>> {
        if self.above_mount(path) {
            let rest = if path == "/" {
                &self.mount[1..]
            } else {
                &self.mount[path.len() + 1..]
            };
            let next = rest.split('/').next().unwrap_or_default();
            return Ok(vec![next.to_string()]);
        }
        let Some((true, id)) = self.entry(path) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{path}: no such directory"),
            ));
        };
        let tree = self
            .repo
            .find_tree(id)
            .map_err(|e| std::io::Error::other(format!("{path}: {e}")))?;
        let decoded = tree
            .decode()
            .map_err(|e| std::io::Error::other(format!("{path}: {e}")))?;
        let mut names: Vec<String> = decoded
            .entries
            .iter()
            .filter(|e| e.mode.is_tree() || e.mode.is_blob())
            .map(|e| e.filename.to_string())
            .collect();
        names.sort();
        Ok(names)
    }
}

/// An opened repository with a work tree.
pub struct GitRepo {
    repo: gix::Repository,
    top: PathBuf,
}

impl GitRepo {
    /// The repository holding `path`.
    pub fn discover(path: &Path) -> Result<Self, GitError> {
        let repo = gix::discover(path).map_err(|e| GitError::NotARepository {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let Some(top) = repo.workdir() else {
            return Err(GitError::Bare {
                path: path.display().to_string(),
            });
        };
        // gix gives the work tree relative to the current directory (the
        // empty path when that is the top).
        let top = if top.as_os_str().is_empty() {
            Path::new(".")
        } else {
            top
        };
        let top = std::fs::canonicalize(top).map_err(|e| GitError::NotARepository {
            path: path.display().to_string(),
            message: format!("work tree {}: {e}", top.display()),
        })?;
        Ok(GitRepo { repo, top })
    }

    /// The work tree's top directory.
    pub fn top(&self) -> &Path {
        &self.top
    }

    /// The Git directory shared by the repository's work trees (`.git`
    /// of the main one), where tools keep what they cache.
    pub fn common_dir(&self) -> &Path {
        self.repo.common_dir()
    }

    fn repo_label(&self) -> String {
        self.top.display().to_string()
    }

    /// The commit `rev` names (anything `git rev-parse` takes).
    pub fn resolve(&self, rev: &str) -> Result<Commit, GitError> {
        let unknown = |message: String| GitError::UnknownRevision {
            rev: rev.to_string(),
            repo: self.repo_label(),
            message,
        };
        let id = self
            .repo
            .rev_parse_single(rev)
            .map_err(|e| unknown(e.to_string()))?;
        let commit = id
            .object()
            .map_err(|e| unknown(e.to_string()))?
            .peel_to_commit()
            .map_err(|e| unknown(e.to_string()))?;
        Ok(Commit {
            rev: rev.to_string(),
            id: commit.id.to_string(),
        })
    }

    /// The default branch: what `origin/HEAD` points at, else `main`, else
    /// `master` (local, then `origin/`).
    pub fn default_branch(&self) -> Result<String, GitError> {
        if let Ok(Some(reference)) = self.repo.try_find_reference("refs/remotes/origin/HEAD")
            && let Some(target) = reference.target().try_name()
        {
            let name = target.as_bstr().to_string();
            if let Some(short) = name.strip_prefix("refs/remotes/") {
                return Ok(short.to_string());
            }
        }
        for candidate in ["main", "master", "origin/main", "origin/master"] {
            if self.resolve(candidate).is_ok() {
                return Ok(candidate.to_string());
            }
        }
        Err(GitError::NoDefaultBranch {
            repo: self.repo_label(),
        })
    }

    /// The merge-base of `HEAD` with the default branch: where a pull
    /// request's changes start.
    pub fn default_base(&self) -> Result<Commit, GitError> {
        let branch = self.default_branch()?;
        let head = self.resolve("HEAD")?;
        let other = self.resolve(&branch)?;
        let no_base = |message: String| GitError::NoMergeBase {
            branch: branch.clone(),
            repo: self.repo_label(),
            message,
        };
        let parse = |hex: &str| gix::ObjectId::from_hex(hex.as_bytes());
        let (Ok(one), Ok(two)) = (parse(&head.id), parse(&other.id)) else {
            return Err(no_base("bad object id".into()));
        };
        let base = self
            .repo
            .merge_base(one, two)
            .map_err(|e| no_base(e.to_string()))?;
        Ok(Commit {
            rev: format!("merge-base of HEAD and {branch}"),
            id: base.to_string(),
        })
    }

    /// The root tree of `commit`.
    fn commit_tree(&self, commit: &Commit) -> Result<gix::Tree<'_>, GitError> {
        let read = |what: &str, message: String| GitError::Read {
            rev: commit.label(),
            what: what.to_string(),
            message,
        };
        let id = gix::ObjectId::from_hex(commit.id.as_bytes())
            .map_err(|e| read("the commit", e.to_string()))?;
        self.repo
            .find_object(id)
            .map_err(|e| read("the commit", e.to_string()))?
            .peel_to_tree()
            .map_err(|e| read("the tree", e.to_string()))
    }

    /// `commit`'s tree, mounted at `mount` (an absolute, `/`-separated
    /// path), read on demand.
    pub fn commit_fs(&self, commit: &Commit, mount: &str) -> Result<CommitFs, GitError> {
        let tree = self.commit_tree(commit)?;
        Ok(CommitFs {
            repo: self.repo.clone(),
            tree: tree.id,
            mount: fleet_kustomize::fs::join("/", mount),
        })
    }

    /// The regular files of `commit`'s tree, mounted at `mount` (an
    /// absolute, `/`-separated path). Symbolic links and submodules are
    /// left out.
    pub fn tree_files(&self, commit: &Commit, mount: &str) -> Result<TreeFiles, GitError> {
        let read = |what: &str, message: String| GitError::Read {
            rev: commit.label(),
            what: what.to_string(),
            message,
        };
        let tree = self.commit_tree(commit)?;
        let entries = tree
            .traverse()
            .breadthfirst
            .files()
            .map_err(|e| read("the tree", e.to_string()))?;
        let mut fs = MemFs::default();
        fs.add_dir(mount);
        let mut blobs = BTreeMap::new();
        for entry in entries {
            let relative = entry.filepath.to_string();
            let path = join(mount, &relative);
            if entry.mode.is_tree() {
                fs.add_dir(&path);
                continue;
            }
            if !entry.mode.is_blob() {
                continue;
            }
            let blob = self
                .repo
                .find_object(entry.oid)
                .map_err(|e| read(&relative, e.to_string()))?;
            fs.add(&path, blob.data.clone());
            blobs.insert(path, entry.oid.to_string());
        }
        Ok(TreeFiles { fs, blobs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_kustomize::fs::FileSystem;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap_or_else(|e| panic!("git: {e}"));
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Every question a render asks gets the same answer from the commit
    /// read on demand as from the commit loaded whole.
    #[test]
    fn a_commit_read_on_demand_answers_as_the_loaded_tree() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dir = tmp.path();
        let write = |path: &str, text: &str| {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().unwrap_or(dir)).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(file, text).unwrap_or_else(|e| panic!("{e}"));
        };
        write("apps/base/kustomization.yaml", "resources: [a.yaml]\n");
        write("apps/base/a.yaml", "kind: A\n");
        write("apps/eu/kustomization.yaml", "resources: [../base]\n");
        write("run.sh", "#!/bin/sh\n");
        git(dir, &["init", "-q", "-b", "main"]);
        git(dir, &["config", "core.symlinks", "true"]);
        std::os::unix::fs::symlink("apps/base", dir.join("link")).unwrap_or_else(|e| panic!("{e}"));
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "one"]);
        let repo = GitRepo::discover(dir).unwrap_or_else(|e| panic!("{e}"));
        let commit = repo.resolve("main").unwrap_or_else(|e| panic!("{e}"));
        let mount = "/srv/fleet/repo";
        let loaded = repo
            .tree_files(&commit, mount)
            .unwrap_or_else(|e| panic!("{e}"));
        let lazy = repo
            .commit_fs(&commit, mount)
            .unwrap_or_else(|e| panic!("{e}"));
        for rel in [
            "",
            "apps",
            "apps/base",
            "apps/base/a.yaml",
            "apps/base/kustomization.yaml",
            "apps/base/Kustomization",
            "apps/eu",
            "apps/eu/kustomization.yaml",
            "run.sh",
            "link",
            "link/a.yaml",
            "missing",
            "apps/base/a.yaml/x",
        ] {
            let path = join(mount, rel);
            let fs: [&dyn FileSystem; 2] = [&loaded.fs, &lazy];
            let answers: Vec<_> = fs
                .iter()
                .map(|fs| {
                    (
                        fs.is_file(&path),
                        fs.is_dir(&path),
                        fs.read(&path).ok(),
                        fs.list_dir(&path).ok(),
                        fs.file_or_dir(&path),
                    )
                })
                .collect();
            assert_eq!(answers[0], answers[1], "{path}");
        }
        for above in ["/", "/srv", "/srv/fleet"] {
            assert!(lazy.is_dir(above) && loaded.fs.is_dir(above), "{above}");
            assert_eq!(
                lazy.list_dir(above).ok(),
                loaded.fs.list_dir(above).ok(),
                "{above}"
            );
        }
    }
}
