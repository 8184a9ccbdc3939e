//! ImagePolicy evaluation: which tag a policy picks from a list, exactly as
//! image-reflector-controller picks it.
//!
//! ```
//! use fleet_imagepolicy::policy::{Policy, SortOrder};
//! let tags = ["1.0.0", "1.1.0-rc.1", "1.0.1", "v2.0.0", "latest"];
//! assert_eq!(Policy::semver("1.x").unwrap().select(&tags).unwrap(), "1.0.1");
//! assert_eq!(Policy::alphabetical(SortOrder::Asc).select(&tags).unwrap(), "v2.0.0");
//! let builds = ["main-abc-100", "main-def-99", "pr-1-200"];
//! let newest = Policy::numerical(SortOrder::Asc).with_filter("^main-[a-z]+-(?P<ts>[0-9]+)$", "$ts").unwrap();
//! assert_eq!(newest.select(&builds).unwrap(), "main-abc-100");
//! ```

use crate::gofloat;
use crate::semver::{Constraint, ConstraintError, Version};
use crate::template;
use fleet_model::flux::image::{ImagePolicyChoice, ImagePolicySpec};
use indexmap::IndexMap;
use regex::Regex;

pub use fleet_model::flux::image::SortOrder;

/// Why a policy could not be built from its spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// None of `semver`, `alphabetical`, `numerical` is set.
    #[error(
        "the ImagePolicy sets no policy: set one of spec.policy.semver, .alphabetical or .numerical"
    )]
    NoPolicy,
    /// The SemVer range does not parse.
    #[error(transparent)]
    Range(#[from] ConstraintError),
    /// `filterTags.pattern` is not a regular expression.
    #[error("invalid filterTags.pattern {pattern:?}: {reason}")]
    FilterPattern {
        /// The pattern.
        pattern: String,
        /// The regular expression engine's explanation.
        reason: String,
    },
    /// An order other than `asc`/`desc`.
    #[error("invalid order {0:?}: use asc or desc")]
    Order(String),
}

/// Why no tag was chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// The list (after filtering) is empty.
    #[error("no tags to choose from{}", if *.filtered { " after applying filterTags" } else { "" })]
    EmptyTagList {
        /// Whether a tag filter removed every tag.
        filtered: bool,
    },
    /// No tag is a version inside the range.
    #[error("no tag is a version within the range {range:?} ({count} tags considered)")]
    NoMatchingVersion {
        /// The range.
        range: String,
        /// How many tags were looked at.
        count: usize,
    },
    /// A tag is not a number under a numerical policy.
    #[error(
        "tag {0:?} is not a number; a numerical policy needs every tag (after filterTags) to be one"
    )]
    InvalidNumericTag(String),
}

/// The ordering rule of a policy.
#[derive(Debug, Clone)]
pub enum Rule {
    /// The highest version within a range.
    SemVer(Constraint),
    /// Byte-wise string order; `asc` picks the greatest.
    Alphabetical(SortOrder),
    /// Order as 64-bit floats; `asc` picks the greatest.
    Numerical(SortOrder),
}

/// `filterTags`: keep tags the pattern matches, optionally order an
/// extracted value instead of the tag.
#[derive(Debug, Clone)]
pub struct TagFilter {
    pattern: Regex,
    extract: String,
}

impl TagFilter {
    /// Compiles a filter. The pattern is unanchored, as in Flux.
    pub fn new(pattern: &str, extract: &str) -> Result<TagFilter, PolicyError> {
        let regex = Regex::new(pattern).map_err(|e| PolicyError::FilterPattern {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        Ok(TagFilter {
            pattern: regex,
            extract: extract.to_string(),
        })
    }

    /// The kept values mapped to their original tags, in order of first
    /// appearance; when two tags give the same value, the later tag wins.
    pub fn apply<'a>(&self, tags: &'a [impl AsRef<str>]) -> IndexMap<String, &'a str> {
        let mut kept = IndexMap::new();
        for tag in tags {
            let tag = tag.as_ref();
            if self.extract.is_empty() {
                if self.pattern.is_match(tag) {
                    kept.insert(tag.to_string(), tag);
                }
            } else if let Some(caps) = self.pattern.captures(tag) {
                kept.insert(template::expand(&self.pattern, &caps, &self.extract), tag);
            }
        }
        kept
    }
}

/// A policy ready to evaluate.
#[derive(Debug, Clone)]
pub struct Policy {
    rule: Rule,
    filter: Option<TagFilter>,
}

