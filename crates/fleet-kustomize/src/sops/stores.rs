//! SOPS file formats: reading an encrypted file into its branches and
//! metadata, and writing decrypted branches back out, for the formats
//! kustomize-controller decrypts (YAML, JSON, dotenv, binary).
//!
//! The YAML writer is fleet's own (two-space indentation, as kustomize
//! writes); SOPS's writer indents by four. Only the whitespace of a
//! decrypted YAML file differs; its values are the same.

use fleet_model::Value;
use fleet_model::value::Mapping;
use fleet_model::yaml::{parse_documents, parse_one};

use super::SopsError;
use super::keys::KeyRing;
use super::tree::{MacCheck, SopsMetadata, decrypt_branches};

/// A SOPS file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// YAML, one branch per document.
    Yaml,
    /// JSON.
    Json,
    /// `KEY=value` lines with the metadata flattened into `sops_*` keys.
    Dotenv,
    /// Any bytes, stored as the `data` value of a JSON document.
    Binary,
    /// INI files (recognised, not decrypted by this version).
    Ini,
}

impl Format {
    /// The format SOPS assumes for a file name, by its extension.
    ///
    /// ```
    /// use fleet_kustomize::sops::Format;
    /// assert_eq!(Format::for_path("a/secret.enc.yaml"), Format::Yaml);
    /// assert_eq!(Format::for_path(".env"), Format::Dotenv);
    /// assert_eq!(Format::for_path("tls.key"), Format::Binary);
    /// ```
    pub fn for_path(path: &str) -> Format {
        let name = path.rsplit('/').next().unwrap_or(path);
        match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("yaml" | "yml") => Format::Yaml,
            Some("json") => Format::Json,
            Some("env") => Format::Dotenv,
            Some("ini") => Format::Ini,
            _ => Format::Binary,
        }
    }

    /// The bytes every encrypted file of this format contains (the MAC
    /// entry), as kustomize-controller looks for them.
    pub fn marker(self) -> &'static [u8] {
        match self {
            Format::Yaml => b"mac: ENC[",
            Format::Json | Format::Binary => b"\"mac\": \"ENC[",
            Format::Dotenv => b"sops_mac=ENC[",
            Format::Ini => b"[sops]",
        }
    }

    /// Whether `data` carries this format's marker.
    pub fn is_encrypted(self, data: &[u8]) -> bool {
        let marker = self.marker();
        data.windows(marker.len()).any(|w| w == marker)
    }

    /// The format of encrypted data judged by its marker bytes, or `None`
    /// when it carries none (JSON and binary share theirs; they load the
    /// same way).
    pub fn detect(data: &[u8]) -> Option<Format> {
        [Format::Yaml, Format::Json, Format::Dotenv, Format::Ini]
            .into_iter()
            .find(|f| f.is_encrypted(data))
    }

    fn name(self) -> &'static str {
        match self {
            Format::Yaml => "YAML",
            Format::Json => "JSON",
            Format::Dotenv => "dotenv",
            Format::Binary => "binary",
            Format::Ini => "INI",
        }
    }
}

/// Decrypts a whole SOPS file: its data key recovered with `keys`, every
/// value decrypted, the MAC checked; the plaintext is written in `output`
/// format. Nothing is returned unless all of that succeeds.
///
/// ```
/// use fleet_kustomize::sops::{decrypt_file, Format, KeyRing, MacCheck};
/// let err = decrypt_file(b"a: 1\n", Format::Yaml, Format::Yaml, &KeyRing::default(), MacCheck::Verify);
/// assert!(err.is_err());
/// ```
pub fn decrypt_file(
    data: &[u8],
    input: Format,
    output: Format,
    keys: &KeyRing,
    mac: MacCheck,
) -> Result<Vec<u8>, SopsError> {
    let branches = decrypt_tree(data, input, keys, mac)?;
    emit(&branches, output)
}

/// Decrypts a whole SOPS file into its branches (one per YAML document).
pub fn decrypt_tree(
    data: &[u8],
    input: Format,
    keys: &KeyRing,
    mac: MacCheck,
) -> Result<Vec<Value>, SopsError> {
    let (mut branches, meta) = load(data, input)?;
    let key = keys.data_key(&meta)?;
    decrypt_branches(&mut branches, &meta, &key, mac)?;
    Ok(branches)
}

