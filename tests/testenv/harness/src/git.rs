//! Real Git servers on loopback for fleet's tests and benchmarks, each
//! started by the test and stopped when dropped:
//! - [`GitDaemon`]: `git daemon` serving `git://` (fetch and push);
//! - [`HttpGit`]: `git http-backend` (smart HTTP) behind a small HTTP/1.1
//!   server of ours that checks basic or bearer credentials the way a Git
//!   host does (401 with `WWW-Authenticate`) and runs the backend as CGI;
//! - [`Workdir`]: a work tree and a bare repository made with the `git`
//!   program, to commit, tag and push fixtures.
//!
//! `git` is run with no system or user configuration, so fixtures are the
//! same on every machine.
//!
//! Test tooling: a fixture or server that cannot be set up fails the test
//! that asked for it, with the reason.
#![allow(clippy::expect_used)]

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Where the git programs live on Debian.
pub const GIT_CORE: &str = "/usr/lib/git-core";

/// A `git` command with no system or user configuration and fixed author
/// and committer, run in `dir`. Git never looks for a repository above
/// `dir` (`GIT_CEILING_DIRECTORIES`), so a fixture that lost its `.git`
/// fails instead of committing to an enclosing repository.
pub fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    if let Some(parent) = dir.parent() {
        cmd.env("GIT_CEILING_DIRECTORIES", parent);
    }
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Fleet Test")
        .env("GIT_AUTHOR_EMAIL", "test@fleet.invalid")
        .env("GIT_COMMITTER_NAME", "Fleet Test")
        .env("GIT_COMMITTER_EMAIL", "test@fleet.invalid")
        .env("GIT_AUTHOR_DATE", "2025-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2025-01-01T00:00:00Z")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    cmd
}

/// Runs `git args…` in `dir` and returns its trimmed standard output;
/// panics with git's standard error when it fails (test helper).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run git {args:?}: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A work tree whose `origin` is a bare repository `<root>/<name>.git`,
/// the directory servers export.
pub struct Workdir {
    /// The work tree.
    pub path: PathBuf,
    /// The bare repository.
    pub bare: PathBuf,
}

impl Workdir {
    /// Creates `<root>/<name>.git` (bare, default branch `main`) and a work
    /// tree `<root>/<name>-work` pushing to it.
    pub fn new(root: &Path, name: &str) -> Workdir {
        let bare = root.join(format!("{name}.git"));
        let path = root.join(format!("{name}-work"));
        std::fs::create_dir_all(&path).expect("create the work tree");
        git(
            root,
            &[
                "init",
                "-q",
                "--bare",
                "-b",
                "main",
                &bare.to_string_lossy(),
            ],
        );
        git(&path, &["init", "-q", "-b", "main"]);
        git(&path, &["remote", "add", "origin", &bare.to_string_lossy()]);
        Workdir { path, bare }
    }

