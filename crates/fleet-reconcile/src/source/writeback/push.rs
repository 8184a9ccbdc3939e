//! Pushing with the `git` program. gix cannot push yet (gitoxide issue
//! #306), so this one module runs `git push --porcelain` on the scratch
//! repository, with the same credentials as the fetch and nothing from the
//! machine's or user's Git configuration:
//! - `ssh://`: `GIT_SSH_COMMAND` with the Secret's `identity` and
//!   `known_hosts` (strict host key checking, no agent, no prompt);
//! - `https://`: the Secret's `ca.crt`, `tls.crt`/`tls.key` and an
//!   `Authorization` header (basic or bearer), passed as `GIT_CONFIG_*`
//!   variables so no secret appears on a command line;
//! - `file://`, `git://` and plain `http://` need nothing.
//!
//! The porcelain report tells a push the remote rejected because it moved
//! (`fetch first`, `non-fast-forward`: [`PushError::Rejected`], which the
//! caller retries) from other failures.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

use super::super::{GitSource, ssh};

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The remote moved since the fetch: fetch again and redo the change.
    #[error("the remote rejected the push of {refspec}: {reason}")]
    Rejected {
        /// The refspec pushed.
        refspec: String,
        /// git's summary (`fetch first`, `non-fast-forward`).
        reason: String,
    },
    /// The remote refused for another reason (a hook, protection).
    #[error("the remote refused the push of {refspec}: {reason}")]
    Refused {
        /// The refspec pushed.
        refspec: String,
        /// What the remote said.
        reason: String,
    },
    /// The credentials were refused.
    #[error("authentication failed while pushing: {0}")]
    Authentication(String),
    /// `spec.timeout` ran out.
    #[error("git push timed out after {0:?}")]
    Timeout(Duration),
    /// `git` could not be run or failed otherwise.
    #[error("git push failed: {0}")]
    Git(String),
}

/// What one `git push` sends.
pub(super) struct Push<'a> {
    /// The scratch repository.
    pub git_dir: &'a Path,
    /// A private directory for key files.
    pub secrets_dir: &'a Path,
    /// `src:dst`.
    pub refspec: &'a str,
    /// `--force`.
    pub force: bool,
    /// Push options (`-o key=value`), in order.
    pub options: &'a [String],
}

/// Runs `git push` of `push.refspec` to `source`'s URL.
pub(super) fn push(source: &GitSource, push: &Push<'_>) -> Result<(), PushError> {
    let mut cmd = Command::new("git");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", push.secrets_dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env("SSH_ASKPASS", "true")
        .env("LC_ALL", "C")
        .arg("--git-dir")
        .arg(push.git_dir);
    let mut config: Vec<(String, String)> = Vec::new();
    let creds = &source.credentials;
    if source.url.starts_with("ssh://") || is_scp_like(&source.url) {
        let command =
            ssh::command(push.secrets_dir, source).map_err(|e| PushError::Git(e.to_string()))?;
        cmd.env("GIT_SSH_COMMAND", command);
    } else if source.url.starts_with("https://") {
        if let Some(ca) = &creds.ca {
            let path = write_secret(push.secrets_dir, "ca.crt", ca)?;
            config.push(("http.sslCAInfo".into(), path));
        }
        if let (Some(cert), Some(key)) = (&creds.client_cert, &creds.client_key) {
            config.push((
                "http.sslCert".into(),
                write_secret(push.secrets_dir, "tls.crt", cert)?,
            ));
            config.push((
                "http.sslKey".into(),
                write_secret(push.secrets_dir, "tls.key", key)?,
            ));
        }
        if let Some(token) = &creds.bearer_token {
            config.push((
                "http.extraHeader".into(),
                format!("Authorization: Bearer {token}"),
            ));
        } else if let Some(user) = &creds.username {
            let pair = format!("{user}:{}", creds.password.as_deref().unwrap_or_default());
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            config.push((
                "http.extraHeader".into(),
                format!("Authorization: Basic {encoded}"),
            ));
        }
    }
    cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
    for (i, (key, value)) in config.iter().enumerate() {
        cmd.env(format!("GIT_CONFIG_KEY_{i}"), key)
            .env(format!("GIT_CONFIG_VALUE_{i}"), value);
    }
    cmd.args(["push", "--porcelain", "--no-verify"]);
    if push.force {
        cmd.arg("--force");
    }
    for option in push.options {
        cmd.arg(format!("--push-option={option}"));
    }
    cmd.arg(&source.url).arg(push.refspec);
    let output = run(cmd, source.timeout)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Porcelain: `<flag>\t<from>:<to>\t<summary>`, `!` for a rejected ref.
    for line in stdout.lines() {
        let mut fields = line.split('\t');
        if fields.next() != Some("!") {
            continue;
        }
        let _ = fields.next();
        let summary = fields.next().unwrap_or_default().to_string();
        let details = format!("{summary} {stderr}");
        // Moved before the push (`[rejected]`), or while the server
        // updated the reference (`[remote rejected] (failed to update
        // ref)`, "cannot lock ref … but expected …").
        let retryable = (summary.starts_with("[rejected]")
            && ["fetch first", "non-fast-forward", "stale info"]
                .iter()
                .any(|r| summary.contains(r)))
            || ["failed to update ref", "cannot lock ref"]
                .iter()
                .any(|r| details.contains(r));
        let refspec = push.refspec.to_string();
        return Err(if retryable {
            PushError::Rejected {
                refspec,
                reason: summary,
            }
        } else {
            PushError::Refused {
                refspec,
                reason: format!("{summary} {}", last_lines(&stderr))
                    .trim()
                    .to_string(),
            }
        });
    }
    if output.status.success() {
        return Ok(());
    }
    let message = last_lines(&stderr);
    let lower = message.to_lowercase();
    if [
        "authentication failed",
        "permission denied",
        "401",
        "403",
        "could not read username",
    ]
    .iter()
    .any(|m| lower.contains(m))
    {
        Err(PushError::Authentication(message))
    } else {
        Err(PushError::Git(message))
    }
}

fn is_scp_like(url: &str) -> bool {
    !url.contains("://") && url.contains(':')
}

fn write_secret(dir: &Path, name: &str, data: &[u8]) -> Result<String, PushError> {
    let path = dir.join(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| PushError::Git(format!("cannot write {name}: {e}")))?;
    file.write_all(data)
        .map_err(|e| PushError::Git(format!("cannot write {name}: {e}")))?;
    Ok(path.display().to_string())
}

/// Runs `cmd`, killing it when `timeout` runs out. Its output is read on
/// threads so a full pipe never stalls it.
fn run(mut cmd: Command, timeout: Duration) -> Result<std::process::Output, PushError> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| PushError::Git(format!("cannot run git: {e}")))?;
    let reader = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut data = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut data);
            }
            data
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(PushError::Timeout(timeout));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(PushError::Git(e.to_string())),
        }
    };
    Ok(std::process::Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// The last few lines of git's standard error, where it says why.
fn last_lines(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .collect();
    lines[lines.len().saturating_sub(4)..].join("; ")
}
