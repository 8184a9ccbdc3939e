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

    /// The regular files of `commit`'s tree, mounted at `mount` (an
    /// absolute, `/`-separated path). Symbolic links and submodules are
    /// left out.
    pub fn tree_files(&self, commit: &Commit, mount: &str) -> Result<TreeFiles, GitError> {
        let read = |what: &str, message: String| GitError::Read {
            rev: commit.label(),
            what: what.to_string(),
            message,
        };
        let id = gix::ObjectId::from_hex(commit.id.as_bytes())
            .map_err(|e| read("the commit", e.to_string()))?;
        let tree = self
            .repo
            .find_object(id)
            .map_err(|e| read("the commit", e.to_string()))?
            .peel_to_tree()
            .map_err(|e| read("the tree", e.to_string()))?;
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
