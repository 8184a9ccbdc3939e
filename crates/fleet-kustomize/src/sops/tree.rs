//! The SOPS tree: metadata, value decryption and the MAC.
//!
//! Each value is `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`: AES-256-GCM
//! with a 32-byte nonce, authenticated with the value's path (`a:b:`). The
//! MAC is SHA-512 over every leaf value in document order (only the
//! encrypted ones with `mac_only_encrypted`), in upper-case hex, stored
//! encrypted with `lastmodified` as the authenticated data.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use fleet_model::value::NumberKind;
use fleet_model::{Number, Value};
use sha2::{Digest, Sha512};

use super::SopsError;

/// AES-256-GCM with SOPS's 32-byte nonces.
type SopsCipher = AesGcm<Aes256, U32>;

/// The fixed bytes SOPS feeds the MAC first when `mac_only_encrypted` is set.
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// One master key's copy of the data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStanza {
    /// The age recipient or PGP fingerprint.
    pub id: String,
    /// The encrypted data key (an armored age file or PGP message).
    pub enc: String,
}

/// The `sops` metadata of a document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SopsMetadata {
    /// `lastmodified`, the MAC's authenticated data.
    pub last_modified: String,
    /// The encrypted MAC (empty when absent).
    pub mac: String,
    /// Keys ending so stay in clear text.
    pub unencrypted_suffix: Option<String>,
    /// Only keys ending so are encrypted.
    pub encrypted_suffix: Option<String>,
    /// Keys matching this stay in clear text.
    pub unencrypted_regex: Option<String>,
    /// Only keys matching this are encrypted.
    pub encrypted_regex: Option<String>,
    /// The MAC covers only encrypted values.
    pub mac_only_encrypted: bool,
    /// age stanzas.
    pub age: Vec<KeyStanza>,
    /// PGP stanzas.
    pub pgp: Vec<KeyStanza>,
    /// Master keys of the kinds fleet cannot use (cloud KMS, Vault), as
    /// `kind id` for error messages.
    pub other_keys: Vec<String>,
}

impl SopsMetadata {
    /// Reads the `sops` mapping of a document.
    pub fn from_document(doc: &Value) -> Result<SopsMetadata, SopsError> {
        SopsMetadata::from_value(doc.get("sops").ok_or(SopsError::NotEncrypted)?)
    }

    /// Reads a `sops` mapping itself (as a dotenv file's flattened
    /// `sops_*` entries unflatten to).
    pub fn from_value(meta: &Value) -> Result<SopsMetadata, SopsError> {
        if meta.as_mapping().is_none() {
            return Err(SopsError::BadMetadata(format!(
                "`sops` is a {}, expected a mapping",
                meta.type_name()
            )));
        }
        let text = |key: &str| -> Result<Option<String>, SopsError> {
            match meta.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(SopsError::BadMetadata(format!(
                    "`{key}` is a {}, expected a string",
                    other.type_name()
                ))),
            }
        };
        for unsupported in ["unencrypted_comment_regex", "encrypted_comment_regex"] {
            if text(unsupported)?.is_some_and(|s| !s.is_empty()) {
                return Err(SopsError::Unsupported(format!(
                    "`{unsupported}` (rules based on comments)"
                )));
            }
        }
        // Files written with `key_groups` keep their keys in the group; one
        // group is the same as keys at the top level.
        let keys = match meta.get("key_groups").and_then(Value::as_sequence) {
            Some(groups) if groups.len() > 1 => {
                return Err(SopsError::Unsupported(
                    "several key groups (Shamir secret sharing)".into(),
                ));
            }
            Some([group]) => group,
            _ => meta,
        };
        let stanzas = |key: &str, id: &str| -> Vec<KeyStanza> {
            keys.get(key)
                .and_then(Value::as_sequence)
                .unwrap_or(&[])
                .iter()
                .filter_map(|s| {
                    Some(KeyStanza {
                        id: s.get(id).and_then(Value::as_str).unwrap_or("").to_string(),
                        enc: s.get("enc")?.as_str()?.to_string(),
                    })
                })
                .collect()
        };
        let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
        Ok(SopsMetadata {
            last_modified: text("lastmodified")?.unwrap_or_default(),
            mac: text("mac")?.unwrap_or_default(),
            unencrypted_suffix: non_empty(text("unencrypted_suffix")?),
            encrypted_suffix: non_empty(text("encrypted_suffix")?),
            unencrypted_regex: non_empty(text("unencrypted_regex")?),
            encrypted_regex: non_empty(text("encrypted_regex")?),
            mac_only_encrypted: meta.get("mac_only_encrypted").and_then(Value::as_bool)
                == Some(true),
            age: stanzas("age", "recipient"),
            pgp: stanzas("pgp", "fp"),
            other_keys: [
                ("kms", "arn", "AWS KMS"),
                ("gcp_kms", "resource_id", "GCP KMS"),
                ("azure_kv", "vault_url", "Azure Key Vault"),
                ("hc_vault", "vault_address", "Vault"),
            ]
            .into_iter()
            .flat_map(|(key, id, kind)| {
                stanzas(key, id)
                    .into_iter()
                    .map(move |s| format!("{kind} {}", s.id))
            })
            .collect(),
        })
    }

    /// Whether the value at `path` is meant to be encrypted.
    fn should_be_encrypted(&self, path: &[String], rules: &Rules) -> bool {
        let mut encrypted = true;
        if let Some(suffix) = &self.unencrypted_suffix
            && path.iter().any(|p| p.ends_with(suffix.as_str()))
        {
            encrypted = false;
        }
        if let Some(suffix) = &self.encrypted_suffix {
            encrypted = path.iter().any(|p| p.ends_with(suffix.as_str()));
        }
        if let Some(re) = &rules.unencrypted
            && path.iter().any(|p| re.is_match(p))
        {
            encrypted = false;
        }
        if let Some(re) = &rules.encrypted {
            encrypted = path.iter().any(|p| re.is_match(p));
        }
        encrypted
    }
}