/// Reads an encrypted file into its branches (without `sops` entries) and
/// its metadata.
pub fn load(data: &[u8], format: Format) -> Result<(Vec<Value>, SopsMetadata), SopsError> {
    let text = std::str::from_utf8(data)
        .map_err(|_| SopsError::BadFormat(format!("{} file is not UTF-8", format.name())))?;
    let bad = |e: String| SopsError::BadFormat(format!("{} file: {e}", format.name()));
    match format {
        Format::Yaml => {
            let docs = parse_documents(text).map_err(|e| bad(e.to_string()))?;
            let meta = docs
                .first()
                .ok_or(SopsError::NotEncrypted)
                .and_then(|d| SopsMetadata::from_document(&d.value))?;
            let mut branches = Vec::with_capacity(docs.len());
            for doc in docs {
                let Value::Mapping(mut map) = doc.value else {
                    return Err(bad(format!(
                        "the document at line {} is a {}, expected a mapping",
                        doc.line,
                        doc.value.type_name()
                    )));
                };
                map.shift_remove("sops");
                branches.push(Value::Mapping(map));
            }
            Ok((branches, meta))
        }
        Format::Json | Format::Binary => {
            let doc = parse_one(text).map_err(|e| bad(e.to_string()))?;
            let meta = SopsMetadata::from_document(&doc)?;
            let Value::Mapping(mut map) = doc else {
                return Err(bad("expected an object".into()));
            };
            map.shift_remove("sops");
            Ok((vec![Value::Mapping(map)], meta))
        }
        Format::Dotenv => load_dotenv(text),
        Format::Ini => Err(SopsError::Unsupported(
            "INI files; convert the file to YAML, JSON or dotenv".into(),
        )),
    }
}

/// The prefix of a dotenv file's metadata entries.
const DOTENV_PREFIX: &str = "sops_";

fn load_dotenv(text: &str) -> Result<(Vec<Value>, SopsMetadata), SopsError> {
    let mut branch = Mapping::new();
    let mut flat = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.is_empty() || line.starts_with('#') {
            // Comments are not part of the MAC; the plaintext drops them.
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(SopsError::BadFormat(format!(
                "dotenv line {}: expected KEY=value",
                i + 1
            )));
        };
        let value = value.replace("\\n", "\n");
        match key.strip_prefix(DOTENV_PREFIX) {
            Some(meta_key) => flat.push((meta_key.to_string(), value)),
            None => {
                branch.insert(key.to_string(), Value::String(value));
            }
        }
    }
    if flat.is_empty() {
        return Err(SopsError::NotEncrypted);
    }
    let meta = SopsMetadata::from_value(&unflatten(flat)?)?;
    Ok((vec![Value::Mapping(branch)], meta))
}

/// Rebuilds the `sops` mapping from dotenv's flattened keys
/// (`pgp__list_0__map_enc` is `pgp[0].enc`).
fn unflatten(flat: Vec<(String, String)>) -> Result<Value, SopsError> {
    let mut root = Value::Mapping(Mapping::new());
    for (key, value) in flat {
        let mut tokens = Vec::new();
        let (first, mut rest) = match key.find("__") {
            Some(i) => (&key[..i], &key[i..]),
            None => (key.as_str(), ""),
        };
        tokens.push(Token::Key(first.to_string()));
        while !rest.is_empty() {
            let (body, is_list) = if let Some(r) = rest.strip_prefix("__map_") {
                (r, false)
            } else if let Some(r) = rest.strip_prefix("__list_") {
                (r, true)
            } else {
                return Err(SopsError::BadMetadata(format!(
                    "dotenv metadata key 'sops_{key}'"
                )));
            };
            let end = body.find("__").unwrap_or(body.len());
            let part = &body[..end];
            tokens.push(if is_list {
                Token::Index(part.parse().map_err(|_| {
                    SopsError::BadMetadata(format!("dotenv metadata key 'sops_{key}'"))
                })?)
            } else {
                Token::Key(part.to_string())
            });
            rest = &body[end..];
        }
        let value = match (tokens.as_slice(), value.as_str()) {
            ([Token::Key(k)], v) if k == "mac_only_encrypted" => Value::Bool(v == "true"),
            _ => Value::String(value),
        };
        insert(&mut root, &tokens, value)?;
    }
    Ok(root)
}

enum Token {
    Key(String),
    Index(usize),
}

