//! Registry scanning against a real registry (Debian's `docker-registry`
//! on loopback, anonymous and htpasswd-protected) and, for failures a real
//! registry does not produce on demand, a scripted server.

mod support;

use fleet_imagepolicy::policy::Policy;
use fleet_imagepolicy::reference::ImageReference;
use fleet_imagepolicy::registry::{
    Client, ClientOptions, Credentials, RegistryError, scan_repository,
};
use fleet_model::flux::image::DEFAULT_EXCLUSION_LIST;
use std::time::Duration;
use support::fake_http::{Answer, FakeServer};
use support::registry::{Auth, Pusher, Registry, available};

fn image(text: &str) -> ImageReference {
    ImageReference::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn quick(credentials: Option<Credentials>) -> Client {
    Client::new(ClientOptions {
        timeout: Duration::from_millis(2000),
        retries: 2,
        backoff: Duration::from_millis(20),
        page_size: Some(7),
        credentials,
        ..ClientOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

const TAGS: &[&str] = &[
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "1.2.0-rc.1",
    "2.0.0",
    "v2.1.0",
    "latest",
    "main-abc-100",
    "main-def-120",
    "sha256-1234.sig",
    "0.9.0",
    "1.10.0",
    "1.9.9",
    "3.0.0-beta.1",
    "build-7",
    "build-12",
];

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_scan_pages_through_every_tag_and_resolves_digests() {
    if !available() {
        return;
    }
    let registry = Registry::start("anon", Auth::None);
    let pusher = Pusher::new(&registry.host, None, None);
    let mut digests = Vec::new();
    for tag in TAGS {
        digests.push(pusher.push("team/app", tag).await);
    }
    let client = quick(None);
    let img = image(&format!("{}/team/app", registry.host));
    let mut listed = client
        .list_tags(&img)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    listed.sort();
    let mut want: Vec<String> = TAGS.iter().map(|t| t.to_string()).collect();
    want.sort();
    assert_eq!(listed, want, "all {} tags over pages of 7", TAGS.len());

    let exclusion: Vec<String> = DEFAULT_EXCLUSION_LIST
        .iter()
        .map(|s| s.to_string())
        .collect();
    let scan = scan_repository(&client, &img, &exclusion)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((scan.tags.len(), scan.excluded), (TAGS.len() - 1, 1));
    assert_eq!(
        scan.latest_tags().first().map(String::as_str),
        Some("v2.1.0")
    );

    let chosen = Policy::semver("^1.0")
        .unwrap_or_else(|e| panic!("{e}"))
        .select(&scan.tags)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(chosen, "1.10.0");
    let digest = client
        .digest(&img, chosen)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let index = TAGS.iter().position(|t| *t == chosen).unwrap_or(usize::MAX);
    assert_eq!(Some(&digest), digests.get(index));

    let missing = client
        .list_tags(&image(&format!("{}/team/missing", registry.host)))
        .await;
    assert!(
        matches!(missing, Err(RegistryError::NotFound { .. })),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn htpasswd_registry_needs_the_right_credentials() {
    if !available() {
        return;
    }
    let registry = Registry::start("htpasswd", Auth::Htpasswd("fleet", "s3cret"));
    let pusher = Pusher::new(&registry.host, Some(("fleet", "s3cret")), None);
    for tag in ["1.0.0", "1.1.0"] {
        pusher.push("private/app", tag).await;
    }
    let img = image(&format!("{}/private/app", registry.host));
    let anonymous = quick(None).list_tags(&img).await;
    let message = anonymous
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        matches!(
            anonymous,
            Err(RegistryError::Unauthorized { status: 401, .. })
        ),
        "{message}"
    );
    assert!(message.contains("wants credentials"), "{message}");

    let wrong = Credentials::Basic {
        username: "fleet".into(),
        password: "nope".into(),
    };
    let refused = quick(Some(wrong)).list_tags(&img).await;
    assert!(
        matches!(refused, Err(RegistryError::Unauthorized { .. })),
        "{refused:?}"
    );

    let right = Credentials::Basic {
        username: "fleet".into(),
        password: "s3cret".into(),
    };
    let mut tags = quick(Some(right))
        .list_tags(&img)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tags.sort();
    assert_eq!(tags, ["1.0.0", "1.1.0"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_and_server_errors_are_retried_with_backoff() {
    let server = FakeServer::start(|_, n| match n {
        0 => Answer::new(429, "slow down").header("retry-after", "0"),
        1 => Answer::new(503, "busy"),
        _ => Answer::new(200, r#"{"name":"app","tags":["1.0.0","1.1.0"]}"#),
    });
    let tags = quick(None)
        .list_tags(&image(&format!("{}/app", server.host)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tags, ["1.0.0", "1.1.0"]);
    assert_eq!(server.seen().len(), 3);

    let failing = FakeServer::start(|_, _| Answer::new(500, "database on fire"));
    let err = quick(None)
        .list_tags(&image(&format!("{}/app", failing.host)))
        .await;
    assert!(
        matches!(&err, Err(RegistryError::Server { status: 500, attempts: 3, body, .. }) if body.contains("on fire")),
        "{err:?}"
    );
    assert_eq!(failing.seen().len(), 3);

    let limited = FakeServer::start(|_, _| Answer::new(429, "").header("retry-after", "0"));
    let err = quick(None)
        .list_tags(&image(&format!("{}/app", limited.host)))
        .await;
    assert!(
        matches!(err, Err(RegistryError::RateLimited { attempts: 3, .. })),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_registry_times_out() {
    let server = FakeServer::start(|_, _| Answer::new(200, "{}").after(Duration::from_secs(5)));
    let client = Client::new(ClientOptions {
        timeout: Duration::from_millis(200),
        retries: 1,
        backoff: Duration::from_millis(10),
        ..ClientOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let err = client
        .list_tags(&image(&format!("{}/app", server.host)))
        .await;
    assert!(
        matches!(err, Err(RegistryError::Timeout { attempts: 2, .. })),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_challenges_fetch_a_token_once_and_pages_follow_links() {
    let token_server = FakeServer::start(|line, _| {
        if line.contains("scope=repository%3Aorg%2Fapp%3Apull")
            && line.contains("service=test-registry")
        {
            Answer::new(200, r#"{"token":"t0ken"}"#)
        } else {
            Answer::new(400, "bad scope")
        }
    });
    let realm = format!("http://{}/token", token_server.host);
    let registry = FakeServer::start(move |line, _| {
        if line.contains("last=b") {
            Answer::new(200, r#"{"tags":["c"]}"#)
        } else {
            Answer::new(200, r#"{"tags":["a","b"]}"#)
                .header("link", "</v2/org/app/tags/list?last=b&n=2>; rel=\"next\"")
        }
    });
    // The registry answers 401 until a bearer token is sent.
    let gate_realm = realm.clone();
    let gated = FakeServer::start(move |_, n| {
        if n == 0 {
            Answer::new(401, "").header(
                "www-authenticate",
                &format!("Bearer realm=\"{gate_realm}\",service=\"test-registry\",scope=\"repository:org/app:pull\""),
            )
        } else {
            Answer::new(200, r#"{"tags":["1.0.0"]}"#)
        }
    });
    let client = quick(Some(Credentials::Basic {
        username: "u".into(),
        password: "p".into(),
    }));
    let tags = client
        .list_tags(&image(&format!("{}/org/app", gated.host)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tags, ["1.0.0"]);
    let seen = gated.seen();
    assert_eq!(
        seen.last().and_then(|s| s.authorization.clone()).as_deref(),
        Some("Bearer t0ken")
    );
    assert!(
        token_server.seen()[0]
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic "))
    );

    let paged = quick(None)
        .list_tags(&image(&format!("{}/org/app", registry.host)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(paged, ["a", "b", "c"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn junk_answers_are_protocol_errors() {
    let server = FakeServer::start(|_, _| Answer::new(200, "<html>not json</html>"));
    let err = quick(None)
        .list_tags(&image(&format!("{}/app", server.host)))
        .await;
    assert!(
        matches!(&err, Err(RegistryError::Protocol { message, .. }) if message.contains("not the expected JSON")),
        "{err:?}"
    );
    let looping = FakeServer::start(|_, _| {
        Answer::new(200, r#"{"tags":[]}"#).header("link", "</v2/app/tags/list>; rel=\"next\"")
    });
    let err = quick(None)
        .list_tags(&image(&format!("{}/app", looping.host)))
        .await;
    assert!(
        matches!(err, Err(RegistryError::Protocol { .. })),
        "{err:?}"
    );
}

/// A JWT signed with `key` (RS256 through the `openssl` command), carrying
/// the certificate in `x5c` so the registry can check it against its root
/// bundle: the token format `docker-registry`'s token auth accepts.
fn registry_token(dir: &std::path::Path, service: &str, repository: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let der = std::process::Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}"));
    let x5c = base64::engine::general_purpose::STANDARD.encode(der.stdout);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": "fleet-test-issuer", "sub": "fleet", "aud": service,
        "exp": now + 3600, "nbf": now - 60, "iat": now - 60, "jti": format!("{now}"),
        "access": [{"type": "repository", "name": repository, "actions": ["pull", "push"]}],
    });
    let signing_input = format!(
        "{}.{}",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string())
    );
    let input_path = dir.join("jwt-input");
    std::fs::write(&input_path, &signing_input).unwrap_or_else(|e| panic!("{e}"));
    let signature = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(dir.join("key.pem"))
        .arg(&input_path)
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}"));
    assert!(signature.status.success(), "openssl dgst failed");
    format!("{signing_input}.{}", b64.encode(signature.stdout))
}

#[tokio::test(flavor = "multi_thread")]
async fn token_auth_registry_is_scanned_through_the_challenge_flow() {
    if !available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("fleet-token-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=fleet-token-issuer",
            "-keyout",
        ])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}"));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let service = "fleet-test-registry";
    let token = registry_token(&dir, service, "secure/app");
    let issued = token.clone();
    let token_server = FakeServer::start(move |line, _| {
        if line.contains("scope=repository%3Asecure%2Fapp%3Apull") {
            Answer::new(
                200,
                &format!("{{\"token\":\"{issued}\",\"expires_in\":3600}}"),
            )
        } else {
            Answer::new(403, "scope not granted")
        }
    });
    let yaml = format!(
        "    realm: http://{}/token\n    service: {service}\n    issuer: fleet-test-issuer\n    rootcertbundle: {}\n",
        token_server.host,
        dir.join("cert.pem").display()
    );
    let registry = Registry::start("token", Auth::Token(yaml));
    let pusher = Pusher::new(&registry.host, None, Some(token));
    for tag in ["1.0.0", "1.2.0", "2.0.0-rc.1"] {
        pusher.push("secure/app", tag).await;
    }
    let client = quick(None);
    let img = image(&format!("{}/secure/app", registry.host));
    let mut tags = client
        .list_tags(&img)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tags.sort();
    assert_eq!(tags, ["1.0.0", "1.2.0", "2.0.0-rc.1"]);
    // The token is cached: a second listing asks the token service no more.
    let asked = token_server.seen().len();
    client
        .digest(&img, "1.2.0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(token_server.seen().len(), asked);
    // A scope the token service refuses is a typed error.
    let other = client
        .list_tags(&image(&format!("{}/secure/other", registry.host)))
        .await;
    assert!(
        matches!(other, Err(RegistryError::Unauthorized { status: 403, .. })),
        "{other:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
