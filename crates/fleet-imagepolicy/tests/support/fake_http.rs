//! A scripted HTTP/1.1 server on loopback for the failures a real registry
//! will not produce on demand (429, 500, hanging, odd token services).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted answer.
#[derive(Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
    /// Wait before answering (a hang when longer than the client timeout).
    pub delay: Duration,
}

impl Answer {
    /// An answer with a status and body.
    pub fn new(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Delays the answer.
    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }
}

/// What the server saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET /path?query`.
    pub line: String,
    /// The Authorization header, if any.
    pub authorization: Option<String>,
}

/// A running fake server; answers are chosen by a function of the request
/// line and how many requests came before.
pub struct FakeServer {
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// The requests seen.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeServer {
    /// Starts the server on a thread.
    pub fn start(answer: impl Fn(&str, usize) -> Answer + Send + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let host = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for (count, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(match stream.try_clone() {
                    Ok(s) => s,
                    Err(_) => continue,
                });
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut authorization = None;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("authorization")
                    {
                        authorization = Some(value.trim().to_string());
                    }
                }
                let line = line.trim().trim_end_matches(" HTTP/1.1").to_string();
                if let Ok(mut log) = log.lock() {
                    log.push(Seen {
                        line: line.clone(),
                        authorization,
                    });
                }
                let a = answer(&line, count);
                let stream_delay = a.delay;
                std::thread::spawn(move || {
                    std::thread::sleep(stream_delay);
                    let mut head = format!(
                        "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                        a.status,
                        a.body.len()
                    );
                    for (k, v) in &a.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(a.body.as_bytes());
                });
            }
        });
        FakeServer { host, seen }
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}
