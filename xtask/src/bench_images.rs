//! `cargo xtask bench images`: the `fleet image` commands on generated
//! input, each run as its own process, as CI or a user runs them.
//!
//! (a) choosing among 100,000 tags (SemVer with and without `v`,
//! prereleases, build tags with timestamps, plain numbers and junk) with
//! each policy kind, tags fed on standard input; (b) rewriting a
//! 5,000-file tree in which 1% of the files carry a marker. Times are
//! medians of repeated runs; peak memory is the largest resident set
//! `/usr/bin/time` reports.

use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift64*), so every run and every
/// machine benchmarks the same input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `count` tags of the kinds a busy repository accumulates.
pub fn tags(count: usize) -> Vec<String> {
    let mut rng = Rng(0x5eed_f1ee7);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let tag = match rng.below(100) {
            0..=29 => {
                let mut t = format!(
                    "{}{}.{}.{}",
                    if rng.below(4) == 0 { "v" } else { "" },
                    rng.below(20),
                    rng.below(30),
                    rng.below(50)
                );
                if rng.below(7) == 0 {
                    let _ = write!(t, "-rc.{}", rng.below(9));
                }
                if rng.below(20) == 0 {
                    let _ = write!(t, "+b{}", rng.below(999));
                }
                t
            }
            30..=54 => format!(
                "main-{:07x}-{}",
                rng.next() & 0xfff_ffff,
                1_700_000_000 + rng.below(30_000_000)
            ),
            55..=69 => format!("{}", 1_700_000_000 + rng.below(30_000_000)),
            70..=79 => "latest".to_string(),
            80..=87 => format!("sha256-{:016x}.sig", rng.next()),
            88..=93 => format!(
                "feature-{}-{}",
                ["login", "cart", "search"][rng.below(3) as usize],
                rng.below(500)
            ),
            _ => format!("{}.{}", rng.below(9), rng.below(9)),
        };
        out.push(tag);
    }
    out
}

