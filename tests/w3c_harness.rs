//! Drives `examples/w3c_harness.rs` the way the official W3C Trace Context harness does: a
//! POST with `traceparent`/`tracestate` and a JSON list of `{url, arguments}`, two levels
//! deep (the service calls itself, then a receiver), and a receiver that records the headers
//! each callback carried.

mod support;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use traced::testing::capture;
use traced::{SpanId, SpanKind, TraceId};

// The example's `main` is not used here.
#[allow(dead_code)]
#[path = "../examples/w3c_harness.rs"]
mod harness;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// What one callback received: `traceparent`, `tracestate`, body.
type Received = (Option<String>, Option<String>, String);

async fn record(State(seen): State<Arc<Mutex<Vec<Received>>>>, headers: HeaderMap, body: String) {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    seen.lock()
        .unwrap()
        .push((header("traceparent"), header("tracestate"), body));
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Runs one harness round: POST `body` with the given headers; returns the status and what
/// the receiver recorded.
fn round(
    headers: &[(&str, &str)],
    body: impl FnOnce(SocketAddr, SocketAddr) -> String,
) -> (u16, Vec<Received>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let receiver = serve(
            Router::new()
                .route("/record", post(record))
                .with_state(seen.clone()),
        )
        .await;
        let service = serve(harness::app()).await;
        let body = body(service, receiver);
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let status = tokio::task::spawn_blocking(move || {
            let mut request = ureq::post(format!("http://{service}/test"))
                .header("content-type", "application/json");
            for (name, value) in headers {
                request = request.header(name, value);
            }
            request.send(body).map(|r| r.status().as_u16()).unwrap()
        })
        .await
        .unwrap();
        let seen = seen.lock().unwrap().clone();
        (status, seen)
    })
}

fn parse(traceparent: &str) -> (TraceId, SpanId, &str) {
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(parts[0], "00");
    (
        TraceId::from_hex(parts[1]).unwrap(),
        SpanId::from_hex(parts[2]).unwrap(),
        parts[3],
    )
}

#[test]
fn two_levels_keep_the_trace_and_forward_tracestate() {
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    let ((status, seen), spans) = capture(|| {
        let headers = [
            ("traceparent", &*traceparent),
            ("tracestate", "foo=1,bar=2"),
        ];
        round(&headers, |service, receiver| {
            format!(
                r#"[{{"url": "http://{receiver}/record", "arguments": [1, "one"]}},
                    {{"url": "http://{service}/test", "arguments":
                        [{{"url": "http://{receiver}/record", "arguments": []}}]}}]"#
            )
        })
    });
    assert_eq!(status, 200);
    assert_eq!(seen.len(), 2, "{seen:?}");

    let mut parents = Vec::new();
    for (received, tracestate, _) in &seen {
        let (trace_id, parent_id, flags) = parse(received.as_deref().expect("a traceparent"));
        assert_eq!(trace_id.to_string(), TRACE_ID);
        assert_ne!(parent_id.to_string(), PARENT_ID, "a new parent id");
        assert_eq!(flags, "01");
        assert_eq!(tracestate.as_deref(), Some("foo=1,bar=2"));
        parents.push(parent_id);
    }
    assert_ne!(parents[0], parents[1]);
    // The arguments are the callback's body.
    assert_eq!(seen[0].2, r#"[1,"one"]"#);
    assert_eq!(seen[1].2, "[]");

    // In-process: each callback's parent id is a client span of this service; the second
    // level's server span is the remote child of the first level's client span.
    let trace = traced::export::render_tree(&spans);
    let clients: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Client)
        .collect();
    let servers: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Server)
        .collect();
    assert_eq!((clients.len(), servers.len()), (3, 2), "{trace}");
    for parent in &parents {
        assert!(
            clients.iter().any(|c| c.span_context.span_id() == *parent),
            "{trace}"
        );
    }
    let first = servers
        .iter()
        .find(|s| s.parent_span_id.to_string() == PARENT_ID)
        .expect("the first level's server span");
    assert!(first.parent_is_remote);
    let second = servers
        .iter()
        .find(|s| s.span_context.span_id() != first.span_context.span_id())
        .unwrap();
    let via = clients
        .iter()
        .find(|c| c.span_context.span_id() == second.parent_span_id)
        .expect("the second level's parent is a client span");
    assert_eq!(via.parent_span_id, first.span_context.span_id());
    assert!(second.parent_is_remote);
}

