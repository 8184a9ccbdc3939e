//! `cargo xtask bench kustomize`: fleet's `fleet build` side by side with
//! `kubectl kustomize` on a generated fleet repository.
//!
//! The generated repository has shared application bases, a component, and
//! one overlay per cluster (prefix, labels, a strategic-merge patch on every
//! Deployment, a JSON patch, a ConfigMap generator, an image override, the
//! component), plus a top kustomization over all clusters. Measured:
//! (a) building each of 20 cluster overlays in its own process, as CI or a
//! reconciler does; (b) one build of the whole fleet's top kustomization.
//! Times are medians of repeated runs; peak memory is the largest resident
//! set `/usr/bin/time` reports.

use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Applications per cluster; each contributes seven objects.
const APPS: usize = 30;

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Writes a fleet of `clusters` clusters under `root`.
pub fn generate(root: &Path, clusters: usize) -> Result<()> {
    if root.exists() {
        std::fs::remove_dir_all(root)?;
    }
    for a in 0..APPS {
        let dir = root.join(format!("bases/app-{a}"));
        write(
            &dir.join("kustomization.yaml"),
            &format!(
                "resources:\n- workload.yaml\nconfigMapGenerator:\n- name: settings-{a}\n  literals:\n  - LOG_LEVEL=info\n  - FEATURE=on\n"
            ),
        )?;
        write(
            &dir.join("workload.yaml"),
            &format!(
                r#"apiVersion: v1
kind: ServiceAccount
metadata:
  name: app-{a}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{a}
  labels:
    app: app-{a}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: app-{a}
  template:
    metadata:
      labels:
        app: app-{a}
    spec:
      serviceAccountName: app-{a}
      containers:
      - name: app
        image: registry.example.com/team/app-{a}:1.0.0
        ports:
        - containerPort: 8080
        envFrom:
        - configMapRef:
            name: settings-{a}
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
---
apiVersion: v1
kind: Service
metadata:
  name: app-{a}
spec:
  selector:
    app: app-{a}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-{a}
spec:
  rules:
  - host: app-{a}.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: app-{a}
            port:
              number: 80
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: app-{a}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: app-{a}
  minReplicas: 2
  maxReplicas: 6
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: app-{a}
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app: app-{a}
"#
            ),
        )?;
    }
    write(
        &root.join("components/monitoring/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /spec/template/metadata/annotations\n      value:\n        prometheus.io/scrape: \"true\"\n",
    )?;
    let mut top = String::from("resources:\n");
    for c in 0..clusters {
        let mut k = String::from("resources:\n");
        for a in 0..APPS {
            let _ = writeln!(k, "- ../../bases/app-{a}");
        }
        let _ = write!(
            k,
            "namePrefix: c{c}-\ncommonLabels:\n  fleet.example.com/cluster: c{c}\ncomponents:\n- ../../components/monitoring\nimages:\n- name: registry.example.com/team/app-0\n  newTag: 1.1.{c}\nconfigMapGenerator:\n- name: cluster-info\n  literals:\n  - CLUSTER=c{c}\n  - REGION=region-{}\npatches:\n- path: resources.yaml\n  target:\n    kind: Deployment\n- target:\n    kind: HorizontalPodAutoscaler\n  patch: |-\n    - op: replace\n      path: /spec/maxReplicas\n      value: {}\n",
            c % 5,
            6 + c % 4
        );
        let dir = root.join(format!("clusters/c{c}"));
        write(&dir.join("kustomization.yaml"), &k)?;
        write(
            &dir.join("resources.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        resources:\n          requests:\n            cpu: 600m\n            memory: 600Mi\n",
        )?;
        let _ = writeln!(top, "- ../clusters/c{c}");
    }
    write(&root.join("fleet/kustomization.yaml"), &top)?;
    Ok(())
}

/// One timed run of `cmd` (standard input from `stdin`, or none): wall
/// time, peak resident memory (KiB) as `/usr/bin/time` reports it, and
/// standard output. Shared by every benchmark runner.
pub(crate) fn timed(cmd: &[&str], stdin: Option<&Path>) -> Result<(Duration, u64, Vec<u8>)> {
    timed_run(cmd, stdin, &[0])
}

/// [`timed`] for a command whose exit codes in `ok` all mean success
/// (`fleet plan` exits 1 when something changes).
pub(crate) fn timed_exit(cmd: &[&str], ok: &[i32]) -> Result<(Duration, u64, Vec<u8>)> {
    timed_run(cmd, None, ok)
}

fn timed_run(cmd: &[&str], stdin: Option<&Path>, ok: &[i32]) -> Result<(Duration, u64, Vec<u8>)> {
    let mem_file = std::env::temp_dir().join(format!("fleet-bench-mem-{}", std::process::id()));
    let input = match stdin {
        Some(p) => std::process::Stdio::from(
            std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?,
        ),
        None => std::process::Stdio::null(),
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
    if !out.status.code().is_some_and(|c| ok.contains(&c)) {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let mem: u64 = std::fs::read_to_string(&mem_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    Ok((elapsed, mem, out.stdout))
}

/// One timed build of `dir`: wall time, peak memory (KiB) and the number
/// of objects printed.
fn run(cmd: &[&str], dir: &Path) -> Result<(Duration, u64, usize)> {
    let dir_arg = dir.to_string_lossy();
    let mut full = cmd.to_vec();
    full.push(&dir_arg);
    let (elapsed, mem, stdout) = timed(&full, None)?;
    let docs = stdout
        .split(|b| *b == b'\n')
        .filter(|l| l.starts_with(b"kind:"))
        .count();
    Ok((elapsed, mem, docs))
}

/// Builds the release `fleet` binary and returns its path
/// (`FLEET_BENCH_BIN` names one already built instead).
pub(crate) fn release_fleet(root: &Path) -> Result<String> {
    if let Ok(bin) = std::env::var("FLEET_BENCH_BIN") {
        return Ok(bin);
    }
    let status = Command::new("cargo")
        .args(["build", "--quiet", "--release", "-p", "fleet"])
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("building fleet failed");
    }
    Ok(xtask::release_dir(root)
        .join("fleet")
        .to_string_lossy()
        .into_owned())
}

/// The median of some durations.
pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Measure {
    median: Duration,
    peak_kib: u64,
    objects: usize,
}

fn measure(cmd: &[&str], dirs: &[PathBuf], repeats: usize) -> Result<Measure> {
    let mut times = Vec::new();
    let mut peak = 0;
    let mut objects = 0;
    for _ in 0..repeats {
        let mut total = Duration::ZERO;
        objects = 0;
        for d in dirs {
            let (t, m, n) = run(cmd, d)?;
            total += t;
            peak = peak.max(m);
            objects += n;
        }
        times.push(total);
    }
    Ok(Measure {
        median: median(times),
        peak_kib: peak,
        objects,
    })
}

/// How fleet compares with the reference: time and peak memory ratios.
fn ratio(ours: &Measure, theirs: &Measure) -> String {
    format!(
        "fleet is {:.1}x faster, {:.1}x less peak memory",
        theirs.median.as_secs_f64() / ours.median.as_secs_f64().max(1e-9),
        theirs.peak_kib as f64 / ours.peak_kib.max(1) as f64
    )
}

fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

/// Runs the benchmark and prints a report; `scales` are the fleet sizes
/// fleet alone is measured at; kubectl runs at 20 overlays and 10 clusters.
pub fn kustomize(root: &Path, scales: &[usize], repeats: usize, with_kubectl: bool) -> Result<()> {
    let fleet_bin = release_fleet(root)?;
    let fleet_cmd = [fleet_bin.as_str(), "build"];
    let kubectl_cmd = ["kubectl", "kustomize"];
    let work = root.join("target/bench");

    println!("== (a) 20 cluster overlays, each built in its own process");
    let tree = work.join("fleet-20");
    generate(&tree, 20)?;
    let overlays: Vec<PathBuf> = (0..20)
        .map(|c| tree.join(format!("clusters/c{c}")))
        .collect();
    let ours = measure(&fleet_cmd, &overlays, repeats)?;
    println!(
        "fleet:   median {} for 20 builds ({} objects), peak RSS {} MiB",
        secs(ours.median),
        ours.objects,
        ours.peak_kib / 1024
    );
    if with_kubectl {
        let theirs = measure(&kubectl_cmd, &overlays, repeats.min(3))?;
        println!(
            "kubectl: median {} for 20 builds ({} objects), peak RSS {} MiB",
            secs(theirs.median),
            theirs.objects,
            theirs.peak_kib / 1024
        );
        println!("ratio: {}", ratio(&ours, &theirs));
    }

    println!("== (b) one build of the whole fleet's top kustomization");
    for &n in scales {
        let tree = work.join(format!("fleet-{n}"));
        generate(&tree, n)?;
        let top = vec![tree.join("fleet")];
        let ours = measure(&fleet_cmd, &top, repeats)?;
        println!(
            "fleet   {n:>4} clusters: median {} ({} objects, {:.2} µs/object), peak RSS {} MiB",
            secs(ours.median),
            ours.objects,
            ours.median.as_secs_f64() * 1e6 / ours.objects.max(1) as f64,
            ours.peak_kib / 1024
        );
        if with_kubectl && n == 10 {
            let theirs = measure(&kubectl_cmd, &top, repeats.min(2))?;
            println!(
                "kubectl {n:>4} clusters: median {} ({} objects), peak RSS {} MiB",
                secs(theirs.median),
                theirs.objects,
                theirs.peak_kib / 1024
            );
            println!("ratio at {n} clusters: {}", ratio(&ours, &theirs));
            let same = Command::new(&fleet_bin)
                .arg("build")
                .arg(&top[0])
                .output()?
                .stdout
                == Command::new("kubectl")
                    .arg("kustomize")
                    .arg(&top[0])
                    .output()?
                    .stdout;
            println!("outputs identical: {same}");
        }
    }
    Ok(())
}
