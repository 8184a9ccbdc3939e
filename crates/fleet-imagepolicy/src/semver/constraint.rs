//! Masterminds constraint ranges: `>=1.2.3 <2.0.0 || ~3.1`, `1.x`, `^0.2`,
//! `1.0 - 2.3`. The grammar is the library's own, expressed with the same
//! RE2 regular expressions (the `regex` crate has RE2's leftmost-first
//! semantics), so that odd inputs are accepted or refused exactly as Flux
//! accepts or refuses them.

use super::Version;
use regex::Regex;
use std::fmt;
use std::sync::LazyLock;

/// Go's `\s` (ASCII white space only).
const SPACE: &str = r"[\t\n\f\r ]";
/// The operators; the empty alternative makes a bare version a term.
const OPERATORS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";
/// A version in a constraint: wildcards allowed in the three numbers.
const CONSTRAINT_VERSION: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";

fn compile(pattern: String) -> Regex {
    // The patterns are constants of this module; a failure is a bug caught
    // by every test that parses a range.
    #[allow(clippy::expect_used)]
    Regex::new(&pattern.replace(r"\s", SPACE)).expect("constraint grammar compiles")
}

static TERM: LazyLock<Regex> =
    LazyLock::new(|| compile(format!(r"^\s*({OPERATORS})\s*({CONSTRAINT_VERSION})\s*$")));
static HYPHEN_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    compile(format!(
        r"\s*({CONSTRAINT_VERSION})\s+-\s+({CONSTRAINT_VERSION})\s*"
    ))
});
static FIND_TERM: LazyLock<Regex> =
    LazyLock::new(|| compile(format!(r"({OPERATORS})\s*({CONSTRAINT_VERSION})")));
static VALID_GROUP: LazyLock<Regex> = LazyLock::new(|| {
    compile(format!(
        r"^(\s*({OPERATORS})\s*({CONSTRAINT_VERSION})\s*)((?:\s+|,\s*)({OPERATORS})\s*({CONSTRAINT_VERSION})\s*)*$"
    ))
});

/// Why a range was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    /// An `||` group does not follow the grammar.
    #[error(
        "invalid SemVer range {range:?}: {group:?} is not a list of [operator]version terms \
         (operators =, !=, >, <, >=, <=, ~, ~>, ^; versions like 1.2.3, 1.x, v2, 1.0.0-0)"
    )]
    Improper {
        /// The whole range.
        range: String,
        /// The failing `||` group.
        group: String,
    },
    /// A term's version is not a version (`1x`, `1.2.3-rc.01`).
    #[error("invalid SemVer range {range:?}: {term:?} does not name a version")]
    BadVersion {
        /// The whole range.
        range: String,
        /// The failing term.
        term: String,
    },
}

/// A comparison operator of one term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `=` or none: equal, or a tilde range when the version has wildcards.
    TildeOrEqual,
    /// `!=`.
    NotEqual,
    /// `>`.
    GreaterThan,
    /// `<`.
    LessThan,
    /// `>=` or `=>`.
    GreaterThanEqual,
    /// `<=` or `=<`.
    LessThanEqual,
    /// `~` or `~>`.
    Tilde,
    /// `^`.
    Caret,
}

impl Operator {
    fn from_text(op: &str) -> Operator {
        match op {
            "!=" => Operator::NotEqual,
            ">" => Operator::GreaterThan,
            "<" => Operator::LessThan,
            ">=" | "=>" => Operator::GreaterThanEqual,
            "<=" | "=<" => Operator::LessThanEqual,
            "~" | "~>" => Operator::Tilde,
            "^" => Operator::Caret,
            _ => Operator::TildeOrEqual,
        }
    }
}

/// One `[operator]version` term.
#[derive(Debug, Clone)]
struct Term {
    operator: Operator,
    operator_text: String,
    version_text: String,
    version: Version,
    /// The major number was a wildcard or missing: every part is open.
    dirty: bool,
    /// The minor number was a wildcard or missing (`1`, `1.x`).
    minor_dirty: bool,
    /// The patch number was a wildcard or missing (`1.2`, `1.2.x`).
    patch_dirty: bool,
}

/// A parsed range: `||`-separated groups of terms that must all hold.
#[derive(Debug, Clone)]
pub struct Constraint {
    text: String,
    groups: Vec<Group>,
    include_prerelease: bool,
}