struct Rules {
    unencrypted: Option<regex::Regex>,
    encrypted: Option<regex::Regex>,
}

/// Whether to compare the MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacCheck {
    /// Compare it; a missing MAC is an error.
    Verify,
    /// Skip it (for callers that changed the document on purpose).
    Skip,
}

/// Decrypts a SOPS document with its 32-byte data key: returns the document
/// without its `sops` mapping and with every encrypted value in clear text.
/// Nothing is returned unless every value decrypts and (with
/// [`MacCheck::Verify`]) the MAC matches.
pub fn decrypt_document(doc: &Value, data_key: &[u8], mac: MacCheck) -> Result<Value, SopsError> {
    let meta = SopsMetadata::from_document(doc)?;
    let Value::Mapping(map) = doc else {
        return Err(SopsError::NotEncrypted);
    };
    let mut body = map.clone();
    body.shift_remove("sops");
    let mut branches = vec![Value::Mapping(body)];
    decrypt_branches(&mut branches, &meta, data_key, mac)?;
    Ok(branches.pop().unwrap_or_default())
}

/// Decrypts the branches of one SOPS file (the documents of a YAML file,
/// without their `sops` mappings) in place. The MAC runs over all of them
/// in order, as SOPS computes it. On error the branches are left partly
/// decrypted: callers must drop them.
pub fn decrypt_branches(
    branches: &mut [Value],
    meta: &SopsMetadata,
    data_key: &[u8],
    mac: MacCheck,
) -> Result<(), SopsError> {
    if data_key.len() != 32 {
        return Err(SopsError::BadMetadata(format!(
            "the data key has {} bytes, expected 32",
            data_key.len()
        )));
    }
    let compile = |re: &Option<String>| {
        re.as_deref()
            .map(regex::Regex::new)
            .transpose()
            .map_err(|e| SopsError::BadMetadata(format!("bad regex: {e}")))
    };
    let rules = Rules {
        unencrypted: compile(&meta.unencrypted_regex)?,
        encrypted: compile(&meta.encrypted_regex)?,
    };
    let mut walker = Walker {
        meta,
        rules: &rules,
        key: data_key,
        hash: Sha512::new(),
    };
    if meta.mac_only_encrypted {
        walker.hash.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    for branch in branches.iter_mut() {
        walker.walk(branch, &mut Vec::new())?;
    }
    if mac == MacCheck::Verify {
        if meta.mac.is_empty() {
            return Err(SopsError::NoMac);
        }
        let got: String = walker
            .hash
            .finalize()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        let expected = match decrypt_value(&meta.mac, data_key, &meta.last_modified)? {
            Value::String(s) => s,
            other => fleet_model::yaml::to_string(&other).trim_end().to_string(),
        };
        if expected != got {
            return Err(SopsError::MacMismatch { expected, got });
        }
    }
    Ok(())
}

struct Walker<'a> {
    meta: &'a SopsMetadata,
    rules: &'a Rules,
    key: &'a [u8],
    hash: Sha512,
}

impl Walker<'_> {
    fn walk(&mut self, v: &mut Value, path: &mut Vec<String>) -> Result<(), SopsError> {
        match v {
            Value::Mapping(m) => {
                for (k, child) in m.iter_mut() {
                    path.push(k.clone());
                    self.walk(child, path)?;
                    path.pop();
                }
                Ok(())
            }
            // List items share their parent's path, as in SOPS.
            Value::Sequence(items) => items.iter_mut().try_for_each(|i| self.walk(i, path)),
            Value::Null => Ok(()),
            leaf => {
                let encrypted = self.meta.should_be_encrypted(path, self.rules);
                if encrypted {
                    let aad = format!("{}:", path.join(":"));
                    let Value::String(text) = &*leaf else {
                        return Err(SopsError::Malformed {
                            path: aad,
                            reason: format!(
                                "a {} where an encrypted string belongs",
                                leaf.type_name()
                            ),
                        });
                    };
                    *leaf = decrypt_value(text, self.key, &aad)?;
                }
                if !self.meta.mac_only_encrypted || encrypted {
                    self.hash.update(mac_bytes(leaf));
                }
                Ok(())
            }
        }
    }
}