impl Policy {
    /// A SemVer policy (Masterminds range syntax).
    pub fn semver(range: &str) -> Result<Policy, PolicyError> {
        Ok(Policy {
            rule: Rule::SemVer(Constraint::parse(range)?),
            filter: None,
        })
    }

    /// An alphabetical policy.
    pub fn alphabetical(order: SortOrder) -> Policy {
        Policy {
            rule: Rule::Alphabetical(order),
            filter: None,
        }
    }

    /// A numerical policy.
    pub fn numerical(order: SortOrder) -> Policy {
        Policy {
            rule: Rule::Numerical(order),
            filter: None,
        }
    }

    /// Adds `filterTags`.
    pub fn with_filter(mut self, pattern: &str, extract: &str) -> Result<Policy, PolicyError> {
        self.filter = Some(TagFilter::new(pattern, extract)?);
        Ok(self)
    }

    /// Builds the policy of an ImagePolicy spec. Like Flux, when several
    /// kinds are set the first of semver, alphabetical, numerical is used.
    pub fn from_spec(spec: &ImagePolicySpec) -> Result<Policy, PolicyError> {
        let policy = Policy::from_choice(&spec.policy)?;
        match &spec.filter_tags {
            Some(f) => policy.with_filter(&f.pattern, &f.extract),
            None => Ok(policy),
        }
    }

    /// Builds the rule of `spec.policy`.
    pub fn from_choice(choice: &ImagePolicyChoice) -> Result<Policy, PolicyError> {
        if let Some(s) = &choice.semver {
            Policy::semver(&s.range)
        } else if let Some(a) = &choice.alphabetical {
            Ok(Policy::alphabetical(a.order.unwrap_or_default()))
        } else if let Some(n) = &choice.numerical {
            Ok(Policy::numerical(n.order.unwrap_or_default()))
        } else {
            Err(PolicyError::NoPolicy)
        }
    }

    /// The rule.
    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    /// Picks a tag; the result is always one of `tags`, as written.
    pub fn select<'a>(&self, tags: &'a [impl AsRef<str>]) -> Result<&'a str, SelectError> {
        match &self.filter {
            None => {
                let values: Vec<&str> = tags.iter().map(AsRef::as_ref).collect();
                let index = self.rule.pick(&values, false)?;
                Ok(tags[index].as_ref())
            }
            Some(filter) => {
                let kept = filter.apply(tags);
                let values: Vec<&str> = kept.keys().map(String::as_str).collect();
                let index = self.rule.pick(&values, true)?;
                Ok(kept[index])
            }
        }
    }
}

impl Rule {
    /// The index of the chosen value.
    fn pick(&self, values: &[&str], filtered: bool) -> Result<usize, SelectError> {
        if values.is_empty() {
            return Err(SelectError::EmptyTagList { filtered });
        }
        match self {
            Rule::SemVer(range) => {
                let mut best: Option<(usize, Version)> = None;
                for (i, value) in values.iter().enumerate() {
                    let Ok(version) = Version::parse_tag(value) else {
                        continue;
                    };
                    // Strictly greater: the first of equal versions stays.
                    if range.matches(&version) && best.as_ref().is_none_or(|(_, b)| version > *b) {
                        best = Some((i, version));
                    }
                }
                best.map(|(i, _)| i)
                    .ok_or_else(|| SelectError::NoMatchingVersion {
                        range: range.as_str().to_string(),
                        count: values.len(),
                    })
            }
            Rule::Alphabetical(order) => {
                // Flux sorts and takes the first; equal strings are
                // indistinguishable, so a linear scan gives the same tag.
                let mut best = 0;
                for (i, value) in values.iter().enumerate().skip(1) {
                    let better = match order {
                        SortOrder::Asc => *value > values[best],
                        SortOrder::Desc => *value < values[best],
                    };
                    if better {
                        best = i;
                    }
                }
                Ok(best)
            }
            Rule::Numerical(order) => {
                let mut best = 0;
                let mut best_value = 0f64;
                for (i, value) in values.iter().enumerate() {
                    let number = gofloat::parse(value)
                        .ok_or_else(|| SelectError::InvalidNumericTag(value.to_string()))?;
                    // As upstream: a value is skipped only when strictly
                    // worse, so the later of equals wins (and NaN, which
                    // compares false, always replaces).
                    let worse = match order {
                        SortOrder::Asc => number < best_value,
                        SortOrder::Desc => number > best_value,
                    };
                    if i == 0 || !worse {
                        best = i;
                        best_value = number;
                    }
                }
                Ok(best)
            }
        }
    }
}