#[derive(Debug, Clone)]
struct Group {
    terms: Vec<Term>,
    /// Some term names a prerelease, so prerelease versions may match.
    has_prerelease: bool,
}

fn is_wildcard(part: &str) -> bool {
    matches!(part, "x" | "X" | "*")
}

impl Term {
    fn parse(range: &str, text: &str) -> Result<Term, ConstraintError> {
        let bad = || ConstraintError::BadVersion {
            range: range.to_string(),
            term: text.trim().to_string(),
        };
        let caps = TERM.captures(text).ok_or_else(bad)?;
        let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
        let (op, whole, major, minor, patch, pre) =
            (group(1), group(2), group(3), group(4), group(5), group(6));
        let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
        let normalised = if is_wildcard(major) || major.is_empty() {
            dirty = true;
            format!("0.0.0{pre}")
        } else if minor.is_empty() || is_wildcard(&minor[1..]) {
            dirty = true;
            minor_dirty = true;
            format!("{major}.0.0{pre}")
        } else if patch.is_empty() || is_wildcard(&patch[1..]) {
            dirty = true;
            patch_dirty = true;
            format!("{major}{minor}.0{pre}")
        } else {
            whole.to_string()
        };
        let version = Version::parse(&normalised).map_err(|_| bad())?;
        Ok(Term {
            operator: Operator::from_text(op),
            operator_text: op.to_string(),
            version_text: whole.to_string(),
            version,
            dirty,
            minor_dirty,
            patch_dirty,
        })
    }

    /// Whether `v` satisfies this term; `allow_pre` says whether prerelease
    /// versions may match at all (decided for the whole group).
    fn matches(&self, v: &Version, allow_pre: bool) -> bool {
        if v.is_prerelease() && !allow_pre {
            return false;
        }
        let c = &self.version;
        match self.operator {
            Operator::NotEqual => {
                if self.dirty {
                    if c.major() != v.major() {
                        return true;
                    }
                    if c.minor() != v.minor() && !self.minor_dirty {
                        return true;
                    }
                    if self.minor_dirty {
                        return false;
                    }
                    if c.patch() != v.patch() && !self.patch_dirty {
                        return true;
                    }
                    if self.patch_dirty {
                        return v.prerelease() != c.prerelease();
                    }
                }
                v != c
            }
            Operator::GreaterThan => {
                if !self.dirty {
                    return v > c;
                }
                if v.major() != c.major() {
                    return v.major() > c.major();
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor() > c.minor();
                }
                v > c
            }
            Operator::LessThan => v < c,
            Operator::GreaterThanEqual => v >= c,
            Operator::LessThanEqual => {
                if !self.dirty {
                    return v <= c;
                }
                if v.major() > c.major() {
                    return false;
                }
                !(v.major() == c.major() && v.minor() > c.minor() && !self.minor_dirty)
            }
            Operator::Tilde => self.tilde(v),
            Operator::TildeOrEqual if self.dirty => self.tilde(v),
            Operator::TildeOrEqual => v == c,
            Operator::Caret => {
                let c = &self.version;
                if v < c {
                    return false;
                }
                if c.major() > 0 || self.minor_dirty {
                    return v.major() == c.major();
                }
                if v.major() > 0 {
                    return false;
                }
                if c.minor() > 0 || self.patch_dirty {
                    return v.minor() == c.minor();
                }
                if v.minor() > 0 {
                    return false;
                }
                v.patch() == c.patch()
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.version;
        if v < c {
            return false;
        }
        // `~0.0.0` (and `*`) accepts everything at or above it.
        if c.major() == 0
            && c.minor() == 0
            && c.patch() == 0
            && !self.minor_dirty
            && !self.patch_dirty
        {
            return true;
        }
        v.major() == c.major() && (v.minor() == c.minor() || self.minor_dirty)
    }
}

impl Constraint {
    /// Parses a range as Masterminds' `NewConstraint` does.
    ///
    /// ```
    /// use fleet_imagepolicy::semver::{Constraint, Version};
    /// let exact = Constraint::parse("1.2.3").unwrap();
    /// assert!(!exact.matches(&Version::parse("1.2.4").unwrap()));
    /// assert!(Constraint::parse("1.0.0p").is_err());
    /// ```
    pub fn parse(range: &str) -> Result<Constraint, ConstraintError> {
        let rewritten = rewrite_hyphen_ranges(range);
        let mut groups = Vec::new();
        for group in rewritten.split("||") {
            if !VALID_GROUP.is_match(group) {
                return Err(ConstraintError::Improper {
                    range: range.to_string(),
                    group: group.trim().to_string(),
                });
            }
            let mut terms = Vec::new();
            for found in FIND_TERM.find_iter(group) {
                terms.push(Term::parse(range, found.as_str())?);
            }
            if terms.is_empty() {
                terms.push(Term::parse(range, group)?);
            }
            let has_prerelease = terms.iter().any(|t| t.version.is_prerelease());
            groups.push(Group {
                terms,
                has_prerelease,
            });
        }
        Ok(Constraint {
            text: range.to_string(),
            groups,
            include_prerelease: false,
        })
    }

    /// Lets prerelease versions match any range whose bounds contain them
    /// (Masterminds' `IncludePrerelease`). Flux leaves this off.
    pub fn with_prereleases(mut self, include: bool) -> Constraint {
        self.include_prerelease = include;
        self
    }

    /// Whether `version` satisfies the range. A prerelease version matches
    /// a group only if some term of that group names a prerelease (`-0` is
    /// the usual floor), unless prereleases are included.
    pub fn matches(&self, version: &Version) -> bool {
        self.groups.iter().any(|group| {
            let allow_pre = self.include_prerelease || group.has_prerelease;
            group.terms.iter().all(|t| t.matches(version, allow_pre))
        })
    }

    /// The range as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The groups' shape: for each `||` group, its terms' operators and
    /// normalised versions (wildcards and missing parts as 0).
    pub fn terms(&self) -> Vec<Vec<(Operator, String)>> {
        self.groups
            .iter()
            .map(|g| {
                g.terms
                    .iter()
                    .map(|t| (t.operator, t.version.to_string()))
                    .collect()
            })
            .collect()
    }
}

impl fmt::Display for Constraint {
    /// The canonical form: terms as `OPversion`, separated by a space and
    /// groups by ` || ` (`2.x, >=1.2.3` is `2.x >=1.2.3`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.groups.iter().enumerate() {
            if i > 0 {
                f.write_str(" || ")?;
            }
            for (j, term) in group.terms.iter().enumerate() {
                if j > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{}{}", term.operator_text, term.version_text)?;
            }
        }
        Ok(())
    }
}

