//! Write back, as image-automation-controller does it: fetch the checkout
//! reference, write its tree into a scratch work tree, let the caller change
//! files (fleet-imagepolicy's setters), and when the tree changed commit
//! with an author and a message, optionally signed, then push to the
//! checkout branch or another branch (created from the checkout branch and
//! force-updated, Flux's `GitForcePushBranch`), plus an optional extra
//! refspec, with push options. Nothing changed: no commit, no push.
//!
//! A push the remote rejects because it moved is retried from the start
//! (fetch, change, commit, push) up to [`WriteBack::attempts`] times, with
//! a short growing pause, so two writers racing on one branch both land.
//!
//! Fetching and committing use gix; pushing runs the `git` program (see
//! [`push`]).
//!
//! ```no_run
//! use fleet_reconcile::source::{GitSource, Reference};
//! use fleet_reconcile::source::writeback::{self, Author, WriteBack};
//! let source = GitSource::new("git://127.0.0.1/fleet.git", Reference::Branch("main".into()));
//! let options = WriteBack::new(Author::new("fleet", "fleet@example.com"));
//! let outcome = writeback::commit_and_push(&source, &options, |tree| {
//!     std::fs::write(tree.join("VERSION"), "2\n")?;
//!     Ok::<_, std::io::Error>(Some("Bump VERSION".to_string()))
//! })?;
//! println!("{outcome:?}");
//! # Ok::<(), writeback::WriteError>(())
//! ```

pub mod push;
mod signing;
mod worktree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gix::ObjectId;

use super::{GitSource, SourceError, remote, with_timeout};

pub use push::PushError;
pub use signing::{SigningError, SigningKey};

/// Flux's `GitForcePushBranch` is on by default, and so is it here.
pub const DEFAULT_ATTEMPTS: u32 = 5;

/// A commit's author (and committer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// `spec.git.commit.author.name` (may be empty).
    pub name: String,
    /// `spec.git.commit.author.email`.
    pub email: String,
}

impl Author {
    /// An author.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Author {
        Author {
            name: name.into(),
            email: email.into(),
        }
    }
}

/// How to commit and where to push.
#[derive(Debug, Clone)]
pub struct WriteBack {
    /// `spec.git.push.branch`; the checkout branch when unset.
    pub push_branch: Option<String>,
    /// `spec.git.push.refspec`, pushed in addition (never forced).
    pub refspec: Option<String>,
    /// `spec.git.push.options`.
    pub push_options: BTreeMap<String, String>,
    /// The author and committer.
    pub author: Author,
    /// `spec.git.commit.signingKey`.
    pub signing: Option<SigningKey>,
    /// How many times the whole write is tried when the remote moved.
    pub attempts: u32,
}

impl WriteBack {
    /// Pushes to the checkout branch, unsigned, with the default attempts.
    pub fn new(author: Author) -> WriteBack {
        WriteBack {
            push_branch: None,
            refspec: None,
            push_options: BTreeMap::new(),
            author,
            signing: None,
            attempts: DEFAULT_ATTEMPTS,
        }
    }
}

/// Why a write back failed. Nothing was pushed unless said.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Fetching the checkout reference failed.
    #[error(transparent)]
    Fetch(#[from] SourceError),
    /// There is no branch to push to.
    #[error(
        "no push branch: the checkout reference {checkout} is not a branch; set spec.git.push.branch"
    )]
    NoPushBranch {
        /// What was checked out.
        checkout: String,
    },
    /// A refspec that `git push` would not take.
    #[error("invalid push refspec '{0}': expected SRC:DST")]
    InvalidRefspec(String),
    /// The scratch work tree could not be read or written.
    #[error("work tree {path}: {message}")]
    WorkTree {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The scratch repository could not be read or written.
    #[error("{operation}: {message}")]
    Repository {
        /// What was being done.
        operation: String,
        /// What gix said.
        message: String,
    },
    /// The caller's change failed.
    #[error("updating the work tree failed: {0}")]
    Change(Box<dyn std::error::Error + Send + Sync>),
    /// The commit could not be signed.
    #[error(transparent)]
    Signing(#[from] SigningError),
    /// The push failed.
    #[error(transparent)]
    Push(#[from] PushError),
    /// Every attempt lost the race against other writers.
    #[error("gave up after {attempts} attempts, the remote moved each time: {last}")]
    RaceLost {
        /// Attempts made.
        attempts: u32,
        /// The last rejection.
        last: PushError,
    },
}

impl WriteError {
    /// The reason recorded for this failure: `UpdateFailed` for the
    /// change, `InvalidSourceConfig` for settings, the fetch's own reason
    /// ([`SourceError::reason`]), `AuthenticationFailed` for refused
    /// credentials, `GitOperationFailed` for the rest.
    pub fn reason(&self) -> &'static str {
        match self {
            WriteError::Fetch(e) => e.reason(),
            WriteError::Push(PushError::Authentication(_)) => "AuthenticationFailed",
            WriteError::Change(_) => "UpdateFailed",
            WriteError::NoPushBranch { .. } | WriteError::InvalidRefspec(_) => {
                "InvalidSourceConfig"
            }
            WriteError::Signing(_) => "InvalidSourceConfig",
            _ => "GitOperationFailed",
        }
    }
}

/// A pushed commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The new commit.
    pub commit: String,
    /// The branch it was pushed to.
    pub branch: String,
    /// The extra refspec pushed, if any.
    pub refspec: Option<String>,
    /// The commit the change was made on.
    pub checkout_commit: String,
    /// The commit message.
    pub message: String,
    /// Attempts it took (1 when no other writer interfered).
    pub attempts: u32,
}

