//! One module per subcommand.

pub mod build;
pub mod build_kustomization;
pub mod cluster;
pub mod envsubst;
pub mod image;
pub mod objects;
pub mod validate;
