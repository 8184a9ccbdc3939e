//! SOPS decryption in Flux builds: encrypted manifests (whole objects,
//! multi-document files, `encrypted_regex`), secretGenerator sources in
//! dotenv and binary formats, Secret `data` entries holding SOPS files,
//! the `decrypt: disabled` annotation, substitution after decryption, and
//! the errors (no keys, wrong key, tampered file, no `spec.decryption`),
//! none of which lets any plaintext or ciphertext out. Files are encrypted
//! in the test for age identities from Debian's `age-keygen`.

mod support;

use base64::Engine;
use fleet_kustomize::flux::decrypt::DecryptError;
use fleet_kustomize::flux::{FluxBuildError, FluxBuildOptions, build_kustomization};
use fleet_kustomize::fs::MemFs;
use fleet_kustomize::sops::{KeyRing, SopsError};
use fleet_model::Manifest;
use fleet_model::flux::kustomization::Kustomization;
use std::path::PathBuf;
use std::sync::Arc;
use support::sops_writer::{SopsWriter, age_available, age_keygen};

const DECRYPTION: &str =
    "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n";

fn ks(path: &str, extra: &str) -> Kustomization {
    let text = format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: fleet\n{extra}"
    );
    let manifests = Manifest::read_all(&text, "ks.yaml").unwrap_or_else(|e| panic!("{e}"));
    manifests[0].to_typed().unwrap_or_else(|e| panic!("{e}"))
}

struct Keys {
    tmp: PathBuf,
    writer: SopsWriter,
    ring: Arc<KeyRing>,
    wrong: Arc<KeyRing>,
}

impl Drop for Keys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

fn keys(test: &str) -> Option<Keys> {
    if !age_available() {
        return None;
    }
    let tmp = std::env::temp_dir().join(format!("fleet-flux-sops-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let (identity, recipient) = age_keygen(&tmp, "main");
    let (other, _) = age_keygen(&tmp, "other");
    let secret = |text: &str| {
        KeyRing::from_secret_data([("age.agekey", text.as_bytes())])
            .unwrap_or_else(|e| panic!("{e}"))
    };
    Some(Keys {
        writer: SopsWriter::new(&recipient, [42u8; 32]),
        ring: Arc::new(secret(&identity)),
        wrong: Arc::new(secret(&other)),
        tmp,
    })
}

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  annotations:\n    team: ${team}\nstringData:\n  password: hunter2\n  url: postgres://${team}@db\n";
const CONFIG: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  mode: fast\n";

fn repo(k: &mut Keys) -> MemFs {
    let mut fs = MemFs::default();
    k.writer.encrypted_regex = Some("^(data|stringData)$".into());
    let secret = k.writer.yaml(&format!("{SECRET}---\n{CONFIG}"));
    fs.add("/repo/apps/secret.enc.yaml", secret);
    k.writer.encrypted_regex = None;
    fs.add(
        "/repo/apps/app.env",
        k.writer.dotenv(&[("TOKEN", "t0k3n"), ("MULTI", "a\nb")]),
    );
    fs.add(
        "/repo/apps/tls.key",
        k.writer.binary("-----BEGIN KEY-----\nsecret\n"),
    );
    let inner = k.writer.yaml("user: admin\npass: s3cr3t\n");
    let b64 = base64::engine::general_purpose::STANDARD.encode(inner);
    fs.add(
        "/repo/apps/prebuilt.yaml",
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: prebuilt\ndata:\n  creds.yaml: {b64}\n"),
    );
    fs.add(
        "/repo/apps/kustomization.yaml",
        "resources:\n- secret.enc.yaml\n- prebuilt.yaml\nsecretGenerator:\n- name: app\n  envs:\n  - app.env\n  files:\n  - tls.key\n",
    );
    fs
}

fn opts(ring: &Arc<KeyRing>) -> FluxBuildOptions {
    FluxBuildOptions {
        decryption_keys: Some(ring.clone()),
        ..FluxBuildOptions::default()
    }
}

#[test]
fn encrypted_files_build_to_their_plaintext_then_substitute() {
    let Some(mut k) = keys("plain") else { return };
    let fs = repo(&mut k);
    let ks = ks(
        "./apps",
        &format!("{DECRYPTION}  postBuild:\n    substitute:\n      team: payments\n"),
    );
    let out = build_kustomization(&fs, "/repo", &ks, &opts(&k.ring))
        .unwrap_or_else(|e| panic!("{e}"))
        .to_yaml();
    assert!(!out.contains("ENC[") && !out.contains("sops"), "{out}");
    // The whole-object Secret (stringData) decrypted, then substituted.
    assert!(out.contains("  password: hunter2\n"), "{out}");
    assert!(out.contains("  url: postgres://payments@db\n"), "{out}");
    assert!(out.contains("    team: payments\n"), "{out}");
    // The second document of the same file.
    assert!(out.contains("  mode: fast\n"), "{out}");
    // secretGenerator: dotenv values and a binary file, hashed from the plaintext.
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    assert!(
        out.contains(&format!("  TOKEN: {}\n", b64("t0k3n"))),
        "{out}"
    );
    // SOPS writes a newline in a dotenv value as `\n`, which kustomize's
    // env reader keeps as two characters: Flux gives the same.
    assert!(
        out.contains(&format!("  MULTI: {}\n", b64("a\\nb"))),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "  tls.key: {}\n",
            b64("-----BEGIN KEY-----\nsecret\n")
        )),
        "{out}"
    );
    // A Secret data entry holding a whole SOPS file, written as YAML.
    assert!(
        out.contains(&format!(
            "  creds.yaml: {}\n",
            b64("user: admin\npass: s3cr3t\n")
        )),
        "{out}"
    );
    // Same plaintext as an unencrypted repo gives the same generator name.
    let mut plain = MemFs::default();
    plain.add("/repo/apps/app.env", "TOKEN=t0k3n\nMULTI=a\\nb\n");
    plain.add("/repo/apps/tls.key", "-----BEGIN KEY-----\nsecret\n");
    plain.add(
        "/repo/apps/kustomization.yaml",
        "secretGenerator:\n- name: app\n  envs:\n  - app.env\n  files:\n  - tls.key\n",
    );
    let reference = build_kustomization(&plain, "/repo", &ks, &opts(&k.ring))
        .unwrap_or_else(|e| panic!("{e}"))
        .to_yaml();
    let name = |yaml: &str| {
        yaml.lines()
            .find(|l| l.trim_start().starts_with("name: app-"))
            .map(str::to_string)
    };
    assert!(name(&reference).is_some());
    assert_eq!(name(&out), name(&reference));
}