/// SOPS's `ToBytes`: strings as they are, integers in decimal, floats in
/// Go's shortest non-exponent form, booleans as `True`/`False`.
fn mac_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Bool(true) => b"True".to_vec(),
        Value::Bool(false) => b"False".to_vec(),
        Value::Number(n) => match (n.kind(), n.as_i64()) {
            (NumberKind::Int, Some(i)) => i.to_string().into_bytes(),
            // Rust's `Display` for f64 is the shortest round-trip form
            // without an exponent, as Go's FormatFloat(f, 'f', -1, 64).
            _ => format!("{}", n.as_f64()).into_bytes(),
        },
        _ => Vec::new(),
    }
}

/// Decrypts one `ENC[AES256_GCM,…]` value authenticated with `aad`.
pub fn decrypt_value(text: &str, key: &[u8], aad: &str) -> Result<Value, SopsError> {
    let malformed = |reason: &str| SopsError::Malformed {
        path: aad.to_string(),
        reason: reason.to_string(),
    };
    let inner = text
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| malformed("not an ENC[AES256_GCM,…] value"))?;
    let (mut data, mut iv, mut tag, mut kind) = (None, None, None, None);
    for part in inner.split(',') {
        match part.split_once(':') {
            Some(("data", v)) => data = Some(v),
            Some(("iv", v)) => iv = Some(v),
            Some(("tag", v)) => tag = Some(v),
            Some(("type", v)) => kind = Some(v),
            _ => return Err(malformed("unknown part")),
        }
    }
    let b64 = |v: Option<&str>, what: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(v.ok_or_else(|| malformed(&format!("no {what}")))?)
            .map_err(|_| malformed(&format!("{what} is not base64")))
    };
    let mut ciphertext = b64(data, "data")?;
    let iv = b64(iv, "iv")?;
    ciphertext.extend(b64(tag, "tag")?);
    if iv.len() != 32 {
        return Err(malformed("the iv is not 32 bytes"));
    }
    let cipher = SopsCipher::new_from_slice(key).map_err(|_| malformed("bad key length"))?;
    let plain = cipher
        .decrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: &ciphertext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| SopsError::Decrypt {
            path: aad.to_string(),
        })?;
    let text = String::from_utf8_lossy(&plain).into_owned();
    let typed = match kind.unwrap_or("str") {
        "str" | "bytes" | "comment" => Value::String(text),
        "int" => Value::Number(
            text.parse::<i64>()
                .map(Number::from_i64)
                .map_err(|_| malformed("int value is not an integer"))?,
        ),
        "float" => Value::Number(
            text.parse::<f64>()
                .map(Number::from_f64)
                .map_err(|_| malformed("float value is not a number"))?,
        ),
        "bool" => Value::Bool(match text.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => return Err(malformed("bool value is not a boolean")),
        }),
        other => return Err(malformed(&format!("unknown type {other:?}"))),
    };
    Ok(typed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encrypt(plain: &str, kind: &str, key: &[u8; 32], aad: &str) -> String {
        super::super::sops_writer::SopsWriter::values_only(*key).encrypt_value(plain, kind, aad)
    }

    #[test]
    fn typed_values_decrypt_to_their_types() {
        let key = [9u8; 32];
        let cases = [
            ("42", "int", Value::Number(Number::from_i64(42))),
            ("True", "bool", Value::Bool(true)),
            ("False", "bool", Value::Bool(false)),
            ("hello", "str", Value::String("hello".into())),
        ];
        for (plain, kind, want) in cases {
            let enc = encrypt(plain, kind, &key, "a:b:");
            assert_eq!(decrypt_value(&enc, &key, "a:b:"), Ok(want));
            assert!(matches!(
                decrypt_value(&enc, &key, "a:c:"),
                Err(SopsError::Decrypt { .. })
            ));
        }
        let float = decrypt_value(&encrypt("1.5", "float", &key, "x:"), &key, "x:");
        assert!(matches!(float, Ok(Value::Number(n)) if n.as_f64() == 1.5));
        assert!(matches!(
            decrypt_value("ENC[AES256_GCM,data:xx]", &key, "x:"),
            Err(SopsError::Malformed { .. })
        ));
    }

    #[test]
    fn mac_bytes_follow_sops_to_bytes() {
        assert_eq!(mac_bytes(&Value::Bool(true)), b"True");
        assert_eq!(mac_bytes(&Value::Number(Number::from_i64(-3))), b"-3");
        assert_eq!(mac_bytes(&Value::Number(Number::from_f64(1.0))), b"1");
        assert_eq!(
            mac_bytes(&Value::Number(Number::from_f64(1e-7))),
            b"0.0000001"
        );
        assert_eq!(
            mac_bytes(&Value::Number(Number::from_f64(1e21))),
            b"1000000000000000000000"
        );
    }
}
