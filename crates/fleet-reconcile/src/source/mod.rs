//! Git sources as source-controller keeps them: a GitRepository's
//! reference resolved on the remote, the commit fetched with gix (shallow,
//! single reference), its tree packed into a content-addressed tar.gz under
//! a storage directory, and the revision and artifact that
//! `status.artifact` records.
//!
//! Transports: `file://` (gix runs `git-upload-pack`), `git://` and smart
//! HTTP (`http://`, `https://` with Mozilla's roots plus the Secret's
//! `ca.crt`, a client certificate, basic or bearer credentials) and
//! `ssh://` (the `ssh` program with the Secret's `identity`, decrypted
//! with its `password` when it has one, and `known_hosts`).
//!
//! [`writeback`] commits a change to a checked out branch and pushes it.
//!
//! Nothing is fetched when nothing changed: given the last observed
//! revision and content settings ([`Observed`]), [`fetch`] lists the
//! remote's references first (one round trip) and returns
//! [`FetchOutcome::Unchanged`] when the reference still points at the same
//! commit.
//!
//! ```no_run
//! use fleet_reconcile::source::{self, GitSource, Reference, Storage};
//! let source = GitSource::new("git://127.0.0.1/fleet.git", Reference::Branch("main".into()));
//! let storage = Storage::new("/var/lib/fleet/artifacts");
//! match source::fetch(&source, &storage, "flux-system", "fleet", None)? {
//!     source::FetchOutcome::Stored(a) => println!("{} {}", a.revision, a.digest),
//!     source::FetchOutcome::Unchanged { revision } => println!("{revision} unchanged"),
//! }
//! # Ok::<(), fleet_reconcile::source::SourceError>(())
//! ```

pub mod archive;
pub mod exclude;
mod http;
mod include;
pub mod reference;
mod remote;
mod ssh;
pub mod storage;
mod submodule;
pub mod writeback;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fleet_model::flux::meta::Artifact;
use fleet_model::flux::source::{GitRepositoryInclude, GitRepositorySpec, GitRepositoryStatus};

pub use archive::{ArchiveCounts, ArchiveError, ArchiveSettings};
pub use reference::{DEFAULT_BRANCH, Reference, revision};
pub use storage::{Storage, StorageError, StoredArtifact};

/// The kind directory of GitRepository artifacts in storage.
pub const KIND_DIR: &str = "gitrepository";
/// source-controller's default `spec.timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a fetch failed. [`SourceError::reason`] gives the reason Flux
/// writes on the `FetchFailed` condition (or `StorageOperationFailed`).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The URL cannot be parsed or has a scheme fleet does not fetch.
    #[error("invalid Git URL '{url}': {message}")]
    UrlInvalid {
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// The server refused the credentials, or asked for some and none
    /// were given.
    #[error("authentication to {url} failed: {message}")]
    Authentication {
        /// The URL.
        url: String,
        /// What the transport said.
        message: String,
    },
    /// The Secret's data cannot be used.
    #[error("invalid credentials Secret: {message}")]
    Secret {
        /// What is wrong.
        message: String,
    },
    /// The host did not answer.
    #[error("cannot reach {url}: {message}")]
    Unreachable {
        /// The URL.
        url: String,
        /// What the transport said.
        message: String,
    },
    /// The repository has no references.
    #[error("{url}: the repository is empty")]
    EmptyRepository {
        /// The URL.
        url: String,
    },
    /// The branch, tag or reference does not exist on the remote.
    #[error("{url}: {what} not found")]
    ReferenceNotFound {
        /// The URL.
        url: String,
        /// `branch 'main'`, `tag 'v1'`…
        what: String,
    },
    /// The commit is not on the fetched branch(es).
    #[error("{url}: {what} not found")]
    CommitNotFound {
        /// The URL.
        url: String,
        /// `commit '…'` with its branch.
        what: String,
    },
    /// The semver range cannot be parsed.
    #[error("invalid semver range '{range}': {message}")]
    InvalidRange {
        /// The range.
        range: String,
        /// What the parser said.
        message: String,
    },
    /// No tag is in the semver range.
    #[error("{url}: no tag matches semver range '{range}'")]
    NoTagInRange {
        /// The URL.
        url: String,
        /// The range.
        range: String,
    },
    /// `spec.timeout` ran out.
    #[error("{url}: timed out after {after:?} ({operation})")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout.
        after: Duration,
        /// What was running.
        operation: String,
    },
    /// Another Git failure.
    #[error("{url}: {operation} failed: {message}")]
    Git {
        /// The URL.
        url: String,
        /// What was being done.
        operation: String,
        /// What gix said.
        message: String,
    },
    /// An included GitRepository has no artifact.
    #[error("no artifact available for include '{name}'")]
    IncludeUnavailable {
        /// The included GitRepository.
        name: String,
    },
    /// A setting fleet does not implement (yet).
    #[error("{what} is not supported")]
    Unsupported {
        /// The setting.
        what: String,
    },
    /// Packing the tree failed.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// Writing to storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl SourceError {
    /// The reason Flux records for this failure: `URLInvalid`,
    /// `AuthenticationFailed`, `EmptyGitRepository`,
    /// `StorageOperationFailed` or `GitOperationFailed`.
    pub fn reason(&self) -> &'static str {
        match self {
            SourceError::UrlInvalid { .. } => "URLInvalid",
            SourceError::Authentication { .. } | SourceError::Secret { .. } => {
                "AuthenticationFailed"
            }
            SourceError::EmptyRepository { .. } => "EmptyGitRepository",
            SourceError::IncludeUnavailable { .. } => "NoArtifact",
            SourceError::Archive(ArchiveError::Include { .. }) => "CopyFailure",
            SourceError::Storage(_) => "StorageOperationFailed",
            SourceError::Archive(ArchiveError::Write(_)) => "StorageOperationFailed",
            _ => "GitOperationFailed",
        }
    }

    /// The condition Flux sets to True with [`SourceError::reason`]:
    /// `StorageOperationFailed` for storage failures, `IncludeUnavailable`
    /// for includes, `FetchFailed` for the rest.
    pub fn condition_type(&self) -> &'static str {
        match self.reason() {
            "StorageOperationFailed" => "StorageOperationFailed",
            "NoArtifact" | "CopyFailure" => "IncludeUnavailable",
            _ => "FetchFailed",
        }
    }
}

