//! Smart HTTP for gix on the workspace's reqwest: gix speaks the Git
//! protocol, this module carries its requests. Our own client (rather than
//! gix's bundled backends) so that a GitRepository's Secret applies as in
//! source-controller: a private CA added to the trusted roots (`ca.crt`),
//! a client certificate (`tls.crt`/`tls.key`) and a bearer token. Basic
//! credentials are added by gix itself, which refuses to send them over
//! plain `http://`.
//!
//! A request is sent when gix first reads its response (headers or body),
//! so a POST carries the whole body gix wrote before.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

use gix_transport::client::blocking_io::http::{
    self as ghttp, GetResponse, Http, PostBodyDataKind, PostResponse,
};

use super::{GitSource, SourceError};

/// The HTTP side of one connection.
pub(super) struct Client {
    client: reqwest::blocking::Client,
    bearer: Option<String>,
}

impl Client {
    /// A client with `source`'s TLS settings, token and timeout.
    pub(super) fn new(source: &GitSource) -> Result<Client, SourceError> {
        let creds = &source.credentials;
        let secret = |what: &str, e: reqwest::Error| SourceError::Secret {
            message: format!("{what}: {e}"),
        };
        let mut builder = reqwest::blocking::Client::builder()
            .connect_timeout(source.timeout)
            .timeout(source.timeout)
            .user_agent(concat!("git/2.0 (fleet/", env!("CARGO_PKG_VERSION"), ")"));
        if let Some(ca) = &creds.ca {
            for cert in
                reqwest::Certificate::from_pem_bundle(ca).map_err(|e| secret("'ca.crt'", e))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let (Some(cert), Some(key)) = (&creds.client_cert, &creds.client_key) {
            let mut pem = key.clone();
            pem.push(b'\n');
            pem.extend_from_slice(cert);
            let identity =
                reqwest::Identity::from_pem(&pem).map_err(|e| secret("'tls.crt'/'tls.key'", e))?;
            builder = builder.identity(identity);
        }
        let client = builder.build().map_err(|e| SourceError::Git {
            url: source.url.clone(),
            operation: "setting up the HTTP client".into(),
            message: e.to_string(),
        })?;
        Ok(Client {
            client,
            bearer: creds.bearer_token.clone(),
        })
    }

    fn exchange(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: impl IntoIterator<Item = impl AsRef<str>>,
        body: Option<Vec<u8>>,
    ) -> Shared {
        let mut request = self.client.request(method, url);
        for line in headers {
            if let Some((name, value)) = line.as_ref().split_once(':') {
                request = request.header(name.trim(), value.trim());
            }
        }
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        Arc::new(Mutex::new(Exchange {
            request: Some(request),
            body,
            headers: None,
            response: None,
            error: None,
        }))
    }
}

type Shared = Arc<Mutex<Exchange>>;

struct Exchange {
    request: Option<reqwest::blocking::RequestBuilder>,
    body: Option<Vec<u8>>,
    headers: Option<Vec<u8>>,
    response: Option<reqwest::blocking::Response>,
    error: Option<(io::ErrorKind, String)>,
}

impl Exchange {
    /// Sends the request once; later calls see its result.
    fn send(&mut self) -> io::Result<()> {
        if let Some(request) = self.request.take() {
            let request = match self.body.take() {
                Some(body) => request.body(body),
                None => request,
            };
            match request.send() {
                Ok(response) if response.status().is_success() => {
                    let mut headers = Vec::new();
                    for (name, value) in response.headers() {
                        headers.extend_from_slice(name.as_str().as_bytes());
                        headers.push(b':');
                        headers.extend_from_slice(value.as_bytes());
                        headers.push(b'\n');
                    }
                    self.headers = Some(headers);
                    self.response = Some(response);
                }
                Ok(response) => {
                    // gix reads PermissionDenied as "credentials needed or
                    // refused".
                    let status = response.status();
                    let kind = if status == reqwest::StatusCode::UNAUTHORIZED
                        || status == reqwest::StatusCode::FORBIDDEN
                    {
                        io::ErrorKind::PermissionDenied
                    } else {
                        io::ErrorKind::Other
                    };
                    self.error = Some((kind, format!("received HTTP status {status}")));
                }
                Err(e) => {
                    let tls = chain_has_tls_error(&e);
                    let kind = if tls {
                        // Reached, but the TLS handshake failed (untrusted
                        // or refused certificate): not a connection problem.
                        io::ErrorKind::InvalidData
                    } else if e.is_connect() {
                        io::ErrorKind::ConnectionRefused
                    } else if e.is_timeout() {
                        io::ErrorKind::TimedOut
                    } else {
                        io::ErrorKind::Other
                    };
                    let mut message = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(cause) = source {
                        message.push_str(": ");
                        message.push_str(&cause.to_string());
                        source = cause.source();
                    }
                    self.error = Some((kind, message));
                }
            }
        }
        match &self.error {
            Some((kind, message)) => Err(io::Error::new(*kind, message.clone())),
            None => Ok(()),
        }
    }
}

fn chain_has_tls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(e) = current {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        // An I/O error's `source()` skips the error it wraps: look inside.
        if let Some(io) = e.downcast_ref::<io::Error>()
            && let Some(inner) = io.get_ref()
            && chain_has_tls_error(inner)
        {
            return true;
        }
        current = e.source();
    }
    false
}

