//! SOPS decryption on the upstream project's own encrypted files
//! (`../shared/conformance/sops`): fleet recovers each file's data key
//! in-process from the upstream PGP test key (checked against what GnuPG
//! recovers), or from age identities made by Debian's `age-keygen`;
//! decrypts every value; checks the MAC; and refuses tampered copies.

mod support;

use fleet_kustomize::sops::{
    Format, KeyRing, MacCheck, SopsError, SopsMetadata, decrypt_document, decrypt_file,
};
use fleet_model::Value;
use fleet_model::yaml::parse_one;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::sops_writer::{age_available, age_encrypt, age_keygen};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/sops");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("FLEET_REQUIRE_CONFORMANCE").is_none(),
        "{} missing (FLEET_REQUIRE_CONFORMANCE is set)",
        dir.display()
    );
    eprintln!("sops corpus not found: skipped");
    None
}

/// A throw-away GnuPG home with the upstream test key imported.
fn gnupg_home(corpus: &Path, test: &str) -> Option<PathBuf> {
    let home = std::env::temp_dir().join(format!("fleet-gnupg-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&home).ok()?;
    let _ = Command::new("chmod").arg("700").arg(&home).status();
    let status = Command::new("gpg")
        .args(["--batch", "--quiet", "--import"])
        .arg(corpus.join("sops_functional_tests_key.asc"))
        .env("GNUPGHOME", &home)
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => Some(home),
        _ => {
            assert!(
                std::env::var_os("FLEET_REQUIRE_CONFORMANCE").is_none(),
                "gpg is needed for the SOPS corpus (FLEET_REQUIRE_CONFORMANCE is set)"
            );
            eprintln!("gpg not available: SOPS corpus skipped");
            None
        }
    }
}

/// Stops the agent gpg started for `home` and removes it.
fn drop_gnupg_home(home: &Path) {
    let _ = Command::new("gpgconf")
        .args(["--kill", "gpg-agent"])
        .env("GNUPGHOME", home)
        .status();
    let _ = std::fs::remove_dir_all(home);
}

/// The data key, recovered from the document's first PGP stanza by gpg.
fn data_key(home: &Path, doc: &Value) -> Vec<u8> {
    let meta = SopsMetadata::from_document(doc).unwrap_or_else(|e| panic!("{e}"));
    let stanza = meta.pgp.first().unwrap_or_else(|| panic!("no pgp stanza"));
    let mut child = Command::new("gpg")
        .args(["--batch", "--quiet", "--decrypt"])
        .env("GNUPGHOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("gpg: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(stanza.enc.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "gpg could not decrypt the data key");
    out.stdout
}

fn read(dir: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    parse_one(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn upstream_files_decrypt_and_their_macs_verify() {
    let Some(dir) = corpus() else { return };
    let Some(home) = gnupg_home(&dir, "files") else {
        return;
    };
    let cases = [
        ("comments.enc.yaml", Some("comments.yaml")),
        ("format.enc.yaml", None),
        ("format.enc.json", None),
        ("multiple_keys.yaml", None),
    ];
    for (file, plain) in cases {
        let doc = read(&dir, file);
        let key = data_key(&home, &doc);
        let out = decrypt_document(&doc, &key, MacCheck::Verify)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let text = fleet_model::yaml::to_string(&out);
        assert!(!text.contains("ENC["), "{file}: still encrypted:\n{text}");
        assert!(out.get("sops").is_none(), "{file}");
        if let Some(plain) = plain {
            assert_eq!(out, read(&dir, plain), "{file}");
        }
    }
    let format_yaml = decrypt_document(
        &read(&dir, "format.enc.yaml"),
        &data_key(&home, &read(&dir, "format.enc.yaml")),
        MacCheck::Verify,
    );
    let format_json = decrypt_document(
        &read(&dir, "format.enc.json"),
        &data_key(&home, &read(&dir, "format.enc.json")),
        MacCheck::Verify,
    );
    assert_eq!(format_yaml, format_json, "the same value in YAML and JSON");
    drop_gnupg_home(&home);
}

#[test]
fn tampered_and_mac_less_files_are_refused() {
    let Some(dir) = corpus() else { return };
    let Some(home) = gnupg_home(&dir, "tampered") else {
        return;
    };
    let doc = read(&dir, "comments.enc.yaml");
    let key = data_key(&home, &doc);

    // An encrypted value moved to another key fails authentication.
    let mut moved = doc.clone();
    if let Value::Mapping(m) = &mut moved {
        let lorem = m.get("lorem").cloned().unwrap_or_default();
        m.insert("dolor".into(), lorem);
    }
    let err = decrypt_document(&moved, &key, MacCheck::Verify);
    assert!(
        matches!(err, Err(SopsError::Decrypt { ref path }) if path == "dolor:"),
        "{err:?}"
    );

    // A value added in clear text under the unencrypted suffix changes the MAC.
    let mut added = doc.clone();
    if let Value::Mapping(m) = &mut added {
        m.insert("extra_unencrypted".into(), Value::String("x".into()));
    }
    let err = decrypt_document(&added, &key, MacCheck::Verify);
    assert!(matches!(err, Err(SopsError::MacMismatch { .. })), "{err:?}");
    assert!(decrypt_document(&added, &key, MacCheck::Skip).is_ok());

    // A wrong data key decrypts nothing.
    let err = decrypt_document(&doc, &[7u8; 32], MacCheck::Verify);
    assert!(matches!(err, Err(SopsError::Decrypt { .. })), "{err:?}");

    // no_mac.yaml is refused unless the caller turns MAC checking off.
    let no_mac = read(&dir, "no_mac.yaml");
    let key = data_key(&home, &no_mac);
    let err = decrypt_document(&no_mac, &key, MacCheck::Verify);
    assert!(
        matches!(err, Err(SopsError::NoMac | SopsError::MacMismatch { .. })),
        "{err:?}"
    );
    assert!(decrypt_document(&no_mac, &key, MacCheck::Skip).is_ok());

    // A plain file is not a SOPS document.
    let plain = read(&dir, "plainfile.yaml");
    assert_eq!(
        decrypt_document(&plain, &key, MacCheck::Verify),
        Err(SopsError::NotEncrypted)
    );
    drop_gnupg_home(&home);
}

fn pgp_ring(dir: &Path) -> KeyRing {
    let key =
        std::fs::read(dir.join("sops_functional_tests_key.asc")).unwrap_or_else(|e| panic!("{e}"));
    KeyRing::from_secret_data([("sops.asc", key.as_slice())]).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn pgp_keys_are_recovered_in_process_as_gnupg_recovers_them() {
    let Some(dir) = corpus() else { return };
    let Some(home) = gnupg_home(&dir, "inprocess") else {
        return;
    };
    let ring = pgp_ring(&dir);
    for file in [
        "comments.enc.yaml",
        "format.enc.yaml",
        "format.enc.json",
        "multiple_keys.yaml",
        "no_mac.yaml",
    ] {
        let doc = read(&dir, file);
        let meta = SopsMetadata::from_document(&doc).unwrap_or_else(|e| panic!("{e}"));
        let ours = ring
            .data_key(&meta)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(ours, data_key(&home, &doc), "{file}");
        assert_eq!(ours.len(), 32, "{file}");
    }
    drop_gnupg_home(&home);
}

#[test]
fn every_format_decrypts_with_the_pgp_key_alone() {
    let Some(dir) = corpus() else { return };
    let ring = pgp_ring(&dir);
    let file = |name: &str| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
    let yaml = decrypt_file(
        &file("format.enc.yaml"),
        Format::Yaml,
        Format::Yaml,
        &ring,
        MacCheck::Verify,
    )
    .unwrap_or_else(|e| panic!("yaml: {e}"));
    let json = decrypt_file(
        &file("format.enc.json"),
        Format::Json,
        Format::Yaml,
        &ring,
        MacCheck::Verify,
    )
    .unwrap_or_else(|e| panic!("json: {e}"));
    let env = decrypt_file(
        &file("format.enc.env"),
        Format::Dotenv,
        Format::Dotenv,
        &ring,
        MacCheck::Verify,
    )
    .unwrap_or_else(|e| panic!("dotenv: {e}"));
    let yaml = String::from_utf8_lossy(&yaml).into_owned();
    assert_eq!(
        yaml,
        String::from_utf8_lossy(&json),
        "YAML and JSON hold the same value"
    );
    assert!(
        !yaml.contains("ENC[") && yaml.starts_with("foo: "),
        "{yaml}"
    );
    let env = String::from_utf8_lossy(&env).into_owned();
    assert!(
        env.starts_with("foo =") && !env.contains("ENC[") && !env.contains("sops_"),
        "{env}"
    );
    // The same file with a value flipped: the whole file is refused.
    let tampered = flip_first_data_char(&String::from_utf8_lossy(&file("format.enc.env")));
    let err = decrypt_file(
        tampered.as_bytes(),
        Format::Dotenv,
        Format::Dotenv,
        &ring,
        MacCheck::Verify,
    );
    assert!(
        matches!(err, Err(SopsError::Decrypt { ref path }) if path == "foo :"),
        "{err:?}"
    );
    // The MAC itself changed.
    let text = String::from_utf8_lossy(&file("format.enc.yaml")).into_owned();
    let tampered = text.replacen(
        "mac: ENC[AES256_GCM,data:",
        "mac: ENC[AES256_GCM,data:AAAA",
        1,
    );
    let err = decrypt_file(
        tampered.as_bytes(),
        Format::Yaml,
        Format::Yaml,
        &ring,
        MacCheck::Verify,
    );
    assert!(
        matches!(
            err,
            Err(SopsError::Decrypt { .. } | SopsError::Malformed { .. })
        ),
        "{err:?}"
    );
    // A plain file has nothing to decrypt.
    let err = decrypt_file(
        &file("plainfile.yaml"),
        Format::Yaml,
        Format::Yaml,
        &ring,
        MacCheck::Verify,
    );
    assert_eq!(err, Err(SopsError::NotEncrypted));
}

/// The text with the first character of the first `data:` payload changed.
fn flip_first_data_char(text: &str) -> String {
    let at = text.find("data:").map_or(0, |i| i + 5);
    let mut out = text.to_string();
    let replacement = if text[at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    out.replace_range(at..at + 1, replacement);
    out
}

/// Replaces a YAML file's key stanzas with one age stanza sealing the
/// same data key: the upstream values then open with the age identity only.
fn with_age_stanza(doc: &Value, recipient: &str, sealed: &str) -> Value {
    let mut doc = doc.clone();
    if let Some(Value::Mapping(sops)) = doc.as_mapping_mut().and_then(|m| m.get_mut("sops")) {
        sops.shift_remove("pgp");
        let mut stanza = fleet_model::value::Mapping::new();
        stanza.insert("recipient".into(), Value::String(recipient.into()));
        stanza.insert("enc".into(), Value::String(sealed.into()));
        sops.insert("age".into(), Value::Sequence(vec![Value::Mapping(stanza)]));
    }
    doc
}

#[test]
fn age_identities_from_debian_age_open_files() {
    let Some(dir) = corpus() else { return };
    if !age_available() {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("fleet-age-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let (identity, recipient) = age_keygen(&tmp, "main");
    let (other_identity, _) = age_keygen(&tmp, "other");
    let pgp = pgp_ring(&dir);
    let mut age_only = KeyRing::default();
    age_only
        .import_age(&identity)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut wrong = KeyRing::default();
    wrong
        .import_age(&other_identity)
        .unwrap_or_else(|e| panic!("{e}"));

    for (file, plain) in [
        ("comments.enc.yaml", Some("comments.yaml")),
        ("format.enc.yaml", None),
    ] {
        let doc = read(&dir, file);
        let meta = SopsMetadata::from_document(&doc).unwrap_or_else(|e| panic!("{e}"));
        let key = pgp.data_key(&meta).unwrap_or_else(|e| panic!("{e}"));
        let aged = with_age_stanza(&doc, &recipient, &age_encrypt(&recipient, &key));
        let text = fleet_model::yaml::to_string(&aged);
        let out = decrypt_file(
            text.as_bytes(),
            Format::Yaml,
            Format::Yaml,
            &age_only,
            MacCheck::Verify,
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        if let Some(plain) = plain {
            let got = parse_one(&String::from_utf8_lossy(&out)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(got, read(&dir, plain), "{file}");
        }
        // The PGP key no longer matches, nor does another age identity.
        let err = decrypt_file(
            text.as_bytes(),
            Format::Yaml,
            Format::Yaml,
            &pgp,
            MacCheck::Verify,
        );
        assert!(
            matches!(err, Err(SopsError::NoMatchingKey { .. })),
            "{err:?}"
        );
        let err = decrypt_file(
            text.as_bytes(),
            Format::Yaml,
            Format::Yaml,
            &wrong,
            MacCheck::Verify,
        );
        let msg = support::err_text(&err);
        assert!(
            msg.contains(&recipient),
            "the error names the recipient: {msg}"
        );
    }

    // dotenv: the age stanza flattened as sops writes it.
    let env = std::fs::read_to_string(dir.join("format.enc.env")).unwrap_or_else(|e| panic!("{e}"));
    let (branches, meta) = fleet_kustomize::sops::load(env.as_bytes(), Format::Dotenv)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(branches.len(), 1);
    let key = pgp.data_key(&meta).unwrap_or_else(|e| panic!("{e}"));
    let sealed = age_encrypt(&recipient, &key).replace('\n', "\\n");
    let mut aged: String = env
        .lines()
        .filter(|l| !l.starts_with("sops_pgp"))
        .map(|l| format!("{l}\n"))
        .collect();
    aged.push_str(&format!(
        "sops_age__list_0__map_recipient={recipient}\nsops_age__list_0__map_enc={sealed}\n"
    ));
    let out = decrypt_file(
        aged.as_bytes(),
        Format::Dotenv,
        Format::Dotenv,
        &age_only,
        MacCheck::Verify,
    )
    .unwrap_or_else(|e| panic!("dotenv: {e}"));
    assert!(String::from_utf8_lossy(&out).starts_with("foo ="));
    let _ = std::fs::remove_dir_all(&tmp);
}
