//! The tree a Kustomization builds from, as kustomize-controller gets it:
//! the artifact its `sourceRef` GitRepository's status names, read from
//! the artifact storage ([`crate::source::storage::Storage`], where
//! `fleet_reconcile::source::fetch` writes), its digest checked, unpacked
//! into a temporary directory, and `spec.path` joined without leaving it.
//! Every failure is kustomize-controller's `ArtifactFailed`, in its words
//! (`Source 'GitRepository/ns/name' not found`, `… is not ready, artifact
//! not found`, `kustomization path not found: …`).
//!
//! ```no_run
//! # async fn run(client: kube::Client, ks: fleet_model::flux::kustomization::Kustomization) {
//! use fleet_reconcile::artifact::reconcile_from_storage;
//! use fleet_reconcile::reconcile::ReconcileOptions;
//! use fleet_reconcile::source::storage::Storage;
//! let storage = Storage::new("/var/lib/fleet/artifacts");
//! let outcome = reconcile_from_storage(&client, &ks, &storage, &ReconcileOptions::default()).await;
//! print!("{}", outcome.changes);
//! # }
//! ```

use crate::changeset::ChangeSet;
use crate::reconcile::{Outcome, ReconcileOptions, SourceTree, reason, reconcile};
use crate::source::storage::{Storage, digest_string};
use fleet_model::condition::Conditions;
use fleet_model::flux::kustomization::{Kustomization, SourceKind};
use fleet_model::flux::source::GitRepository;
use kube::api::Api;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// How large an unpacked artifact may grow (1 GiB): a corrupt or hostile
/// archive stops here instead of filling the disk.
pub const MAX_UNPACKED_BYTES: u64 = 1 << 30;

/// Why the source tree could not be had (`ArtifactFailed`).
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The source object does not exist.
    #[error("Source '{0}' not found")]
    SourceNotFound(String),
    /// The source has no artifact yet.
    #[error("Source '{0}' is not ready, artifact not found")]
    NotReady(String),
    /// A source kind fleet does not serve artifacts for yet.
    #[error("Source '{0}': only GitRepository sources are served by fleet's artifact storage")]
    UnsupportedKind(String),
    /// Reading the source object failed.
    #[error("reading Source '{source_ref}': {error}")]
    Get {
        /// `Kind/namespace/name`.
        source_ref: String,
        /// What the server said.
        error: Box<kube::Error>,
    },
    /// The artifact file is missing or unreadable, or its path leaves the
    /// storage.
    #[error("failed to fetch artifact '{path}': {message}")]
    Fetch {
        /// Its path in the storage.
        path: String,
        /// Why.
        message: String,
    },
    /// The artifact's bytes do not have the digest its status records.
    #[error(
        "failed to verify artifact '{path}': computed digest {actual} does not match {expected}"
    )]
    Digest {
        /// Its path in the storage.
        path: String,
        /// The recorded digest.
        expected: String,
        /// The digest of the bytes.
        actual: String,
    },
    /// Unpacking failed (not a tar.gz, an entry leaving the directory, too
    /// large).
    #[error("failed to extract artifact '{path}': {message}")]
    Unpack {
        /// Its path in the storage.
        path: String,
        /// Why.
        message: String,
    },
    /// `spec.path` is not a directory of the artifact.
    #[error("kustomization path not found: {0}")]
    PathNotFound(String),
}

/// An unpacked artifact: the directory `spec.path` names in it, and the
/// revision; the files go when it is dropped.
#[derive(Debug)]
pub struct ArtifactTree {
    _root: tempfile::TempDir,
    /// The directory to build.
    pub dir: PathBuf,
    /// The artifact's revision (`main@sha1:…`).
    pub revision: String,
}

/// The source tree of `ks` from `storage`, as described in the module
/// documentation.
pub async fn artifact_tree(
    client: &kube::Client,
    ks: &Kustomization,
    storage: &Storage,
) -> Result<ArtifactTree, ArtifactError> {
    let reference = &ks.spec.source_ref;
    let namespace = reference
        .namespace
        .clone()
        .or_else(|| ks.metadata.namespace.clone())
        .unwrap_or_else(|| "default".to_string());
    let kind = serde_json::to_value(reference.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let source_ref = format!("{kind}/{namespace}/{}", reference.name);
    if reference.kind != SourceKind::GitRepository {
        return Err(ArtifactError::UnsupportedKind(source_ref));
    }
    let api: Api<GitRepository> = Api::namespaced(client.clone(), &namespace);
    let repository = api
        .get_opt(&reference.name)
        .await
        .map_err(|error| ArtifactError::Get {
            source_ref: source_ref.clone(),
            error: Box::new(error),
        })?
        .ok_or_else(|| ArtifactError::SourceNotFound(source_ref.clone()))?;
    let artifact = repository
        .status
        .and_then(|s| s.artifact)
        .ok_or_else(|| ArtifactError::NotReady(source_ref.clone()))?;
    let path = artifact.path.clone();
    let fetch_error = |message: String| ArtifactError::Fetch {
        path: path.clone(),
        message,
    };
    let relative = Path::new(&artifact.path);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(fetch_error(
            "the path must stay inside the artifact storage".into(),
        ));
    }
    let bytes =
        std::fs::read(storage.root().join(relative)).map_err(|e| fetch_error(e.to_string()))?;
    if let Some(expected) = &artifact.digest {
        let actual = digest_string(&Sha256::digest(&bytes));
        if &actual != expected {
            return Err(ArtifactError::Digest {
                path,
                expected: expected.clone(),
                actual,
            });
        }
    }
    let root = tempfile::Builder::new()
        .prefix("fleet-artifact-")
        .tempdir()
        .map_err(|e| fetch_error(e.to_string()))?;
    unpack(&bytes, root.path()).map_err(|message| ArtifactError::Unpack {
        path: path.clone(),
        message,
    })?;
    let spec_path = ks.spec.path();
    let dir = secure_join(root.path(), spec_path);
    if !dir.is_dir() {
        return Err(ArtifactError::PathNotFound(spec_path.to_string()));
    }
    Ok(ArtifactTree {
        _root: root,
        dir,
        revision: artifact.revision,
    })
}

