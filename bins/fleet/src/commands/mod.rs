//! One module per subcommand.

pub mod objects;
