//! Test harness around `fleet-testenv`, the real Kubernetes control plane
//! fleet's tests run against (embedded etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler and kwok fake nodes, built from
//! Go modules by `cargo xtask testenv build`).
//!
//! One environment is started per test binary, on first use, and stopped
//! when the binary exits (the environment watches its standard input, which
//! closes with the process). Each test takes a fresh namespace and a kube-rs
//! client:
//!
//! ```no_run
//! # async fn example() {
//! let Some(env) = fleet_testenv::shared() else { return }; // skipped: not built
//! let ns = env.namespace("management").await;
//! // ns.client is a kube::Client, ns.name a new namespace in that cluster.
//! # }
//! ```
//!
//! Where the binary is missing (no Go on a laptop), [`shared`] prints how to
//! build it and returns `None`; with `FLEET_REQUIRE_TESTENV=1` (set by CI)
//! it panics instead, so a missing environment cannot pass silently.

pub mod git;

use serde::Deserialize;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// The variable that turns "not built, skipped" into a failure.
pub const REQUIRE_VAR: &str = "FLEET_REQUIRE_TESTENV";
/// The variable naming the binary, instead of `target/testenv/fleet-testenv`.
pub const BINARY_VAR: &str = "FLEET_TESTENV_BIN";

/// Why an environment could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The binary is not where it is looked for.
    #[error(
        "{} is not built: run `cargo xtask testenv build` (needs Go), or name it with {BINARY_VAR}",
        .0.display()
    )]
    NotBuilt(PathBuf),
    /// Starting or talking to the process failed.
    #[error("fleet-testenv: {context}: {error}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The process ended, or did not get ready in time.
    #[error("fleet-testenv did not start: {reason}\n{log}")]
    Start {
        /// What happened.
        reason: String,
        /// The last lines it wrote.
        log: String,
    },
    /// `testenv.json` could not be read.
    #[error("reading {}: {message}", .path.display())]
    Manifest {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
}

/// Options of one environment (`fleet-testenv up` flags).
#[derive(Debug, Clone)]
pub struct Options {
    /// Workload clusters beside the management cluster.
    pub clusters: usize,
    /// kwok fake nodes per cluster.
    pub nodes: usize,
    /// Management-cluster namespace of the `<name>-kubeconfig` Secrets.
    pub namespace: String,
    /// Extra `kube-apiserver` flags.
    pub apiserver_args: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clusters: 2,
            nodes: 2,
            namespace: "default".to_string(),
            apiserver_args: Vec::new(),
        }
    }
}

/// One cluster of the environment, as `testenv.json` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct ClusterInfo {
    /// `management`, `workload-1`, …
    pub name: String,
    /// `https://127.0.0.1:PORT`.
    pub server: String,
    /// `DIR/<name>.kubeconfig` (CA, admin client certificate, all inline).
    pub kubeconfig: PathBuf,
    /// For workload clusters, the management-cluster Secret holding the same
    /// kubeconfig under `value`, as Cluster API writes it.
    #[serde(default)]
    pub secret: Option<String>,
}

/// `DIR/testenv.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// The Kubernetes release built in (`v1.36.3`).
    pub kubernetes: String,
    /// The etcd release built in.
    pub etcd: String,
    /// The kwok release built in.
    pub kwok: String,
    /// Namespace of the kubeconfig Secrets in the management cluster.
    pub namespace: String,
    /// Every cluster, the management cluster first.
    pub clusters: Vec<ClusterInfo>,
}

/// A running environment. Dropping it stops it (the shared one stops when
/// the test binary exits).
pub struct TestEnv {
    dir: PathBuf,
    manifest: Manifest,
    log: Arc<Mutex<VecDeque<String>>>,
    process: Mutex<Option<(Child, ChildStdin)>>,
    namespaces: AtomicUsize,
}

impl std::fmt::Debug for TestEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEnv")
            .field("dir", &self.dir)
            .field("manifest", &self.manifest)
            .finish()
    }
}

/// Where the binary is: `$FLEET_TESTENV_BIN`, else `target/testenv/fleet-testenv`
/// of the target directory this test binary was built in.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os(BINARY_VAR) {
        return PathBuf::from(path);
    }
    target_dir().join("testenv").join("fleet-testenv")
}

