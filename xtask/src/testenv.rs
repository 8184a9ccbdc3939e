//! `cargo xtask testenv build|up`: the `fleet-testenv` binary from the Go
//! module in `tests/testenv/` (a real control plane: etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler, kwok), built with `go build`
//! into `target/testenv/fleet-testenv`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The Go module's directory.
fn module_dir(root: &Path) -> PathBuf {
    root.join("tests/testenv")
}

/// Where the binary goes: `$CARGO_TARGET_DIR` (or `target/`), then `testenv/`.
/// The test harness (`fleet-testenv` crate) looks there.
pub fn binary_path(root: &Path) -> PathBuf {
    xtask::target_dir(root)
        .join("testenv")
        .join("fleet-testenv")
}

/// The version the Go module requires of `module` (`require` lines of go.mod).
fn required_version(go_mod: &str, module: &str) -> Option<String> {
    go_mod.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let first = words.next()?;
        let (name, version) = if first == "require" {
            (words.next()?, words.next()?)
        } else {
            (first, words.next()?)
        };
        (name == module && version.starts_with('v')).then(|| version.to_string())
    })
}

/// `-X` flags that make `/version` report the pinned release, as Kubernetes'
/// own build (`hack/lib/version.sh`) stamps it.
fn version_ldflags(version: &str) -> Result<String> {
    let mut parts = version.trim_start_matches('v').split('.');
    let (Some(major), Some(minor)) = (parts.next(), parts.next()) else {
        bail!("k8s.io/kubernetes version {version} is not vMAJOR.MINOR.PATCH");
    };
    let mut flags = vec!["-s".to_string(), "-w".to_string()];
    for package in [
        "k8s.io/component-base/version",
        "k8s.io/client-go/pkg/version",
    ] {
        for (name, value) in [
            ("gitVersion", version),
            ("gitMajor", major),
            ("gitMinor", minor),
            ("gitTreeState", "clean"),
            ("buildDate", "1970-01-01T00:00:00Z"),
        ] {
            flags.push(format!("-X {package}.{name}={value}"));
        }
    }
    Ok(flags.join(" "))
}

/// Builds `fleet-testenv` (Go's module and build caches make a rebuild
/// quick) and returns its path.
pub fn build(root: &Path) -> Result<PathBuf> {
    let dir = module_dir(root);
    let go_mod_path = dir.join("go.mod");
    let go_mod = std::fs::read_to_string(&go_mod_path)
        .with_context(|| format!("reading {}", go_mod_path.display()))?;
    let version = required_version(&go_mod, "k8s.io/kubernetes")
        .with_context(|| format!("{} requires no k8s.io/kubernetes", go_mod_path.display()))?;
    let out = binary_path(root);
    let started = Instant::now();
    let status = Command::new("go")
        .current_dir(&dir)
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "-mod=readonly -buildvcs=false")
        // A release that needs a newer Go fails here instead of downloading one.
        .env("GOTOOLCHAIN", "local")
        .args(["build", "-trimpath", "-ldflags"])
        .arg(version_ldflags(&version)?)
        .arg("-o")
        .arg(&out)
        .arg(".")
        .status()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow::anyhow!(
                    "the `go` program is not installed: fleet-testenv is built from Go modules \
                     (Go {} or newer)",
                    go_directive(&go_mod).unwrap_or("1.26")
                )
            } else {
                anyhow::Error::new(e).context("running go build")
            }
        })?;
    if !status.success() {
        bail!("go build of {} failed ({status})", dir.display());
    }
    eprintln!(
        "built fleet-testenv (Kubernetes {version}) in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

fn go_directive(go_mod: &str) -> Option<&str> {
    go_mod
        .lines()
        .find_map(|line| line.strip_prefix("go ").map(str::trim))
}

/// Builds the binary, then runs `fleet-testenv up ARGS…` in the foreground.
pub fn up(root: &Path, args: &[String]) -> Result<()> {
    let binary = build(root)?;
    let status = Command::new(&binary)
        .arg("up")
        .args(args)
        .status()
        .with_context(|| format!("running {}", binary.display()))?;
    if !status.success() {
        bail!("fleet-testenv up ended with {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_version_reads_block_and_single_line_requires() {
        let go_mod = "module m\n\ngo 1.26.0\n\nrequire (\n\tk8s.io/kubernetes v1.36.3\n\tsigs.k8s.io/kwok v0.8.0 // indirect\n)\nrequire go.etcd.io/etcd/server/v3 v3.6.8\n";
        assert_eq!(
            required_version(go_mod, "k8s.io/kubernetes").as_deref(),
            Some("v1.36.3")
        );
        assert_eq!(
            required_version(go_mod, "go.etcd.io/etcd/server/v3").as_deref(),
            Some("v3.6.8")
        );
        assert_eq!(required_version(go_mod, "k8s.io/api"), None);
        assert_eq!(go_directive(go_mod), Some("1.26.0"));
    }

    #[test]
    fn version_ldflags_stamp_major_and_minor() {
        let flags = version_ldflags("v1.36.3").unwrap_or_default();
        assert!(flags.contains("-X k8s.io/component-base/version.gitVersion=v1.36.3"));
        assert!(flags.contains("-X k8s.io/component-base/version.gitMajor=1 "));
        assert!(flags.contains("-X k8s.io/component-base/version.gitMinor=36 "));
        assert!(version_ldflags("v1").is_err());
    }
}
