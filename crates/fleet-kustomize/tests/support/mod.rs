//! Shared test support.

pub mod sops_writer;
