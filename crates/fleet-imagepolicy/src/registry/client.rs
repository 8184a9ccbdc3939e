//! The HTTP side of registry scanning.

use super::Challenge;
use crate::reference::ImageReference;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LINK, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Media types asked for when resolving a tag's digest, as Flux asks.
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// Registry credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A user name and password (or token used as a password).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
        }
    }
}

/// How the client talks to registries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Time allowed for each HTTP request, body included.
    pub timeout: Duration,
    /// Extra attempts after a timeout, a connection error, 429 or 5xx.
    pub retries: u32,
    /// The first wait between attempts; it doubles each time (capped at
    /// 10 s) unless the registry sends `Retry-After`.
    pub backoff: Duration,
    /// Use plain HTTP for every registry (ImageRepository `insecure`).
    /// Loopback and private-network registries use HTTP anyway, as
    /// go-containerregistry (and so Flux) does.
    pub insecure: bool,
    /// Credentials for basic auth and for token requests.
    pub credentials: Option<Credentials>,
    /// Page size asked for in tag lists (`n`); the registry's default when unset.
    pub page_size: Option<u32>,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(500),
            insecure: false,
            credentials: None,
            page_size: None,
        }
    }
}

/// Why talking to a registry failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    /// 401/403 after the authentication flow.
    #[error("{url}: access denied ({status}){hint}")]
    Unauthorized {
        /// The request.
        url: String,
        /// The status.
        status: u16,
        /// What to do about it.
        hint: String,
    },
    /// 404.
    #[error("{url}: not found (404): check the image name and that the repository exists")]
    NotFound {
        /// The request.
        url: String,
    },
    /// 429 until retries ran out.
    #[error(
        "{url}: rate limited (429) on all {attempts} attempts; scan less often or authenticate"
    )]
    RateLimited {
        /// The request.
        url: String,
        /// Attempts made.
        attempts: u32,
    },
    /// 5xx until retries ran out.
    #[error("{url}: registry error {status} on all {attempts} attempts: {body}")]
    Server {
        /// The request.
        url: String,
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// The start of the last response body.
        body: String,
    },
    /// Another unexpected status.
    #[error("{url}: unexpected status {status}: {body}")]
    Status {
        /// The request.
        url: String,
        /// The status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// No answer in time, on every attempt.
    #[error("{url}: no answer within {timeout:?} on all {attempts} attempts")]
    Timeout {
        /// The request.
        url: String,
        /// The per-request timeout.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed on every attempt.
    #[error("{url}: cannot connect on all {attempts} attempts: {message}")]
    Connect {
        /// The request.
        url: String,
        /// The last error.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The registry answered something that does not follow the API.
    #[error("{url}: {message}")]
    Protocol {
        /// The request.
        url: String,
        /// What was wrong.
        message: String,
    },
    /// An `exclusionList` entry is not a regular expression.
    #[error("invalid exclusionList entry {pattern:?}: {reason}")]
    Exclusion {
        /// The entry.
        pattern: String,
        /// Why.
        reason: String,
    },
}

/// How a request is authorised.
#[derive(Debug, Clone)]
enum Auth {
    Anonymous,
    Basic,
    Bearer(String),
}

/// A registry client with a token cache (per realm, service and scope).
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    options: ClientOptions,
    tokens: Mutex<HashMap<String, String>>,
}

/// The outcome of scanning one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The canonical image name (`docker.io/library/nginx`).
    pub canonical_name: String,
    /// Tags left after the exclusion list, in the registry's order.
    pub tags: Vec<String>,
    /// How many tags the exclusion list removed.
    pub excluded: usize,
}

impl Scan {
    /// The first ten tags in descending alphabetical order, as Flux
    /// reports `status.lastScanResult.latestTags`.
    pub fn latest_tags(&self) -> Vec<String> {
        let mut tags = self.tags.clone();
        tags.sort_unstable_by(|a, b| b.cmp(a));
        tags.truncate(10);
        tags
    }
}

