//! `cargo xtask fidelity`: a differential run of fleet's kustomize engine
//! against `kubectl kustomize` on randomly generated, realistic trees
//! ([`crate::fidelity_gen`]).
//!
//! A tree passes when both produce the same bytes, or when both refuse it.
//! Failures are grouped by a short signature (who refused, or the first
//! differing line with digits and generated names blurred) so that one
//! class of bug shows up as one group, with the seeds that reproduce it.

use crate::fidelity_gen::{Tree, generate};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// What one seed gave.
enum Outcome {
    Pass,
    Fail { group: String, detail: String },
}

/// The kustomize version `kubectl kustomize` must embed.
const KUSTOMIZE_VERSION: &str = "v5.5.0";

/// Checks that `kubectl` is there and embeds kustomize v5.5.0. `Ok(false)`
/// when kubectl is missing.
pub fn kubectl_ready() -> Result<bool> {
    let out = match Command::new("kubectl")
        .args(["version", "--client"])
        .output()
    {
        Ok(out) => out,
        Err(_) => return Ok(false),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("Kustomize Version: "))
        .unwrap_or("")
        .trim();
    if version != KUSTOMIZE_VERSION {
        bail!(
            "kubectl embeds kustomize {version:?}, not {KUSTOMIZE_VERSION}: its output is not the reference"
        );
    }
    Ok(true)
}

fn write_tree(dir: &Path, tree: &Tree) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    for (path, text) in &tree.files {
        let p = dir.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// The first line of an error, without the tree's temporary path.
fn first_line(s: &str, root: &Path) -> String {
    let root = root.to_string_lossy();
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with("# Warning"))
        .unwrap_or("");
    // kubectl's log prefix (`E1202 05:48:58.99 5923 run.go:72] "command failed" err=`).
    let line = line.split_once(" err=").map_or(line, |(_, e)| e);
    line.replace(root.as_ref(), "<tree>")
}

/// The end of a (nested) error message, where the cause is.
fn tail(msg: &str) -> &str {
    let start = msg.char_indices().rev().nth(89).map_or(0, |(i, _)| i);
    &msg[start..]
}

/// Blurs what varies between seeds (digits, hashes, app names) so that one
/// class of difference groups together.
fn blur(line: &str) -> String {
    let mut out = String::new();
    let mut last_digit = false;
    for c in line.chars() {
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
        } else {
            out.push(c);
            last_digit = false;
        }
    }
    for app in [
        "web", "api", "worker", "redis", "frontend", "backend", "cache", "gateway", "auth",
        "podinfo",
    ] {
        out = out.replace(app, "APP");
    }
    out.chars().take(100).collect()
}

fn compare(expected: &str, ours: &str) -> (String, String) {
    let e: Vec<&str> = expected.lines().collect();
    let o: Vec<&str> = ours.lines().collect();
    let i = e
        .iter()
        .zip(o.iter())
        .position(|(a, b)| a != b)
        .unwrap_or(e.len().min(o.len()));
    let el = e.get(i).copied().unwrap_or("<end>");
    let ol = o.get(i).copied().unwrap_or("<end>");
    let lo = i.saturating_sub(3);
    let mut detail = String::new();
    for (j, line) in e.iter().enumerate().take(i + 1).skip(lo) {
        let mark = if j == i { "-" } else { " " };
        detail.push_str(&format!("{mark} {line}\n"));
    }
    detail.push_str(&format!("+ {ol}\n"));
    (
        format!(
            "output differs: kustomize `{}` fleet `{}`",
            blur(el.trim()),
            blur(ol.trim())
        ),
        detail,
    )
}

fn run_seed(seed: u64, work: &Path) -> Result<(Outcome, Tree, Option<String>, Option<String>)> {
    let tree = generate(seed);
    let root = work.join(format!("seed-{seed}"));
    write_tree(&root, &tree)?;
    let dir = root.join(&tree.build_dir);
    let kubectl = Command::new("kubectl")
        .arg("kustomize")
        .arg(&dir)
        .output()
        .context("running kubectl kustomize")?;
    let expected = kubectl
        .status
        .success()
        .then(|| String::from_utf8_lossy(&kubectl.stdout).into_owned());
    let ours = fleet_kustomize::build(
        &fleet_kustomize::fs::DiskFs,
        &dir.to_string_lossy(),
        &fleet_kustomize::BuildOptions::default(),
    );
    let outcome = match (&expected, &ours) {
        (Some(e), Ok(set)) => {
            let text = set.to_yaml();
            if *e == text {
                Outcome::Pass
            } else {
                let (group, detail) = compare(e, &text);
                Outcome::Fail { group, detail }
            }
        }
        (None, Err(_)) => Outcome::Pass,
        (Some(_), Err(err)) => {
            let msg = first_line(&err.to_string(), &root);
            Outcome::Fail {
                group: format!("fleet refuses: {}", blur(tail(&msg))),
                detail: msg,
            }
        }
        (None, Ok(_)) => {
            let msg = first_line(&String::from_utf8_lossy(&kubectl.stderr), &root);
            Outcome::Fail {
                group: format!("kustomize refuses: {}", blur(tail(&msg))),
                detail: msg,
            }
        }
    };
    let ours_text = match ours {
        Ok(set) => Some(set.to_yaml()),
        Err(e) => Some(format!("ERROR: {e}\n")),
    };
    let expected_text = expected.or_else(|| {
        Some(format!(
            "ERROR: {}",
            String::from_utf8_lossy(&kubectl.stderr)
        ))
    });
    if matches!(outcome, Outcome::Pass) {
        std::fs::remove_dir_all(&root).ok();
    }
    Ok((outcome, tree, expected_text, ours_text))
}