#[test]
fn invalid_traceparent_starts_a_new_trace_and_drops_tracestate() {
    let ((status, seen), _) = capture(|| {
        let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-0x");
        let headers = [("traceparent", &*traceparent), ("tracestate", "foo=1")];
        round(&headers, |_, receiver| {
            format!(r#"[{{"url": "http://{receiver}/record", "arguments": []}}]"#)
        })
    });
    assert_eq!(status, 200);
    let [(Some(traceparent), tracestate, _)] = &seen[..] else {
        panic!("one callback with a traceparent: {seen:?}");
    };
    let (trace_id, _, _) = parse(traceparent);
    assert!(trace_id.is_valid());
    assert_ne!(trace_id.to_string(), TRACE_ID);
    assert_eq!(tracestate, &None);
}

/// A few of the harness's own cases (w3c/trace-context `test/test.py`): whether the trace id
/// the callback carries is the incoming one.
#[test]
fn harness_cases() {
    let tid = "12345678901234567890123456789012";
    let cases: [(&[(&str, &str)], bool); 8] = [
        (&[], false),
        (
            &[(
                "TrAcEpArEnT",
                "00-12345678901234567890123456789012-1234567890123456-01",
            )],
            true,
        ),
        (
            &[
                (
                    "traceparent",
                    "00-12345678901234567890123456789011-1234567890123456-01",
                ),
                (
                    "traceparent",
                    "00-12345678901234567890123456789012-1234567890123456-01",
                ),
            ],
            false,
        ),
        (
            &[(
                "trace-parent",
                "00-12345678901234567890123456789012-1234567890123456-01",
            )],
            false,
        ),
        (
            &[(
                "traceparent",
                "00-12345678901234567890123456789012-1234567890123456-01.",
            )],
            false,
        ),
        (
            &[(
                "traceparent",
                "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
            )],
            true,
        ),
        (
            &[(
                "traceparent",
                "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like",
            )],
            false,
        ),
        (
            &[(
                "traceparent",
                "ff-12345678901234567890123456789012-1234567890123456-01",
            )],
            false,
        ),
    ];
    capture(|| {
        for (headers, kept) in cases {
            let (status, seen) = round(headers, |_, receiver| {
                format!(r#"[{{"url": "http://{receiver}/record", "arguments": []}}]"#)
            });
            assert_eq!(status, 200);
            let [(Some(traceparent), _, _)] = &seen[..] else {
                panic!("{headers:?}: one callback with a traceparent: {seen:?}");
            };
            let (trace_id, parent_id, _) = parse(traceparent);
            assert!(trace_id.is_valid() && parent_id.is_valid());
            assert_eq!(
                trace_id.to_string() == tid,
                kept,
                "{headers:?} -> {traceparent}"
            );
            assert_ne!(parent_id.to_string(), "1234567890123456");
        }
    });
}

/// The harness's service on traced's HTTP edges, as a user writes one: `ServerLayer` takes
/// the caller's context from the request, and the reqwest middleware puts it on each
/// callback.
fn layered_app() -> Router {
    Router::new()
        .route("/test", post(layered_test))
        .layer(traced::tower::ServerLayer::new())
}

async fn layered_test(body: String) -> axum::http::StatusCode {
    let Ok(serde_json::Value::Array(entries)) = serde_json::from_str(&body) else {
        return axum::http::StatusCode::BAD_REQUEST;
    };
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(traced::reqwest::TracingMiddleware::new())
        .build();
    for entry in entries {
        let (Some(url), Some(arguments)) = (
            entry.get("url").and_then(|u| u.as_str()),
            entry.get("arguments").map(ToString::to_string),
        ) else {
            return axum::http::StatusCode::BAD_REQUEST;
        };
        // A callback that fails is the harness's business: it checks what it received.
        let _ = client
            .post(url)
            .header("content-type", "application/json")
            .body(arguments)
            .send()
            .await;
    }
    axum::http::StatusCode::OK
}

/// The official harness itself (vendored in `tests/w3c-trace-context/`, see its README), at
/// specification levels 1 and 2, against the example's service (`propagation::extract` and
/// `inject` by hand) and against the same service on `ServerLayer` and the reqwest
/// middleware: every test it has passes.
#[test]
#[ignore = "needs python3 with aiohttp; .ci/run installs it and runs this"]
fn the_official_w3c_harness_passes_at_both_spec_levels() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/w3c-trace-context");
    let ((), _spans) = capture(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // Served by the runtime's workers while this thread waits for the harness.
        let by_hand = rt.block_on(serve(harness::app()));
        let layered = rt.block_on(serve(layered_app()));
        for (service, level) in [
            (by_hand, "1"),
            (by_hand, "2"),
            (layered, "1"),
            (layered, "2"),
        ] {
            let out = std::process::Command::new("python3")
                .arg("test.py")
                .arg(format!("http://{service}/test"))
                .current_dir(&dir)
                .env("SPEC_LEVEL", level)
                .env("HARNESS_PORT", support::free_port().to_string())
                .output()
                .expect("python3 runs");
            let report = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.status.success(),
                "{service} SPEC_LEVEL={level}:\n{report}"
            );
            // unittest's summary: every test ran and passed (a skipped one is the harness's
            // own choice for the level).
            assert!(
                report.lines().any(|l| l.starts_with("OK")),
                "{service} SPEC_LEVEL={level}:\n{report}"
            );
            let ran = report
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Ran ")?
                        .split(' ')
                        .next()?
                        .parse::<u32>()
                        .ok()
                })
                .unwrap_or(0);
            assert!(
                ran >= 40,
                "{service} SPEC_LEVEL={level}: ran {ran}:\n{report}"
            );
        }
    });
}
