//! Test support: writes SOPS files the way `sops --encrypt` does (values
//! encrypted with AES-256-GCM under their path, SHA-512 MAC over the
//! plaintext values, the data key encrypted for an age recipient by
//! Debian's `age` binary), so that decryption can be tested on files made
//! in the test with fresh keys. Deterministic IVs: test use only.

#![allow(dead_code)]

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use base64::Engine;
use fleet_model::Value;
use fleet_model::value::Mapping;
use sha2::{Digest, Sha512};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

type Cipher = AesGcm<Aes256, U32>;

pub const LAST_MODIFIED: &str = "2026-11-23T10:00:00Z";

/// Whether the Debian `age` tools are installed (required in CI).
pub fn age_available() -> bool {
    let ok = Command::new("age-keygen")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("FLEET_REQUIRE_CONFORMANCE").is_none(),
            "Debian's age is needed (FLEET_REQUIRE_CONFORMANCE is set): apt-get install age"
        );
        eprintln!("age not installed: test skipped");
    }
    ok
}

/// A fresh age identity from `age-keygen`: (identity file text, recipient).
pub fn age_keygen(dir: &Path, name: &str) -> (String, String) {
    let path = dir.join(format!("{name}.txt"));
    let _ = std::fs::remove_file(&path);
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("age-keygen: {e}"));
    assert!(out.status.success(), "age-keygen failed");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap_or_else(|| panic!("no public key line in {text}"))
        .to_string();
    (text, recipient)
}

