//! A file system that serves one generated kustomization file from memory
//! over the caller's tree, so that a Flux build never writes to a checkout.

use crate::fs::{self, FileSystem};

/// The caller's tree with one kustomization file replaced (or added).
pub struct FluxOverlayFs<'a> {
    inner: &'a dyn FileSystem,
    path: String,
    content: Vec<u8>,
}

impl<'a> FluxOverlayFs<'a> {
    /// `inner` with the file at `path` reading as `content`.
    pub fn new(inner: &'a dyn FileSystem, path: &str, content: impl Into<Vec<u8>>) -> Self {
        FluxOverlayFs {
            inner,
            path: fs::join("/", path),
            content: content.into(),
        }
    }
}

impl FileSystem for FluxOverlayFs<'_> {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        if path == self.path {
            Ok(self.content.clone())
        } else {
            self.inner.read(path)
        }
    }
    fn is_dir(&self, path: &str) -> bool {
        self.inner.is_dir(path)
    }
    fn is_file(&self, path: &str) -> bool {
        path == self.path || self.inner.is_file(path)
    }
    fn list_dir(&self, path: &str) -> std::io::Result<Vec<String>> {
        let mut names = self.inner.list_dir(path)?;
        if fs::parent(&self.path) == path {
            let name = self.path[path.len()..].trim_start_matches('/').to_string();
            if let Err(i) = names.binary_search(&name) {
                names.insert(i, name);
            }
        }
        Ok(names)
    }
    fn real_path(&self, path: &str) -> std::io::Result<String> {
        if path == self.path {
            Ok(path.to_string())
        } else {
            self.inner.real_path(path)
        }
    }
}
