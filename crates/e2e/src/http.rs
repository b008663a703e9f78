//! A small HTTP/1.1 client for the Worker's API: JSON in and out, the login cookie kept.
//! (One request per connection, `Connection: close`; chunked bodies are decoded.)

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::STEP;

/// A signed-in (or not yet) API client of one Worker.
#[derive(Debug, Clone)]
pub struct Api {
    pub port: u16,
    pub cookie: Option<String>,
    /// The Worker's `SETUP_CODE`, which the first sign-up must show.
    pub setup_code: Option<String>,
}

/// An answer: status and the JSON body (`Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub set_cookie: Option<String>,
}

impl Api {
    pub fn new(port: u16) -> Api {
        Api { port, cookie: None, setup_code: None }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request("GET", path, None).await
    }

    pub async fn post(&mut self, path: &str, body: &Value) -> Answer {
        let answer = self.request("POST", path, Some(body)).await;
        if let Some(cookie) = &answer.set_cookie {
            self.cookie = Some(cookie.clone());
        }
        answer
    }

    /// The first user: signs up (and so is signed in).
    pub async fn signup(&mut self, name: &str) -> Answer {
        let body = serde_json::json!({"name": name, "password": "correct horse battery staple", "setup_code": self.setup_code});
        let answer = self.post("/api/auth/signup", &body).await;
        assert_eq!(answer.status, 201, "signup failed: {answer:?}");
        assert!(self.cookie.is_some(), "signup set no cookie: {answer:?}");
        answer
    }

    /// Starts a session in `project` with a first prompt; returns its id.
    pub async fn create_session(&mut self, project: &str, prompt: &str) -> String {
        let answer = self.post("/api/sessions", &serde_json::json!({"project": project, "prompt": prompt, "title": "e2e"})).await;
        assert_eq!(answer.status, 201, "creating a session failed: {answer:?}");
        answer.body["id"].as_str().unwrap_or_else(|| panic!("no id in {answer:?}")).to_string()
    }

    pub async fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        tokio::time::timeout(STEP, self.request_inner(method, path, body))
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer within {STEP:?}"))
    }

    async fn request_inner(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: cannot connect to the Worker on port {}: {e}", self.port));
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let cookie = self.cookie.as_ref().map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{cookie}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("send the request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read the answer");
        parse(&raw)
    }
}

fn parse(raw: &[u8]) -> Answer {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP answer with headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let header = |name: &str| {
        head.lines()
            .skip(1)
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string()))
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    }
    let set_cookie = header("set-cookie").and_then(|c| c.split(';').next().map(str::to_string));
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Answer { status, body, set_cookie }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}
