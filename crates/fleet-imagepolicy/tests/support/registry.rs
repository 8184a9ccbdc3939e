//! A real OCI registry for tests: Debian's `docker-registry` started on a
//! free loopback port with its storage in a temporary directory, and a
//! pusher that uploads small images over the distribution API.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs the registry.
const BINARY: &str = "docker-registry";

/// A running registry, stopped on drop.
pub struct Registry {
    child: Child,
    dir: PathBuf,
    /// `127.0.0.1:PORT`.
    pub host: String,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the registry binary is installed; when it is not, tests skip
/// unless `FLEET_REQUIRE_REGISTRY` or `FLEET_REQUIRE_CONFORMANCE` is set
/// (CI sets it, after installing the package).
pub fn available() -> bool {
    let found = Command::new(BINARY)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("FLEET_REQUIRE_REGISTRY").is_none()
                && std::env::var_os("FLEET_REQUIRE_CONFORMANCE").is_none(),
            "{BINARY} is not installed (apt-get install docker-registry apache2-utils)"
        );
        eprintln!("{BINARY} not installed: registry test skipped");
    }
    found
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Extra configuration for the registry's `auth:` section.
pub enum Auth {
    /// No authentication.
    None,
    /// htpasswd with this user and password (bcrypt, via `htpasswd -B`).
    Htpasswd(&'static str, &'static str),
    /// Token auth: `auth.token` YAML lines (realm, service, issuer, cert).
    Token(String),
}

impl Registry {
    /// Starts a registry and waits until it answers.
    pub fn start(name: &str, auth: Auth) -> Registry {
        let dir =
            std::env::temp_dir().join(format!("fleet-registry-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap_or_else(|e| panic!("{e}"));
        let port = free_port();
        let auth_yaml = match auth {
            Auth::None => String::new(),
            Auth::Htpasswd(user, password) => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .unwrap_or_else(|e| panic!("htpasswd (apache2-utils) is needed: {e}"));
                let file = dir.join("htpasswd");
                std::fs::write(&file, out.stdout).unwrap_or_else(|e| panic!("{e}"));
                format!(
                    "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
                    file.display()
                )
            }
            Auth::Token(yaml) => format!("auth:\n  token:\n{yaml}"),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth_yaml}",
            dir.join("data").display()
        );
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, config).unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(BINARY)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BINARY}: {e}"));
        let registry = Registry {
            child,
            dir,
            host: format!("127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the registry did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// The registry's directory (for certificates and the like).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// Uploads images over the distribution API.
pub struct Pusher {
    http: reqwest::Client,
    base: String,
    basic: Option<(String, String)>,
    bearer: Option<String>,
}

impl Pusher {
    /// A pusher for `host`, optionally with basic credentials or a token.
    pub fn new(host: &str, basic: Option<(&str, &str)>, bearer: Option<String>) -> Pusher {
        Pusher {
            http: reqwest::Client::new(),
            base: format!("http://{host}"),
            basic: basic.map(|(u, p)| (u.to_string(), p.to_string())),
            bearer,
        }
    }

    fn auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match (&self.basic, &self.bearer) {
            (_, Some(token)) => request.bearer_auth(token),
            (Some((u, p)), None) => request.basic_auth(u, Some(p)),
            (None, None) => request,
        }
    }

    async fn blob(&self, repository: &str, bytes: Vec<u8>) -> String {
        let digest = sha256(&bytes);
        let start = self
            .auth(
                self.http
                    .post(format!("{}/v2/{repository}/blobs/uploads/", self.base)),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            start.status().as_u16(),
            202,
            "blob upload start: {:?}",
            start.text().await
        );
        let location = start
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{sep}digest={digest}");
        self.put(&url, "application/octet-stream", bytes).await;
        digest
    }

    /// PUTs `body`, expecting 201 Created.
    async fn put(&self, url: &str, content_type: &str, body: Vec<u8>) {
        let response = self
            .auth(self.http.put(url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
        let status = response.status().as_u16();
        assert_eq!(status, 201, "PUT {url}: {:?}", response.text().await);
    }

    /// Pushes a one-layer image under `tag`; its config names the tag, so
    /// every tag has its own digest. Returns the manifest digest.
    pub async fn push(&self, repository: &str, tag: &str) -> String {
        let config = format!("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{\"Labels\":{{\"tag\":\"{tag}\"}}}}}}").into_bytes();
        let layer = b"fleet test layer".to_vec();
        let (config_len, layer_len) = (config.len(), layer.len());
        let config_digest = self.blob(repository, config).await;
        let layer_digest = self.blob(repository, layer).await;
        let manifest = format!(
            "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{config_digest}\",\"size\":{config_len}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"{layer_digest}\",\"size\":{layer_len}}}]}}"
        );
        let digest = sha256(manifest.as_bytes());
        let url = format!("{}/v2/{repository}/manifests/{tag}", self.base);
        self.put(
            &url,
            "application/vnd.oci.image.manifest.v1+json",
            manifest.into_bytes(),
        )
        .await;
        digest
    }
}