fn lock(shared: &Shared) -> io::Result<std::sync::MutexGuard<'_, Exchange>> {
    shared
        .lock()
        .map_err(|_| io::Error::other("an HTTP exchange was poisoned"))
}

/// The response headers as `name:value` lines.
pub(super) struct Headers {
    shared: Shared,
    lines: Option<io::Cursor<Vec<u8>>>,
}

impl Headers {
    fn lines(&mut self) -> io::Result<&mut io::Cursor<Vec<u8>>> {
        if self.lines.is_none() {
            let mut exchange = lock(&self.shared)?;
            exchange.send()?;
            let headers = exchange.headers.take().unwrap_or_default();
            self.lines = Some(io::Cursor::new(headers));
        }
        self.lines
            .as_mut()
            .ok_or_else(|| io::Error::other("HTTP headers missing"))
    }
}

impl Read for Headers {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.lines()?.read(buf)
    }
}

impl BufRead for Headers {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.lines()?.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Some(lines) = self.lines.as_mut() {
            lines.consume(amount);
        }
    }
}

/// The response body, streamed.
pub(super) struct Body {
    shared: Shared,
    reader: Option<BufReader<reqwest::blocking::Response>>,
    done: bool,
}

impl Body {
    fn reader(&mut self) -> io::Result<Option<&mut BufReader<reqwest::blocking::Response>>> {
        if self.reader.is_none() && !self.done {
            let mut exchange = lock(&self.shared)?;
            exchange.send()?;
            self.reader = exchange.response.take().map(BufReader::new);
            self.done = true;
        }
        Ok(self.reader.as_mut())
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.reader()? {
            Some(reader) => reader.read(buf),
            None => Ok(0),
        }
    }
}

impl BufRead for Body {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self.reader()? {
            Some(reader) => reader.fill_buf(),
            None => Ok(&[]),
        }
    }

    fn consume(&mut self, amount: usize) {
        if let Some(reader) = self.reader.as_mut() {
            reader.consume(amount);
        }
    }
}

/// What gix writes as a POST body.
pub(super) struct PostBody {
    shared: Shared,
}

impl Write for PostBody {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut exchange = lock(&self.shared)?;
        match exchange.body.as_mut() {
            Some(body) => {
                body.extend_from_slice(buf);
                Ok(buf.len())
            }
            None => Err(io::Error::other("the request was already sent")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Http for Client {
    type Headers = Headers;
    type ResponseBody = Body;
    type PostBody = PostBody;

    fn get(
        &mut self,
        url: &str,
        _base_url: &str,
        headers: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Result<GetResponse<Headers, Body>, ghttp::Error> {
        let shared = self.exchange(reqwest::Method::GET, url, headers, None);
        Ok(GetResponse {
            headers: Headers {
                shared: shared.clone(),
                lines: None,
            },
            body: Body {
                shared,
                reader: None,
                done: false,
            },
        })
    }

    fn post(
        &mut self,
        url: &str,
        _base_url: &str,
        headers: impl IntoIterator<Item = impl AsRef<str>>,
        _body: PostBodyDataKind,
    ) -> Result<PostResponse<Headers, Body, PostBody>, ghttp::Error> {
        let shared = self.exchange(reqwest::Method::POST, url, headers, Some(Vec::new()));
        Ok(PostResponse {
            post_body: PostBody {
                shared: shared.clone(),
            },
            headers: Headers {
                shared: shared.clone(),
                lines: None,
            },
            body: Body {
                shared,
                reader: None,
                done: false,
            },
        })
    }

    fn configure(
        &mut self,
        _config: &dyn std::any::Any,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        // Configured from the GitRepository when built, not from Git config.
        Ok(())
    }
}
