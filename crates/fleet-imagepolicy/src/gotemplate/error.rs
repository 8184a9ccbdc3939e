//! The error type; its `Display` is exactly Go's error string.

/// A parse or execution error, displayed exactly as Go's `text/template` error string.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Returned by [`crate::gotemplate::Template::parse`], e.g.
    /// `template: commit message:1: function "nosuch" not defined`.
    #[error("{message}")]
    Parse {
        /// The full Go error string.
        message: String,
    },
    /// Returned by [`crate::gotemplate::Template::execute`], e.g. `template: commit message:1:3:
    /// executing "commit message" at <.Updated>: can't evaluate field Updated in type
    /// source.TemplateData`.
    #[error("{message}")]
    Exec {
        /// The full Go error string.
        message: String,
    },
}