/// The credentials of a GitRepository's `secretRef`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// HTTP basic auth user.
    pub username: Option<String>,
    /// HTTP basic auth password (or the SSH key's passphrase).
    pub password: Option<String>,
    /// HTTP bearer token.
    pub bearer_token: Option<String>,
    /// A CA certificate (PEM) to trust for HTTPS.
    pub ca: Option<Vec<u8>>,
    /// A client certificate (PEM).
    pub client_cert: Option<Vec<u8>>,
    /// The client certificate's key (PEM).
    pub client_key: Option<Vec<u8>>,
    /// An SSH private key.
    pub identity: Option<Vec<u8>>,
    /// SSH known hosts.
    pub known_hosts: Option<Vec<u8>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |b: bool| if b { "set" } else { "unset" };
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &set(self.password.is_some()))
            .field("bearer_token", &set(self.bearer_token.is_some()))
            .field("ca", &set(self.ca.is_some()))
            .field("client_cert", &set(self.client_cert.is_some()))
            .field("identity", &set(self.identity.is_some()))
            .finish()
    }
}

impl Credentials {
    /// Reads a Secret's (decoded) `data` with source-controller's keys:
    /// `username`, `password`, `bearerToken`, `ca.crt` (or the older
    /// `caFile`), `tls.crt`, `tls.key`, `identity`, `known_hosts`.
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Result<Credentials, SourceError> {
        let text = |key: &str| -> Result<Option<String>, SourceError> {
            data.get(key)
                .map(|v| {
                    String::from_utf8(v.clone()).map_err(|_| SourceError::Secret {
                        message: format!("key '{key}' is not UTF-8"),
                    })
                })
                .transpose()
        };
        let bytes = |key: &str| data.get(key).cloned();
        let creds = Credentials {
            username: text("username")?,
            password: text("password")?,
            bearer_token: text("bearerToken")?,
            ca: bytes("ca.crt").or_else(|| bytes("caFile")),
            client_cert: bytes("tls.crt"),
            client_key: bytes("tls.key"),
            identity: bytes("identity"),
            known_hosts: bytes("known_hosts"),
        };
        if creds.client_cert.is_some() != creds.client_key.is_some() {
            return Err(SourceError::Secret {
                message: "'tls.crt' and 'tls.key' must be set together".into(),
            });
        }
        if creds.username.is_some() && creds.bearer_token.is_some() {
            return Err(SourceError::Secret {
                message: "set either 'username'/'password' or 'bearerToken', not both".into(),
            });
        }
        Ok(creds)
    }
}

