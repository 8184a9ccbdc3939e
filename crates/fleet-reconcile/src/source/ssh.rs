//! SSH for gix's ssh transport and for `git push`, both of which run the
//! `ssh` program: the Secret's `identity` (decrypted first when the Secret
//! has a `password`) and `known_hosts` are written (mode 0600) into the
//! operation's private scratch directory and the command points `ssh` at
//! them, with strict host key checking, no other identities, no agent, and
//! no prompts. A host whose key is not in `known_hosts` is refused by
//! `ssh`.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use super::{GitSource, SourceError};

/// Refuses an SSH source that cannot be used.
pub(super) fn check(source: &GitSource) -> Result<(), SourceError> {
    let creds = &source.credentials;
    if creds.identity.is_none() {
        return Err(SourceError::Secret {
            message: "an ssh:// URL needs the Secret's 'identity' (a private key)".into(),
        });
    }
    if creds.known_hosts.is_none() {
        return Err(SourceError::Secret {
            message: "an ssh:// URL needs the Secret's 'known_hosts': host keys are never trusted on first use".into(),
        });
    }
    if let (Some(identity), Some(password)) = (&creds.identity, &creds.password) {
        decrypted_identity(identity, password)?;
    }
    Ok(())
}

/// The private key `identity` decrypted with `password`, in OpenSSH
/// format, for the `ssh` program (which would otherwise prompt). An
/// unencrypted key is returned as given.
pub(crate) fn decrypted_identity(identity: &[u8], password: &str) -> Result<Vec<u8>, SourceError> {
    let secret = |message: String| SourceError::Secret { message };
    let text = std::str::from_utf8(identity)
        .map_err(|_| secret("'identity' is not a PEM-encoded private key".into()))?;
    let key = match ssh_key::PrivateKey::from_openssh(text) {
        Ok(key) => key,
        Err(e) if text.contains("BEGIN OPENSSH PRIVATE KEY") => {
            return Err(secret(format!("'identity' cannot be read: {e}")));
        }
        // A PEM key (`BEGIN RSA PRIVATE KEY`, …): `ssh` reads it, but only
        // when it is not encrypted.
        Err(_) if text.contains("ENCRYPTED") => {
            return Err(secret(
                "'identity' is an encrypted PEM key; convert it to the OpenSSH format (ssh-keygen -p -f KEY) to use it with a 'password'".into(),
            ));
        }
        Err(_) if text.contains("PRIVATE KEY-----") => return Ok(identity.to_vec()),
        Err(_) => return Err(secret("'identity' is not a PEM-encoded private key".into())),
    };
    if !key.is_encrypted() {
        return Ok(identity.to_vec());
    }
    let key = key
        .decrypt(password.as_bytes())
        .map_err(|_| secret("the 'password' does not decrypt the SSH 'identity'".into()))?;
    let pem = key
        .to_openssh(ssh_key::LineEnding::LF)
        .map_err(|e| secret(format!("cannot encode the decrypted 'identity': {e}")))?;
    Ok(pem.as_bytes().to_vec())
}

/// Writes the key files under `dir` and configures `repo` to use them.
pub(super) fn configure(
    repo: &mut gix::Repository,
    dir: &Path,
    source: &GitSource,
) -> Result<(), SourceError> {
    let fail = |what: &str, message: String| SourceError::Git {
        url: source.url.clone(),
        operation: format!("preparing SSH ({what})"),
        message,
    };
    let command = command(dir, source)?;
    let mut config = repo.config_snapshot_mut();
    config
        .set_value(&gix::config::tree::Core::SSH_COMMAND, command.as_str())
        .map_err(|e| fail("core.sshCommand", e.to_string()))?;
    // The command's first word is `ssh`, but gix guesses the variant from
    // the whole string's last path component: say it.
    config
        .set_value(&gix::config::tree::Ssh::VARIANT, "ssh")
        .map_err(|e| fail("ssh.variant", e.to_string()))?;
    config
        .commit()
        .map_err(|e| fail("core.sshCommand", e.to_string()))?;
    Ok(())
}

/// Writes the key files into a new directory under `dir` and returns the
/// `ssh` command line that uses them (for `core.sshCommand` or
/// `GIT_SSH_COMMAND`).
pub(crate) fn command(dir: &Path, source: &GitSource) -> Result<String, SourceError> {
    let fail = |what: &str, message: String| SourceError::Git {
        url: source.url.clone(),
        operation: format!("preparing SSH ({what})"),
        message,
    };
    let ssh_dir = dir.join("fleet-ssh");
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&ssh_dir)
        .map_err(|e| fail("key directory", e.to_string()))?;
    let write = |name: &str, data: &[u8]| -> Result<std::path::PathBuf, SourceError> {
        let path = ssh_dir.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| fail(name, e.to_string()))?;
        file.write_all(data)
            .map_err(|e| fail(name, e.to_string()))?;
        if !data.ends_with(b"\n") {
            file.write_all(b"\n")
                .map_err(|e| fail(name, e.to_string()))?;
        }
        Ok(path)
    };
    let creds = &source.credentials;
    let identity = match (&creds.identity, &creds.password) {
        (Some(identity), Some(password)) => decrypted_identity(identity, password)?,
        (identity, _) => identity.clone().unwrap_or_default(),
    };
    let identity = write("identity", &identity)?;
    let known_hosts = write(
        "known_hosts",
        creds.known_hosts.as_deref().unwrap_or_default(),
    )?;
    let command = format!(
        "ssh -i {} -o IdentitiesOnly=yes -o IdentityAgent=none -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout={}",
        identity.display(),
        known_hosts.display(),
        source.timeout.as_secs().max(1)
    );
    Ok(command)
}