impl Pushed {
    /// `status.observedSourceRevision` as Flux records it: the pushed
    /// commit, or the checkout commit when the push went to another
    /// branch.
    pub fn observed_source_commit(&self, checkout_branch: Option<&str>) -> &str {
        if checkout_branch == Some(self.branch.as_str()) {
            &self.commit
        } else {
            &self.checkout_commit
        }
    }
}

/// The result of [`commit_and_push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The change left the tree as it was: no commit, no push.
    Unchanged {
        /// The commit checked out.
        checkout_commit: String,
    },
    /// A commit was pushed.
    Pushed(Pushed),
}

/// Checks out `source`'s reference, runs `change` on the work tree and,
/// when the tree changed and `change` returned a message, commits and
/// pushes as `options` say. `change` may run more than once: each attempt
/// lost to another writer starts again from a fresh checkout.
pub fn commit_and_push<F, E>(
    source: &GitSource,
    options: &WriteBack,
    mut change: F,
) -> Result<WriteOutcome, WriteError>
where
    F: FnMut(&Path) -> Result<Option<String>, E>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if let Some(refspec) = &options.refspec
        && !valid_refspec(refspec)
    {
        return Err(WriteError::InvalidRefspec(refspec.clone()));
    }
    let attempts = options.attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match attempt_once(source, options, &mut change, attempt) {
            Err(WriteError::Push(rejected @ PushError::Rejected { .. })) => {
                if attempt >= attempts {
                    return Err(WriteError::RaceLost {
                        attempts: attempt,
                        last: rejected,
                    });
                }
                std::thread::sleep(Duration::from_millis(50 * u64::from(attempt)));
            }
            other => return other,
        }
    }
}

fn valid_refspec(refspec: &str) -> bool {
    let spec = refspec.strip_prefix('+').unwrap_or(refspec);
    matches!(spec.split_once(':'), Some((src, dst)) if !src.is_empty() && !dst.is_empty() && !dst.contains(':'))
}

