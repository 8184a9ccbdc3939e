//! The small filesystem the engine reads through: a directory on disk or an
//! in-memory tree (a Git tree is loaded into one).
//!
//! Paths are absolute, `/`-separated and normalised (no `.` or `..`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A read-only file tree.
pub trait FileSystem {
    /// The bytes of a file.
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>>;
    /// Whether `path` is a directory.
    fn is_dir(&self, path: &str) -> bool;
    /// Whether `path` is a regular file.
    fn is_file(&self, path: &str) -> bool;
    /// The names of a directory's entries, sorted bytewise (as Go's
    /// `filepath.Walk` visits them).
    fn list_dir(&self, path: &str) -> std::io::Result<Vec<String>>;
    /// Whether `path` is a regular file, and whether it is a directory:
    /// [`FileSystem::is_file`] and [`FileSystem::is_dir`] in one question
    /// (one system call on a disk).
    fn file_or_dir(&self, path: &str) -> (bool, bool) {
        let is_file = self.is_file(path);
        (is_file, !is_file && self.is_dir(path))
    }
    /// The path with symbolic links resolved, for load-restriction checks.
    /// Trees without links return the path unchanged.
    fn real_path(&self, path: &str) -> std::io::Result<String> {
        Ok(path.to_string())
    }
}

/// Joins and normalises: `join("/a/b", "../c")` is `/a/c`; an absolute
/// `rel` replaces `base`.
pub fn join(base: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        Vec::new()
    } else {
        base.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The directory holding `path`.
pub fn parent(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => path[..i].to_string(),
    }
}

/// `to` relative to the directory `from`: `relative("/a/top", "/a/base/x")` is `../base/x`.
pub fn relative(from: &str, to: &str) -> String {
    let f: Vec<&str> = from.split('/').filter(|p| !p.is_empty()).collect();
    let t: Vec<&str> = to.split('/').filter(|p| !p.is_empty()).collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = std::iter::repeat_n("..", f.len() - common).collect();
    parts.extend(&t[common..]);
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// Whether `path` is `root` or below it.
pub fn is_within(root: &str, path: &str) -> bool {
    root == "/" || path == root || path.starts_with(&format!("{root}/"))
}

/// The real filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskFs;

/// A filesystem that remembers which files were read through it, so a
/// caller can tell which files a build used (`fleet validate` lints the
/// rest as plain files).
///
/// ```
/// use fleet_kustomize::fs::{FileSystem, MemFs, RecordingFs};
/// let mut mem = MemFs::default();
/// mem.add("/a.yaml", "kind: A\n");
/// let fs = RecordingFs::new(&mem);
/// assert!(fs.read("/a.yaml").is_ok());
/// assert!(fs.read_files().contains("/a.yaml"));
/// ```
pub struct RecordingFs<'a> {
    inner: &'a dyn FileSystem,
    read: std::sync::Mutex<BTreeSet<String>>,
    probed: std::sync::Mutex<BTreeSet<String>>,
}

impl<'a> RecordingFs<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a dyn FileSystem) -> Self {
        RecordingFs {
            inner,
            read: std::sync::Mutex::new(BTreeSet::new()),
            probed: std::sync::Mutex::new(BTreeSet::new()),
        }
    }

    /// The paths read so far (as the build named them).
    pub fn read_files(&self) -> BTreeSet<String> {
        self.read.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Every path the build's outcome depends on: the files read, the
    /// paths asked about (`is_dir`, `is_file`, `real_path`, failed reads)
    /// and the directories listed. A build through this tree gives the
    /// same result on any tree where none of these paths changed (a file's
    /// bytes, a path's existence or kind, a directory's entries).
    pub fn inputs(&self) -> BTreeSet<String> {
        let mut all = self.read_files();
        if let Ok(probed) = self.probed.lock() {
            all.extend(probed.iter().cloned());
        }
        all
    }

    fn probe(&self, path: &str) {
        if let Ok(mut probed) = self.probed.lock() {
            probed.insert(path.to_string());
        }
    }
}

impl FileSystem for RecordingFs<'_> {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        match self.inner.read(path) {
            Ok(bytes) => {
                if let Ok(mut read) = self.read.lock() {
                    read.insert(path.to_string());
                }
                Ok(bytes)
            }
            Err(e) => {
                self.probe(path);
                Err(e)
            }
        }
    }
    fn is_dir(&self, path: &str) -> bool {
        self.probe(path);
        self.inner.is_dir(path)
    }
    fn is_file(&self, path: &str) -> bool {
        self.probe(path);
        self.inner.is_file(path)
    }
    fn list_dir(&self, path: &str) -> std::io::Result<Vec<String>> {
        self.probe(path);
        self.inner.list_dir(path)
    }
    fn real_path(&self, path: &str) -> std::io::Result<String> {
        self.probe(path);
        self.inner.real_path(path)
    }
}

