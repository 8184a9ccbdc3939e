//! Workload-cluster access through kube-rs, end to end over TLS on loopback.
//!
//! No Kubernetes API server can be had here, so a small HTTPS server plays
//! one: it checks client certificates against a CA made for the test (as
//! an API server does with the certificates Cluster API issues), serves
//! `/version`, and serves the `<cluster>-kubeconfig` Secret as the
//! management cluster would. The kube-rs clients under test are real: real
//! kubeconfig parsing, rustls handshakes with the kubeconfig's CA and client
//! certificate, and API calls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use fleet_capi::client_cache::ClientError;
use fleet_capi::workload::{AccessOptions, WorkloadClients, WorkloadError, client_from_kubeconfig};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig, crypto::ring};

/// A certificate and its key, PEM.
struct Identity {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

/// A CA issuing server and client certificates.
struct Authority {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    der: CertificateDer<'static>,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Authority {
            pem: cert.pem(),
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    fn issue(&self, common_name: &str, sans: &[&str]) -> Identity {
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// What the fake API server answers and what it saw.
#[derive(Default)]
struct State {
    /// Client certificates accepted (others get 401, as a revoked or
    /// superseded certificate would after rotation).
    allowed: Vec<CertificateDer<'static>>,
    /// The Secret served at /api/v1/namespaces/fleet/secrets/edge-1-kubeconfig.
    secret: Option<String>,
    /// For each request: the path, and the index in `allowed` of the
    /// client certificate (None: no or unknown certificate).
    seen: Vec<(String, Option<usize>)>,
}

struct FakeApiServer {
    url: String,
    ca: Authority,
    state: Arc<Mutex<State>>,
}

impl FakeApiServer {
    async fn start() -> FakeApiServer {
        let ca = Authority::new("fake-kubernetes-ca");
        let serving = ca.issue("kube-apiserver", &["127.0.0.1"]);
        let mut roots = RootCertStore::empty();
        roots.add(ca.der.clone()).unwrap();
        let provider = Arc::new(ring::default_provider());
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .allow_unauthenticated()
                .build()
                .unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            KeyPair::from_pem(&serving.key_pem).unwrap().serialize_der(),
        ));
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![serving.der.clone(), ca.der.clone()], key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        serve(tls, state).await;
                    }
                });
            }
        });
        FakeApiServer { url, ca, state }
    }

    fn allow(&self, identities: &[&Identity]) {
        self.state.lock().unwrap().allowed = identities.iter().map(|i| i.der.clone()).collect();
    }

    fn serve_secret(&self, resource_version: &str, kubeconfig: &str) {
        let mut secret = Secret::default();
        secret.metadata.name = Some("edge-1-kubeconfig".into());
        secret.metadata.namespace = Some("fleet".into());
        secret.metadata.resource_version = Some(resource_version.into());
        secret.type_ = Some("cluster.x-k8s.io/secret".into());
        secret.data = Some(
            [(
                "value".to_string(),
                ByteString(kubeconfig.as_bytes().to_vec()),
            )]
            .into_iter()
            .collect(),
        );
        let mut json = serde_json::to_value(&secret).unwrap();
        json["apiVersion"] = "v1".into();
        json["kind"] = "Secret".into();
        self.state.lock().unwrap().secret = Some(json.to_string());
    }

    fn seen(&self) -> Vec<(String, Option<usize>)> {
        std::mem::take(&mut self.state.lock().unwrap().seen)
    }

    /// A kubeconfig as Cluster API writes it: inline CA, client certificate
    /// and key, one context.
    fn kubeconfig(&self, user: &Identity) -> String {
        kubeconfig(
            &self.url,
            &format!("certificate-authority-data: {}", b64(&self.ca.pem)),
            user,
        )
    }
}

fn kubeconfig(server: &str, cluster_extra: &str, user: &Identity) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: edge-1\n  cluster:\n    server: {server}\n    {cluster_extra}\ncontexts:\n- name: edge-1-admin@edge-1\n  context:\n    cluster: edge-1\n    user: edge-1-admin\ncurrent-context: edge-1-admin@edge-1\nusers:\n- name: edge-1-admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
        b64(&user.cert_pem),
        b64(&user.key_pem)
    )
}