    /// Writes `files` (relative path, content) into the work tree.
    pub fn write(&self, files: &[(&str, &str)]) -> &Self {
        for (rel, content) in files {
            let path = self.path.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create a directory");
            }
            std::fs::write(&path, content).expect("write a file");
        }
        self
    }

    /// Commits everything with `message` and returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        git(&self.path, &["add", "-A"]);
        git(
            &self.path,
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        git(&self.path, &["rev-parse", "HEAD"])
    }

    /// Runs git in the work tree.
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.path, args)
    }

    /// Pushes all branches and tags to the bare repository.
    pub fn push(&self) {
        git(&self.path, &["push", "-q", "--force", "origin", "--all"]);
        git(&self.path, &["push", "-q", "--force", "origin", "--tags"]);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_for_port(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the server did not listen on port {port}");
}

/// `git daemon` serving the repositories under a directory on a loopback
/// port, receive-pack enabled.
pub struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    /// Starts a daemon exporting every repository under `base`.
    pub fn start(base: &Path) -> GitDaemon {
        let port = free_port();
        let mut child = Command::new(Path::new(GIT_CORE).join("git-daemon"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .arg("--reuseaddr")
            .arg("--export-all")
            .arg("--enable=receive-pack")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start git daemon");
        wait_for_port(port, &mut child);
        GitDaemon { child, port }
    }

    /// `git://127.0.0.1:<port>/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("git://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's `sshd` on a loopback port, serving the repositories of this
/// machine to one deploy key (as the user running the test), with a host
/// key of its own.
pub struct SshServer {
    child: Child,
    port: u16,
    /// The deploy key's private half (OpenSSH format, no passphrase).
    pub identity: Vec<u8>,
    /// A `known_hosts` line for this server.
    pub known_hosts: Vec<u8>,
    /// The user to log in as.
    pub user: String,
}

impl SshServer {
    /// Whether `sshd` is installed (Debian's openssh-server).
    pub fn available() -> bool {
        Path::new("/usr/sbin/sshd").exists()
    }

    /// Starts sshd with keys made under `dir`.
    pub fn start(dir: &Path) -> SshServer {
        std::fs::create_dir_all(dir).expect("create the sshd directory");
        // sshd insists on its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let keygen = |name: &str| {
            let path = dir.join(name);
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(path.with_extension("pub"));
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
                .arg(&path)
                .output()
                .expect("run ssh-keygen");
            assert!(
                out.status.success(),
                "ssh-keygen: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        keygen("host_key");
        keygen("deploy_key");
        let read = |name: &str| std::fs::read(dir.join(name)).expect("read a key");
        std::fs::write(dir.join("authorized_keys"), read("deploy_key.pub"))
            .expect("write authorized_keys");
        let port = free_port();
        let user = String::from_utf8_lossy(
            &Command::new("id")
                .arg("-un")
                .output()
                .expect("run id")
                .stdout,
        )
        .trim()
        .to_string();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile {pid}\nAuthorizedKeysFile {auth}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nAllowUsers {user}\nLogLevel ERROR\n",
            host = dir.join("host_key").display(),
            pid = dir.join("sshd.pid").display(),
            auth = dir.join("authorized_keys").display(),
        );
        std::fs::write(dir.join("sshd_config"), config).expect("write sshd_config");
        let mut child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sshd");
        wait_for_port(port, &mut child);
        let host_pub = String::from_utf8_lossy(&read("host_key.pub")).into_owned();
        let mut fields = host_pub.split_whitespace();
        let (kind, key) = (
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
        );
        SshServer {
            child,
            port,
            identity: read("deploy_key"),
            known_hosts: format!("[127.0.0.1]:{port} {kind} {key}\n").into_bytes(),
            user,
        }
    }

    /// `ssh://<user>@127.0.0.1:<port><absolute path>`.
    pub fn url(&self, path: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            path.display()
        )
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What [`HttpGit`] asks of clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpAuth {
    /// Anonymous access.
    None,
    /// HTTP basic with this user and password.
    Basic(String, String),
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

/// `git http-backend` behind a small HTTP/1.1 server on a loopback port,
/// over TLS with [`HttpGit::start_tls`].
pub struct HttpGit {
    port: u16,
    scheme: &'static str,
    stop: Arc<AtomicBool>,
    requests: Arc<std::sync::atomic::AtomicUsize>,
}

/// A private CA, a server certificate for 127.0.0.1 and a client
/// certificate, made with the `openssl` program (PEM files in `dir`).
pub struct TestPki {
    /// The directory holding the files.
    pub dir: PathBuf,
}

impl TestPki {
    /// Makes the CA and both certificates (EC P-256, valid one day).
    pub fn new(dir: &Path) -> TestPki {
        std::fs::create_dir_all(dir).expect("create the PKI directory");
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .unwrap_or_else(|e| panic!("openssl {args:?}: {e}"));
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let key = |name: &str| {
            openssl(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                name,
            ]);
        };
        key("ca.key");
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "1",
            "-subj",
            "/CN=fleet test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        for (name, usage, san) in [
            ("server", "serverAuth", "subjectAltName=IP:127.0.0.1"),
            ("client", "clientAuth", "subjectAltName=DNS:fleet-client"),
        ] {
            key(&format!("{name}.key"));
            openssl(&[
                "req",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN=fleet test {name}"),
            ]);
            let ext = format!("{name}.ext");
            std::fs::write(
                dir.join(&ext),
                format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage={usage}\n{san}\n"),
            )
            .expect("write the extensions file");
            openssl(&[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{name}.crt"),
                "-days",
                "1",
                "-extfile",
                &ext,
            ]);
        }
        TestPki {
            dir: dir.to_path_buf(),
        }
    }

    /// A file's bytes (`ca.crt`, `client.crt`, `client.key`…).
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

/// How [`HttpGit::start_tls`] serves TLS.
pub struct TlsOptions<'a> {
    /// The certificates.
    pub pki: &'a TestPki,
    /// Ask for a client certificate signed by the CA and refuse clients
    /// without one.
    pub require_client_cert: bool,
}

fn server_config(options: &TlsOptions<'_>) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let dir = &options.pki.dir;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.crt"))
        .expect("read server.crt")
        .collect::<Result<_, _>>()
        .expect("parse server.crt");
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).expect("read server.key");
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions");
    let builder = if options.require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(dir.join("ca.crt")).expect("read ca.crt") {
            roots.add(cert.expect("parse ca.crt")).expect("add the CA");
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(
        builder
            .with_single_cert(certs, key)
            .expect("server certificate"),
    )
}

impl HttpGit {
    /// Serves the repositories under `root` with `auth`, plain HTTP.
    pub fn start(root: &Path, auth: HttpAuth) -> HttpGit {
        HttpGit::spawn(root, auth, None)
    }

    /// Serves the repositories under `root` with `auth` over TLS.
    pub fn start_tls(root: &Path, auth: HttpAuth, tls: TlsOptions<'_>) -> HttpGit {
        HttpGit::spawn(root, auth, Some(server_config(&tls)))
    }

    fn spawn(root: &Path, auth: HttpAuth, tls: Option<Arc<rustls::ServerConfig>>) -> HttpGit {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let root = root.to_path_buf();
        let (flag, count) = (stop.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (root, auth, count) = (root.clone(), auth.clone(), count.clone());
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    match tls {
                        None => {
                            let _ = serve(stream, &root, &auth, &count);
                        }
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let tls_stream = rustls::StreamOwned::new(conn, stream);
                            let _ = serve(tls_stream, &root, &auth, &count);
                        }
                    }
                });
            }
        });
        HttpGit {
            port,
            scheme,
            stop,
            requests,
        }
    }

    /// `http://127.0.0.1:<port>/<path>` (`https://` over TLS).
    pub fn url(&self, path: &str) -> String {
        format!("{}://127.0.0.1:{}/{path}", self.scheme, self.port)
    }

    /// How many HTTP requests were served so far (those refused for
    /// missing credentials included).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for HttpGit {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve<S: Read + Write>(
    stream: S,
    root: &Path,
    auth: &HttpAuth,
    count: &std::sync::atomic::AtomicUsize,
) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return Ok(());
        };
        let (method, target) = (method.to_string(), target.to_string());
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let body = read_body(&mut reader, &headers)?;
        count.fetch_add(1, Ordering::Relaxed);
        let out = reader.get_mut();
        let keep_alive = !headers
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        if !authorized(auth, headers.get("authorization")) {
            let challenge = match auth {
                HttpAuth::Bearer(_) => "Bearer realm=\"git\"",
                _ => "Basic realm=\"git\"",
            };
            let msg = "authentication required\n";
            write!(
                out,
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {challenge}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{msg}",
                msg.len()
            )?;
            out.flush()?;
            if !keep_alive {
                return Ok(());
            }
            continue;
        }
        let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
        let mut cmd = Command::new(Path::new(GIT_CORE).join("git-http-backend"));
        cmd.env_clear()
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_PROJECT_ROOT", root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("REQUEST_METHOD", &method)
            .env("PATH_INFO", path)
            .env("QUERY_STRING", query)
            .env("CONTENT_LENGTH", body.len().to_string())
            .env("REMOTE_ADDR", "127.0.0.1")
            .env("REMOTE_USER", "fleet")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        for (header, var) in [
            ("content-type", "CONTENT_TYPE"),
            ("git-protocol", "GIT_PROTOCOL"),
            ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ] {
            if let Some(v) = headers.get(header) {
                cmd.env(var, v);
            }
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            // The backend may answer before reading all: ignore a broken pipe.
            let _ = stdin.write_all(&body);
        }
        let mut output = Vec::new();
        if let Some(mut stdout) = child.stdout.take() {
            stdout.read_to_end(&mut output)?;
        }
        child.wait()?;
        let split = find(&output, b"\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| find(&output, b"\n\n").map(|i| (i, 2)));
        let (head, content) = match split {
            Some((i, n)) => (&output[..i], &output[i + n..]),
            None => (&output[..0], &output[..]),
        };
        let mut status = "200 OK".to_string();
        let mut response_headers = String::new();
        for line in String::from_utf8_lossy(head).lines() {
            if let Some(s) = line.strip_prefix("Status:") {
                status = s.trim().to_string();
            } else if !line.trim().is_empty() {
                response_headers.push_str(line.trim_end());
                response_headers.push_str("\r\n");
            }
        }
        write!(
            out,
            "HTTP/1.1 {status}\r\n{response_headers}Content-Length: {}\r\n\r\n",
            content.len()
        )?;
        out.write_all(content)?;
        out.flush()?;
        if !keep_alive {
            return Ok(());
        }
    }
}

fn authorized(auth: &HttpAuth, header: Option<&String>) -> bool {
    match auth {
        HttpAuth::None => true,
        HttpAuth::Basic(user, password) => header.is_some_and(|h| {
            h.strip_prefix("Basic ")
                .is_some_and(|b| b.trim() == base64(&format!("{user}:{password}")))
        }),
        HttpAuth::Bearer(token) => {
            header.is_some_and(|h| h.strip_prefix("Bearer ").is_some_and(|t| t.trim() == token))
        }
    }
}

fn read_body(reader: &mut impl BufRead, headers: &HashMap<String, String>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = size.trim().split(';').next().unwrap_or("0");
            let size = usize::from_str_radix(size, 16)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if size == 0 {
                // Trailers end with an empty line.
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(length) = headers.get("content-length") {
        let length: usize = length
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(body)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn base64(text: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_pads_like_rfc_4648() {
        assert_eq!(super::base64("fleet:secret"), "ZmxlZXQ6c2VjcmV0");
        assert_eq!(super::base64("ab"), "YWI=");
        assert_eq!(super::base64("a"), "YQ==");
    }
}