#[test]
fn decrypt_disabled_objects_stay_encrypted() {
    let Some(mut k) = keys("disabled") else {
        return;
    };
    let mut fs = MemFs::default();
    let disabled = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: kept\n  annotations:\n    kustomize.toolkit.fluxcd.io/decrypt: Disabled\nstringData:\n  k: v\n";
    k.writer.encrypted_regex = Some("^stringData$".into());
    fs.add("/repo/apps/kept.yaml", k.writer.yaml(disabled));
    fs.add("/repo/apps/open.yaml", k.writer.yaml(SECRET));
    // No keys are needed for a file whose every object opts out.
    let ks = ks("./apps", DECRYPTION);
    let mut only_kept = MemFs::default();
    only_kept.add("/repo/apps/kept.yaml", k.writer.yaml(disabled));
    let out = build_kustomization(&only_kept, "/repo", &ks, &FluxBuildOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
        .to_yaml();
    assert!(out.contains("k: ENC[AES256_GCM"), "{out}");
    let out = build_kustomization(&fs, "/repo", &ks, &opts(&k.ring))
        .unwrap_or_else(|e| panic!("{e}"))
        .to_yaml();
    assert!(out.contains("k: ENC[AES256_GCM"), "{out}");
    assert!(out.contains("password: hunter2"), "{out}");
    // The opted-out object keeps its SOPS metadata, as Flux leaves it.
    assert!(out.contains("\nsops:\n"), "{out}");

    // Both in one file: the file decrypts (its MAC covers both documents)
    // and only the opted-out document stays as written.
    let mut mixed = MemFs::default();
    mixed.add(
        "/repo/apps/both.yaml",
        k.writer.yaml(&format!("{disabled}---\n{SECRET}")),
    );
    let out = build_kustomization(&mixed, "/repo", &ks, &opts(&k.ring))
        .unwrap_or_else(|e| panic!("{e}"))
        .to_yaml();
    assert!(
        out.contains("k: ENC[AES256_GCM") && out.contains("\nsops:\n"),
        "{out}"
    );
    assert!(out.contains("password: hunter2"), "{out}");
}

#[test]
fn failures_name_the_file_and_emit_nothing() {
    let Some(mut k) = keys("errors") else { return };
    let fs = repo(&mut k);
    let ks_dec = ks("./apps", DECRYPTION);

    // No keys given.
    let err = build_kustomization(&fs, "/repo", &ks_dec, &FluxBuildOptions::default());
    match err {
        Err(FluxBuildError::Decrypt(DecryptError::MissingKeys { file, secret })) => {
            assert_eq!(file, "/repo/apps/secret.enc.yaml");
            assert_eq!(secret.as_deref(), Some("flux-system/sops-age"));
        }
        other => panic!("{other:?}"),
    }

    // The wrong key.
    let err = build_kustomization(&fs, "/repo", &ks_dec, &opts(&k.wrong));
    let msg = support::err_text(&err);
    assert!(
        matches!(err, Err(FluxBuildError::Decrypt(DecryptError::File { ref file, error: SopsError::NoMatchingKey { .. } })) if file.ends_with("secret.enc.yaml")),
        "{msg}"
    );
    assert!(msg.contains(&k.writer.recipient), "{msg}");

    // A tampered value (a clear-text field changed after encryption).
    let mut tampered = fs.clone();
    let text = k
        .writer
        .yaml("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  a: b\n");
    // A value moved to another key: its path no longer authenticates it.
    tampered.add(
        "/repo/apps/secret.enc.yaml",
        text.replacen("kind: ENC[", "kind2: ENC[", 1),
    );
    let err = build_kustomization(&tampered, "/repo", &ks_dec, &opts(&k.ring));
    assert!(
        matches!(
            err,
            Err(FluxBuildError::Decrypt(DecryptError::File {
                error: SopsError::Decrypt { .. },
                ..
            }))
        ),
        "{err:?}"
    );
    k.writer.encrypted_regex = Some("^stringData$".into());
    let text = k
        .writer
        .yaml("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  a: b\n");
    tampered.add(
        "/repo/apps/secret.enc.yaml",
        text.replacen("name: x", "name: y", 1),
    );
    let err = build_kustomization(&tampered, "/repo", &ks_dec, &opts(&k.ring));
    assert!(
        matches!(
            err,
            Err(FluxBuildError::Decrypt(DecryptError::File {
                error: SopsError::MacMismatch { .. },
                ..
            }))
        ),
        "{err:?}"
    );

    // A Secret data entry that does not open.
    k.writer.encrypted_regex = None;
    let mut bad_entry = MemFs::default();
    let inner = k.writer.yaml("user: admin\n").replacen(
        "user: ENC[AES256_GCM,data:",
        "user: ENC[AES256_GCM,data:AAAA",
        1,
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(inner);
    bad_entry.add(
        "/repo/apps/s.yaml",
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  creds.yaml: {b64}\n"),
    );
    let err = build_kustomization(&bad_entry, "/repo", &ks_dec, &opts(&k.ring));
    let msg = support::err_text(&err);
    assert!(
        msg.contains("Secret field 'creds.yaml'") && msg.contains("Secret/s"),
        "{msg}"
    );

    // A plain file that merely quotes the marker is not encrypted.
    let mut quoting = MemFs::default();
    quoting.add(
        "/repo/apps/doc.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: doc\ndata:\n  howto: 'sops files hold a line like mac: ENC[...]'\n",
    );
    let out = build_kustomization(&quoting, "/repo", &ks_dec, &FluxBuildOptions::default());
    assert!(out.is_ok_and(|s| s.to_yaml().contains("mac: ENC[...]")));

    // Without spec.decryption an encrypted Secret is refused, as Flux does.
    let err = build_kustomization(
        &fs,
        "/repo",
        &ks("./apps", ""),
        &FluxBuildOptions::default(),
    );
    let msg = support::err_text(&err);
    assert!(
        matches!(err, Err(FluxBuildError::Encrypted { .. })) && msg.contains("Secret/db"),
        "{msg}"
    );
}
