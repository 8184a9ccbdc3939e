//! One module per subcommand.

pub mod apply;
pub mod build;
pub mod build_kustomization;
pub mod cluster;
pub mod cluster_status;
pub mod diff;
pub mod envsubst;
pub mod image;
pub mod image_automate;
pub mod ks_target;
pub mod objects;
pub mod plan;
pub mod source;
pub mod validate;

/// `-o text|json` of the commands that print reports.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Lines for people.
    Text,
    /// JSON for tools.
    Json,
}
