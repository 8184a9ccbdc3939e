//! `cargo xtask conformance kustomize`: runs the kustomize corpus against
//! `fleet build` and fails when fewer cases pass than the count recorded in
//! `conformance/kustomize-pass-count`.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// Runs the corpus runner and compares with the recorded floor.
pub fn kustomize(root: &Path, record: bool) -> Result<()> {
    let runner = root.join("../shared/conformance/kustomize/run");
    if !runner.exists() {
        return xtask::skip(&format!(
            "kustomize corpus not found at {}",
            runner.display()
        ));
    }
    let status = Command::new("cargo")
        .args(["build", "--quiet", "--release", "-p", "fleet"])
        .current_dir(root)
        .status()
        .context("building fleet")?;
    if !status.success() {
        bail!("building fleet failed");
    }
    let fleet = xtask::release_dir(root).join("fleet");
    let out = Command::new("python3")
        .arg(&runner)
        .arg("--list-failures")
        .arg("--")
        .arg(&fleet)
        .arg("build")
        .output()
        .context("running the kustomize corpus")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    let last = stdout.lines().last().unwrap_or("");
    let passed: usize = last
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("unexpected last line from the runner: {last:?}"))?;
    let floor_file = root.join("conformance/kustomize-pass-count");
    let floor: usize = std::fs::read_to_string(&floor_file)
        .with_context(|| format!("reading {}", floor_file.display()))?
        .trim()
        .parse()
        .context("the recorded pass count is not a number")?;
    if record && passed > floor {
        std::fs::write(&floor_file, format!("{passed}\n"))?;
        println!("recorded new pass count {passed} (was {floor})");
        return Ok(());
    }
    if passed < floor {
        bail!("kustomize corpus: {passed} cases pass, fewer than the recorded {floor}");
    }
    println!("kustomize corpus: {passed} pass (recorded floor {floor})");
    Ok(())
}
