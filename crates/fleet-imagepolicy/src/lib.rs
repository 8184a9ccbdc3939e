//! # fleet-imagepolicy
//!
//! Image automation as Flux's image controllers do it: registry tag scanning
//! over the OCI distribution API, ImagePolicy evaluation (Masterminds SemVer
//! ranges, alphabetical, numerical, tag filters), and setter rewrites that
//! change only the scalars marked `# {"$imagepolicy": "NAMESPACE:NAME"}`.
//!
//! Depends on `fleet-model` for the Flux image types.
//!
//! The first piece is reading image references the way container tooling
//! does: registry host (with port), repository path, tag and digest.
//!
//! ```
//! use fleet_imagepolicy::reference::ImageReference;
//! let r = ImageReference::parse("localhost:5000/team/app:1.2.3@sha256:abc").unwrap();
//! assert_eq!(r.name(), "localhost:5000/team/app");
//! assert_eq!(r.tag.as_deref(), Some("1.2.3"));
//! assert_eq!(ImageReference::parse("nginx").unwrap().canonical_name(), "docker.io/library/nginx");
//! ```

pub mod gofloat;
pub mod policy;
pub mod reference;
pub mod registry;
pub mod semver;
pub mod setters;
pub mod template;
