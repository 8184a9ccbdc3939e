//! The private keys that unlock a SOPS file's data key: age X25519
//! identities and OpenPGP secret keys, read from the decryption Secret as
//! kustomize-controller reads it (`*.agekey` entries hold age identity
//! files, `*.asc` entries armored PGP keys).
//!
//! Both are handled in-process (the `age` and `pgp` crates): no `gpg`
//! binary or keyring directory is needed, and nothing touches the disk.

use std::io::Read;

use pgp::composed::{Deserializable, Message, SignedSecretKey};
use pgp::types::{KeyDetails, Password};

use super::SopsError;
use super::tree::SopsMetadata;

/// The longest data key accepted from a key stanza (SOPS's are 32 bytes).
const MAX_DATA_KEY: u64 = 1024;

/// A set of private keys.
///
/// ```
/// use fleet_kustomize::sops::KeyRing;
/// let mut keys = KeyRing::default();
/// keys.import_age("# created: 2026-01-01\nAGE-SECRET-KEY-1G0Q5K9TV4REQ3ZSQRMTMG8NSWQGYT0T7TZ33RAZEE0GZYVZN0APSU24RK7\n")
///     .unwrap();
/// assert_eq!(keys.len(), 1);
/// assert!(keys.import_age("not a key").is_err());
/// ```
#[derive(Default)]
pub struct KeyRing {
    age: Vec<Box<dyn age::Identity + Send + Sync>>,
    pgp: Vec<SignedSecretKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("age", &self.age.len())
            .field("pgp", &self.pgp_fingerprints())
            .finish()
    }
}

impl KeyRing {
    /// Reads the data of a decryption Secret: `*.agekey` entries are age
    /// identity files, `*.asc` entries PGP secret keys; other entries (cloud
    /// KMS credentials, Vault tokens) are ignored. Entries are taken in the
    /// given order; an entry that does not parse is an error naming it.
    pub fn from_secret_data<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<KeyRing, SopsError> {
        let mut ring = KeyRing::default();
        for (name, value) in entries {
            let result = if name.ends_with(".agekey") {
                ring.import_age(&String::from_utf8_lossy(value))
            } else if name.ends_with(".asc") {
                ring.import_pgp(value)
            } else {
                continue;
            };
            result.map_err(|e| SopsError::BadKey(format!("entry '{name}': {e}")))?;
        }
        Ok(ring)
    }

    /// Adds the identities of an age identity file (`AGE-SECRET-KEY-1…`
    /// lines, `#` comments and blank lines allowed).
    pub fn import_age(&mut self, text: &str) -> Result<(), SopsError> {
        let file = age::IdentityFile::from_buffer(text.as_bytes())
            .map_err(|e| SopsError::BadKey(format!("not an age identity file: {e}")))?;
        let identities = file
            .into_identities()
            .map_err(|e| SopsError::BadKey(format!("unusable age identity: {e}")))?;
        if identities.is_empty() {
            return Err(SopsError::BadKey("no age identity in the file".into()));
        }
        self.age.extend(identities);
        Ok(())
    }

    /// Adds the secret keys of armored (or binary) OpenPGP key blocks;
    /// public key blocks in the same text are skipped. Keys protected by a
    /// passphrase cannot be used (kustomize-controller cannot use them
    /// either).
    pub fn import_pgp(&mut self, data: &[u8]) -> Result<(), SopsError> {
        let before = self.pgp.len();
        let text = String::from_utf8_lossy(data);
        if text.contains("-----BEGIN PGP") {
            for block in armored_blocks(&text, "PGP PRIVATE KEY BLOCK") {
                let (keys, _) = SignedSecretKey::from_armor_many(block.as_bytes())
                    .map_err(|e| SopsError::BadKey(format!("bad PGP key block: {e}")))?;
                for key in keys {
                    let key = key.map_err(|e| SopsError::BadKey(format!("bad PGP key: {e}")))?;
                    self.pgp.push(key);
                }
            }
        } else {
            let keys = SignedSecretKey::from_bytes_many(data)
                .map_err(|e| SopsError::BadKey(format!("bad PGP key: {e}")))?;
            for key in keys {
                let key = key.map_err(|e| SopsError::BadKey(format!("bad PGP key: {e}")))?;
                self.pgp.push(key);
            }
        }
        if self.pgp.len() == before {
            return Err(SopsError::BadKey("no PGP private key in the data".into()));
        }
        Ok(())
    }

    /// How many keys the ring holds.
    pub fn len(&self) -> usize {
        self.age.len() + self.pgp.len()
    }