/// The settings that change an artifact's content without changing the
/// revision; a change in any of them rebuilds the artifact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentSettings {
    /// `spec.ignore`.
    pub ignore: Option<String>,
    /// `spec.sparseCheckout`.
    pub sparse_checkout: Vec<String>,
    /// `spec.recurseSubmodules`.
    pub recurse_submodules: bool,
    /// `spec.include`, with the artifacts it resolved to.
    pub include: Vec<IncludedArtifact>,
}

/// One `spec.include` entry and the included GitRepository's artifact.
/// Two are equal when the setting, revision and digest are: a new artifact
/// of an included repository rebuilds this one.
#[derive(Debug, Clone)]
pub struct IncludedArtifact {
    /// The setting.
    pub include: GitRepositoryInclude,
    /// The included repository's artifact.
    pub artifact: Artifact,
    /// The artifact's tar.gz; `None` when read back from a status.
    pub local_path: Option<PathBuf>,
}

impl PartialEq for IncludedArtifact {
    fn eq(&self, other: &Self) -> bool {
        self.include == other.include
            && self.artifact.revision == other.artifact.revision
            && self.artifact.digest == other.artifact.digest
    }
}

impl Eq for IncludedArtifact {}

/// What to fetch.
#[derive(Debug, Clone)]
pub struct GitSource {
    /// The repository URL.
    pub url: String,
    /// The reference to follow.
    pub reference: Reference,
    /// Credentials from the `secretRef`.
    pub credentials: Credentials,
    /// Bounds every network operation of one fetch.
    pub timeout: Duration,
    /// Settings that shape the artifact.
    pub content: ContentSettings,
}

impl GitSource {
    /// A source with no credentials, the default timeout and the default
    /// content settings.
    pub fn new(url: impl Into<String>, reference: Reference) -> GitSource {
        GitSource {
            url: url.into(),
            reference,
            credentials: Credentials::default(),
            timeout: DEFAULT_TIMEOUT,
            content: ContentSettings::default(),
        }
    }

    /// The source a GitRepository spec describes, with its Secret's data;
    /// `spec.include` entries are unavailable (see
    /// [`GitSource::from_spec_including`]) and `spec.verify` is refused as
    /// unsupported.
    pub fn from_spec(
        spec: &GitRepositorySpec,
        secret: Option<&BTreeMap<String, Vec<u8>>>,
    ) -> Result<GitSource, SourceError> {
        GitSource::from_spec_including(spec, secret, |_| None)
    }

    /// Like [`GitSource::from_spec`], with `artifact_of` giving the current
    /// artifact (and its tar.gz) of an included GitRepository of the same
    /// namespace by name; an include without one is
    /// [`SourceError::IncludeUnavailable`].
    pub fn from_spec_including(
        spec: &GitRepositorySpec,
        secret: Option<&BTreeMap<String, Vec<u8>>>,
        artifact_of: impl Fn(&str) -> Option<(Artifact, PathBuf)>,
    ) -> Result<GitSource, SourceError> {
        let mut include = Vec::new();
        for entry in &spec.include {
            let name = &entry.repository.name;
            let (artifact, path) = artifact_of(name)
                .ok_or_else(|| SourceError::IncludeUnavailable { name: name.clone() })?;
            include.push(IncludedArtifact {
                include: entry.clone(),
                artifact,
                local_path: Some(path),
            });
        }
        if spec.verification.is_some() {
            return Err(SourceError::Unsupported {
                what: "spec.verify (commit signature verification)".into(),
            });
        }
        let timeout = spec.timeout().to_std().map_err(|e| SourceError::Git {
            url: spec.url.clone(),
            operation: "reading spec.timeout".into(),
            message: e.to_string(),
        })?;
        Ok(GitSource {
            url: spec.url.clone(),
            reference: Reference::from_spec(spec.reference.as_ref()),
            credentials: match secret {
                Some(data) => Credentials::from_secret_data(data)?,
                None => Credentials::default(),
            },
            timeout,
            content: ContentSettings {
                ignore: spec.ignore.clone(),
                sparse_checkout: spec.sparse_checkout.clone(),
                recurse_submodules: spec.recurse_submodules,
                include,
            },
        })
    }
}

