//! The engine's errors: each names the file (and line where known) and what to fix.

use fleet_model::yaml::YamlError;

/// A build failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Broken YAML.
    #[error("{file}:{}:{}: invalid YAML: {}", .error.line, .error.column, .error.message)]
    Yaml {
        /// The file.
        file: String,
        /// The parser's error.
        error: YamlError,
    },
    /// A kustomization file that does not fit kustomize's schema.
    #[error("{file}: invalid kustomization: {message}")]
    Kustomization {
        /// The kustomization file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A relative directory given to a file system that cannot resolve it
    /// (an in-memory tree has no current directory).
    #[error(
        "'{0}' is a relative path and this file system has no current directory; give the kustomization directory as an absolute path"
    )]
    RelativeDir(String),
    /// No kustomization file in a directory that must have one.
    #[error(
        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{0}'"
    )]
    MissingKustomization(String),
    /// More than one kustomization file.
    #[error("Found multiple kustomization files under: {0}")]
    MultipleKustomizations(String),
    /// A file that cannot be read.
    #[error("{path}: {message}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        message: String,
    },
    /// A path outside the kustomization root under the default load restrictions.
    #[error(
        "security; file '{path}' is not in or below '{root}'; move it under the kustomization root or build with --load-restrictor LoadRestrictionsNone"
    )]
    OutsideRoot {
        /// The refused path.
        path: String,
        /// The root it must be under.
        root: String,
    },
    /// A kustomization that includes itself.
    #[error("cycle detected: '{0}' includes itself (through {1})")]
    Cycle(String, String),
    /// A document that is not a usable Kubernetes object.
    #[error("{file}:{line}: {message}")]
    BadResource {
        /// The file.
        file: String,
        /// The document's first line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Two resources with the same id.
    #[error("may not add resource with an already registered id: {0}")]
    DuplicateId(String),
    /// Anything else, with its context.
    #[error("{0}")]
    Other(String),
}

/// The engine's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with a message.
    pub fn msg(m: impl Into<String>) -> Error {
        Error::Other(m.into())
    }
}