/// The data key encrypted for `recipient` by `age -a`.
pub fn age_encrypt(recipient: &str, data: &[u8]) -> String {
    let mut child = Command::new("age")
        .args(["-a", "-r", recipient])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("age: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(data).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "age -a failed");
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{e}"))
}

/// Encrypts values the way sops does.
pub struct SopsWriter {
    pub key: [u8; 32],
    pub recipient: String,
    pub age_enc: String,
    /// Only keys matching this are encrypted (`encrypted_regex`).
    pub encrypted_regex: Option<String>,
    iv: u8,
}

impl SopsWriter {
    /// A writer with a data key sealed for `recipient` by Debian's age.
    pub fn new(recipient: &str, key: [u8; 32]) -> SopsWriter {
        SopsWriter {
            key,
            recipient: recipient.to_string(),
            age_enc: age_encrypt(recipient, &key),
            encrypted_regex: None,
            iv: 0,
        }
    }

    /// A writer for single values only (no age stanza; no `age` binary).
    pub fn values_only(key: [u8; 32]) -> SopsWriter {
        SopsWriter {
            key,
            recipient: String::new(),
            age_enc: String::new(),
            encrypted_regex: None,
            iv: 0,
        }
    }

    pub fn encrypt_value(&mut self, plain: &str, kind: &str, aad: &str) -> String {
        self.iv = self.iv.wrapping_add(1);
        let iv = [self.iv; 32];
        let cipher = Cipher::new_from_slice(&self.key).unwrap_or_else(|e| panic!("{e}"));
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&iv),
                Payload {
                    msg: plain.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let (data, tag) = sealed.split_at(sealed.len() - 16);
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
            b64(data),
            b64(&iv),
            b64(tag)
        )
    }

    fn walk(&mut self, v: &mut Value, path: &mut Vec<String>, hash: &mut Sha512) {
        match v {
            Value::Mapping(m) => {
                for (k, child) in m.iter_mut() {
                    path.push(k.clone());
                    self.walk(child, path, hash);
                    path.pop();
                }
            }
            Value::Sequence(items) => items.iter_mut().for_each(|i| self.walk(i, path, hash)),
            Value::Null => {}
            leaf => {
                let (text, kind) = match &*leaf {
                    Value::String(s) => (s.clone(), "str"),
                    Value::Bool(true) => ("True".to_string(), "bool"),
                    Value::Bool(false) => ("False".to_string(), "bool"),
                    Value::Number(n) => (n.as_text().to_string(), "int"),
                    _ => unreachable!(),
                };
                hash.update(text.as_bytes());
                let encrypt = match &self.encrypted_regex {
                    Some(re) => {
                        let re = regex::Regex::new(re).unwrap_or_else(|e| panic!("{e}"));
                        path.iter().any(|p| re.is_match(p))
                    }
                    None => true,
                };
                if encrypt {
                    let aad = format!("{}:", path.join(":"));
                    *leaf = Value::String(self.encrypt_value(&text, kind, &aad));
                }
            }
        }
    }

    /// Encrypts branches in place and returns the `sops` metadata.
    pub fn encrypt_branches(&mut self, branches: &mut [Value]) -> Value {
        let mut hash = Sha512::new();
        for b in branches.iter_mut() {
            self.walk(b, &mut Vec::new(), &mut hash);
        }
        let mac: String = hash.finalize().iter().map(|b| format!("{b:02X}")).collect();
        let mac = self.encrypt_value(&mac, "str", LAST_MODIFIED);
        let mut stanza = Mapping::new();
        stanza.insert("recipient".into(), Value::String(self.recipient.clone()));
        stanza.insert("enc".into(), Value::String(self.age_enc.clone()));
        let mut meta = Mapping::new();
        meta.insert("age".into(), Value::Sequence(vec![Value::Mapping(stanza)]));
        meta.insert("lastmodified".into(), Value::String(LAST_MODIFIED.into()));
        meta.insert("mac".into(), Value::String(mac));
        if let Some(re) = &self.encrypted_regex {
            meta.insert("encrypted_regex".into(), Value::String(re.clone()));
        }
        meta.insert("version".into(), Value::String("3.9.0".into()));
        Value::Mapping(meta)
    }

    /// A SOPS YAML file of the given documents (metadata in each, as sops
    /// writes it).
    pub fn yaml(&mut self, text: &str) -> String {
        let mut docs: Vec<Value> = fleet_model::yaml::parse_documents(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|d| d.value)
            .collect();
        let meta = self.encrypt_branches(&mut docs);
        docs.iter_mut()
            .map(|d| {
                if let Value::Mapping(m) = d {
                    m.insert("sops".into(), meta.clone());
                }
                fleet_model::yaml::to_string(d)
            })
            .collect::<Vec<_>>()
            .join("---\n")
    }

    /// A SOPS dotenv file of `KEY=value` pairs.
    pub fn dotenv(&mut self, pairs: &[(&str, &str)]) -> String {
        let mut m = Mapping::new();
        for (k, v) in pairs {
            m.insert((*k).to_string(), Value::String((*v).to_string()));
        }
        let mut branches = vec![Value::Mapping(m)];
        let meta = self.encrypt_branches(&mut branches);
        let mut out = String::new();
        if let Value::Mapping(m) = &branches[0] {
            for (k, v) in m {
                out.push_str(&format!("{k}={}\n", v.as_str().unwrap_or("")));
            }
        }
        let esc = |s: &str| s.replace('\n', "\\n");
        let get = |k: &str| {
            meta.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        out.push_str(&format!(
            "sops_age__list_0__map_enc={}\n",
            esc(&self.age_enc)
        ));
        out.push_str(&format!(
            "sops_age__list_0__map_recipient={}\n",
            self.recipient
        ));
        out.push_str(&format!("sops_lastmodified={}\n", get("lastmodified")));
        out.push_str(&format!("sops_mac={}\n", get("mac")));
        out.push_str("sops_version=3.9.0\n");
        out
    }

    /// A SOPS binary file (a JSON document whose `data` is the content).
    pub fn binary(&mut self, content: &str) -> String {
        let mut m = Mapping::new();
        m.insert("data".into(), Value::String(content.to_string()));
        let mut branches = vec![Value::Mapping(m)];
        let meta = self.encrypt_branches(&mut branches);
        if let Value::Mapping(m) = &mut branches[0] {
            m.insert("sops".into(), meta);
        }
        fleet_model::json::to_string_pretty(&branches[0]).unwrap_or_else(|e| panic!("{e}"))
    }
}
