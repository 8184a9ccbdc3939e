//! SOPS decryption in a Flux build (`spec.decryption.provider: sops`).
//!
//! kustomize-controller decrypts in two places: secretGenerator sources and
//! patch files before the build (rewriting them in the checkout), and
//! whole encrypted objects and Secret `data` entries after it. Fleet
//! decrypts every encrypted file as the build reads it
//! ([`DecryptingFs`]), and Secret `data` entries after the build
//! ([`decrypt_secret_data`]). Reading at file level has two gains: the MAC
//! is computed over the file exactly as it was encrypted, so it is always
//! verified (the controller must skip that check, because kustomize has
//! already changed the objects it decrypts), and a multi-document file is
//! decrypted as the one SOPS tree it is.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use fleet_model::Value;
use fleet_model::yaml::parse_documents;

use crate::fs::FileSystem;
use crate::resource::describe_object;
use crate::sops::{self, Format, KeyRing, MacCheck, SopsError};

/// The annotation that leaves an object encrypted.
pub const DECRYPT_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/decrypt";

/// The largest encrypted file decrypted, as kustomize-controller limits it.
pub const MAX_ENCRYPTED_FILE_SIZE: usize = 5 << 20;

/// Why a file or object could not be decrypted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DecryptError {
    /// An encrypted file met without keys.
    #[error(
        "{file}: SOPS-encrypted, but no decryption keys were given ({}); provide them to the build",
        match secret {
            Some(s) => format!("spec.decryption.secretRef names Secret '{s}'"),
            None => "spec.decryption has no secretRef".to_string(),
        }
    )]
    MissingKeys {
        /// The file.
        file: String,
        /// `namespace/name` of the decryption Secret, when the Kustomization
        /// names one.
        secret: Option<String>,
    },
    /// A file that did not decrypt.
    #[error("{file}: SOPS decryption failed: {error}")]
    File {
        /// The file.
        file: String,
        /// Why.
        error: SopsError,
    },
    /// An encrypted file above the size limit.
    #[error(
        "{file}: cannot decrypt a file of {size} bytes (the limit is {MAX_ENCRYPTED_FILE_SIZE})"
    )]
    TooLarge {
        /// The file.
        file: String,
        /// Its size.
        size: usize,
    },
    /// A Secret `data` entry that did not decrypt.
    #[error("failed to decrypt and format {object} Secret field '{key}': {error}")]
    SecretField {
        /// The Secret.
        object: String,
        /// The `data` key.
        key: String,
        /// Why.
        error: SopsError,
    },
}

/// Whether an object carries `kustomize.toolkit.fluxcd.io/decrypt: disabled`.
pub fn is_decryption_disabled(obj: &Value) -> bool {
    obj.pointer(&["metadata", "annotations", DECRYPT_ANNOTATION])
        .and_then(Value::as_str)
        .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
}

/// A tree whose SOPS-encrypted files read as their plaintext.
///
/// A file is encrypted when it carries its format's marker (the format
/// from the extension; files with other extensions are recognised by their
/// dotenv or binary marker). YAML and JSON documents annotated
/// `kustomize.toolkit.fluxcd.io/decrypt: disabled` stay encrypted. The
/// first failure is kept for [`DecryptingFs::take_error`]; the read itself
/// fails, so the build stops.
pub struct DecryptingFs<'a> {
    inner: &'a dyn FileSystem,
    keys: Option<&'a KeyRing>,
    secret: Option<String>,
    plaintext: Mutex<HashMap<String, Vec<u8>>>,
    error: Mutex<Option<DecryptError>>,
}

impl<'a> DecryptingFs<'a> {
    /// `inner`, decrypted with `keys`; `secret` (`namespace/name`) names
    /// the decryption Secret in errors when no keys were given.
    pub fn new(
        inner: &'a dyn FileSystem,
        keys: Option<&'a KeyRing>,
        secret: Option<String>,
    ) -> Self {
        DecryptingFs {
            inner,
            keys,
            secret,
            plaintext: Mutex::new(HashMap::new()),
            error: Mutex::new(None),
        }
    }