fn attempt_once<F, E>(
    source: &GitSource,
    options: &WriteBack,
    change: &mut F,
    attempt: u32,
) -> Result<WriteOutcome, WriteError>
where
    F: FnMut(&Path) -> Result<Option<String>, E>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    super::remote::check(source)?;
    let fetched = with_timeout(source, "fetch", |s, interrupt| {
        remote::fetch(s, None, interrupt)
    })?;
    let (repo_dir, head) = match fetched {
        remote::Fetched::Repository { dir, head } => (dir, head),
        remote::Fetched::Unchanged(head) => {
            return Err(WriteError::Repository {
                operation: "fetching".into(),
                message: format!("nothing was fetched for {}", head.revision),
            });
        }
    };
    let checkout_branch = head
        .full_ref
        .as_deref()
        .and_then(|r| r.strip_prefix("refs/heads/"))
        .map(str::to_string);
    let push_branch = options
        .push_branch
        .clone()
        .or_else(|| checkout_branch.clone())
        .ok_or_else(|| WriteError::NoPushBranch {
            checkout: source.reference.describe(),
        })?;
    let switched = checkout_branch.as_deref() != Some(push_branch.as_str());

    let repo = remote::open(repo_dir.path()).map_err(|message| WriteError::Repository {
        operation: "opening the fetched repository".into(),
        message,
    })?;
    let repo_error = |operation: &str| {
        let operation = operation.to_string();
        move |e: &dyn std::fmt::Display| WriteError::Repository {
            operation: operation.clone(),
            message: e.to_string(),
        }
    };
    let parent = ObjectId::from_hex(head.commit.as_bytes())
        .map_err(|e| repo_error("reading the fetched commit")(&e))?;
    let base_tree = repo
        .find_object(parent)
        .map_err(|e| repo_error("reading the fetched commit")(&e))?
        .peel_to_tree()
        .map_err(|e| repo_error("reading the fetched commit")(&e))?
        .id;

    let work = tempfile::Builder::new()
        .prefix("fleet-worktree-")
        .tempdir()
        .map_err(|e| WriteError::WorkTree {
            path: std::env::temp_dir(),
            message: e.to_string(),
        })?;
    worktree::check_out(&repo, base_tree, work.path())?;
    let unchanged = || WriteOutcome::Unchanged {
        checkout_commit: head.commit.clone(),
    };
    let Some(message) = change(work.path()).map_err(|e| WriteError::Change(e.into()))? else {
        return Ok(unchanged());
    };
    let tree = worktree::write_tree(&repo, work.path(), Some(base_tree))?;
    let tree = match tree {
        Some(tree) => tree,
        // Everything deleted: Git's empty tree.
        None => repo
            .write_object(gix::objs::Tree::empty())
            .map_err(|e| repo_error("writing the empty tree")(&e))?
            .detach(),
    };
    if tree == base_tree {
        return Ok(unchanged());
    }
    let commit = write_commit(&repo, tree, parent, options, &message)?;

    // Local references as the checkout leaves them, for the refspec's
    // source side: the push branch (HEAD) at the new commit, the checkout
    // branch at the commit checked out when it is another one.
    set_ref(&repo, &format!("refs/heads/{push_branch}"), commit)?;
    if switched && let Some(checkout) = &checkout_branch {
        set_ref(&repo, &format!("refs/heads/{checkout}"), parent)?;
    }
    set_head(&repo, &format!("refs/heads/{push_branch}"))?;

    let secrets = tempfile::Builder::new()
        .prefix("fleet-push-")
        .tempdir()
        .map_err(|e| WriteError::WorkTree {
            path: std::env::temp_dir(),
            message: e.to_string(),
        })?;
    let push_options: Vec<String> = options
        .push_options
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    let branch_spec = format!("{commit}:refs/heads/{push_branch}");
    push::push(
        source,
        &push::Push {
            git_dir: repo_dir.path(),
            secrets_dir: secrets.path(),
            refspec: &branch_spec,
            force: switched,
            options: &push_options,
        },
    )?;
    if let Some(refspec) = &options.refspec {
        push::push(
            source,
            &push::Push {
                git_dir: repo_dir.path(),
                secrets_dir: secrets.path(),
                refspec,
                force: false,
                options: &push_options,
            },
        )?;
    }
    Ok(WriteOutcome::Pushed(Pushed {
        commit: commit.to_string(),
        branch: push_branch,
        refspec: options.refspec.clone(),
        checkout_commit: head.commit,
        message,
        attempts: attempt,
    }))
}

/// Writes the commit of `tree` on `parent`, signed when a key is set: the
/// signature covers the commit as written without its `gpgsig` header, as
/// `git verify-commit` checks it.
fn write_commit(
    repo: &gix::Repository,
    tree: ObjectId,
    parent: ObjectId,
    options: &WriteBack,
    message: &str,
) -> Result<ObjectId, WriteError> {
    use gix::objs::WriteTo;
    let now = jiff::Timestamp::now().as_second();
    let signature = gix::actor::Signature {
        name: options.author.name.as_str().into(),
        email: options.author.email.as_str().into(),
        time: gix::date::Time {
            seconds: now,
            offset: 0,
        },
    };
    let mut commit = gix::objs::Commit {
        tree,
        parents: [parent].into_iter().collect(),
        author: signature.clone(),
        committer: signature,
        encoding: None,
        message: message.into(),
        extra_headers: Vec::new(),
    };
    if let Some(key) = &options.signing {
        let mut payload = Vec::new();
        commit
            .write_to(&mut payload)
            .map_err(|e| WriteError::Repository {
                operation: "encoding the commit".into(),
                message: e.to_string(),
            })?;
        let armored = key.sign(&payload)?;
        commit
            .extra_headers
            .push(("gpgsig".into(), armored.trim_end().into()));
    }
    let id = repo
        .write_object(&commit)
        .map_err(|e| WriteError::Repository {
            operation: "writing the commit".into(),
            message: e.to_string(),
        })?;
    Ok(id.detach())
}

fn set_ref(repo: &gix::Repository, name: &str, id: ObjectId) -> Result<(), WriteError> {
    repo.reference(
        name,
        id,
        gix::refs::transaction::PreviousValue::Any,
        "fleet: write back",
    )
    .map(|_| ())
    .map_err(|e| WriteError::Repository {
        operation: format!("setting {name}"),
        message: e.to_string(),
    })
}

fn set_head(repo: &gix::Repository, target: &str) -> Result<(), WriteError> {
    use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit};
    let fail = |e: &dyn std::fmt::Display| WriteError::Repository {
        operation: "setting HEAD".into(),
        message: e.to_string(),
    };
    let target: gix::refs::FullName = target.try_into().map_err(|e| fail(&e))?;
    repo.edit_reference(RefEdit {
        change: Change::Update {
            log: LogChange::default(),
            expected: PreviousValue::Any,
            new: gix::refs::Target::Symbolic(target),
        },
        name: "HEAD".try_into().map_err(|e| fail(&e))?,
        deref: false,
    })
    .map(|_| ())
    .map_err(|e| fail(&e))
}
