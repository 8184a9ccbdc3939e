//! fleet-testenv's own behaviour: environments side by side, clean
//! shutdown, and clear failures.

use std::net::TcpStream;
use std::process::Command;

/// The binary, or `None` (after saying so) where it is not built and not required.
fn binary() -> Option<std::path::PathBuf> {
    let path = fleet_testenv::binary();
    if path.is_file() {
        return Some(path);
    }
    assert!(
        !fleet_testenv::required(),
        "{} is not built: run `cargo xtask testenv build`",
        path.display()
    );
    eprintln!(
        "skipped: {} is not built; run `cargo xtask testenv build`",
        path.display()
    );
    None
}

/// Runs `fleet-testenv up ARGS… --dir DIR`; returns whether it succeeded,
/// its standard error, and whether it printed nothing on standard output.
fn up(
    bin: &std::path::Path,
    args: &[&str],
    dir: &std::path::Path,
) -> (bool, Option<i32>, String, bool) {
    let out = Command::new(bin)
        .arg("up")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    (
        out.status.success(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.stdout.is_empty(),
    )
}

fn port_of(server: &str) -> u16 {
    server
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn two_environments_run_side_by_side_and_a_stopped_one_leaves_nothing_listening() {
    let Some(shared) = fleet_testenv::shared() else {
        return;
    };
    let options = fleet_testenv::Options {
        clusters: 0,
        nodes: 1,
        ..Default::default()
    };
    let second = fleet_testenv::TestEnv::start(&options).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(second.dir(), shared.dir());
    let server = second.clusters()[0].server.clone();
    assert!(
        shared.clusters().iter().all(|c| c.server != server),
        "distinct ports"
    );
    for env in [shared, &second] {
        let client = env.client("management").await;
        client
            .apiserver_version()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", env.dir().display()));
    }
    let dir = second.dir().to_path_buf();
    second.stop();
    assert!(
        TcpStream::connect(("127.0.0.1", port_of(&server))).is_err(),
        "{server} still listening"
    );
    assert!(!dir.exists(), "--cleanup removes {}", dir.display());
    // The shared environment is untouched.
    shared
        .client("management")
        .await
        .apiserver_version()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn up_refuses_a_directory_that_is_not_empty() {
    let Some(bin) = binary() else { return };
    let dir = std::env::temp_dir().join(format!("fleet-testenv-nonempty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("keep.txt"), "mine").unwrap_or_else(|e| panic!("{e}"));
    let (ok, _, stderr, quiet) = up(&bin, &[], &dir);
    assert!(!ok);
    assert!(stderr.contains("is not empty"), "{stderr}");
    let kept = std::fs::read_to_string(dir.join("keep.txt")).unwrap_or_default();
    assert_eq!(kept, "mine");
    assert!(quiet, "no READY line");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn up_refuses_a_taken_port() {
    let Some(bin) = binary() else { return };
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = taken
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("fleet-testenv-port-{}", std::process::id()));
    let port_arg = port.to_string();
    let args = ["--clusters", "0", "--cleanup", "--base-port", &port_arg];
    let (ok, _, stderr, quiet) = up(&bin, &args, &dir);
    assert!(!ok);
    assert!(quiet, "no READY line");
    assert!(
        stderr.contains(&format!("port {port} is taken")),
        "{stderr}"
    );
    assert!(!dir.exists());
}

#[test]
fn up_reports_a_component_that_fails_with_its_log_tail() {
    let Some(bin) = binary() else { return };
    let dir = std::env::temp_dir().join(format!("fleet-testenv-fail-{}", std::process::id()));
    let args = [
        "--clusters",
        "0",
        "--cleanup",
        "--apiserver-arg=--no-such-flag=1",
    ];
    let (_, code, stderr, quiet) = up(&bin, &args, &dir);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(quiet, "no READY line");
    assert!(
        stderr.contains("kube-apiserver of cluster management stopped"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unknown flag: --no-such-flag"),
        "the log tail: {stderr}"
    );
    assert!(!dir.exists(), "--cleanup also after a failed start");
}

/// A test binary that exits without dropping its environment (the shared one
/// lives in a static) closes every pipe to it at once. The environment must
/// still shut down and remove its directory: every run used to leave about
/// 120 MB of etcd data behind.
#[test]
fn an_environment_whose_parent_is_gone_removes_its_directory() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let Some(bin) = binary() else { return };
    let dir = std::env::temp_dir().join(format!("fleet-testenv-orphan-{}", std::process::id()));
    let mut child = Command::new(&bin)
        .arg("up")
        .args([
            "--clusters",
            "0",
            "--nodes",
            "1",
            "--watch-stdin",
            "--cleanup",
        ])
        .arg("--dir")
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.starts_with("READY "));
    assert!(ready, "fleet-testenv up printed no READY line");
    assert!(
        dir.join("etcd").is_dir(),
        "the environment writes to {}",
        dir.display()
    );
    // The parent is gone: stdin, stdout and stderr all close.
    drop(stderr);
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fleet-testenv did not stop within 60 s of its stdin closing");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let left = dir.exists();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        status.success(),
        "it stops cleanly, not by a signal: {status}"
    );
    assert!(!left, "{} was removed", dir.display());
}