    /// The first decryption failure, if any.
    pub fn take_error(&self) -> Option<DecryptError> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }

    fn decrypt(&self, path: &str, data: Vec<u8>) -> Result<Vec<u8>, DecryptError> {
        let by_name = Format::for_path(path);
        let (input, output) = match by_name {
            Format::Binary => match Format::detect(&data) {
                Some(Format::Json) | None => (Format::Binary, Format::Binary),
                Some(found) => (found, found),
            },
            f => (f, f),
        };
        if !input.is_encrypted(&data) {
            return Ok(data);
        }
        if data.len() > MAX_ENCRYPTED_FILE_SIZE {
            return Err(DecryptError::TooLarge {
                file: path.to_string(),
                size: data.len(),
            });
        }
        let fail = |error| DecryptError::File {
            file: path.to_string(),
            error,
        };
        let (mut branches, meta) = match sops::load(&data, input) {
            Ok(loaded) => loaded,
            // The marker's text without SOPS metadata (say, documentation
            // quoting it) is not an encrypted file.
            Err(SopsError::NotEncrypted) => return Ok(data),
            Err(e) => return Err(fail(e)),
        };
        let disabled: Vec<bool> = branches
            .iter()
            .map(|d| matches!(input, Format::Yaml | Format::Json) && is_decryption_disabled(d))
            .collect();
        if disabled.iter().all(|d| *d) {
            return Ok(data);
        }
        let Some(keys) = self.keys else {
            return Err(DecryptError::MissingKeys {
                file: path.to_string(),
                secret: self.secret.clone(),
            });
        };
        // Every document is decrypted, opted-out ones too: the MAC covers
        // the whole file.
        let key = keys.data_key(&meta).map_err(fail)?;
        sops::decrypt_branches(&mut branches, &meta, &key, MacCheck::Verify).map_err(fail)?;
        if disabled.contains(&true) {
            // Opted-out documents go on exactly as written, metadata and all.
            let text = String::from_utf8_lossy(&data);
            let originals =
                parse_documents(&text).map_err(|e| fail(SopsError::BadFormat(e.to_string())))?;
            for ((branch, original), keep) in branches.iter_mut().zip(originals).zip(&disabled) {
                if *keep {
                    *branch = original.value;
                }
            }
        }
        sops::emit(&branches, output).map_err(fail)
    }
}

impl FileSystem for DecryptingFs<'_> {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        if let Some(hit) = self
            .plaintext
            .lock()
            .ok()
            .and_then(|c| c.get(path).cloned())
        {
            return Ok(hit);
        }
        let data = self.inner.read(path)?;
        match self.decrypt(path, data) {
            Ok(plain) => {
                if let Ok(mut cache) = self.plaintext.lock() {
                    cache.insert(path.to_string(), plain.clone());
                }
                Ok(plain)
            }
            Err(e) => {
                let message = e.to_string();
                if let Ok(mut slot) = self.error.lock()
                    && slot.is_none()
                {
                    *slot = Some(e);
                }
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    message,
                ))
            }
        }
    }
    fn is_dir(&self, path: &str) -> bool {
        self.inner.is_dir(path)
    }
    fn is_file(&self, path: &str) -> bool {
        self.inner.is_file(path)
    }
    fn list_dir(&self, path: &str) -> std::io::Result<Vec<String>> {
        self.inner.list_dir(path)
    }
    fn real_path(&self, path: &str) -> std::io::Result<String> {
        self.inner.real_path(path)
    }
}

/// Decrypts the `data` entries of a Secret that hold whole SOPS files (as
/// a secretGenerator makes from an encrypted file the build did not read
/// through [`DecryptingFs`]): each entry whose bytes carry a SOPS marker is
/// decrypted and written in the format its key's extension names, as
/// kustomize-controller does. Values that are not base64 are left for the
/// apply to report. Nothing changes unless every entry decrypts.
pub fn decrypt_secret_data(obj: &mut Value, keys: Option<&KeyRing>) -> Result<(), DecryptError> {
    if obj.get("kind").and_then(Value::as_str) != Some("Secret") || is_decryption_disabled(obj) {
        return Ok(());
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let object = describe_object(obj);
    let mut updates = Vec::new();
    if let Some(Value::Mapping(data)) = obj.get("data") {
        for (key, value) in data {
            let Some(raw) = value.as_str().and_then(|s| b64.decode(s.trim()).ok()) else {
                continue;
            };
            let Some(input) = Format::detect(&raw) else {
                continue;
            };
            let fail = |error| DecryptError::SecretField {
                object: object.clone(),
                key: key.clone(),
                error,
            };
            let Some(keys) = keys else {
                if matches!(sops::load(&raw, input), Err(SopsError::NotEncrypted)) {
                    continue;
                }
                return Err(fail(SopsError::NoMatchingKey {
                    recipients: Vec::new(),
                    tried: vec!["no decryption keys were given".into()],
                }));
            };
            let plain = match sops::decrypt_file(
                &raw,
                input,
                Format::for_path(key),
                keys,
                MacCheck::Verify,
            ) {
                Ok(plain) => plain,
                // Marker text without SOPS metadata: not an encrypted file.
                Err(SopsError::NotEncrypted) => continue,
                Err(e) => return Err(fail(e)),
            };
            updates.push((key.clone(), b64.encode(plain)));
        }
    }
    if let Some(Value::Mapping(data)) = obj.as_mapping_mut().and_then(|m| m.get_mut("data")) {
        for (key, value) in updates {
            data.insert(key, Value::String(value));
        }
    }
    Ok(())
}
