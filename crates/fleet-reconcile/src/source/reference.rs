//! Which Git reference a GitRepository follows, in Flux's precedence, and
//! the revision strings source-controller writes for it.

use fleet_model::flux::source::GitRepositoryRef;

/// The branch Flux checks out when `spec.ref` names nothing.
pub const DEFAULT_BRANCH: &str = "master";

/// A GitRepository's reference after Flux's precedence: commit, then
/// name, then semver, then tag, then branch (`master` when nothing is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A commit, optionally looked for on one branch.
    Commit {
        /// The commit's full hexadecimal id.
        sha: String,
        /// The branch to fetch it from; every branch when unset.
        branch: Option<String>,
    },
    /// A full reference name such as `refs/pull/1/head`.
    Name(String),
    /// The highest tag in a Masterminds SemVer range.
    Semver(String),
    /// A tag.
    Tag(String),
    /// A branch.
    Branch(String),
}

impl Reference {
    /// The reference `spec.ref` selects, in Flux's precedence.
    pub fn from_spec(reference: Option<&GitRepositoryRef>) -> Reference {
        let set = |value: &Option<String>| value.as_ref().filter(|v| !v.is_empty()).cloned();
        let Some(reference) = reference else {
            return Reference::Branch(DEFAULT_BRANCH.to_string());
        };
        if let Some(sha) = set(&reference.commit) {
            return Reference::Commit {
                sha,
                branch: set(&reference.branch),
            };
        }
        if let Some(name) = set(&reference.name) {
            return Reference::Name(name);
        }
        if let Some(range) = set(&reference.semver) {
            return Reference::Semver(range);
        }
        if let Some(tag) = set(&reference.tag) {
            return Reference::Tag(tag);
        }
        Reference::Branch(set(&reference.branch).unwrap_or_else(|| DEFAULT_BRANCH.to_string()))
    }

    /// How errors name it: `branch 'main'`, `tag 'v1'`, `semver range '>=1'`…
    pub fn describe(&self) -> String {
        match self {
            Reference::Commit { sha, branch: None } => format!("commit '{sha}'"),
            Reference::Commit {
                sha,
                branch: Some(branch),
            } => format!("commit '{sha}' on branch '{branch}'"),
            Reference::Name(name) => format!("reference '{name}'"),
            Reference::Semver(range) => format!("semver range '{range}'"),
            Reference::Tag(tag) => format!("tag '{tag}'"),
            Reference::Branch(branch) => format!("branch '{branch}'"),
        }
    }
}

/// The revision string source-controller records for `commit` reached
/// through `full_ref` (a full reference name such as `refs/heads/main`):
/// the part after the second `/` then `@sha1:<commit>` (`main@sha1:…`,
/// `feature/x@sha1:…`, `v1.0.0@sha1:…`); with `absolute` (a `ref.name`)
/// the whole name (`refs/pull/1/head@sha1:…`); without a reference
/// `sha1:<commit>`.
///
/// ```
/// use fleet_reconcile::source::revision;
/// let sha = "0123456789abcdef0123456789abcdef01234567";
/// assert_eq!(revision(Some("refs/heads/feature/x"), false, sha), format!("feature/x@sha1:{sha}"));
/// assert_eq!(revision(Some("refs/pull/1/head"), true, sha), format!("refs/pull/1/head@sha1:{sha}"));
/// assert_eq!(revision(None, false, sha), format!("sha1:{sha}"));
/// ```
pub fn revision(full_ref: Option<&str>, absolute: bool, commit: &str) -> String {
    match full_ref {
        Some(name) if absolute && !name.is_empty() => format!("{name}@sha1:{commit}"),
        Some(name) => {
            let mut parts = name.splitn(3, '/');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(_), Some(_), Some(short)) => format!("{short}@sha1:{commit}"),
                _ => format!("sha1:{commit}"),
            }
        }
        None => format!("sha1:{commit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(f: impl FnOnce(&mut GitRepositoryRef)) -> GitRepositoryRef {
        let mut r = GitRepositoryRef::default();
        f(&mut r);
        r
    }

    #[test]
    fn no_ref_means_branch_master() {
        assert_eq!(
            Reference::from_spec(None),
            Reference::Branch("master".into())
        );
        assert_eq!(
            Reference::from_spec(Some(&GitRepositoryRef::default())),
            Reference::Branch("master".into())
        );
    }

    #[test]
    fn precedence_is_commit_name_semver_tag_branch() {
        let all = spec(|r| {
            r.branch = Some("main".into());
            r.tag = Some("v1".into());
            r.semver = Some(">=1".into());
            r.name = Some("refs/pull/1/head".into());
            r.commit = Some("abc".into());
        });
        assert_eq!(
            Reference::from_spec(Some(&all)),
            Reference::Commit {
                sha: "abc".into(),
                branch: Some("main".into())
            }
        );
        let mut r = all.clone();
        r.commit = None;
        assert_eq!(
            Reference::from_spec(Some(&r)),
            Reference::Name("refs/pull/1/head".into())
        );
        r.name = None;
        assert_eq!(
            Reference::from_spec(Some(&r)),
            Reference::Semver(">=1".into())
        );
        r.semver = None;
        assert_eq!(Reference::from_spec(Some(&r)), Reference::Tag("v1".into()));
        r.tag = None;
        assert_eq!(
            Reference::from_spec(Some(&r)),
            Reference::Branch("main".into())
        );
    }

    #[test]
    fn revision_strings_match_flux() {
        let sha = "a0c14dc8580a23f79bc654faa79c4f62b46c2c22";
        assert_eq!(
            revision(Some("refs/heads/main"), false, sha),
            format!("main@sha1:{sha}")
        );
        assert_eq!(
            revision(Some("refs/tags/v1.0.0"), false, sha),
            format!("v1.0.0@sha1:{sha}")
        );
        assert_eq!(revision(Some("HEAD"), false, sha), format!("sha1:{sha}"));
    }
}
