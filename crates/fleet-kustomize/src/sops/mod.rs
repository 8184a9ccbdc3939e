//! SOPS decryption as kustomize-controller performs it for a Kustomization
//! with `spec.decryption.provider: sops`: YAML, JSON, dotenv and binary
//! files; data keys recovered with age identities or OpenPGP secret keys
//! ([`KeyRing`]); every value decrypted (AES-256-GCM, authenticated with its
//! path) following `unencrypted_suffix`, `encrypted_suffix`,
//! `unencrypted_regex`, `encrypted_regex` and `mac_only_encrypted`; and the
//! MAC verified.
//!
//! Decryption is all or nothing: a wrong key, a value moved or changed, or
//! a MAC that does not match yields an error and no plaintext at all.
//!
//! ```
//! use fleet_kustomize::sops::{Format, SopsError, decrypt_file, KeyRing, MacCheck};
//! // A file without SOPS metadata is not something to decrypt.
//! let err = decrypt_file(b"a: 1\n", Format::Yaml, Format::Yaml, &KeyRing::default(), MacCheck::Verify);
//! assert_eq!(err.err(), Some(SopsError::NotEncrypted));
//! ```

mod keys;
mod stores;
mod tree;

/// The SOPS file writer of the integration tests, for unit tests too.
#[cfg(test)]
#[path = "../../tests/support/sops_writer.rs"]
mod sops_writer;

use fleet_model::Value;

pub use keys::KeyRing;
pub use stores::{Format, decrypt_file, decrypt_tree, emit, load};
pub use tree::{
    KeyStanza, MacCheck, SopsMetadata, decrypt_branches, decrypt_document, decrypt_value,
};

/// Why a SOPS file could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SopsError {
    /// No SOPS metadata.
    #[error("sops metadata not found: the document has no top-level `sops` mapping")]
    NotEncrypted,
    /// A metadata field of the wrong shape.
    #[error("invalid sops metadata: {0}")]
    BadMetadata(String),
    /// The file is not valid in its format.
    #[error("cannot read the encrypted file: {0}")]
    BadFormat(String),
    /// A private key that cannot be read.
    #[error("cannot import decryption key: {0}")]
    BadKey(String),
    /// None of the given keys opens any of the file's key stanzas.
    #[error(
        "no decryption key matches: the file is encrypted for [{}]{}; add the matching age identity (*.agekey) or PGP key (*.asc) to the decryption Secret",
        recipients.join(", "),
        if tried.is_empty() { String::new() } else { format!(" (tried: {})", tried.join("; ")) }
    )]
    NoMatchingKey {
        /// The file's recipients (`age age1…`, `PGP FINGERPRINT`).
        recipients: Vec<String>,
        /// What each attempt said.
        tried: Vec<String>,
    },
    /// A value that is not a well-formed `ENC[…]` string.
    #[error("{path}: malformed encrypted value: {reason}")]
    Malformed {
        /// The value's path (`a:b:`).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Authentication failed: wrong data key, or the value or its path was
    /// changed.
    #[error("{path}: could not decrypt value (wrong key, or the file was tampered with)")]
    Decrypt {
        /// The value's path (`a:b:`).
        path: String,
    },
    /// The document has no MAC and MAC checking is on.
    #[error("the document has no MAC; re-encrypt it with sops")]
    NoMac,
    /// The computed MAC differs from the stored one.
    #[error(
        "failed to verify sops data integrity: expected mac '{expected}', got '{got}'; the file was changed after encryption"
    )]
    MacMismatch {
        /// The stored MAC.
        expected: String,
        /// The MAC of the decrypted values.
        got: String,
    },
    /// A feature this reader does not handle.
    #[error("unsupported sops file: {0}")]
    Unsupported(String),
}

/// Whether a document carries SOPS metadata.
pub fn is_encrypted(doc: &Value) -> bool {
    doc.get("sops").and_then(|s| s.get("mac")).is_some()
}