async fn serve(
    mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    state: Arc<Mutex<State>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match tls.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let request = String::from_utf8_lossy(&buf).to_string();
    let path = request
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_string();
    let peer = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first().cloned());
    let (status, body) = {
        let mut state = state.lock().unwrap();
        let who = peer.and_then(|c| state.allowed.iter().position(|a| *a == c));
        state.seen.push((path.clone(), who));
        let secret_path = "/api/v1/namespaces/fleet/secrets/edge-1-kubeconfig";
        match (who, path.as_str()) {
            (None, _) => (401, status_json(401, "Unauthorized", "Unauthorized")),
            (Some(_), "/version") => (
                200,
                r#"{"major":"1","minor":"31","gitVersion":"v1.31.2","gitCommit":"0","gitTreeState":"clean","buildDate":"2024-10-22T00:00:00Z","goVersion":"go1.22","compiler":"gc","platform":"linux/amd64"}"#.to_string(),
            ),
            (Some(_), p) if p == secret_path && state.secret.is_some() => {
                (200, state.secret.clone().unwrap_or_default())
            }
            (Some(_), _) => (
                404,
                status_json(404, "NotFound", "secrets \"edge-1-kubeconfig\" not found"),
            ),
        }
    };
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tls.write_all(response.as_bytes()).await;
    let _ = tls.shutdown().await;
}

fn status_json(code: u16, reason: &str, message: &str) -> String {
    serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}).to_string()
}