impl FileSystem for DiskFs {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn file_or_dir(&self, path: &str) -> (bool, bool) {
        match std::fs::metadata(path) {
            Ok(m) => (m.is_file(), m.is_dir()),
            Err(_) => (false, false),
        }
    }
    fn is_dir(&self, path: &str) -> bool {
        Path::new(path).is_dir()
    }
    fn is_file(&self, path: &str) -> bool {
        Path::new(path).is_file()
    }
    fn list_dir(&self, path: &str) -> std::io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }
    fn real_path(&self, path: &str) -> std::io::Result<String> {
        let real: PathBuf = std::fs::canonicalize(path)?;
        Ok(real.to_string_lossy().into_owned())
    }
}

/// An in-memory tree.
///
/// ```
/// use fleet_kustomize::fs::{FileSystem, MemFs};
/// let mut fs = MemFs::default();
/// fs.add("/app/kustomization.yaml", "resources: [cm.yaml]\n");
/// assert!(fs.is_dir("/app") && fs.is_file("/app/kustomization.yaml"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemFs {
    files: BTreeMap<String, Vec<u8>>,
    dirs: BTreeSet<String>,
}

impl MemFs {
    /// Adds a file (and its parent directories).
    pub fn add(&mut self, path: &str, content: impl Into<Vec<u8>>) {
        let path = join("/", path);
        let mut dir = parent(&path);
        loop {
            self.dirs.insert(dir.clone());
            if dir == "/" {
                break;
            }
            dir = parent(&dir);
        }
        self.files.insert(path, content.into());
    }

    /// Adds an empty directory.
    pub fn add_dir(&mut self, path: &str) {
        let mut dir = join("/", path);
        loop {
            self.dirs.insert(dir.clone());
            if dir == "/" {
                break;
            }
            dir = parent(&dir);
        }
    }
}

impl FileSystem for MemFs {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        self.files.get(path).cloned().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{path}: no such file"),
            )
        })
    }
    fn is_dir(&self, path: &str) -> bool {
        self.dirs.contains(path)
    }
    fn is_file(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
    fn list_dir(&self, path: &str) -> std::io::Result<Vec<String>> {
        if !self.dirs.contains(path) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{path}: no such directory"),
            ));
        }
        let children = |p: &String| -> Option<String> {
            let rest = if path == "/" {
                p.strip_prefix('/')
            } else {
                p.strip_prefix(path).and_then(|r| r.strip_prefix('/'))
            }?;
            (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
        };
        let mut names: BTreeSet<String> = self.files.keys().filter_map(children).collect();
        names.extend(self.dirs.iter().filter_map(children));
        Ok(names.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_normalises() {
        assert_eq!(join("/a/b", "../c"), "/a/c");
        assert_eq!(join("/a/b", "./c/./d"), "/a/b/c/d");
        assert_eq!(join("/a", "/x/y"), "/x/y");
        assert_eq!(join("/", "../../x"), "/x");
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert!(is_within("/a", "/a/b") && !is_within("/a", "/ab"));
        assert_eq!(relative("/a/top", "/a/base/x.yaml"), "../base/x.yaml");
        assert_eq!(relative("/a/top", "/a/top/x.yaml"), "x.yaml");
    }

    #[test]
    fn recorded_inputs_hold_reads_probes_listings_and_missing_files() {
        let mut mem = MemFs::default();
        mem.add("/app/kustomization.yaml", "resources: []\n");
        let fs = RecordingFs::new(&mem);
        assert!(fs.read("/app/kustomization.yaml").is_ok());
        assert!(!fs.is_file("/app/kustomization.yml"));
        assert!(fs.read("/app/missing.yaml").is_err());
        assert!(fs.list_dir("/app").is_ok());
        let read: Vec<String> = fs.read_files().into_iter().collect();
        assert_eq!(read, ["/app/kustomization.yaml"]);
        let inputs: Vec<String> = fs.inputs().into_iter().collect();
        assert_eq!(
            inputs,
            [
                "/app",
                "/app/kustomization.yaml",
                "/app/kustomization.yml",
                "/app/missing.yaml"
            ]
        );
    }
}
