//! Artifact storage laid out as source-controller's:
//! `<root>/<kind>/<namespace>/<name>/<file>`, a `latest.tar.gz` symbolic
//! link to the newest artifact, old artifacts garbage-collected (the
//! newest few kept). Writes go to a temporary file in the same directory,
//! then are renamed into place, so a reader never sees half an artifact
//! and a failed write leaves the previous artifact as it was. Writers of
//! the same object take a lock on the object's directory, so two
//! reconciles of one repository run one after the other; different
//! objects never wait for each other.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// How many artifacts of an object are kept (source-controller's
/// `--artifact-retention-records` default).
pub const DEFAULT_RETENTION: usize = 2;
/// The link to an object's newest artifact.
pub const LATEST: &str = "latest.tar.gz";
const LOCK: &str = ".lock";

/// A storage operation that failed (Flux's `StorageOperationFailed`).
#[derive(Debug, thiserror::Error)]
#[error("artifact storage: cannot {action} {path}: {message}")]
pub struct StorageError {
    /// What was being done.
    pub action: &'static str,
    /// The file or directory.
    pub path: String,
    /// What the system said.
    pub message: String,
}

/// An artifact written to storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArtifact {
    /// The path relative to the storage root (`gitrepository/ns/name/<sha>.tar.gz`).
    pub path: String,
    /// The file on disk.
    pub local_path: PathBuf,
    /// `sha256:<hex>` of the file.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Where artifacts live.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
    base_url: Option<String>,
    retention: usize,
}

impl Storage {
    /// Storage under `root` (created on first write), keeping
    /// [`DEFAULT_RETENTION`] artifacts per object.
    pub fn new(root: impl Into<PathBuf>) -> Storage {
        Storage {
            root: root.into(),
            base_url: None,
            retention: DEFAULT_RETENTION,
        }
    }

    /// Keeps `count` artifacts per object (at least one: the newest).
    pub fn with_retention(mut self, count: usize) -> Storage {
        self.retention = count.max(1);
        self
    }

