//! A service for the official W3C Trace Context test harness
//! (<https://github.com/w3c/trace-context/tree/main/test>).
//!
//! The harness POSTs to `/test` with `traceparent`/`tracestate` headers and a JSON body: a
//! list of `{"url": ..., "arguments": ...}`. For each entry this service POSTs `arguments`
//! (as JSON) to `url`, propagating the context of a `client` span whose parent is the
//! request's `server` span, itself the child of the incoming `traceparent`. The harness
//! checks the headers it receives back: same trace id, a new parent id, `tracestate` kept
//! (or dropped with an invalid `traceparent`), no panic on malformed input.
//!
//! ```text
//! cargo run --example w3c_harness -- 8080          # listens on http://127.0.0.1:8080/test
//! # elsewhere, in a checkout of w3c/trace-context:
//! cd test && python test.py http://127.0.0.1:8080/test
//! ```
//!
//! `tests/w3c_harness.rs` drives it the same way in `cargo test`.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::collections::HashMap;
use traced::{FutureExt as _, SpanKind, propagation, span};

/// The service: `POST /test`.
pub(crate) fn app() -> Router {
    Router::new().route("/test", post(test))
}

async fn test(headers: HeaderMap, body: String) -> StatusCode {
    let server = span("POST /test")
        .kind(SpanKind::Server)
        .parent(propagation::extract(&headers))
        .start();
    async move {
        let Ok(serde_json::Value::Array(entries)) = serde_json::from_str(&body) else {
            return StatusCode::BAD_REQUEST;
        };
        for entry in entries {
            let (Some(url), Some(arguments)) = (
                entry.get("url").and_then(|u| u.as_str()).map(str::to_owned),
                entry.get("arguments").map(ToString::to_string),
            ) else {
                return StatusCode::BAD_REQUEST;
            };
            let client = span("POST")
                .kind(SpanKind::Client)
                .attribute("url.full", url.clone())
                .start();
            // The client call blocks: on the blocking pool, in the client span's context
            // (spawned from inside its instrumented future), so `inject` writes its ids.
            let call = async move {
                traced::tokio::spawn_blocking(move || {
                    let mut outgoing = HashMap::new();
                    propagation::inject(&mut outgoing);
                    let mut request = ureq::post(&url).header("content-type", "application/json");
                    for (name, value) in &outgoing {
                        request = request.header(name, value);
                    }
                    request.send(arguments).map(drop)
                })
                .await
            };
            // A callback that fails is the harness's business, not a reason to fail this
            // request: it checks what it received.
            let _ = call.instrument(client).await;
        }
        StatusCode::OK
    }
    .instrument(server)
    .await
}

#[tokio::main]
async fn main() {
    let _pipeline = traced::init();
    let port: u16 = std::env::args()
        .nth(1)
        .map_or(Ok(0), |p| p.parse())
        .expect("usage: w3c_harness [PORT]");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    println!("listening on http://{addr}/test");
    axum::serve(listener, app()).await.expect("serve");
}
