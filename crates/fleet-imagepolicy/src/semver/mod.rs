//! SemVer as Flux's image policies read it: the loose version parser and
//! the constraint language of `github.com/Masterminds/semver/v3`, which
//! image-reflector-controller uses for `spec.policy.semver.range`.
//!
//! Versions are stored as [`semver::Version`]s; what this module adds is
//! Masterminds' leniency when reading them (a `v` prefix, missing minor or
//! patch parts, leading zeros) and its constraint grammar, which differs
//! from Cargo's (`1.2.3` means exactly 1.2.3, `1.2` is a tilde range, `x`
//! wildcards, hyphen ranges, `||`). The `semver` crate's `VersionReq`
//! cannot express those rules, so the grammar is implemented here.
//!
//! ```
//! use fleet_imagepolicy::semver::{Constraint, Version};
//! let range = Constraint::parse("^1.2 || 3.x").unwrap();
//! assert!(range.matches(&Version::parse("v1.9.0").unwrap()));
//! assert!(!range.matches(&Version::parse("2.0.0").unwrap()));
//! assert!(!range.matches(&Version::parse("3.1.0-rc.1").unwrap()));
//! ```

mod constraint;

pub use constraint::{Constraint, ConstraintError, Operator, rewrite_hyphen_ranges};

use std::cmp::Ordering;
use std::fmt;

/// Why a string is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The text does not have the shape `[v]MAJOR[.MINOR[.PATCH]][-PRE][+BUILD]`.
    #[error("{0:?} is not a semantic version")]
    Invalid(String),
    /// A number does not fit in 64 bits.
    #[error("{0:?} has a version number too large for 64 bits")]
    Overflow(String),
    /// A numeric prerelease identifier has a leading zero (`1.0.0-rc.01`).
    #[error("{0:?} has a numeric prerelease identifier with a leading zero")]
    LeadingZero(String),
    /// Fewer than three dot-separated parts: Flux skips such tags.
    #[error("{0:?} has fewer than three dot-separated parts")]
    TooFewParts(String),
}

/// A version read with Masterminds' loose rules, keeping the original text.
///
/// Ordering follows SemVer precedence: build metadata is ignored, a
/// prerelease sorts before its release.
#[derive(Debug, Clone)]
pub struct Version {
    inner: semver::Version,
    original: String,
}