    /// The address artifacts are served from, e.g.
    /// `http://source-controller.flux-system.svc.cluster.local.`; without
    /// one, artifact URLs are `file://` URLs of the files.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Storage {
        self.base_url = Some(url.into().trim_end_matches('/').to_string());
        self
    }

    /// The storage root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The relative directory of an object's artifacts.
    pub fn object_dir(kind: &str, namespace: &str, name: &str) -> String {
        format!("{}/{namespace}/{name}", kind.to_ascii_lowercase())
    }

    /// The URL of an artifact at `path` (relative to the root).
    pub fn url(&self, path: &str) -> String {
        match &self.base_url {
            Some(base) => format!("{base}/{path}"),
            None => format!("file://{}", self.root.join(path).display()),
        }
    }

    /// Writes `file` under the object's directory with `write`, atomically,
    /// points `latest.tar.gz` at it and removes artifacts beyond the
    /// retention count (oldest first; the new one is always kept).
    pub fn store<E>(
        &self,
        object_dir: &str,
        file: &str,
        write: impl FnOnce(&mut dyn Write) -> Result<(), E>,
    ) -> Result<Result<StoredArtifact, E>, StorageError> {
        let dir = self.root.join(object_dir);
        fs::create_dir_all(&dir).map_err(|e| err("create", &dir, e))?;
        let lock_path = dir.join(LOCK);
        let lock = File::create(&lock_path).map_err(|e| err("create", &lock_path, e))?;
        lock.lock().map_err(|e| err("lock", &lock_path, e))?;

        let mut temp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&dir)
            .map_err(|e| err("create a temporary file in", &dir, e))?;
        let temp_path = temp.path().to_path_buf();
        let (hash, size) = {
            let mut writer = Hashing {
                inner: io::BufWriter::new(temp.as_file_mut()),
                hash: Sha256::new(),
                size: 0,
            };
            if let Err(e) = write(&mut writer) {
                // The temporary file is removed when dropped.
                return Ok(Err(e));
            }
            let Hashing { inner, hash, size } = writer;
            inner
                .into_inner()
                .map_err(|e| err("write", &temp_path, e.into_error()))?
                .sync_all()
                .map_err(|e| err("sync", &temp_path, e))?;
            (hash, size)
        };
        let target = dir.join(file);
        temp.persist(&target)
            .map_err(|e| err("rename into", &target, e.error))?;

        let link_temp = dir.join(format!(".tmp-{LATEST}-{}", std::process::id()));
        let _ = fs::remove_file(&link_temp);
        std::os::unix::fs::symlink(file, &link_temp).map_err(|e| err("link", &link_temp, e))?;
        let latest = dir.join(LATEST);
        fs::rename(&link_temp, &latest).map_err(|e| err("rename into", &latest, e))?;

        self.collect_garbage(&dir, file)?;
        drop(lock);
        let digest = digest_string(&hash.finalize());
        Ok(Ok(StoredArtifact {
            path: format!("{object_dir}/{file}"),
            local_path: target,
            digest,
            size,
        }))
    }

    /// The artifact `latest.tar.gz` of an object points at, with its
    /// digest and size read from the file; none when the object has no
    /// artifact. The file name (`<commit>.tar.gz`) is all that tells the
    /// revision here, so it is `sha1:<commit>`.
    pub fn latest(&self, object_dir: &str) -> Result<Option<StoredArtifact>, StorageError> {
        let dir = self.root.join(object_dir);
        let link = dir.join(LATEST);
        let target = match fs::read_link(&link) {
            Ok(target) => target,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err("read", &link, e)),
        };
        let Some(file) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return Ok(None);
        };
        let local_path = dir.join(&file);
        let mut reader = File::open(&local_path).map_err(|e| err("open", &local_path, e))?;
        let mut hash = Sha256::new();
        let size = io::copy(&mut reader, &mut HashWriter(&mut hash))
            .map_err(|e| err("read", &local_path, e))?;
        Ok(Some(StoredArtifact {
            path: format!("{object_dir}/{file}"),
            local_path,
            digest: digest_string(&hash.finalize()),
            size,
        }))
    }

    /// The artifacts of an object, newest first.
    pub fn artifacts(&self, object_dir: &str) -> Result<Vec<PathBuf>, StorageError> {
        let dir = self.root.join(object_dir);
        let read = match fs::read_dir(&dir) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(err("list", &dir, e)),
        };
        let mut found = Vec::new();
        for entry in read {
            let entry = entry.map_err(|e| err("list", &dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == LATEST || !name.ends_with(".tar.gz") {
                continue;
            }
            let meta = entry
                .metadata()
                .map_err(|e| err("stat", &entry.path(), e))?;
            if !meta.is_file() {
                continue;
            }
            let modified = meta.modified().map_err(|e| err("stat", &entry.path(), e))?;
            found.push((modified, entry.path()));
        }
        found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        Ok(found.into_iter().map(|(_, p)| p).collect())
    }

    fn collect_garbage(&self, dir: &Path, keep: &str) -> Result<(), StorageError> {
        let rel = dir
            .strip_prefix(&self.root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut kept = 1;
        for path in self.artifacts(&rel)? {
            if path.file_name().is_some_and(|n| n == keep) {
                continue;
            }
            if kept < self.retention {
                kept += 1;
                continue;
            }
            fs::remove_file(&path).map_err(|e| err("remove", &path, e))?;
        }
        Ok(())
    }
}

struct Hashing<W> {
    inner: W,
    hash: Sha256,
    size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn err(action: &'static str, path: &Path, e: io::Error) -> StorageError {
    StorageError {
        action,
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// `sha256:<hex>`, as Flux writes artifact and history digests, from a
/// finished SHA-256 hash.
struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(crate) fn digest_string(hash: &[u8]) -> String {
    hash.iter().fold(String::from("sha256:"), |mut out, b| {
        out.push_str(&format!("{b:02x}"));
        out
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn write_bytes(bytes: &'static [u8]) -> impl FnOnce(&mut dyn Write) -> Result<(), io::Error> {
        move |w| w.write_all(bytes)
    }

    #[test]
    fn store_writes_the_file_links_latest_and_keeps_the_newest_two() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::new(root.path());
        let dir = Storage::object_dir("GitRepository", "ns", "app");
        for (i, file) in ["a.tar.gz", "b.tar.gz", "c.tar.gz"].iter().enumerate() {
            let stored = storage
                .store(&dir, file, write_bytes(b"data"))
                .unwrap()
                .unwrap();
            assert_eq!(stored.path, format!("gitrepository/ns/app/{file}"));
            assert_eq!(stored.size, 4);
            assert_eq!(
                stored.digest,
                "sha256:3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7"
            );
            // Distinct modification times for the garbage collector.
            if i < 2 {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let dir_path = root.path().join(&dir);
        assert_eq!(
            fs::read_link(dir_path.join(LATEST)).unwrap(),
            PathBuf::from("c.tar.gz")
        );
        let names: Vec<String> = storage
            .artifacts(&dir)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["c.tar.gz", "b.tar.gz"]);
    }

    #[test]
    fn a_failed_write_leaves_the_previous_artifact_and_no_temporary_file() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::new(root.path());
        let dir = Storage::object_dir("GitRepository", "ns", "app");
        storage
            .store(&dir, "a.tar.gz", write_bytes(b"old"))
            .unwrap()
            .unwrap();
        let failed = storage
            .store(&dir, "a.tar.gz", |w: &mut dyn Write| {
                w.write_all(b"half")?;
                Err(io::Error::other("server went away"))
            })
            .unwrap();
        assert!(failed.is_err());
        let dir_path = root.path().join(&dir);
        assert_eq!(fs::read(dir_path.join("a.tar.gz")).unwrap(), b"old");
        let leftovers: Vec<_> = fs::read_dir(&dir_path)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn concurrent_writers_of_one_object_leave_a_whole_artifact() {
        let root = tempfile::tempdir().unwrap();
        let storage = Storage::new(root.path());
        let dir = Storage::object_dir("GitRepository", "ns", "app");
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let storage = storage.clone();
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let body = vec![b'a' + i as u8; 1 << 20];
                    storage
                        .store(&dir, "same.tar.gz", move |w: &mut dyn Write| {
                            w.write_all(&body)
                        })
                        .unwrap()
                        .unwrap()
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let bytes = fs::read(root.path().join(&dir).join("same.tar.gz")).unwrap();
        assert_eq!(bytes.len(), 1 << 20);
        assert!(bytes.iter().all(|b| *b == bytes[0]));
    }
}