/// The cargo target directory: test binaries live in `<target>/<profile>/deps/`.
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Whether a missing binary must fail the test instead of skipping it.
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The environment of this test binary, started on first use (a management
/// cluster and two workload clusters). `None`, after printing why, when the
/// binary is not built and [`REQUIRE_VAR`] is not set.
///
/// # Panics
/// When the environment cannot start, or is required and not built.
pub fn shared() -> Option<&'static TestEnv> {
    static SHARED: OnceLock<Option<TestEnv>> = OnceLock::new();
    SHARED
        .get_or_init(|| match TestEnv::start(&Options::default()) {
            Ok(env) => Some(env),
            Err(Error::NotBuilt(path)) if !required() => {
                eprintln!(
                    "skipped: {} is not built; run `cargo xtask testenv build` (needs Go) to run the tests on a real control plane",
                    path.display()
                );
                None
            }
            Err(e) => panic!("{e}"),
        })
        .as_ref()
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

impl TestEnv {
    /// Starts a new environment in a directory of its own under
    /// `target/testenv-runs/` and waits until it prints `READY`.
    pub fn start(options: &Options) -> Result<TestEnv, Error> {
        TestEnv::start_with(&binary(), &target_dir().join("testenv-runs"), options)
    }

    /// Starts a new environment with the binary `binary`, in a directory of
    /// its own under `runs`.
    pub fn start_with(binary: &Path, runs: &Path, options: &Options) -> Result<TestEnv, Error> {
        if !binary.is_file() {
            return Err(Error::NotBuilt(binary.to_path_buf()));
        }
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "test".to_string());
        let dir = runs.join(format!(
            "{exe}-{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        ));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|error| Error::Io {
                context: format!("removing the stale {}", dir.display()),
                error,
            })?;
        }
        let mut command = Command::new(binary);
        command
            .arg("up")
            .arg("--dir")
            .arg(&dir)
            .arg("--clusters")
            .arg(options.clusters.to_string())
            .arg("--nodes")
            .arg(options.nodes.to_string())
            .arg("--namespace")
            .arg(&options.namespace)
            .arg("--watch-stdin")
            .arg("--cleanup");
        for arg in &options.apiserver_args {
            command.arg(format!("--apiserver-arg={arg}"));
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| Error::Io {
                context: format!("starting {}", binary.display()),
                error,
            })?;
        let log = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stderr) = child.stderr.take() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Ok(mut log) = log.lock() {
                        if log.len() == 200 {
                            log.pop_front();
                        }
                        log.push_back(line);
                    }
                }
            });
        }
        let (ready_tx, ready_rx) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(dir) = line.strip_prefix("READY ") {
                        let _ = ready_tx.send(PathBuf::from(dir));
                    }
                }
            });
        }
        let started = Instant::now();
        let tail = |log: &Arc<Mutex<VecDeque<String>>>| -> String {
            log.lock()
                .map(|l| l.iter().cloned().collect::<Vec<_>>().join("\n"))
                .unwrap_or_default()
        };
        let ready_dir = loop {
            match ready_rx.recv_timeout(Duration::from_millis(200)) {
                Ok(dir) => break dir,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().ok();
                    std::thread::sleep(Duration::from_millis(100));
                    return Err(Error::Start {
                        reason: format!("it exited ({})", display_status(status)),
                        log: tail(&log),
                    });
                }
            }
            if started.elapsed() > Duration::from_secs(300) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Start {
                    reason: "not READY after 300 s".to_string(),
                    log: tail(&log),
                });
            }
        };
        let manifest_path = ready_dir.join("testenv.json");
        let manifest = std::fs::read_to_string(&manifest_path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Manifest>(&text).map_err(|e| e.to_string()))
            .map_err(|message| Error::Manifest {
                path: manifest_path.clone(),
                message,
            })?;
        let Some(stdin) = child.stdin.take() else {
            return Err(Error::Start {
                reason: "its standard input is not a pipe".to_string(),
                log: tail(&log),
            });
        };
        Ok(TestEnv {
            dir: ready_dir,
            manifest,
            log,
            process: Mutex::new(Some((child, stdin))),
            namespaces: AtomicUsize::new(0),
        })
    }

    /// The environment's directory (kubeconfigs, certificates, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What `testenv.json` says.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Every cluster, the management cluster first.
    pub fn clusters(&self) -> &[ClusterInfo] {
        &self.manifest.clusters
    }

    /// The cluster named `name`.
    ///
    /// # Panics
    /// When there is none: a test asked for a cluster its environment lacks.
    pub fn cluster(&self, name: &str) -> &ClusterInfo {
        self.manifest
            .clusters
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("the test environment has no cluster {name:?}"))
    }

    /// A kube-rs client for a cluster, from its kubeconfig file.
    ///
    /// # Panics
    /// When the kubeconfig cannot be read (the environment is broken).
    pub async fn client(&self, cluster: &str) -> kube::Client {
        let config = self.config(cluster).await;
        kube::Client::try_from(config)
            .unwrap_or_else(|e| panic!("client for cluster {cluster}: {e}"))
    }

    /// The configuration of [`client`](Self::client) (the cluster's admin),
    /// to derive other clients from (impersonating someone, say).
    ///
    /// # Panics
    /// When the cluster is unknown or its kubeconfig unreadable.
    pub async fn config(&self, cluster: &str) -> kube::Config {
        let path = &self.cluster(cluster).kubeconfig;
        let kubeconfig = kube::config::Kubeconfig::read_from(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("kubeconfig {}: {e}", path.display()))
    }

    /// A new namespace in `cluster` and a client for it. When the test
    /// panics, dropping it prints the environment's log tail.
    ///
    /// # Panics
    /// When the namespace cannot be created.
    pub async fn namespace(&self, cluster: &str) -> TestNamespace<'_> {
        use k8s_openapi::api::core::v1::Namespace;
        let client = self.client(cluster).await;
        let name = format!(
            "t{}-{}",
            std::process::id(),
            self.namespaces.fetch_add(1, Ordering::Relaxed)
        );
        let namespace: Namespace = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}
        }))
        .unwrap_or_default();
        kube::Api::<Namespace>::all(client.clone())
            .create(&kube::api::PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("creating namespace {name} in {cluster}: {e}"));
        TestNamespace {
            name,
            client,
            env: self,
        }
    }

    /// The last lines of fleet-testenv's own output and of every
    /// component's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut out = String::from("== fleet-testenv\n");
        if let Ok(log) = self.log.lock() {
            for line in log
                .iter()
                .rev()
                .take(lines)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                out.push_str(line);
                out.push('\n');
            }
        }
        for cluster in &self.manifest.clusters {
            for component in [
                "kube-apiserver",
                "kube-controller-manager",
                "kube-scheduler",
                "kwok",
            ] {
                let path = self
                    .dir
                    .join(&cluster.name)
                    .join(format!("{component}.log"));
                if let Ok(text) = std::fs::read_to_string(&path) {
                    out.push_str(&format!("== {} {component}\n", cluster.name));
                    let all: Vec<&str> = text.lines().collect();
                    for line in &all[all.len().saturating_sub(lines)..] {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
        }
        out
    }

    /// Stops the environment and waits until every component has ended.
    pub fn stop(&self) {
        let Ok(mut process) = self.process.lock() else {
            return;
        };
        if let Some((mut child, mut stdin)) = process.take() {
            let _ = stdin.flush();
            drop(stdin); // fleet-testenv stops when its standard input closes
            let deadline = Instant::now() + Duration::from_secs(40);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.stop();
    }
}

fn display_status(status: Option<std::process::ExitStatus>) -> String {
    status.map_or_else(|| "status unknown".to_string(), |s| s.to_string())
}

/// A namespace made for one test, with a client of its cluster.
pub struct TestNamespace<'a> {
    /// The namespace's name.
    pub name: String,
    /// A client of the cluster the namespace is in.
    pub client: kube::Client,
    env: &'a TestEnv,
}

impl std::fmt::Debug for TestNamespace<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestNamespace")
            .field("name", &self.name)
            .finish()
    }
}

impl Drop for TestNamespace<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "test in namespace {} failed; the test environment's logs end with:\n{}",
                self.name,
                self.env.log_tail(15)
            );
        }
    }
}