impl Version {
    /// Parses like Masterminds' `NewVersion` with coercion on: an optional
    /// `v`, missing minor/patch read as 0, leading zeros in the three numbers
    /// accepted (`v2025.07.03` is 2025.7.3).
    ///
    /// ```
    /// use fleet_imagepolicy::semver::Version;
    /// assert_eq!(Version::parse("v1.2-beta.5").unwrap().to_string(), "1.2.0-beta.5");
    /// assert!(Version::parse("1.2.beta").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Version, VersionError> {
        let invalid = || VersionError::Invalid(text.to_string());
        let body = text.strip_prefix('v').unwrap_or(text);
        let bytes = body.as_bytes();
        let mut pos = 0;
        let mut numbers = [0u64; 3];
        for (index, slot) in numbers.iter_mut().enumerate() {
            if index > 0 {
                if bytes.get(pos) != Some(&b'.')
                    || !bytes.get(pos + 1).is_some_and(u8::is_ascii_digit)
                {
                    break;
                }
                pos += 1;
            }
            let start = pos;
            while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
                pos += 1;
            }
            if start == pos {
                return Err(invalid());
            }
            *slot = body[start..pos]
                .parse()
                .map_err(|_| VersionError::Overflow(text.to_string()))?;
        }
        let mut pre = "";
        let mut build = "";
        if bytes.get(pos) == Some(&b'-') {
            let end = identifiers_end(body, pos + 1).ok_or_else(invalid)?;
            pre = &body[pos + 1..end];
            pos = end;
        }
        if bytes.get(pos) == Some(&b'+') {
            let end = identifiers_end(body, pos + 1).ok_or_else(invalid)?;
            build = &body[pos + 1..end];
            pos = end;
        }
        if pos != body.len() {
            return Err(invalid());
        }
        let pre = if pre.is_empty() {
            semver::Prerelease::EMPTY
        } else {
            semver::Prerelease::new(pre).map_err(|_| VersionError::LeadingZero(text.to_string()))?
        };
        let build = if build.is_empty() {
            semver::BuildMetadata::EMPTY
        } else {
            semver::BuildMetadata::new(build).map_err(|_| invalid())?
        };
        let [major, minor, patch] = numbers;
        Ok(Version {
            inner: semver::Version {
                major,
                minor,
                patch,
                pre,
                build,
            },
            original: text.to_string(),
        })
    }

    /// Parses an image tag as Flux's SemVer policy does (fluxcd/pkg
    /// `version.ParseVersion`): the tag must split into at least three parts
    /// on `.`, then it is read with [`Version::parse`]. So `1.2` and `v2.0`
    /// are not versions here, while `1.2-beta.1` is.
    pub fn parse_tag(tag: &str) -> Result<Version, VersionError> {
        if tag.split('.').count() < 3 {
            return Err(VersionError::TooFewParts(tag.to_string()));
        }
        Version::parse(tag)
    }

    /// Strict SemVer 2.0 (no `v`, all three numbers, no leading zeros): the
    /// `semver` crate's own parser.
    pub fn parse_strict(text: &str) -> Result<Version, VersionError> {
        let inner =
            semver::Version::parse(text).map_err(|_| VersionError::Invalid(text.to_string()))?;
        Ok(Version {
            inner,
            original: text.to_string(),
        })
    }

    /// The text the version was read from (`v` prefix and leading zeros kept).
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The version as a [`semver::Version`].
    pub fn as_semver(&self) -> &semver::Version {
        &self.inner
    }

    /// The major number.
    pub fn major(&self) -> u64 {
        self.inner.major
    }

    /// The minor number.
    pub fn minor(&self) -> u64 {
        self.inner.minor
    }

    /// The patch number.
    pub fn patch(&self) -> u64 {
        self.inner.patch
    }

    /// The prerelease, `""` when there is none.
    pub fn prerelease(&self) -> &str {
        self.inner.pre.as_str()
    }

    /// Whether the version has a prerelease part.
    pub fn is_prerelease(&self) -> bool {
        !self.inner.pre.is_empty()
    }

    /// SemVer precedence (build metadata ignored).
    pub fn precedence(&self, other: &Version) -> Ordering {
        self.inner.cmp_precedence(&other.inner)
    }
}

/// Where a dot-separated list of `[0-9A-Za-z-]+` identifiers starting at
/// `start` ends, or `None` when it is empty or has an empty identifier.
fn identifiers_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut pos = start;
    loop {
        let from = pos;
        while bytes
            .get(pos)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-')
        {
            pos += 1;
        }
        if pos == from {
            return None;
        }
        if bytes.get(pos) == Some(&b'.') {
            pos += 1;
        } else {
            return Some(pos);
        }
    }
}

impl fmt::Display for Version {
    /// The normalised form, `MAJOR.MINOR.PATCH[-PRE][+BUILD]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.precedence(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.precedence(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_parsing_pads_and_coerces() {
        let n = |s: &str| Version::parse(s).map(|v| v.to_string());
        assert_eq!(n("v1"), Ok("1.0.0".into()));
        assert_eq!(n("01.02.003"), Ok("1.2.3".into()));
        assert_eq!(n("1.2+bar"), Ok("1.2.0+bar".into()));
        assert!(n("1.2.3-01").is_err());
        assert!(n("1.2.3.4").is_err());
        assert!(n("18446744073709551616.0.0").is_err());
    }

    #[test]
    fn tags_need_three_parts() {
        assert!(Version::parse_tag("1.2").is_err());
        assert!(Version::parse_tag("1.2-beta.1").is_ok());
    }
}