/// Options of one run.
pub struct Options {
    /// First seed.
    pub start: u64,
    /// How many seeds.
    pub seeds: u64,
    /// Where to copy failing trees (with `expected.txt` and `fleet.txt`).
    pub keep_failures: Option<PathBuf>,
    /// Worker threads.
    pub jobs: usize,
    /// Print each failure's detail, not only the groups.
    pub verbose: bool,
    /// Fail when fewer than this share of trees (in percent) pass.
    pub min_pass_percent: f64,
}

/// Runs the seeds and prints the summary; fails below `min_pass_percent`.
pub fn run(opts: &Options) -> Result<()> {
    if !kubectl_ready()? {
        return xtask::skip("kubectl not found: the fidelity run against kubectl kustomize");
    }
    let work = std::env::temp_dir().join(format!("fleet-fidelity-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let next = Mutex::new(opts.start);
    let end = opts.start + opts.seeds;
    let results: Mutex<Vec<(u64, Outcome)>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            s.spawn(|| {
                loop {
                    let seed = {
                        let Ok(mut n) = next.lock() else { return };
                        if *n >= end {
                            return;
                        }
                        *n += 1;
                        *n - 1
                    };
                    match run_seed(seed, &work) {
                        Ok((outcome, tree, expected, ours)) => {
                            if let (Outcome::Fail { .. }, Some(dir)) =
                                (&outcome, &opts.keep_failures)
                                && let Err(e) = keep(dir, seed, &tree, expected, ours)
                                && let Ok(mut errs) = errors.lock()
                            {
                                errs.push(format!("seed {seed}: keeping the failure: {e:#}"));
                            }
                            if let Ok(mut r) = results.lock() {
                                r.push((seed, outcome));
                            }
                        }
                        Err(e) => {
                            if let Ok(mut errs) = errors.lock() {
                                errs.push(format!("seed {seed}: {e:#}"));
                            }
                        }
                    }
                }
            });
        }
    });
    std::fs::remove_dir_all(&work).ok();
    let errors = errors.into_inner().unwrap_or_default();
    if !errors.is_empty() {
        bail!(
            "the fidelity run could not run every seed:\n{}",
            errors.join("\n")
        );
    }
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(s, _)| *s);
    let total = results.len();
    let mut groups: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    let mut passed = 0;
    for (seed, o) in results {
        match o {
            Outcome::Pass => passed += 1,
            Outcome::Fail { group, detail } => {
                groups.entry(group).or_default().push((seed, detail))
            }
        }
    }
    let mut sorted: Vec<_> = groups.into_iter().collect();
    sorted.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    for (group, seeds) in &sorted {
        let list: Vec<String> = seeds.iter().take(12).map(|(s, _)| s.to_string()).collect();
        println!(
            "{:>5}  {group}\n       seeds {}",
            seeds.len(),
            list.join(" ")
        );
        if opts.verbose
            && let Some((s, detail)) = seeds.first()
        {
            println!("       seed {s}:");
            for line in detail.lines() {
                println!("         {line}");
            }
        }
    }
    let percent = if total == 0 {
        100.0
    } else {
        passed as f64 * 100.0 / total as f64
    };
    println!(
        "fidelity: {passed} of {total} trees identical to kubectl kustomize ({percent:.1}%), seeds {}..{}",
        opts.start, end
    );
    if percent < opts.min_pass_percent {
        bail!(
            "{percent:.1}% of the trees match kubectl kustomize, below the required {}%",
            opts.min_pass_percent
        );
    }
    Ok(())
}

fn keep(
    dir: &Path,
    seed: u64,
    tree: &Tree,
    expected: Option<String>,
    ours: Option<String>,
) -> Result<()> {
    let root = dir.join(format!("seed-{seed}"));
    write_tree(&root, tree)?;
    std::fs::write(root.join("BUILD_DIR"), format!("{}\n", tree.build_dir))?;
    std::fs::write(root.join("expected.txt"), expected.unwrap_or_default())?;
    std::fs::write(root.join("fleet.txt"), ours.unwrap_or_default())?;
    Ok(())
}