fn insert(node: &mut Value, tokens: &[Token], value: Value) -> Result<(), SopsError> {
    let Some((first, rest)) = tokens.split_first() else {
        *node = value;
        return Ok(());
    };
    let fresh = || match rest.first() {
        Some(Token::Index(_)) => Value::Sequence(Vec::new()),
        Some(Token::Key(_)) => Value::Mapping(Mapping::new()),
        None => Value::Null,
    };
    let clash = || SopsError::BadMetadata("dotenv metadata keys disagree on its shape".into());
    match first {
        Token::Key(k) => {
            let Value::Mapping(map) = node else {
                return Err(clash());
            };
            let child = map.entry(k.clone()).or_insert_with(fresh);
            insert(child, rest, value)
        }
        Token::Index(i) => {
            let Value::Sequence(items) = node else {
                return Err(clash());
            };
            if *i > 1024 {
                return Err(SopsError::BadMetadata(
                    "dotenv metadata index too large".into(),
                ));
            }
            while items.len() <= *i {
                items.push(fresh());
            }
            if items[*i].is_null() {
                items[*i] = fresh();
            }
            insert(&mut items[*i], rest, value)
        }
    }
}

/// Writes decrypted branches in a format.
pub fn emit(branches: &[Value], format: Format) -> Result<Vec<u8>, SopsError> {
    let single = || match branches {
        [one] => Ok(one),
        _ => Err(SopsError::BadFormat(format!(
            "{} documents cannot be written as one {} file",
            branches.len(),
            format.name()
        ))),
    };
    match format {
        Format::Yaml => {
            let docs: Vec<String> = branches.iter().map(fleet_model::yaml::to_string).collect();
            Ok(docs.join("---\n").into_bytes())
        }
        Format::Json => {
            let text = fleet_model::json::to_string_pretty(single()?)
                .map_err(|e| SopsError::BadFormat(e.to_string()))?;
            Ok(format!("{text}\n").into_bytes())
        }
        Format::Dotenv => {
            let mut out = String::new();
            let Value::Mapping(map) = single()? else {
                return Err(SopsError::BadFormat("dotenv needs a mapping".into()));
            };
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.as_text().to_string(),
                    Value::Null => String::new(),
                    _ => {
                        return Err(SopsError::BadFormat(format!(
                            "cannot use complex value in dotenv file: key '{k}'"
                        )));
                    }
                };
                out.push_str(&format!("{k}={}\n", text.replace('\n', "\\n")));
            }
            Ok(out.into_bytes())
        }
        Format::Binary => match single()?.get("data") {
            Some(Value::String(s)) => Ok(s.clone().into_bytes()),
            _ => Err(SopsError::BadFormat(
                "binary file has no string `data` entry".into(),
            )),
        },
        Format::Ini => Err(SopsError::Unsupported("INI files".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_metadata_unflattens() {
        let flat = vec![
            ("mac".to_string(), "ENC[x]".to_string()),
            ("pgp__list_0__map_enc".into(), "a\nb".into()),
            ("pgp__list_0__map_fp".into(), "FP".into()),
            ("age__list_1__map_recipient".into(), "age1b".into()),
            ("age__list_1__map_enc".into(), "E".into()),
            ("age__list_0__map_recipient".into(), "age1a".into()),
            ("age__list_0__map_enc".into(), "D".into()),
            ("mac_only_encrypted".into(), "true".into()),
        ];
        let meta = SopsMetadata::from_value(&unflatten(flat).unwrap_or_default());
        let meta = meta.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(meta.pgp.len(), 1);
        assert_eq!(meta.pgp[0].enc, "a\nb");
        assert_eq!(
            meta.age.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["age1a", "age1b"]
        );
        assert!(meta.mac_only_encrypted);
        assert!(unflatten(vec![("pgp__list_x".into(), "1".into())]).is_err());
    }

    #[test]
    fn formats_by_path_and_marker() {
        assert_eq!(Format::for_path("x.yml"), Format::Yaml);
        assert_eq!(Format::for_path("dir.d/x"), Format::Binary);
        assert_eq!(
            Format::detect(b"a=1\nsops_mac=ENC[...]"),
            Some(Format::Dotenv)
        );
        assert_eq!(
            Format::detect(b"{\"sops\": {\"mac\": \"ENC[x]\"}}"),
            Some(Format::Json)
        );
        assert_eq!(
            Format::detect(b"sops:\n  mac: ENC[x]\n"),
            Some(Format::Yaml)
        );
        assert_eq!(Format::detect(b"plain: true\n"), None);
    }

    #[test]
    fn dotenv_and_binary_emit() {
        let mut m = Mapping::new();
        m.insert("A".into(), Value::String("x\ny".into()));
        m.insert("data".into(), Value::String("raw".into()));
        let v = vec![Value::Mapping(m)];
        assert_eq!(
            emit(&v, Format::Dotenv).ok(),
            Some(b"A=x\\ny\ndata=raw\n".to_vec())
        );
        assert_eq!(emit(&v, Format::Binary).ok(), Some(b"raw".to_vec()));
        let two = vec![Value::Null, Value::Null];
        assert!(emit(&two, Format::Json).is_err());
    }
}
