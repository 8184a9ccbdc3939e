//! `spec.include`: another GitRepository's artifact copied into this one's
//! tree before it is packed, as source-controller's `CopyToPath` does it:
//! the included tar.gz is unpacked, its `fromPath` (the top when unset) is
//! moved to `toPath` (the included repository's name when unset), parent
//! directories made, and a `toPath` that already exists is an error. Both
//! paths are joined securely: `..` never leaves the top.

use std::io::Read;

use flate2::read::GzDecoder;

use super::archive::{ArchiveError, Entry, IncludeFiles, Kind};

/// The most an included artifact may unpack to.
const MAX_BYTES: u64 = crate::artifact::MAX_UNPACKED_BYTES;

/// `path` cleaned as `securejoin` does: `.` and empty components dropped,
/// `..` going up but never above the top.
pub(super) fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

struct Unpacked {
    path: String,
    data: Option<Vec<u8>>,
    executable: bool,
}

fn unpack(include: &IncludeFiles) -> Result<Vec<Unpacked>, ArchiveError> {
    let fail = |message: String| ArchiveError::Include {
        name: include.name.clone(),
        message,
    };
    let file = std::fs::File::open(&include.tarball)
        .map_err(|e| fail(format!("cannot open {}: {e}", include.tarball.display())))?;
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let mut out = Vec::new();
    let mut total: u64 = 0;
    let entries = archive
        .entries()
        .map_err(|e| fail(format!("cannot read the artifact: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| fail(format!("cannot read the artifact: {e}")))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = clean(&raw);
        if path.is_empty() {
            continue;
        }
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode().unwrap_or(0o600);
        if kind.is_dir() {
            out.push(Unpacked {
                path,
                data: None,
                executable: false,
            });
        } else if kind.is_file() {
            total = total.saturating_add(entry.size());
            if total > MAX_BYTES {
                return Err(fail(format!(
                    "the artifact unpacks to more than {MAX_BYTES} bytes"
                )));
            }
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| fail(format!("cannot read {raw}: {e}")))?;
            out.push(Unpacked {
                path,
                data: Some(data),
                executable: mode & 0o100 != 0,
            });
        }
        // Links and devices are not in artifacts; skipped if present.
    }
    Ok(out)
}

/// Adds `include`'s files to `entries` (any order; the caller sorts).
pub(super) fn copy_in(
    include: &IncludeFiles,
    entries: &mut Vec<Entry>,
) -> Result<(), ArchiveError> {
    let fail = |message: String| ArchiveError::Include {
        name: include.name.clone(),
        message,
    };
    let to = clean(&include.to_path);
    if to.is_empty() {
        return Err(fail(
            "toPath is the repository's top, which already exists".into(),
        ));
    }
    if let Some(existing) = entries
        .iter()
        .find(|e| e.path == to || e.path.starts_with(&format!("{to}/")))
    {
        return Err(fail(format!(
            "toPath '{to}' already exists in the repository ({})",
            existing.path
        )));
    }
    let from = include.from_path.as_deref().map(clean).unwrap_or_default();
    let unpacked = unpack(include)?;
    let mut moved: Vec<Entry> = Vec::new();
    let mut from_is_dir = from.is_empty();
    for item in unpacked {
        let rest = if from.is_empty() {
            Some(item.path.as_str())
        } else if item.path == from {
            if item.data.is_none() {
                from_is_dir = true;
                continue;
            }
            Some("")
        } else {
            item.path.strip_prefix(&format!("{from}/"))
        };
        let Some(rest) = rest else { continue };
        if !from.is_empty() && !rest.is_empty() {
            from_is_dir = true;
        }
        let path = if rest.is_empty() {
            to.clone()
        } else {
            format!("{to}/{rest}")
        };
        moved.push(Entry {
            path,
            kind: match item.data {
                Some(data) => Kind::Data {
                    data,
                    executable: item.executable,
                },
                None => Kind::Dir,
            },
        });
    }
    if moved.is_empty() && !from_is_dir {
        return Err(fail(format!("fromPath '{from}' is not in the artifact")));
    }
    // The parents of toPath: made where missing, refused where a file is.
    let parts: Vec<&str> = to.split('/').collect();
    for depth in 1..parts.len() {
        let parent = parts[..depth].join("/");
        match entries.iter().find(|e| e.path == parent) {
            Some(Entry {
                kind: Kind::Dir, ..
            }) => {}
            Some(_) => {
                return Err(fail(format!(
                    "cannot create toPath '{to}': '{parent}' is a file"
                )));
            }
            None => entries.push(Entry {
                path: parent,
                kind: Kind::Dir,
            }),
        }
    }
    if from_is_dir {
        entries.push(Entry {
            path: to.clone(),
            kind: Kind::Dir,
        });
    }
    // Directories of the artifact appear once, files as they were.
    for entry in moved {
        if matches!(entry.kind, Kind::Dir) && entries.iter().any(|e| e.path == entry.path) {
            continue;
        }
        entries.push(entry);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn paths_are_cleaned_without_leaving_the_top() {
        assert_eq!(clean("./a//b/"), "a/b");
        assert_eq!(clean("../../etc"), "etc");
        assert_eq!(clean("a/../../b"), "b");
        assert_eq!(clean("/"), "");
    }
}
