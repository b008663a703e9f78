//! A minimal HTTP/1.1 client for the tests (the fake needs no client library of its own).
// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response: status, lower-cased headers, decoded body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("response body is JSON")
    }

    /// The `(event, data)` pairs of an SSE body.
    pub fn sse(&self) -> Vec<(String, Value)> {
        self.body
            .split("\n\n")
            .filter(|f| !f.trim().is_empty())
            .map(|frame| {
                let event = frame
                    .lines()
                    .find_map(|l| l.strip_prefix("event: "))
                    .expect("event line");
                let data = frame
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .expect("data line");
                (
                    event.to_string(),
                    serde_json::from_str(data).expect("data is JSON"),
                )
            })
            .collect()
    }
}

/// Sends one request with `Connection: close` and reads the whole response (10 s at most).
pub async fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> Response {
    tokio::time::timeout(Duration::from_secs(10), exchange(addr, method, path, body))
        .await
        .expect("HTTP exchange timed out")
}

async fn exchange(addr: SocketAddr, method: &str, path: &str, body: &str) -> Response {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         x-claude-code-session-id: test-session\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body.as_bytes()).await.expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read response");
    parse(&String::from_utf8(raw).expect("UTF-8 response"))
}

fn parse(raw: &str) -> Response {
    let (head, body) = raw.split_once("\r\n\r\n").expect("header end");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v == "chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Response {
        status: status.expect("status line"),
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").expect("chunk size line");
        let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        if size == 0 {
            return out;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}
