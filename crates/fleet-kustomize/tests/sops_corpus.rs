//! SOPS tree decryption and MAC verification on the upstream project's own
//! encrypted files (`../shared/conformance/sops`). GnuPG recovers each
//! file's data key with the upstream test key; fleet then decrypts every
//! value and checks the MAC, and refuses tampered copies.

use fleet_kustomize::sops::{MacCheck, SopsError, SopsMetadata, decrypt_document};
use fleet_model::Value;
use fleet_model::yaml::parse_one;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