/// Lists a repository's tags and drops those matching any `exclusion`
/// pattern (ImageRepository `exclusionList`; pass
/// [`fleet_model::flux::image::DEFAULT_EXCLUSION_LIST`] for Flux's default).
pub async fn scan_repository(
    client: &Client,
    image: &ImageReference,
    exclusion: &[String],
) -> Result<Scan, RegistryError> {
    let patterns = exclusion
        .iter()
        .map(|p| {
            regex::Regex::new(p).map_err(|e| RegistryError::Exclusion {
                pattern: p.clone(),
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let all = client.list_tags(image).await?;
    let before = all.len();
    let tags: Vec<String> = all
        .into_iter()
        .filter(|t| !patterns.iter().any(|p| p.is_match(t)))
        .collect();
    Ok(Scan {
        canonical_name: image.canonical_name(),
        excluded: before - tags.len(),
        tags,
    })
}

/// The host to talk to and the repository path on it.
fn endpoint(image: &ImageReference, insecure: bool) -> (String, String) {
    let canonical = image.canonical_name();
    let (host, path) = canonical
        .split_once('/')
        .unwrap_or(("docker.io", &canonical));
    let host = if host == "docker.io" {
        "registry-1.docker.io"
    } else {
        host
    };
    let scheme = if insecure || is_local(host) {
        "http"
    } else {
        "https"
    };
    (format!("{scheme}://{host}"), path.to_string())
}

/// Loopback and private-network hosts, which go-containerregistry reaches
/// over plain HTTP.
fn is_local(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if name == "localhost" || name.ends_with(".local") {
        return true;
    }
    match name.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback(),
        Err(_) => false,
    }
}

fn snippet(body: &str) -> String {
    let trimmed = body.trim();
    let mut end = trimmed.len().min(200);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    trimmed[..end].to_string()
}

/// The `rel="next"` target of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"" || p.trim() == "rel=next");
        is_next.then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

impl Client {
    /// Builds a client.
    pub fn new(options: ClientOptions) -> Result<Client, RegistryError> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .user_agent(concat!("fleet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::Setup(e.to_string()))?;
        Ok(Client {
            http,
            options,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// Every tag of the repository, following `Link` pagination.
    pub async fn list_tags(&self, image: &ImageReference) -> Result<Vec<String>, RegistryError> {
        let (base, path) = endpoint(image, self.options.insecure);
        let mut url = format!("{base}/v2/{path}/tags/list");
        if let Some(n) = self.options.page_size {
            url.push_str(&format!("?n={n}"));
        }
        let mut tags = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            if !seen.insert(url.clone()) {
                return Err(RegistryError::Protocol {
                    url,
                    message: "the Link header points back to a page already read".into(),
                });
            }
            let response = self
                .send(Method::GET, &url, &["application/json"], &path)
                .await?;
            let next = next_link(response.headers());
            let body = response.text().await.map_err(|e| RegistryError::Protocol {
                url: url.clone(),
                message: format!("cannot read the tag list: {e}"),
            })?;
            #[derive(serde::Deserialize)]
            struct TagList {
                #[serde(default)]
                tags: Option<Vec<String>>,
            }
            let page: TagList =
                serde_json::from_str(&body).map_err(|e| RegistryError::Protocol {
                    url: url.clone(),
                    message: format!(
                        "the tag list is not the expected JSON ({e}): {}",
                        snippet(&body)
                    ),
                })?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(next) if next.starts_with('/') => url = format!("{base}{next}"),
                Some(next) if next.starts_with("http://") || next.starts_with("https://") => {
                    url = next
                }
                Some(next) => {
                    return Err(RegistryError::Protocol {
                        url,
                        message: format!("cannot follow the Link header target {next:?}"),
                    });
                }
                None => return Ok(tags),
            }
        }
    }

    /// The digest of a tag's manifest (`sha256:…`), from the
    /// `Docker-Content-Digest` header or, when absent, the manifest bytes.
    pub async fn digest(&self, image: &ImageReference, tag: &str) -> Result<String, RegistryError> {
        let (base, path) = endpoint(image, self.options.insecure);
        let url = format!("{base}/v2/{path}/manifests/{tag}");
        let head = self.send(Method::HEAD, &url, MANIFEST_TYPES, &path).await?;
        if let Some(d) = head
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            return Ok(d.to_string());
        }
        let body = self
            .send(Method::GET, &url, MANIFEST_TYPES, &path)
            .await?
            .bytes()
            .await
            .map_err(|e| RegistryError::Protocol {
                url: url.clone(),
                message: format!("cannot read the manifest: {e}"),
            })?;
        let hash = Sha256::digest(&body);
        Ok(format!(
            "sha256:{}",
            hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ))
    }

    /// Sends a request with retries and the authentication flow; returns a
    /// successful response or a typed error.
    async fn send(
        &self,
        method: Method,
        url: &str,
        accept: &[&str],
        repository: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut auth = Auth::Anonymous;
        let mut authenticated = false;
        let attempts = self.options.retries + 1;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .http
                .request(method.clone(), url)
                .header(ACCEPT, accept.join(", "));
            request = match (&auth, &self.options.credentials) {
                (Auth::Basic, Some(Credentials::Basic { username, password })) => {
                    request.basic_auth(username, Some(password))
                }
                (Auth::Bearer(token), _) => {
                    request.header(AUTHORIZATION, format!("Bearer {token}"))
                }
                _ => request,
            };
            let retry_wait = match request.send().await {
                Err(e)
                    if attempt < attempts
                        && (e.is_timeout() || e.is_connect() || e.is_request()) =>
                {
                    None
                }
                Err(e) if e.is_timeout() => {
                    return Err(RegistryError::Timeout {
                        url: url.to_string(),
                        timeout: self.options.timeout,
                        attempts,
                    });
                }
                Err(e) => {
                    return Err(RegistryError::Connect {
                        url: url.to_string(),
                        message: error_chain(&e),
                        attempts,
                    });
                }
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        return Ok(response);
                    }
                    if status == StatusCode::UNAUTHORIZED && !authenticated {
                        authenticated = true;
                        attempt -= 1;
                        auth = self
                            .authenticate(url, repository, response.headers())
                            .await?;
                        continue;
                    }
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s.min(60)));
                    let retryable =
                        status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                    if retryable && attempt < attempts {
                        retry_after
                    } else {
                        let body = response.text().await.unwrap_or_default();
                        return Err(self.status_error(url, status, attempts, &body));
                    }
                }
            };
            let backoff = self
                .options
                .backoff
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(Duration::from_secs(10));
            tokio::time::sleep(retry_wait.unwrap_or(backoff)).await;
        }
    }

    fn status_error(
        &self,
        url: &str,
        status: StatusCode,
        attempts: u32,
        body: &str,
    ) -> RegistryError {
        let url = url.to_string();
        match status.as_u16() {
            401 | 403 => RegistryError::Unauthorized {
                url,
                status: status.as_u16(),
                hint: if self.options.credentials.is_some() {
                    ": the credentials were refused".into()
                } else {
                    ": the registry wants credentials (an ImageRepository secretRef, or --username/--password)".into()
                },
            },
            404 => RegistryError::NotFound { url },
            429 => RegistryError::RateLimited { url, attempts },
            s if s >= 500 => RegistryError::Server {
                url,
                status: s,
                attempts,
                body: snippet(body),
            },
            s => RegistryError::Status {
                url,
                status: s,
                body: snippet(body),
            },
        }
    }

    /// Answers a 401 challenge: basic credentials, or a bearer token from
    /// the challenge's realm (cached per realm, service and scope).
    async fn authenticate(
        &self,
        url: &str,
        repository: &str,
        headers: &HeaderMap,
    ) -> Result<Auth, RegistryError> {
        let challenge = headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(Challenge::parse);
        let Some(challenge) = challenge else {
            return Err(self.status_error(
                url,
                StatusCode::UNAUTHORIZED,
                1,
                "no WWW-Authenticate challenge",
            ));
        };
        match challenge.scheme.as_str() {
            "basic" if self.options.credentials.is_some() => Ok(Auth::Basic),
            "basic" => Err(self.status_error(url, StatusCode::UNAUTHORIZED, 1, "")),
            "bearer" => {
                let realm = challenge.params.get("realm").cloned().unwrap_or_default();
                let service = challenge.params.get("service").cloned().unwrap_or_default();
                let scope = challenge
                    .params
                    .get("scope")
                    .cloned()
                    .unwrap_or_else(|| format!("repository:{repository}:pull"));
                let key = format!("{realm} {service} {scope}");
                if let Some(token) = self.tokens.lock().ok().and_then(|t| t.get(&key).cloned()) {
                    return Ok(Auth::Bearer(token));
                }
                let token = self.fetch_token(url, &realm, &service, &scope).await?;
                if let Ok(mut cache) = self.tokens.lock() {
                    cache.insert(key, token.clone());
                }
                Ok(Auth::Bearer(token))
            }
            other => Err(RegistryError::Protocol {
                url: url.to_string(),
                message: format!("unsupported authentication scheme {other:?}"),
            }),
        }
    }

    async fn fetch_token(
        &self,
        url: &str,
        realm: &str,
        service: &str,
        scope: &str,
    ) -> Result<String, RegistryError> {
        if !(realm.starts_with("http://") || realm.starts_with("https://")) {
            return Err(RegistryError::Protocol {
                url: url.to_string(),
                message: format!("the bearer challenge's realm {realm:?} is not an HTTP(S) URL"),
            });
        }
        let mut query: Vec<(&str, &str)> = vec![("scope", scope)];
        if !service.is_empty() {
            query.push(("service", service));
        }
        let mut request = self.http.get(realm).query(&query);
        if let Some(Credentials::Basic { username, password }) = &self.options.credentials {
            request = request.basic_auth(username, Some(password));
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                RegistryError::Timeout {
                    url: realm.to_string(),
                    timeout: self.options.timeout,
                    attempts: 1,
                }
            } else {
                RegistryError::Connect {
                    url: realm.to_string(),
                    message: error_chain(&e),
                    attempts: 1,
                }
            }
        })?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(self.status_error(realm, status, 1, &body));
        }
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let parsed: TokenResponse =
            serde_json::from_str(&body).map_err(|e| RegistryError::Protocol {
                url: realm.to_string(),
                message: format!("the token response is not JSON ({e})"),
            })?;
        parsed
            .token
            .or(parsed.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| RegistryError::Protocol {
                url: realm.to_string(),
                message: "the token response has no token".into(),
            })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_private_registries_use_http() {
        let e = |s: &str| {
            endpoint(
                &ImageReference::parse(s).unwrap_or_else(|e| panic!("{e}")),
                false,
            )
        };
        assert_eq!(e("localhost:5000/app").0, "http://localhost:5000");
        assert_eq!(
            e("127.0.0.1:5000/team/app"),
            ("http://127.0.0.1:5000".into(), "team/app".into())
        );
        assert_eq!(e("ghcr.io/org/app").0, "https://ghcr.io");
        assert_eq!(
            e("nginx"),
            (
                "https://registry-1.docker.io".into(),
                "library/nginx".into()
            )
        );
    }

    #[test]
    fn link_headers_give_the_next_page() {
        let mut h = HeaderMap::new();
        h.insert(
            LINK,
            "</v2/app/tags/list?last=b&n=2>; rel=\"next\""
                .parse()
                .unwrap_or_else(|_| panic!("header")),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("/v2/app/tags/list?last=b&n=2")
        );
    }
}