/// What the last successful reconcile recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// `status.artifact.revision`.
    pub revision: String,
    /// The content settings the artifact was built with
    /// (`status.observedIgnore`, …).
    pub content: ContentSettings,
}

impl Observed {
    /// The last observation in a GitRepository's status, if it has an
    /// artifact.
    pub fn from_status(status: &GitRepositoryStatus) -> Option<Observed> {
        let artifact = status.artifact.as_ref()?;
        Some(Observed {
            revision: artifact.revision.clone(),
            content: ContentSettings {
                ignore: status.observed_ignore.clone(),
                sparse_checkout: status.observed_sparse_checkout.clone(),
                recurse_submodules: status.observed_recurse_submodules,
                include: status
                    .observed_include
                    .iter()
                    .zip(&status.included_artifacts)
                    .map(|(include, artifact)| IncludedArtifact {
                        include: include.clone(),
                        artifact: artifact.clone(),
                        local_path: None,
                    })
                    .collect(),
            },
        })
    }
}

/// Where a reference points on the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteHead {
    /// The full reference name (`refs/heads/main`), none for a bare commit.
    pub full_ref: Option<String>,
    /// The commit (annotated tags peeled), full hexadecimal id.
    pub commit: String,
    /// The revision string Flux records.
    pub revision: String,
}

/// A stored artifact and what it holds.
#[derive(Debug, Clone)]
pub struct FetchedArtifact {
    /// The revision (`main@sha1:…`).
    pub revision: String,
    /// The commit.
    pub commit: String,
    /// `sha256:<hex>` of the tar.gz.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its path relative to the storage root.
    pub path: String,
    /// The file on disk.
    pub local_path: PathBuf,
    /// The artifact as `status.artifact` records it.
    pub artifact: Artifact,
    /// Files and directories in the archive.
    pub counts: ArchiveCounts,
}

/// The result of [`fetch`].
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// The remote still points at the last observed revision and the
    /// content settings are the same: nothing fetched, nothing written.
    Unchanged {
        /// The revision.
        revision: String,
    },
    /// A new artifact was written.
    Stored(Box<FetchedArtifact>),
}

/// Fetches `source` for the object `namespace/name` into `storage`, unless
/// `last` shows the remote unchanged. A failure leaves the previous
/// artifact untouched.
pub fn fetch(
    source: &GitSource,
    storage: &Storage,
    namespace: &str,
    name: &str,
    last: Option<&Observed>,
) -> Result<FetchOutcome, SourceError> {
    remote::check(source)?;
    let same_content = |last: &Observed| last.content == source.content;
    // A commit never moves: no need to ask the remote.
    if let Reference::Commit { sha, branch } = &source.reference
        && sha.len() == 40
        && let Some(last) = last
    {
        let full = branch.as_ref().map(|b| format!("refs/heads/{b}"));
        if last.revision == revision(full.as_deref(), false, sha) && same_content(last) {
            return Ok(FetchOutcome::Unchanged {
                revision: last.revision.clone(),
            });
        }
    }
    let skip_if = last.filter(|l| same_content(l)).map(|l| l.revision.clone());
    let fetched = with_timeout(source, "fetch", move |s, interrupt| {
        remote::fetch(s, skip_if.as_deref(), interrupt)
    })?;
    let (dir, head) = match fetched {
        remote::Fetched::Unchanged(head) => {
            return Ok(FetchOutcome::Unchanged {
                revision: head.revision,
            });
        }
        remote::Fetched::Repository { dir, head } => (dir, head),
    };
    let repo = remote::open(dir.path()).map_err(|message| SourceError::Git {
        url: source.url.clone(),
        operation: "opening the fetched repository".into(),
        message,
    })?;
    let commit = gix::ObjectId::from_hex(head.commit.as_bytes()).map_err(|e| SourceError::Git {
        url: source.url.clone(),
        operation: "reading the fetched commit".into(),
        message: e.to_string(),
    })?;
    let mut include = Vec::new();
    for included in &source.content.include {
        let name = included.include.repository.name.clone();
        let tarball = included
            .local_path
            .clone()
            .ok_or_else(|| SourceError::IncludeUnavailable { name: name.clone() })?;
        include.push(archive::IncludeFiles {
            from_path: included.include.from_path.clone(),
            to_path: included.include.to_path().to_string(),
            name,
            tarball,
        });
    }
    // Submodules' scratch repositories live until the archive is written.
    let mut submodule_dirs = Vec::new();
    let submodules = if source.content.recurse_submodules {
        submodule::fetch_all(source, &source.url, &repo, commit, 0, &mut submodule_dirs)?
    } else {
        Vec::new()
    };
    let settings = ArchiveSettings {
        ignore: source.content.ignore.clone(),
        sparse_checkout: source.content.sparse_checkout.clone(),
        include,
        submodules,
    };
    let object_dir = Storage::object_dir(KIND_DIR, namespace, name);
    let mut counts = ArchiveCounts::default();
    let stored = storage.store(&object_dir, &format!("{}.tar.gz", head.commit), |w| {
        counts = archive::write_archive(&repo, commit, &settings, w)?;
        Ok::<(), ArchiveError>(())
    })??;
    let artifact = Artifact {
        path: stored.path.clone(),
        url: storage.url(&stored.path),
        revision: head.revision.clone(),
        digest: Some(stored.digest.clone()),
        last_update_time: now_rfc3339(),
        size: i64::try_from(stored.size).ok(),
        metadata: Default::default(),
    };
    Ok(FetchOutcome::Stored(Box::new(FetchedArtifact {
        revision: head.revision,
        commit: head.commit,
        digest: stored.digest,
        size: stored.size,
        path: stored.path,
        local_path: stored.local_path,
        artifact,
        counts,
    })))
}