fn management_client(server: &FakeApiServer, manager: &Identity) -> kube::Client {
    client_from_kubeconfig(&server.kubeconfig(manager), &AccessOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_secret_gives_a_working_client_and_a_rotated_one_is_used_at_once() {
    let server = FakeApiServer::start().await;
    let manager = server.ca.issue("fleet-controller", &[]);
    let admin_1 = server.ca.issue("kubernetes-admin", &[]);
    let admin_2 = server.ca.issue("kubernetes-admin", &[]);
    server.allow(&[&manager, &admin_1]);
    server.serve_secret("100", &server.kubeconfig(&admin_1));
    let management = management_client(&server, &manager);
    let clients = WorkloadClients::new(AccessOptions::default());

    let (edge, built) = clients
        .for_secret(&management, "fleet", "edge-1-kubeconfig", None)
        .await
        .unwrap();
    assert!(built);
    let version = edge.apiserver_version().await.unwrap();
    assert_eq!(version.git_version, "v1.31.2");
    let secret_path = "/api/v1/namespaces/fleet/secrets/edge-1-kubeconfig".to_string();
    assert_eq!(
        server.seen(),
        vec![
            (secret_path.clone(), Some(0)),
            ("/version".to_string(), Some(1))
        ],
        "the Secret is read with the manager's certificate, the workload cluster is called with the kubeconfig's"
    );

    let (_, built) = clients
        .for_secret(&management, "fleet", "edge-1-kubeconfig", None)
        .await
        .unwrap();
    assert!(!built, "same resourceVersion: the cached client is reused");

    // Cluster API rotates the kubeconfig: a new certificate, the old one no
    // longer accepted, a new resourceVersion.
    server.allow(&[&manager, &admin_2]);
    server.serve_secret("101", &server.kubeconfig(&admin_2));
    server.seen();
    let stale = edge.apiserver_version().await;
    assert!(
        stale.is_err(),
        "the old client's certificate is refused now"
    );
    let (fresh, built) = clients
        .for_secret(&management, "fleet", "edge-1-kubeconfig", None)
        .await
        .unwrap();
    assert!(built, "a new resourceVersion builds a new client");
    assert_eq!(fresh.apiserver_version().await.unwrap().minor, "31");
    assert_eq!(
        server.seen(),
        vec![
            ("/version".to_string(), None),
            (secret_path, Some(0)),
            ("/version".to_string(), Some(1)),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_or_key_is_a_named_error_with_the_fix() {
    let server = FakeApiServer::start().await;
    let manager = server.ca.issue("fleet-controller", &[]);
    server.allow(&[&manager]);
    let management = management_client(&server, &manager);
    let clients = WorkloadClients::new(AccessOptions::default());

    let missing = clients
        .for_secret(&management, "fleet", "edge-1-kubeconfig", None)
        .await
        .err()
        .unwrap();
    let text = missing.to_string();
    assert!(matches!(missing, WorkloadError::Fetch { .. }), "{text}");
    assert!(
        text.contains("fleet/edge-1-kubeconfig")
            && text.contains("once the control plane is initialised"),
        "{text}"
    );

    server.serve_secret("1", &server.kubeconfig(&manager));
    let wrong_key = clients
        .for_secret(
            &management,
            "fleet",
            "edge-1-kubeconfig",
            Some("admin.conf"),
        )
        .await
        .err()
        .unwrap();
    let text = wrong_key.to_string();
    assert!(
        matches!(wrong_key, WorkloadError::Client(ClientError::Key { .. }))
            && text.contains("\"admin.conf\"")
            && text.contains("present keys: value"),
        "{text}"
    );

    server.serve_secret("2", "apiVersion: v1\nkind: Config\nclusters: [");
    let junk = clients
        .for_secret(&management, "fleet", "edge-1-kubeconfig", None)
        .await
        .err()
        .unwrap();
    assert!(junk.to_string().contains("invalid YAML"), "{junk}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfigs_are_sanitised_as_flux_does() {
    let server = FakeApiServer::start().await;
    let admin = server.ca.issue("kubernetes-admin", &[]);
    server.allow(&[&admin]);
    let strict = AccessOptions::default();

    // Paths on the controller's disk are refused.
    let with_file = kubeconfig(
        &server.url,
        "certificate-authority: /etc/kubernetes/pki/ca.crt",
        &admin,
    );
    let error = client_from_kubeconfig(&with_file, &strict)
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("certificate-authority")
            && error.contains("use certificate-authority-data instead"),
        "{error}"
    );

    // insecure-skip-tls-verify is ignored unless allowed: without the CA the
    // server's certificate cannot be verified.
    let insecure = kubeconfig(&server.url, "insecure-skip-tls-verify: true", &admin);
    let ignored = client_from_kubeconfig(&insecure, &strict).unwrap();
    assert!(ignored.apiserver_version().await.is_err());
    let allowed = AccessOptions {
        allow_insecure_tls: true,
        ..AccessOptions::default()
    };
    let honoured = client_from_kubeconfig(&insecure, &allowed).unwrap();
    assert_eq!(honoured.apiserver_version().await.unwrap().major, "1");

    // exec plugins are not run unless allowed.
    let marker = std::env::temp_dir().join(format!("fleet-exec-marker-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let exec = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sh\n      args: [\"-c\", \"touch {} && echo '{{\\\"apiVersion\\\":\\\"client.authentication.k8s.io/v1\\\",\\\"kind\\\":\\\"ExecCredential\\\",\\\"status\\\":{{\\\"token\\\":\\\"t\\\"}}}}'\"]\n",
        server.url,
        b64(&server.ca.pem),
        marker.display()
    );
    let client = client_from_kubeconfig(&exec, &strict).unwrap();
    let answer = client.apiserver_version().await;
    assert!(answer.is_err(), "no credentials: 401");
    assert!(!marker.exists(), "the exec plugin must not have run");
    let trusting = AccessOptions {
        allow_exec: true,
        ..AccessOptions::default()
    };
    let client = client_from_kubeconfig(&exec, &trusting).unwrap();
    let _ = client.apiserver_version().await;
    assert!(marker.exists(), "with allow_exec the plugin runs");
    let _ = std::fs::remove_file(&marker);
}

/// A CONNECT proxy on loopback that records the tunnels asked for.
async fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match client.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let line = head.lines().next().unwrap_or_default().to_string();
                record.lock().unwrap().push(line.clone());
                let Some(target) = line
                    .strip_prefix("CONNECT ")
                    .and_then(|l| l.split(' ').next())
                else {
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_url_in_the_kubeconfig_is_used() {
    let server = FakeApiServer::start().await;
    let admin = server.ca.issue("kubernetes-admin", &[]);
    server.allow(&[&admin]);
    let (proxy, tunnels) = connect_proxy().await;
    let config = server.kubeconfig(&admin).replacen(
        "    certificate-authority-data",
        &format!("    proxy-url: {proxy}\n    certificate-authority-data"),
        1,
    );
    let client = client_from_kubeconfig(&config, &AccessOptions::default()).unwrap();
    assert_eq!(client.apiserver_version().await.unwrap().major, "1");
    let host = server.url.trim_start_matches("https://");
    assert_eq!(
        tunnels.lock().unwrap().clone(),
        vec![format!("CONNECT {host} HTTP/1.1")]
    );
}

#[test]
fn building_outside_a_runtime_is_an_error_not_a_panic() {
    let config = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: c\n  context:\n    cluster: c\ncurrent-context: c\n";
    let error = client_from_kubeconfig(config, &AccessOptions::default())
        .err()
        .unwrap();
    assert!(error.to_string().contains("Tokio runtime"), "{error}");
}
