//! SSH for gix's ssh transport, which runs the `ssh` program: the
//! Secret's `identity` and `known_hosts` are written (mode 0600) into the
//! fetch's private scratch directory and `core.sshCommand` of the scratch
//! repository points `ssh` at them, with strict host key checking, no
//! other identities, no agent, and no prompts. A host whose key is not in
//! `known_hosts` is refused by `ssh`.

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
    if creds.password.is_some() {
        return Err(SourceError::Unsupported {
            what: "an SSH identity with a passphrase ('password')".into(),
        });
    }
    Ok(())
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
    let identity = write("identity", creds.identity.as_deref().unwrap_or_default())?;
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
