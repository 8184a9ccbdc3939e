//! One module per subcommand.

pub mod build;
pub mod envsubst;
pub mod objects;
