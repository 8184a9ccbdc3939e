//! Which paths an artifact leaves out, as source-controller decides
//! (fluxcd/pkg `sourceignore` and `SourceIgnoreFilter`): the VCS files
//! always; then either the default exclusions or, when the repository has
//! `.sourceignore` files or the object sets `spec.ignore`, those patterns
//! instead of the defaults.
//!
//! Patterns keep gitignore syntax and go-git's order: the last pattern that
//! matches a path (or one of its parent directories) decides, a `!`
//! pattern re-including. A `.sourceignore` in `a/b/` only applies under
//! `a/b/`.

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The name of the ignore files read at any depth.
pub const IGNORE_FILE: &str = ".sourceignore";
/// Always excluded (fluxcd/pkg `ExcludeVCS`).
pub const EXCLUDE_VCS: &[&str] = &[".git/", ".gitignore", ".gitmodules", ".gitattributes"];
/// Excluded unless `.sourceignore` or `spec.ignore` says otherwise
/// (fluxcd/pkg `ExcludeExt`, `ExcludeCI`, `ExcludeExtra`).
pub const DEFAULT_EXCLUSIONS: &[&str] = &[
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
];

/// A pattern that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("ignore pattern '{pattern}' in {origin}: {message}")]
pub struct PatternError {
    /// The pattern line.
    pub pattern: String,
    /// Where it came from (`spec.ignore`, a `.sourceignore` path).
    pub origin: String,
    /// What the glob parser said.
    pub message: String,
}

struct Pattern {
    /// The directory the pattern is scoped to, `/`-terminated (`""` at the
    /// top).
    domain: String,
    matcher: Gitignore,
}

/// The exclusion rules of one artifact.
pub struct Exclusions {
    patterns: Vec<Pattern>,
}

impl Exclusions {
    /// The rules for a tree whose `.sourceignore` files are `ignore_files`
    /// (each a directory relative to the top, `""` for the top, and the
    /// file's text, in the order Flux reads them: the top first, then each
    /// subdirectory depth first in name order) and whose object sets
    /// `spec_ignore`.
    pub fn new(
        ignore_files: &[(String, String)],
        spec_ignore: Option<&str>,
    ) -> Result<Exclusions, PatternError> {
        let mut user = Vec::new();
        for (dir, text) in ignore_files {
            let origin = if dir.is_empty() {
                IGNORE_FILE.to_string()
            } else {
                format!("{dir}/{IGNORE_FILE}")
            };
            for line in read_lines(text) {
                user.push(pattern(dir, line, &origin)?);
            }
        }
        if let Some(text) = spec_ignore {
            for line in read_lines(text) {
                user.push(pattern("", line, "spec.ignore")?);
            }
        }
        let mut patterns = Vec::new();
        for line in EXCLUDE_VCS {
            patterns.push(pattern("", line, "the VCS exclusions")?);
        }
        if user.is_empty() {
            for line in DEFAULT_EXCLUSIONS {
                patterns.push(pattern("", line, "the default exclusions")?);
            }
        }
        patterns.extend(user);
        Ok(Exclusions { patterns })
    }

    /// Whether `path` (relative to the top, `/`-separated) is left out.
    pub fn excluded(&self, path: &str, is_dir: bool) -> bool {
        let absolute = format!("/{path}");
        for p in self.patterns.iter().rev() {
            // go-git: a pattern never matches its own domain or above.
            let Some(rest) = path.strip_prefix(&p.domain) else {
                continue;
            };
            if rest.is_empty() {
                continue;
            }
            match p.matcher.matched_path_or_any_parents(&absolute, is_dir) {
                Match::None => continue,
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
            }
        }
        false
    }
}

/// The pattern lines of an ignore text: blank lines and `#` comments are
/// skipped, as fluxcd/pkg `ReadPatterns` does.
fn read_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
}

fn pattern(dir: &str, line: &str, origin: &str) -> Result<Pattern, PatternError> {
    let domain = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut builder = GitignoreBuilder::new(format!("/{domain}"));
    let error = |message: String| PatternError {
        pattern: line.to_string(),
        origin: origin.to_string(),
        message,
    };
    builder
        .add_line(None, line)
        .map_err(|e| error(e.to_string()))?;
    let matcher = builder.build().map_err(|e| error(e.to_string()))?;
    Ok(Pattern { domain, matcher })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn none() -> Exclusions {
        Exclusions::new(&[], None).unwrap()
    }

    #[test]
    fn defaults_exclude_vcs_ci_images_archives_and_flux_files() {
        let e = none();
        for path in [
            ".git/config",
            ".gitignore",
            "sub/.gitattributes",
            "logo.png",
            "docs/pic.JPG.jpg",
            "release.tar.gz",
            ".github/workflows/ci.yaml",
            ".travis.yml",
            "apps/.sops.yaml",
            ".flux.yaml",
            "deep/a/.goreleaser.yml",
        ] {
            assert!(e.excluded(path, false), "{path} should be excluded");
        }
        for path in ["apps/kustomization.yaml", "README.md", "cloudbuild.yml"] {
            assert!(!e.excluded(path, false), "{path} should be kept");
        }
        assert!(e.excluded(".github", true));
        assert!(e.excluded(".git", true));
        // `.git/` is a directory pattern, as in go-git.
        assert!(!e.excluded(".git", false));
    }

    #[test]
    fn spec_ignore_replaces_the_defaults_but_not_the_vcs_files() {
        let e = Exclusions::new(&[], Some("# comment\n/secrets/\n*.md\n!keep.md\n")).unwrap();
        assert!(!e.excluded("logo.png", false));
        assert!(e.excluded(".gitignore", false));
        assert!(e.excluded("secrets/a.yaml", false));
        assert!(!e.excluded("apps/secrets/a.yaml", false));
        assert!(e.excluded("README.md", false));
        assert!(!e.excluded("keep.md", false));
    }

    #[test]
    fn sourceignore_in_a_directory_applies_only_below_it() {
        let files = vec![("apps".to_string(), "*.txt\n".to_string())];
        let e = Exclusions::new(&files, None).unwrap();
        assert!(e.excluded("apps/notes.txt", false));
        assert!(e.excluded("apps/x/notes.txt", false));
        assert!(!e.excluded("notes.txt", false));
        // A .sourceignore replaces the defaults, as in Flux.
        assert!(!e.excluded("logo.png", false));
    }
}