/// Rewrites each `A - B` into `>= A, <= B ` as the library does before
/// splitting (the replacement text is observable through error messages).
pub fn rewrite_hyphen_ranges(range: &str) -> String {
    let mut out = range.to_string();
    for caps in HYPHEN_RANGE.captures_iter(range) {
        let (Some(whole), Some(low), Some(high)) = (caps.get(0), caps.get(1), caps.get(11)) else {
            continue;
        };
        let replacement = format!(">= {}, <= {} ", low.as_str(), high.as_str());
        out = out.replacen(whole.as_str(), &replacement, 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(range: &str, version: &str) -> bool {
        let c = Constraint::parse(range).unwrap_or_else(|e| panic!("{e}"));
        c.matches(&Version::parse(version).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn exact_versions_are_exact_and_partials_are_tilde_ranges() {
        assert!(check("1.2.3", "1.2.3"));
        assert!(!check("1.2.3", "1.2.4"));
        assert!(check("1.2", "1.2.9"));
        assert!(!check("1.2", "1.3.0"));
        assert!(check("1.1 - 2", "2.5.0"));
        assert!(check("^0.2.3", "0.2.9"));
        assert!(!check("^0.0.3", "0.0.4"));
    }

    #[test]
    fn prereleases_need_a_prerelease_term_in_their_group() {
        assert!(!check(">=1.0.0", "1.1.0-rc.1"));
        assert!(check(">=1.0.0-0 <2.0.0", "1.1.0-rc.1"));
        assert!(!check(">=3.0.0-0 || >=1.0.0", "2.1.0-rc.1"));
    }

    #[test]
    fn hyphen_ranges_are_rewritten_as_upstream_does() {
        assert_eq!(
            rewrite_hyphen_ranges("2 - 3 4.0.0 - 5.1"),
            ">= 2, <= 3 >= 4.0.0, <= 5.1 "
        );
    }
}