/// Where `source`'s reference points on the remote: one listing of the
/// remote's references, as `git ls-remote` (a commit reference is returned
/// as given, without asking the remote).
pub fn resolve(source: &GitSource) -> Result<RemoteHead, SourceError> {
    remote::check(source)?;
    with_timeout(source, "listing references", |s, _| remote::resolve(s))
}

/// The latest artifact of the GitRepository `namespace/name` in `storage`
/// (see [`Storage::latest`]), as [`GitSource::from_spec_including`] wants
/// it; none when there is none or it cannot be read.
pub fn included_from_storage(
    storage: &Storage,
    namespace: &str,
    name: &str,
) -> Option<(Artifact, PathBuf)> {
    let stored = storage
        .latest(&Storage::object_dir(KIND_DIR, namespace, name))
        .ok()??;
    let commit = stored
        .path
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".tar.gz"))
        .unwrap_or_default()
        .to_string();
    let artifact = Artifact {
        url: storage.url(&stored.path),
        path: stored.path,
        revision: format!("sha1:{commit}"),
        digest: Some(stored.digest),
        last_update_time: now_rfc3339(),
        size: i64::try_from(stored.size).ok(),
        metadata: Default::default(),
    };
    Some((artifact, stored.local_path))
}

/// Records a stored artifact in a GitRepository's status, with the
/// content settings it was built from.
pub fn record(status: &mut GitRepositoryStatus, source: &GitSource, fetched: &FetchedArtifact) {
    status.artifact = Some(fetched.artifact.clone());
    status.observed_ignore = source.content.ignore.clone();
    status.observed_sparse_checkout = source.content.sparse_checkout.clone();
    status.observed_recurse_submodules = source.content.recurse_submodules;
    status.included_artifacts = source
        .content
        .include
        .iter()
        .map(|i| i.artifact.clone())
        .collect();
    status.observed_include = source
        .content
        .include
        .iter()
        .map(|i| i.include.clone())
        .collect();
}

/// Runs `work` on a thread and waits at most `source.timeout`; on time-out
/// the work is told to stop (gix checks the flag while receiving a pack)
/// and its temporary files go when it ends.
fn with_timeout<T: Send + 'static>(
    source: &GitSource,
    operation: &str,
    work: impl FnOnce(&GitSource, &AtomicBool) -> Result<T, SourceError> + Send + 'static,
) -> Result<T, SourceError> {
    let interrupt = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = source.clone();
    let flag = interrupt.clone();
    std::thread::Builder::new()
        .name("fleet-git-fetch".into())
        .spawn(move || {
            let _ = tx.send(work(&owned, &flag));
        })
        .map_err(|e| SourceError::Git {
            url: source.url.clone(),
            operation: operation.to_string(),
            message: format!("cannot start a thread: {e}"),
        })?;
    match rx.recv_timeout(source.timeout) {
        Ok(result) => result,
        Err(_) => {
            interrupt.store(true, Ordering::Relaxed);
            Err(SourceError::Timeout {
                url: source.url.clone(),
                after: source.timeout,
                operation: operation.to_string(),
            })
        }
    }
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
