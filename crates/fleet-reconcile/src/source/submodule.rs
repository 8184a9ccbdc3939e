//! `spec.recurseSubmodules`: the submodules a commit declares in
//! `.gitmodules` are fetched at the commits its tree records (gitlinks),
//! with the GitRepository's credentials, relative URLs resolved against the
//! superproject's URL as `git submodule` does, nested ones down to
//! go-git's default depth (10), and packed into the artifact at their
//! paths. A gitlink without a `.gitmodules` entry is left out, as `git
//! submodule update` leaves it.

use gix::ObjectId;
use gix::objs::tree::EntryKind;

use super::archive::SubmoduleTree;
use super::{GitSource, Reference, SourceError, remote, with_timeout};

/// go-git's `DefaultSubmoduleRecursionDepth`.
pub const MAX_DEPTH: usize = 10;

/// A submodule as `.gitmodules` declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Declared {
    pub name: String,
    pub path: String,
    pub url: String,
}

/// The submodules `.gitmodules` (its text) declares.
pub(super) fn parse_gitmodules(text: &str) -> Result<Vec<Declared>, String> {
    let file = gix::config::File::try_from(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    if let Some(sections) = file.sections_by_name("submodule") {
        for section in sections {
            let Some(name) = section.header().subsection_name() else {
                continue;
            };
            let (Some(path), Some(url)) = (section.value("path"), section.value("url")) else {
                continue;
            };
            out.push(Declared {
                name: name.to_string(),
                path: path.to_string().trim_matches('/').to_string(),
                url: url.to_string(),
            });
        }
    }
    Ok(out)
}

/// `url` of a submodule resolved against the superproject's `parent` URL
/// when it is relative (`./x`, `../x`), as `git submodule` resolves it.
pub(super) fn resolve_url(parent: &str, url: &str) -> String {
    if !(url.starts_with("./") || url.starts_with("../")) {
        return url.to_string();
    }
    // The part of the parent URL that holds the path.
    let (head, path) = match parent.find("://") {
        Some(i) => {
            let after = &parent[i + 3..];
            match after.find('/') {
                Some(j) => parent.split_at(i + 3 + j),
                None => (parent, ""),
            }
        }
        None => match parent.rfind(':') {
            // scp-like `host:path`.
            Some(i) if !parent.starts_with('/') => parent.split_at(i + 1),
            _ => ("", parent),
        },
    };
    let mut parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut rest = url;
    loop {
        if let Some(r) = rest.strip_prefix("./") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("../") {
            if parts.len() > 1 || parts.first().is_some_and(|p| !p.is_empty()) {
                parts.pop();
            }
            rest = r;
        } else {
            break;
        }
    }
    let base = parts.join("/");
    if base.is_empty() && head.is_empty() {
        rest.to_string()
    } else {
        format!("{head}{base}/{rest}")
    }
}

/// The gitlinks of `tree` (recursively), as `path → commit`.
fn gitlinks(
    repo: &gix::Repository,
    tree: ObjectId,
    prefix: &str,
    out: &mut Vec<(String, ObjectId)>,
) -> Result<(), String> {
    let found = repo.find_object(tree).map_err(|e| e.to_string())?;
    let tree = found.try_into_tree().map_err(|e| e.to_string())?;
    let entries: Vec<(String, EntryKind, ObjectId)> = tree
        .decode()
        .map_err(|e| e.to_string())?
        .entries
        .iter()
        .map(|e| (e.filename.to_string(), e.mode.kind(), e.oid.to_owned()))
        .collect();
    for (name, kind, oid) in entries {
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        match kind {
            EntryKind::Tree => gitlinks(repo, oid, &path, out)?,
            EntryKind::Commit => out.push((path, oid)),
            _ => {}
        }
    }
    Ok(())
}

/// The `.gitmodules` text at the top of `commit`'s tree, if any.
fn gitmodules(repo: &gix::Repository, commit: ObjectId) -> Result<Option<String>, String> {
    let tree = repo
        .find_object(commit)
        .map_err(|e| e.to_string())?
        .peel_to_tree()
        .map_err(|e| e.to_string())?;
    let Some(entry) = tree.find_entry(".gitmodules") else {
        return Ok(None);
    };
    let blob = repo
        .find_object(entry.object_id())
        .map_err(|e| e.to_string())?;
    Ok(Some(String::from_utf8_lossy(&blob.data).into_owned()))
}

/// The submodules of `commit` in `repo` (fetched from `url`), fetched and
/// ready to pack; `keep` holds their scratch repositories.
pub(super) fn fetch_all(
    source: &GitSource,
    url: &str,
    repo: &gix::Repository,
    commit: ObjectId,
    depth: usize,
    keep: &mut Vec<tempfile::TempDir>,
) -> Result<Vec<SubmoduleTree>, SourceError> {
    let git = |message: String| SourceError::Git {
        url: url.to_string(),
        operation: "reading submodules".into(),
        message,
    };
    let Some(text) = gitmodules(repo, commit).map_err(git)? else {
        return Ok(Vec::new());
    };
    let declared = parse_gitmodules(&text).map_err(|e| git(format!(".gitmodules: {e}")))?;
    let tree = repo
        .find_object(commit)
        .map_err(|e| git(e.to_string()))?
        .peel_to_tree()
        .map_err(|e| git(e.to_string()))?
        .id;
    let mut links = Vec::new();
    gitlinks(repo, tree, "", &mut links).map_err(git)?;
    let mut out = Vec::new();
    for (path, sub_commit) in links {
        let Some(module) = declared.iter().find(|d| d.path == path) else {
            continue;
        };
        if depth >= MAX_DEPTH {
            return Err(git(format!(
                "submodule '{}' is nested deeper than {MAX_DEPTH} levels",
                module.name
            )));
        }
        let sub_url = resolve_url(url, &module.url);
        let sub_source = GitSource {
            url: sub_url.clone(),
            reference: Reference::Commit {
                sha: sub_commit.to_string(),
                branch: None,
            },
            credentials: source.credentials.clone(),
            timeout: source.timeout,
            content: Default::default(),
        };
        remote::check(&sub_source)?;
        let fetched = with_timeout(&sub_source, "fetching a submodule", |s, interrupt| {
            remote::fetch(s, None, interrupt)
        })
        .map_err(|e| SourceError::Git {
            url: url.to_string(),
            operation: format!("fetching submodule '{}' ({sub_url})", module.name),
            message: e.to_string(),
        })?;
        let remote::Fetched::Repository { dir, .. } = fetched else {
            return Err(git(format!("submodule '{}' was not fetched", module.name)));
        };
        let sub_repo = remote::open(dir.path()).map_err(git)?;
        let nested = fetch_all(source, &sub_url, &sub_repo, sub_commit, depth + 1, keep)?;
        keep.push(dir);
        out.push(SubmoduleTree {
            path,
            repo: sub_repo,
            commit: sub_commit,
            nested,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{parse_gitmodules, resolve_url};

    #[test]
    fn relative_urls_resolve_against_the_superproject() {
        assert_eq!(
            resolve_url("git://h:9418/org/fleet.git", "../shared.git"),
            "git://h:9418/org/shared.git"
        );
        assert_eq!(
            resolve_url("https://h/org/fleet.git/", "./sub.git"),
            "https://h/org/fleet.git/sub.git"
        );
        assert_eq!(
            resolve_url("ssh://git@h/org/fleet", "../../other/x.git"),
            "ssh://git@h/other/x.git"
        );
        assert_eq!(
            resolve_url("git@h:org/fleet.git", "../x.git"),
            "git@h:org/x.git"
        );
        assert_eq!(
            resolve_url("file:///srv/git/fleet.git", "../x.git"),
            "file:///srv/git/x.git"
        );
        assert_eq!(
            resolve_url("/srv/git/fleet.git", "../x.git"),
            "/srv/git/x.git"
        );
        assert_eq!(
            resolve_url("git://h/fleet.git", "https://other/x.git"),
            "https://other/x.git"
        );
    }

    #[test]
    fn gitmodules_sections_give_name_path_and_url() {
        let text = "[submodule \"libs/a\"]\n\tpath = libs/a\n\turl = ../a.git\n# comment\n[submodule \"b\"]\n\tpath = b/\n\turl = https://x/b.git\n[submodule \"no-url\"]\n\tpath = c\n";
        let parsed = parse_gitmodules(text).unwrap_or_default();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].name, "libs/a");
        assert_eq!(parsed[0].url, "../a.git");
        assert_eq!(parsed[1].path, "b");
    }
}