/// One timed run with `stdin` fed from a file: wall time, peak RSS (KiB)
/// and standard output.
fn run(cmd: &[&str], stdin: Option<&Path>) -> Result<(Duration, u64, String)> {
    let mem_file =
        std::env::temp_dir().join(format!("fleet-bench-images-mem-{}", std::process::id()));
    let input = match stdin {
        Some(p) => {
            Stdio::from(std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?)
        }
        None => Stdio::null(),
    };
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&mem_file)
        .args(cmd)
        .stdin(input)
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    let elapsed = start.elapsed();
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let mem = std::fs::read_to_string(&mem_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    Ok((
        elapsed,
        mem,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

fn measure(cmd: &[&str], stdin: Option<&Path>, repeats: usize) -> Result<(Duration, u64, String)> {
    let mut times = Vec::new();
    let mut peak = 0;
    let mut output = String::new();
    for _ in 0..repeats {
        let (t, m, o) = run(cmd, stdin)?;
        times.push(t);
        peak = peak.max(m);
        output = o;
    }
    times.sort();
    Ok((times[times.len() / 2], peak, output))
}

/// Writes a tree of `files` YAML files, `marked` of them with a marker.
pub fn tree(root: &Path, files: usize, marked: usize) -> Result<()> {
    if root.exists() {
        std::fs::remove_dir_all(root)?;
    }
    let stride = files / marked.max(1);
    for i in 0..files {
        let dir = root.join(format!("apps/team-{}", i / 100));
        std::fs::create_dir_all(&dir)?;
        let marker = if i % stride == 0 {
            " # {\"$imagepolicy\": \"flux-system:app\"}"
        } else {
            ""
        };
        let text = format!(
            "# Service {i}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-{i}\n  namespace: team-{t}\n  labels:\n    app: svc-{i}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: svc-{i}\n  template:\n    metadata:\n      labels:\n        app: svc-{i}\n    spec:\n      containers:\n        - name: app\n          image: reg.example.com/app:1.0.0{marker}\n          ports:\n            - containerPort: 8080\n          resources:\n            requests:\n              cpu: 50m\n              memory: 64Mi\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\n  namespace: team-{t}\nspec:\n  selector:\n    app: svc-{i}\n  ports:\n    - port: 80\n      targetPort: 8080\n",
            t = i / 100
        );
        std::fs::write(dir.join(format!("svc-{i}.yaml")), text)?;
    }
    std::fs::write(
        root.join("README.md"),
        "generated by cargo xtask bench images\n",
    )?;
    Ok(())
}

fn secs(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Runs the benchmark and prints a report.
pub fn images(root: &Path, repeats: usize) -> Result<()> {
    let status = Command::new("cargo")
        .args(["build", "--quiet", "--release", "-p", "fleet"])
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("building fleet failed");
    }
    let fleet_bin = xtask::release_dir(root).join("fleet");
    let fleet = fleet_bin.to_string_lossy().into_owned();
    let work = root.join("target/bench/images");
    std::fs::create_dir_all(&work)?;

    let count = 100_000;
    let tag_file = work.join("tags.txt");
    let list = tags(count);
    std::fs::write(&tag_file, list.join("\n") + "\n")?;
    let one_tag = work.join("one-tag.txt");
    std::fs::write(&one_tag, "1.0.0\n")?;
    println!("== (a) choosing among {count} tags (fleet image select, tags on standard input)");
    let (startup, startup_mem, _) = measure(
        &[&fleet, "image", "select", "--semver", "*"],
        Some(&one_tag),
        repeats,
    )?;
    println!(
        "{:<58} median {:>8}, peak RSS {:>3} MiB",
        "baseline: one tag (process start-up)",
        secs(startup),
        startup_mem / 1024
    );
    let policies: [(&str, Vec<&str>); 6] = [
        (
            "semver >=1.0.0 <10.0.0",
            vec!["--semver", ">=1.0.0 <10.0.0"],
        ),
        (
            "semver ^5.0.0-0 (prereleases in)",
            vec!["--semver", "^5.0.0-0"],
        ),
        ("alphabetical asc", vec!["--alphabetical", "asc"]),
        (
            "alphabetical desc, filter ^main-",
            vec!["--alphabetical", "desc", "--filter-pattern", "^main-"],
        ),
        (
            "numerical asc, filter+extract build timestamp",
            vec![
                "--numerical",
                "asc",
                "--filter-pattern",
                "^main-[a-f0-9]+-(?P<ts>[0-9]+)$",
                "--filter-extract",
                "$ts",
            ],
        ),
        (
            "numerical desc, filter ^[0-9]+$",
            vec!["--numerical", "desc", "--filter-pattern", "^[0-9]+$"],
        ),
    ];
    for (name, flags) in &policies {
        let mut cmd = vec![fleet.as_str(), "image", "select"];
        cmd.extend(flags.iter().copied());
        let (t, mem, out) = measure(&cmd, Some(&tag_file), repeats)?;
        let per_tag = t.saturating_sub(startup).as_secs_f64() * 1e9 / count as f64;
        println!(
            "{name:<58} median {:>8} ({per_tag:>5.0} ns/tag over start-up), peak RSS {:>3} MiB -> {}",
            secs(t),
            mem / 1024,
            out.trim()
        );
    }

    println!("== (b) rewriting a 5,000-file tree with 1% of files marked (fleet image update)");
    let dir = work.join("tree");
    tree(&dir, 5_000, 50)?;
    let dir_arg = dir.to_string_lossy().into_owned();
    let (t, mem, out) = measure(
        &[
            &fleet,
            "image",
            "update",
            &dir_arg,
            "--dry-run",
            "--policy",
            "flux-system:app=reg.example.com/app:2.0.0",
        ],
        None,
        repeats,
    )?;
    println!(
        "{:<58} median {:>8}, peak RSS {:>3} MiB ({})",
        "dry run (screen 5,000 files, plan 50 rewrites)",
        secs(t),
        mem / 1024,
        out.lines().last().unwrap_or_default()
    );
    let mut times = Vec::new();
    let mut peak = 0;
    let mut summary = String::new();
    for i in 0..repeats.max(1) {
        // A new tag each time, so every run rewrites the 50 marked files.
        let policy = format!("flux-system:app=reg.example.com/app:3.0.{i}");
        let (t, m, o) = run(
            &[&fleet, "image", "update", &dir_arg, "--policy", &policy],
            None,
        )?;
        times.push(t);
        peak = peak.max(m);
        summary = o.lines().last().unwrap_or_default().to_string();
    }
    times.sort();
    println!(
        "{:<58} median {:>8}, peak RSS {:>3} MiB ({summary})",
        "update in place (50 files written)",
        secs(times[times.len() / 2]),
        peak / 1024
    );
    Ok(())
}
