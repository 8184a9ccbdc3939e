//! Commit signatures, as image-automation-controller makes them from
//! `spec.git.commit.signingKey`: OpenPGP (rPGP, the Secret's `git.asc` and
//! optional `passphrase`) or SSH (SSHSIG with namespace `git` and SHA-512,
//! as `git` asks `ssh-keygen -Y sign` for, from the Secret's `identity` and
//! optional `password`). The signature goes into the commit's `gpgsig`
//! header, which `git verify-commit` checks.

use std::collections::BTreeMap;

use pgp::composed::{ArmorOptions, Deserializable, DetachedSignature, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::Password;

/// A key commits are signed with.
#[derive(Clone)]
pub enum SigningKey {
    /// An armored OpenPGP secret key and its passphrase.
    Gpg {
        /// The armored key (`git.asc`).
        armored: Vec<u8>,
        /// `passphrase`, when the key is protected.
        passphrase: Option<String>,
    },
    /// An OpenSSH private key (ed25519, ecdsa or rsa) and its passphrase.
    Ssh {
        /// The key (`identity`).
        identity: Vec<u8>,
        /// `password`, when the key is encrypted.
        password: Option<String>,
    },
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningKey::Gpg { .. } => f.write_str("SigningKey::Gpg"),
            SigningKey::Ssh { .. } => f.write_str("SigningKey::Ssh"),
        }
    }
}

/// Why a commit could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The Secret lacks the key the signing type needs.
    #[error("the signing key Secret has no '{key}' (needed for type '{kind}')")]
    MissingKey {
        /// The missing data key.
        key: &'static str,
        /// `gpg` or `ssh`.
        kind: &'static str,
    },
    /// The signing type is neither `gpg` nor `ssh`.
    #[error("signing key type '{0}' is not one of gpg, ssh")]
    UnknownType(String),
    /// The key cannot be read or used.
    #[error("cannot sign with the {kind} key: {message}")]
    Key {
        /// `OpenPGP` or `SSH`.
        kind: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl SigningKey {
    /// The key a `signingKey` of `kind` (`gpg`, the default, or `ssh`)
    /// names, from its Secret's decoded data.
    pub fn from_secret_data(
        kind: Option<&str>,
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Result<SigningKey, SigningError> {
        let text = |key: &str| {
            data.get(key).map(|v| {
                String::from_utf8_lossy(v)
                    .trim_end_matches('\n')
                    .to_string()
            })
        };
        match kind.unwrap_or("gpg") {
            "gpg" => Ok(SigningKey::Gpg {
                armored: data
                    .get("git.asc")
                    .cloned()
                    .ok_or(SigningError::MissingKey {
                        key: "git.asc",
                        kind: "gpg",
                    })?,
                passphrase: text("passphrase"),
            }),
            "ssh" => Ok(SigningKey::Ssh {
                identity: data
                    .get("identity")
                    .cloned()
                    .ok_or(SigningError::MissingKey {
                        key: "identity",
                        kind: "ssh",
                    })?,
                password: text("password"),
            }),
            other => Err(SigningError::UnknownType(other.to_string())),
        }
    }

    /// The armored signature of `payload` (a commit without its `gpgsig`
    /// header).
    pub fn sign(&self, payload: &[u8]) -> Result<String, SigningError> {
        match self {
            SigningKey::Gpg {
                armored,
                passphrase,
            } => sign_gpg(armored, passphrase.as_deref(), payload),
            SigningKey::Ssh { identity, password } => {
                sign_ssh(identity, password.as_deref(), payload)
            }
        }
    }
}

fn sign_gpg(
    armored: &[u8],
    passphrase: Option<&str>,
    payload: &[u8],
) -> Result<String, SigningError> {
    let fail = |message: String| SigningError::Key {
        kind: "OpenPGP",
        message,
    };
    let (key, _) = SignedSecretKey::from_armor_single(armored)
        .map_err(|e| fail(format!("'git.asc' is not an armored secret key: {e}")))?;
    let password = passphrase
        .map(Password::from)
        .unwrap_or_else(Password::empty);
    let rng = rand::thread_rng();
    // Like Go's openpgp: a subkey flagged for signing, else the primary key.
    let subkey = key
        .secret_subkeys
        .iter()
        .find(|s| s.signatures.iter().any(|sig| sig.key_flags().sign()));
    let signature = match subkey {
        Some(sub) => DetachedSignature::sign_binary_data(
            rng,
            &sub.key,
            &password,
            HashAlgorithm::Sha256,
            payload,
        ),
        None => DetachedSignature::sign_binary_data(
            rng,
            &key.primary_key,
            &password,
            HashAlgorithm::Sha256,
            payload,
        ),
    }
    .map_err(|e| fail(e.to_string()))?;
    signature
        .to_armored_string(ArmorOptions::default())
        .map_err(|e| fail(e.to_string()))
}

fn sign_ssh(
    identity: &[u8],
    password: Option<&str>,
    payload: &[u8],
) -> Result<String, SigningError> {
    let fail = |message: String| SigningError::Key {
        kind: "SSH",
        message,
    };
    let text = std::str::from_utf8(identity)
        .map_err(|_| fail("'identity' is not an OpenSSH private key".into()))?;
    let mut key = ssh_key::PrivateKey::from_openssh(text)
        .map_err(|e| fail(format!("'identity' is not an OpenSSH private key: {e}")))?;
    if key.is_encrypted() {
        let password = password
            .ok_or_else(|| fail("'identity' is encrypted and no 'password' is set".into()))?;
        key = key
            .decrypt(password.as_bytes())
            .map_err(|_| fail("the 'password' does not decrypt 'identity'".into()))?;
    }
    if let ssh_key::private::KeypairData::Rsa(rsa) = key.key_data()
        && rsa.public.n.as_positive_bytes().map_or(0, |n| n.len() * 8) < 2048
    {
        return Err(fail("RSA keys shorter than 2048 bits are refused".into()));
    }
    let signature = key
        .sign("git", ssh_key::HashAlg::Sha512, payload)
        .map_err(|e| fail(e.to_string()))?;
    signature
        .to_pem(ssh_key::LineEnding::LF)
        .map_err(|e| fail(e.to_string()))
}
