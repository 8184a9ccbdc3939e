//! Shared test support.

pub mod sops_writer;

/// The error's message, or nothing when the result is `Ok`.
pub fn err_text<T, E: std::fmt::Display>(result: &Result<T, E>) -> String {
    result
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default()
}