/// `path` under `root`, with `..` unable to climb above `root` (Flux's
/// `securejoin`).
fn secure_join(root: &Path, path: &str) -> PathBuf {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    parts
        .iter()
        .fold(root.to_path_buf(), |p, part| p.join(part))
}

/// Unpacks a tar.gz of regular files and directories into `dest`; any
/// other entry, a path leaving `dest`, or more than
/// [`MAX_UNPACKED_BYTES`] is an error.
fn unpack(bytes: &[u8], dest: &Path) -> Result<(), String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let name = entry.path().map_err(|e| e.to_string())?.into_owned();
        if name
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(format!("entry {} leaves the directory", name.display()));
        }
        let target = dest.join(&name);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
            }
            tar::EntryType::Regular => {
                total = total.saturating_add(entry.size());
                if total > MAX_UNPACKED_BYTES {
                    return Err(format!(
                        "it unpacks to more than {MAX_UNPACKED_BYTES} bytes"
                    ));
                }
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                let mut content = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
                entry.read_to_end(&mut content).map_err(|e| e.to_string())?;
                std::fs::write(&target, content).map_err(|e| e.to_string())?;
            }
            other => {
                return Err(format!(
                    "entry {} is a {other:?}, not a file or directory",
                    name.display()
                ));
            }
        }
    }
    Ok(())
}

/// One reconcile of `ks` from its source's artifact in `storage`: an
/// artifact that cannot be had is `ArtifactFailed` and nothing is applied
/// or pruned; otherwise [`reconcile`] runs on the unpacked tree.
pub async fn reconcile_from_storage(
    client: &kube::Client,
    ks: &Kustomization,
    storage: &Storage,
    options: &ReconcileOptions,
) -> Outcome {
    if ks.spec.suspend {
        return Outcome::suspended(ks);
    }
    let mut status = ks.status.clone().unwrap_or_default();
    let tree = match artifact_tree(client, ks, storage).await {
        Ok(tree) => tree,
        Err(e) => {
            let generation = ks.metadata.generation.unwrap_or(0);
            status.conditions.mark_failed(
                reason::ARTIFACT_FAILED,
                &e.to_string(),
                generation,
                jiff::Timestamp::now(),
            );
            return Outcome {
                changes: ChangeSet::default(),
                status,
                result: Err(crate::reconcile::ReconcileError::Artifact(e)),
                suspended: false,
            };
        }
    };
    let source = SourceTree {
        fs: &fleet_kustomize::fs::DiskFs,
        dir: tree.dir.to_string_lossy().into_owned(),
        revision: tree.revision.clone(),
    };
    reconcile(client, ks, &source, options).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_gz(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        build(&mut builder);
        let tar = builder.into_inner().unwrap_or_default();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap_or_else(|e| panic!("{e}"));
        gz.finish().unwrap_or_default()
    }

    #[test]
    fn spec_path_cannot_climb_out_of_the_artifact() {
        let root = Path::new("/tmp/a");
        assert_eq!(secure_join(root, "./apps/prod"), root.join("apps/prod"));
        assert_eq!(secure_join(root, "../../etc"), root.join("etc"));
        assert_eq!(secure_join(root, "/abs/../x"), root.join("x"));
        assert_eq!(secure_join(root, "./"), root.to_path_buf());
    }

    #[test]
    fn files_and_directories_unpack_and_anything_else_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let good = tar_gz(|b| {
            let mut header = tar::Header::new_gnu();
            header.set_size(3);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut header, "apps/a.yaml", &b"a: 1"[..3])
                .unwrap_or_else(|e| panic!("{e}"));
        });
        unpack(&good, dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("apps/a.yaml")).unwrap_or_default(),
            "a: "
        );
        let link = tar_gz(|b| {
            let mut header = tar::Header::new_gnu();
            header.set_size(0);
            header.set_entry_type(tar::EntryType::Symlink);
            b.append_link(&mut header, "escape", "/etc/passwd")
                .unwrap_or_else(|e| panic!("{e}"));
        });
        let err = unpack(&link, dir.path()).err().unwrap_or_default();
        assert!(err.contains("not a file or directory"), "{err}");
        assert!(unpack(b"not a tar.gz", dir.path()).is_err());
    }
}
