//! Drives `examples/w3c_harness.rs` the way the official W3C Trace Context harness does: a
//! POST with `traceparent`/`tracestate` and a JSON list of `{url, arguments}`, two levels
//! deep (the service calls itself, then a receiver), and a receiver that records the headers
//! each callback carried.

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
