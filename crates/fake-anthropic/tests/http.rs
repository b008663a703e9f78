//! The fake over HTTP: routes, streaming, errors in the API's shapes, the request log.

mod common;

use std::time::{Duration, Instant};

use common::request;
use fake_anthropic::FakeModel;
use serde_json::{json, Value};

fn body(text: &str, stream: bool) -> String {
    json!({
        "model": "claude-test",
        "stream": stream,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": text}]},
            {"role": "system", "content": "Primary working directory: /w"},
        ],
    })
    .to_string()
}

#[tokio::test]
async fn streams_a_text_reply_with_beta_query() {
    let fake = FakeModel::start().await.unwrap();
    let r = request(
        fake.addr(),
        "POST",
        "/v1/messages?beta=true",
        &body("hi there", true),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let events = r.sse();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names
            .iter()
            .filter(|n| **n != "content_block_delta")
            .copied()
            .collect::<Vec<_>>(),
        [
            "message_start",
            "content_block_start",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let text: String = events
        .iter()
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "You said: hi there");
    assert_eq!(events[0].1["message"]["model"], "claude-test");
    assert_eq!(
        events[events.len() - 2].1["delta"]["stop_reason"],
        "end_turn"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn answers_non_stream_requests_with_one_message() {
    let fake = FakeModel::start().await.unwrap();
    let r = request(
        fake.addr(),
        "POST",
        "/v1/messages",
        &body("x [[tool:read path=f]]", false),
    )
    .await;
    assert_eq!(r.status, 200);
    let m = r.json();
    assert_eq!(m["stop_reason"], "tool_use");
    assert_eq!(m["content"][1]["input"], json!({"file_path": "/w/f"}));
    assert!(m["content"][1]["id"]
        .as_str()
        .unwrap()
        .starts_with("toolu_fake_"));
    fake.shutdown().await;
}

#[tokio::test]
async fn scripted_errors_have_the_api_shape_and_honour_times() {
    let fake = FakeModel::start().await.unwrap();
    for (status, kind) in [(529, "overloaded_error"), (400, "invalid_request_error")] {
        let r = request(
            fake.addr(),
            "POST",
            "/v1/messages",
            &body(&format!("[[error:{status}]]"), true),
        )
        .await;
        assert_eq!(r.status, status);
        let e = r.json();
        assert_eq!(
            (e["type"].as_str(), e["error"]["type"].as_str()),
            (Some("error"), Some(kind))
        );
        assert!(e["error"]["message"].is_string() && e["request_id"].is_string());
        assert!(r.header("request-id").is_some());
    }
    let once = body("[[error:529 times=1]] then fine", true);
    assert_eq!(
        request(fake.addr(), "POST", "/v1/messages", &once)
            .await
            .status,
        529
    );
    assert_eq!(
        request(fake.addr(), "POST", "/v1/messages", &once)
            .await
            .status,
        200
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_invalid_request_errors() {
    let fake = FakeModel::start().await.unwrap();
    for bad in [
        "not json",
        "[1]",
        "{\"messages\": 3}",
        "{\"messages\": [{\"role\": \"user\"}]}",
    ] {
        let r = request(fake.addr(), "POST", "/v1/messages", bad).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.json()["error"]["type"], "invalid_request_error", "{bad}");
    }
    let r = request(fake.addr(), "GET", "/v1/models", "").await;
    assert_eq!(
        (r.status, r.json()["error"]["type"].clone()),
        (404, json!("not_found_error"))
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn a_bad_directive_is_reported_in_the_reply() {
    let fake = FakeModel::start().await.unwrap();
    let r = request(
        fake.addr(),
        "POST",
        "/v1/messages",
        &body("[[tool:nope]]", false),
    )
    .await;
    let text = r.json()["content"][0]["text"].as_str().unwrap().to_string();
    assert!(
        text.starts_with("fake-anthropic: bad directive `[[tool:nope]]`"),
        "{text}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn counts_tokens() {
    let fake = FakeModel::start().await.unwrap();
    let r = request(
        fake.addr(),
        "POST",
        "/v1/messages/count_tokens?beta=true",
        &body("x", false),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.json()["input_tokens"].as_u64().unwrap() > 0);
    fake.shutdown().await;
}

#[tokio::test]
async fn records_every_request_for_the_library_and_over_http() {
    let fake = FakeModel::start().await.unwrap();
    request(
        fake.addr(),
        "POST",
        "/v1/messages?beta=true",
        &body("first", true),
    )
    .await;
    request(
        fake.addr(),
        "POST",
        "/v1/messages/count_tokens",
        &body("second", false),
    )
    .await;
    request(fake.addr(), "GET", "/elsewhere", "").await;
    let log = fake.requests();
    let paths: Vec<&str> = log.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v1/messages?beta=true",
            "/v1/messages/count_tokens",
            "/elsewhere"
        ]
    );
    assert_eq!(log[0].body["messages"][0]["content"][0]["text"], "first");
    assert_eq!(
        log[0]
            .headers
            .get("x-claude-code-session-id")
            .map(String::as_str),
        Some("test-session")
    );
    assert_eq!(fake.message_requests().len(), 1);
    let over_http: Value = request(fake.addr(), "GET", "/_fake/requests", "")
        .await
        .json();
    assert_eq!(
        over_http.as_array().unwrap().len(),
        3,
        "the log's own route is not logged"
    );
    assert_eq!(over_http[2]["method"], "GET");
    assert_eq!(over_http[0]["body"], log[0].body);
    fake.shutdown().await;
}

#[tokio::test]
async fn slow_streams_take_chunks_times_ms() {
    let fake = FakeModel::start().await.unwrap();
    let started = Instant::now();
    let r = request(
        fake.addr(),
        "POST",
        "/v1/messages",
        &body("[[slow ms=30 chunks=5]]", true),
    )
    .await;
    let took = started.elapsed();
    let deltas = r
        .sse()
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .count();
    assert_eq!(deltas, 5);
    assert!(took >= Duration::from_millis(150), "took {took:?}");
    fake.shutdown().await;
}

#[tokio::test]
async fn binds_loopback_and_stops_on_shutdown() {
    let fake = FakeModel::start().await.unwrap();
    let addr = fake.addr();
    assert!(addr.ip().is_loopback());
    fake.shutdown().await;
    let refused =
        tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr)).await;
    assert!(
        matches!(refused, Ok(Err(_))),
        "still accepting after shutdown"
    );
}

#[tokio::test]
async fn says_which_images_the_last_user_message_holds() {
    let fake = FakeModel::start().await.unwrap();
    let image = |t: &str| json!({"type": "image", "source": {"type": "base64", "media_type": t, "data": "AAAA"}});
    let ask = |messages: Value| json!({"model": "m", "stream": false, "messages": messages}).to_string();
    let cases = [
        (json!([{"role": "user", "content": [image("image/png")]}]), "I see 1 image(s): image/png."),
        (
            json!([{"role": "user", "content": [{"type": "text", "text": "what is it?"}, image("image/jpeg"), image("image/webp")]}]),
            "I see 2 image(s): image/jpeg, image/webp. You said: what is it?",
        ),
        (
            // as the CLI sends a prompt with an image: its note of where it saved it comes last
            json!([{"role": "user", "content": [image("image/png"), {"type": "text", "text": "and this?\n"},
                {"type": "text", "text": "[Image: source: /tmp/x/images/1.png]"}]}]),
            "I see 1 image(s): image/png. You said: and this?",
        ),
        (
            json!([
                {"role": "user", "content": [image("image/png")]},
                {"role": "assistant", "content": [{"type": "text", "text": "I see 1 image(s): image/png."}]},
                {"role": "user", "content": [{"type": "text", "text": "and now?"}]},
            ]),
            "You said: and now?",
        ),
    ];
    for (messages, expected) in cases {
        let r = request(fake.addr(), "POST", "/v1/messages", &ask(messages)).await;
        assert_eq!(r.json()["content"][0]["text"], expected);
    }
    let recorded = fake.message_requests();
    assert_eq!(recorded[0].body["messages"][0]["content"][0]["source"]["media_type"], "image/png", "recorded as received");
    fake.shutdown().await;
}
