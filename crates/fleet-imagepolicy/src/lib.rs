//! # fleet-imagepolicy
//!
//! Image automation as Flux's image controllers do it: ImagePolicy
//! evaluation ([`policy::Policy::select`]: Masterminds SemVer ranges,
//! alphabetical, numerical, tag filters), setter rewrites that change only
//! the scalars marked `# {"$imagepolicy": "NAMESPACE:NAME"}`
//! ([`setters::update_tree`]), and registry tag scanning over the OCI
//! distribution API ([`registry`], behind the default `registry-client`
//! feature; without it the crate has no HTTP stack and no async runtime).
//!
//! ```
//! use fleet_imagepolicy::policy::Policy;
//! let tags = ["1.9.0", "1.10.2", "1.11.0-rc.1", "2.0.0", "latest"];
//! let policy = Policy::semver(">=1.0.0 <2.0.0").unwrap();
//! assert_eq!(policy.select(&tags).unwrap(), "1.10.2");
//! let policy = Policy::semver("1.x").unwrap().with_filter(r"^1\.(?P<minor>\d+)\.\d+$", "1.$minor.0").unwrap();
//! assert_eq!(policy.select(&tags).unwrap(), "1.10.2");
//! ```
//!
//! Image references are read the way container tooling reads them:
//! registry host (with port), repository path, tag and digest.
//!
//! ```
//! use fleet_imagepolicy::reference::ImageReference;
//! let r = ImageReference::parse("localhost:5000/team/app:1.2.3@sha256:abc").unwrap();
//! assert_eq!(r.name(), "localhost:5000/team/app");
//! assert_eq!(r.tag.as_deref(), Some("1.2.3"));
//! assert_eq!(ImageReference::parse("nginx").unwrap().canonical_name(), "docker.io/library/nginx");
//! ```

pub mod commit_message;
pub mod gofloat;
pub mod gotemplate;
pub mod policy;
pub mod reference;
pub mod registry;
pub mod semver;
pub mod setters;
pub mod template;