    /// Whether the ring holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn pgp_fingerprints(&self) -> Vec<String> {
        self.pgp
            .iter()
            .map(|k| k.fingerprint().to_string().to_uppercase())
            .collect()
    }

    /// Recovers a file's data key, trying its age stanzas first and then its
    /// PGP stanzas (SOPS's default decryption order).
    pub fn data_key(&self, meta: &SopsMetadata) -> Result<Vec<u8>, SopsError> {
        let mut failures = Vec::new();
        if !self.age.is_empty() {
            for stanza in &meta.age {
                match self.age_data_key(&stanza.enc) {
                    Ok(key) => return Ok(key),
                    Err(e) => failures.push(format!("age {}: {e}", stanza.id)),
                }
            }
        }
        if !self.pgp.is_empty() {
            for stanza in &meta.pgp {
                match self.pgp_data_key(&stanza.enc) {
                    Ok(key) => return Ok(key),
                    Err(e) => failures.push(format!("PGP {}: {e}", stanza.id)),
                }
            }
        }
        Err(SopsError::NoMatchingKey {
            recipients: meta
                .age
                .iter()
                .map(|s| format!("age {}", s.id))
                .chain(meta.pgp.iter().map(|s| format!("PGP {}", s.id)))
                .chain(
                    meta.other_keys.iter().map(|k| {
                        format!("{k} (not supported: fleet decrypts with age and PGP keys)")
                    }),
                )
                .collect(),
            tried: failures,
        })
    }

    fn age_data_key(&self, enc: &str) -> Result<Vec<u8>, String> {
        let reader = age::armor::ArmoredReader::new(enc.as_bytes());
        let decryptor = age::Decryptor::new(reader).map_err(|e| e.to_string())?;
        let plain = decryptor
            .decrypt(self.age.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| e.to_string())?;
        read_limited(plain)
    }

    fn pgp_data_key(&self, enc: &str) -> Result<Vec<u8>, String> {
        let (message, _) = Message::from_string(enc).map_err(|e| e.to_string())?;
        let password = Password::empty();
        let mut message = message
            .decrypt_with_keys(vec![&password], self.pgp.iter().collect())
            .map_err(|e| e.to_string())?;
        if message.is_compressed() {
            message = message.decompress().map_err(|e| e.to_string())?;
        }
        read_limited(message)
    }
}

fn read_limited(reader: impl Read) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    reader
        .take(MAX_DATA_KEY + 1)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() as u64 > MAX_DATA_KEY {
        return Err("the data key is implausibly long".into());
    }
    Ok(out)
}

/// The armored blocks of one kind in a text holding several (a key export
/// often holds private and public blocks one after another, and the
/// parser reads one block at a time).
fn armored_blocks<'a>(text: &'a str, kind: &str) -> Vec<&'a str> {
    let begin = format!("-----BEGIN {kind}-----");
    let end = format!("-----END {kind}-----");
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let Some(len) = rest[start..].find(&end) else {
            // An unterminated block: let the parser report it.
            blocks.push(&rest[start..]);
            break;
        };
        let stop = start + len + end.len();
        blocks.push(&rest[start..stop]);
        rest = &rest[stop..];
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn armored_blocks_are_split_by_kind() {
        let text = "x\n-----BEGIN A-----\n1\n-----END A-----\n-----BEGIN B-----\n2\n-----END B-----\n-----BEGIN A-----\n3\n-----END A-----\n";
        assert_eq!(
            armored_blocks(text, "A"),
            vec![
                "-----BEGIN A-----\n1\n-----END A-----",
                "-----BEGIN A-----\n3\n-----END A-----"
            ]
        );
        assert!(armored_blocks(text, "C").is_empty());
    }

    #[test]
    fn bad_keys_are_refused_with_their_entry_name() {
        let err = KeyRing::from_secret_data([("age.agekey", b"garbage".as_slice())]);
        assert!(
            matches!(&err, Err(SopsError::BadKey(m)) if m.contains("age.agekey")),
            "{err:?}"
        );
        let err = KeyRing::from_secret_data([(
            "pgp.asc",
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n-----END PGP PUBLIC KEY BLOCK-----\n"
                .as_slice(),
        )]);
        assert!(
            matches!(&err, Err(SopsError::BadKey(m)) if m.contains("no PGP private key")),
            "{err:?}"
        );
        let ring = KeyRing::from_secret_data([("sops.vault-token", b"x".as_slice())]);
        assert!(ring.is_ok_and(|r| r.is_empty()));
    }

    #[test]
    fn no_matching_key_lists_the_recipients() {
        let meta = SopsMetadata {
            age: vec![super::super::KeyStanza {
                id: "age1xyz".into(),
                enc: "junk".into(),
            }],
            ..SopsMetadata::default()
        };
        let err = KeyRing::default().data_key(&meta);
        assert!(
            matches!(&err, Err(SopsError::NoMatchingKey { recipients, .. }) if recipients == &["age age1xyz"]),
            "{err:?}"
        );
    }

    #[test]
    fn cloud_kms_keys_are_named_as_unsupported() {
        let doc = fleet_model::yaml::parse_one(
            "a: ENC[x]\nsops:\n  kms:\n  - arn: arn:aws:kms:eu-west-1:1:key/k\n    enc: abc\n  mac: ENC[y]\n",
        )
        .unwrap_or_default();
        let meta = SopsMetadata::from_document(&doc).unwrap_or_default();
        let msg = KeyRing::default()
            .data_key(&meta)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.contains("AWS KMS arn:aws:kms:eu-west-1:1:key/k (not supported"),
            "{msg}"
        );
    }
}
