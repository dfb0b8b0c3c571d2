//! `traced::tower::ServerLayer`, `traced::tower::ClientLayer` and
//! `traced::reqwest::TracingMiddleware` against real axum servers on 127.0.0.1 and real
//! clients: the spans exported through the pipeline, and what the peer received.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]

mod support;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;
use support::{LOCK, run};
use traced::propagation::Baggage;
use traced::{SpanData, SpanKind, Status, ToValue as _, Value, traced};

// ---------------------------------------------------------------------------------------------
// harness
// ---------------------------------------------------------------------------------------------

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    addr
}

/// The one span with this name and kind.
#[track_caller]
fn find<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> &'a SpanData {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.name == name && s.kind == kind)
        .collect();
    assert!(
        found.len() == 1,
        "expected one {kind:?} span {name:?}, found {}:\n{}",
        found.len(),
        traced::export::render_tree(spans)
    );
    found[0]
}

fn str_attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a str> {
    span.attribute(key).and_then(Value::as_str)
}

fn int_attr(span: &SpanData, key: &str) -> Option<i64> {
    match span.attribute(key) {
        Some(Value::I64(n)) => Some(*n),
        _ => None,
    }
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

// ---------------------------------------------------------------------------------------------
// the service under test
// ---------------------------------------------------------------------------------------------

#[traced]
fn load_user(id: u32) -> String {
    format!("user-{id}")
}

async fn user(Path(id): Path<u32>) -> String {
    // The caller's baggage is current while the request is handled.
    let tenant = Baggage::current()
        .and_then(|b| b.get("tenant").map(str::to_owned))
        .unwrap_or_default();
    format!("{} of {tenant}", load_user(id))
}

async fn fail() -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

async fn boom() -> &'static str {
    panic!("the handler blew up")
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(300)).await;
    "late"
}

async fn stream() -> axum::body::Body {
    let chunks = futures::stream::unfold(0, |n| async move {
        if n == 3 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
        Some((Ok::<_, std::io::Error>(format!("chunk {n}\n")), n + 1))
    });
    axum::body::Body::from_stream(chunks)
}

fn app() -> Router {
    Router::new()
        .route("/users/{id}", get(user))
        .route("/fail", get(fail))
        .route("/boom", get(boom))
        .route("/slow", get(slow))
        .route("/stream", get(stream))
        .route(
            "/timeout",
            get(slow).route_layer(
                tower::ServiceBuilder::new()
                    .layer(HandleErrorLayer::new(|_| async {
                        StatusCode::REQUEST_TIMEOUT
                    }))
                    .timeout(Duration::from_millis(50)),
            ),
        )
        .layer(
            traced::tower::ServerLayer::new()
                .request_headers([axum::http::HeaderName::from_static("x-request-id")])
                .response_headers([axum::http::header::CONTENT_TYPE]),
        )
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent("traced-test/1")
        .build()
        .expect("a client")
}

// ---------------------------------------------------------------------------------------------
// server
// ---------------------------------------------------------------------------------------------

#[test]
fn a_routed_request_gets_a_server_span_under_the_callers_span() {
    let body = std::sync::Arc::new(Mutex::new(String::new()));
    let seen = body.clone();
    let spans = run(2, || async move {
        let addr = serve(app()).await;
        let text = plain_client()
            .get(format!("http://{addr}/users/7?token=secret"))
            .header("traceparent", format!("00-{TRACE}-{PARENT}-01"))
            .header("baggage", "tenant=acme")
            .header("x-request-id", "r-1")
            .send()
            .await
            .expect("GET /users/7")
            .text()
            .await
            .expect("a body");
        *seen.lock().unwrap() = text;
    });
    assert_eq!(
        *body.lock().unwrap(),
        "user-7 of acme",
        "baggage reached the handler"
    );
    let server = find(&spans, "GET /users/{id}", SpanKind::Server);
    assert_eq!(server.span_context.trace_id().to_string(), TRACE);
    assert_eq!(server.parent_span_id.to_string(), PARENT);
    assert!(server.parent_is_remote);
    assert_eq!(server.status, Status::Unset);
    assert_eq!(str_attr(server, "http.request.method"), Some("GET"));
    assert_eq!(str_attr(server, "http.route"), Some("/users/{id}"));
    assert_eq!(str_attr(server, "url.path"), Some("/users/7"));
    assert_eq!(str_attr(server, "url.scheme"), Some("http"));
    assert_eq!(server.attribute("url.query"), None, "off by default");
    assert_eq!(int_attr(server, "http.response.status_code"), Some(200));
    assert_eq!(str_attr(server, "network.protocol.version"), Some("1.1"));
    assert_eq!(str_attr(server, "server.address"), Some("127.0.0.1"));
    assert!(int_attr(server, "server.port").is_some_and(|p| p > 0));
    assert_eq!(str_attr(server, "client.address"), Some("127.0.0.1"));
    assert_eq!(str_attr(server, "network.peer.address"), Some("127.0.0.1"));
    assert_eq!(
        str_attr(server, "user_agent.original"),
        Some("traced-test/1")
    );
    assert_eq!(server.attribute("error.type"), None);
    assert_eq!(
        server.attribute("http.request.header.x-request-id"),
        Some(&["r-1"].to_value())
    );
    assert_eq!(
        server.attribute("http.response.header.content-type"),
        Some(&["text/plain; charset=utf-8"].to_value())
    );
    // The handler's #[traced] function ran under the server span.
    let child = find(&spans, "load_user", SpanKind::Internal);
    assert_eq!(child.parent_span_id, server.span_context.span_id());
    assert_eq!(
        child.span_context.trace_id(),
        server.span_context.trace_id()
    );
}

#[test]
fn every_request_gets_a_span_and_only_5xx_is_an_error() {
    let spans = run(6, || async {
        let addr = serve(app()).await;
        let client = plain_client();
        let status = |path: &'static str, method: reqwest::Method| {
            let client = client.clone();
            async move {
                client
                    .request(method, format!("http://{addr}{path}"))
                    .send()
                    .await
                    .expect("a response")
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(status("/nowhere", reqwest::Method::GET).await, 404);
        assert_eq!(status("/users/7", reqwest::Method::POST).await, 405);
        assert_eq!(status("/users/abc", reqwest::Method::GET).await, 400);
        assert_eq!(status("/fail", reqwest::Method::GET).await, 503);
        let purge = reqwest::Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(status("/users/7", purge).await, 405);
        assert_eq!(status("/users/7", reqwest::Method::HEAD).await, 200);
    });
    // A HEAD response has no body to wait for: the span ends with the head, not cancelled.
    let head = find(&spans, "HEAD /users/{id}", SpanKind::Server);
    assert_eq!(int_attr(head, "http.response.status_code"), Some(200));
    assert_eq!(head.attribute("traced.cancelled"), None);
    // The router's fallback has no route: the name is the method alone.
    let not_found = find(&spans, "GET", SpanKind::Server);
    assert_eq!(int_attr(not_found, "http.response.status_code"), Some(404));
    assert_eq!(not_found.status, Status::Unset);
    assert_eq!(not_found.attribute("http.route"), None);
    assert_eq!(str_attr(not_found, "url.path"), Some("/nowhere"));

    let not_allowed = find(&spans, "POST /users/{id}", SpanKind::Server);
    assert_eq!(
        int_attr(not_allowed, "http.response.status_code"),
        Some(405)
    );
    assert_eq!(not_allowed.status, Status::Unset);

    let rejected = spans
        .iter()
        .find(|s| str_attr(s, "url.path") == Some("/users/abc"))
        .expect("a span for the rejected extractor");
    assert_eq!(rejected.name, "GET /users/{id}");
    assert_eq!(int_attr(rejected, "http.response.status_code"), Some(400));
    assert_eq!(rejected.status, Status::Unset);

    let failed = find(&spans, "GET /fail", SpanKind::Server);
    assert_eq!(int_attr(failed, "http.response.status_code"), Some(503));
    assert!(failed.status.is_error());
    assert_eq!(str_attr(failed, "error.type"), Some("503"));

    // A method outside the conventions: `_OTHER`, the original kept, `HTTP` in the name.
    let other = find(&spans, "HTTP /users/{id}", SpanKind::Server);
    assert_eq!(str_attr(other, "http.request.method"), Some("_OTHER"));
    assert_eq!(
        str_attr(other, "http.request.method_original"),
        Some("PURGE")
    );
}

#[test]
fn a_malformed_traceparent_starts_a_new_trace() {
    let spans = run(1, || async {
        let addr = serve(app()).await;
        let response = plain_client()
            .get(format!("http://{addr}/users/1"))
            .header("traceparent", "00-not-a-trace-01")
            .header("tracestate", "=,,k=v=w")
            .header("baggage", "x".repeat(64 * 1024))
            .send()
            .await
            .expect("a response");
        assert_eq!(response.status(), 200);
    });
    let server = find(&spans, "GET /users/{id}", SpanKind::Server);
    assert!(!server.parent_span_id.is_valid());
    assert!(!server.parent_is_remote);
    assert_eq!(server.status, Status::Unset);
}

#[test]
fn a_panicking_handler_ends_its_span_once_as_an_error() {
    let spans = run(2, || async {
        let addr = serve(app()).await;
        let client = plain_client();
        // hyper's connection task dies with the handler: the client sees no response.
        assert!(
            client
                .get(format!("http://{addr}/boom"))
                .send()
                .await
                .is_err()
        );
        // The server goes on.
        let ok = client.get(format!("http://{addr}/users/2")).send().await;
        assert_eq!(ok.expect("a response").status(), 200);
    });
    let boom = find(&spans, "GET /boom", SpanKind::Server);
    assert!(boom.status.is_error());
    assert_eq!(str_attr(boom, "error.type"), Some("panic"));
    let exception = boom.event("exception").expect("an exception event");
    assert_eq!(
        exception
            .attribute("exception.message")
            .and_then(Value::as_str),
        Some("the handler blew up")
    );
    assert_eq!(boom.attribute("traced.cancelled"), None);
}

#[test]
fn the_span_ends_when_the_body_has_been_sent() {
    let spans = run(1, || async {
        let addr = serve(app()).await;
        let text = plain_client()
            .get(format!("http://{addr}/stream"))
            .send()
            .await
            .expect("a response")
            .text()
            .await
            .expect("the body");
        assert_eq!(text, "chunk 0\nchunk 1\nchunk 2\n");
    });
    let stream = find(&spans, "GET /stream", SpanKind::Server);
    // Three chunks 40 ms apart, produced after the handler returned.
    assert!(
        stream.duration_nanos() >= 120_000_000,
        "ended at the body's end, not the handler's: {} ns",
        stream.duration_nanos()
    );
    assert_eq!(stream.attribute("traced.cancelled"), None);
    assert_eq!(stream.status, Status::Unset);
}

#[test]
fn timeouts_and_cancelled_requests_have_spans() {
    let spans = run(2, || async {
        let addr = serve(app()).await;
        let client = plain_client();
        let timeout = client.get(format!("http://{addr}/timeout")).send().await;
        assert_eq!(timeout.expect("a response").status(), 408);
        // The client gives up before the handler answers: the request is dropped.
        let gave_up = client
            .get(format!("http://{addr}/slow"))
            .timeout(Duration::from_millis(50))
            .send()
            .await;
        assert!(gave_up.is_err());
        tokio::time::sleep(Duration::from_millis(100)).await;
    });
    let timeout = find(&spans, "GET /timeout", SpanKind::Server);
    assert_eq!(int_attr(timeout, "http.response.status_code"), Some(408));
    assert_eq!(timeout.status, Status::Unset);
    let slow = find(&spans, "GET /slow", SpanKind::Server);
    assert_eq!(slow.attribute("traced.cancelled"), Some(&Value::Bool(true)));
    assert_eq!(slow.attribute("http.response.status_code"), None);
}

#[test]
fn query_is_recorded_redacted_when_asked() {
    let spans = run(1, || async {
        let app = Router::new()
            .route("/search", get(|| async { "found" }))
            .layer(traced::tower::ServerLayer::new().record_query(true));
        let addr = serve(app).await;
        let response = plain_client()
            .get(format!("http://{addr}/search?q=shoes&access_token=s3cret"))
            .send()
            .await;
        assert_eq!(response.expect("a response").status(), 200);
    });
    let search = find(&spans, "GET /search", SpanKind::Server);
    assert_eq!(
        str_attr(search, "url.query"),
        Some("q=shoes&access_token=REDACTED")
    );
}

#[test]
fn captured_headers_that_carry_secrets_are_recorded_redacted() {
    use axum::http::{HeaderName, HeaderValue, header};
    const OPAQUE: &str = "not-secret-by-its-name";
    let spans = run(2, || async {
        let note = HeaderName::from_static("x-note");
        let app = Router::new()
            .route(
                "/me",
                get(|| async {
                    (
                        [
                            (header::SET_COOKIE, "session=s3ss10n; HttpOnly"),
                            (HeaderName::from_static("x-note"), "kept"),
                        ],
                        "me",
                    )
                }),
            )
            .layer(
                traced::tower::ServerLayer::new()
                    .request_headers([
                        header::AUTHORIZATION,
                        header::COOKIE,
                        HeaderName::from_static("x-api-key"),
                        HeaderName::from_static("x-request-id"),
                    ])
                    .response_headers([header::SET_COOKIE, note]),
            );
        let addr = serve(app).await;
        let client = reqwest_middleware::ClientBuilder::new(plain_client())
            .with(traced::reqwest::TracingMiddleware::new().request_headers([
                header::AUTHORIZATION,
                HeaderName::from_static("x-opaque"),
                HeaderName::from_static("x-request-id"),
            ]))
            .build();
        // Secret by its flag only: reqwest's `bearer_auth` sets it too.
        let mut opaque = HeaderValue::from_static(OPAQUE);
        opaque.set_sensitive(true);
        let response = client
            .get(format!("http://{addr}/me"))
            .bearer_auth("t0k3n")
            .header(header::COOKIE, "a=c00k1e")
            .header(header::COOKIE, "b=c00k2e")
            .header("x-api-key", "k3y")
            .header("x-opaque", opaque)
            .header("x-request-id", "r-9")
            .send()
            .await
            .expect("a response");
        assert_eq!(response.status(), 200);
    });
    let redacted = |n: usize| vec!["REDACTED"; n].to_value();
    let server = find(&spans, "GET /me", SpanKind::Server);
    for (key, want) in [
        ("http.request.header.authorization", redacted(1)),
        ("http.request.header.cookie", redacted(2)),
        ("http.request.header.x-api-key", redacted(1)),
        ("http.request.header.x-request-id", ["r-9"].to_value()),
        ("http.response.header.set-cookie", redacted(1)),
        ("http.response.header.x-note", ["kept"].to_value()),
    ] {
        assert_eq!(server.attribute(key), Some(&want), "server {key}");
    }
    let client = find(&spans, "GET", SpanKind::Client);
    for (key, want) in [
        ("http.request.header.authorization", redacted(1)),
        ("http.request.header.x-opaque", redacted(1)),
        ("http.request.header.x-request-id", ["r-9"].to_value()),
    ] {
        assert_eq!(client.attribute(key), Some(&want), "client {key}");
    }
    let everything = format!("{spans:?}");
    for secret in ["t0k3n", "c00k", "k3y", "s3ss10n", OPAQUE] {
        assert!(!everything.contains(secret), "{secret} in {everything}");
    }
}

/// The body of the response to `request`, as text.
async fn body_of(request: reqwest::RequestBuilder) -> String {
    request
        .send()
        .await
        .expect("a response")
        .text()
        .await
        .expect("a body")
}

#[test]
fn with_tracing_off_the_callers_context_still_propagates() {
    let _lock = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let echo = |headers: HeaderMap| async move {
            let mut out = std::collections::HashMap::new();
            traced::propagation::inject(&mut out);
            let _ = headers;
            out.get("traceparent").cloned().unwrap_or_default()
        };
        let app = Router::new()
            .route("/echo", get(echo))
            .layer(traced::tower::ServerLayer::new());
        let addr = serve(app).await;
        let sent = format!("00-{TRACE}-{PARENT}-01");
        let got = body_of(
            plain_client()
                .get(format!("http://{addr}/echo"))
                .header("traceparent", &sent),
        )
        .await;
        assert_eq!(
            got, sent,
            "no pipeline: the caller's context is the current one"
        );
    });
}

/// A caller that did not sample: the server span (unsampled, under the default parent-based
/// sampler) is what the handler's calls carry on, with the caller's trace id, its decision
/// and its baggage; nothing is exported.
#[test]
fn an_unsampled_callers_decision_and_baggage_propagate_through_the_server() {
    let _lock = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let exporter = traced::export::InMemoryExporter::default();
    let guard = traced::pipeline::Pipeline::builder()
        .with_sampler(traced::Sampler::parent_based(traced::Sampler::AlwaysOn))
        .with_simple_exporter(exporter.clone())
        .install();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let echo = || async move {
            let mut out = std::collections::HashMap::new();
            traced::propagation::inject(&mut out);
            format!(
                "{} {}",
                out.get("traceparent").cloned().unwrap_or_default(),
                out.get("baggage").cloned().unwrap_or_default()
            )
        };
        let app = Router::new()
            .route("/echo", get(echo))
            .layer(traced::tower::ServerLayer::new());
        let addr = serve(app).await;
        for baggage in [None, Some("tenant=acme")] {
            let mut request = plain_client()
                .get(format!("http://{addr}/echo"))
                .header("traceparent", format!("00-{TRACE}-{PARENT}-00"));
            if let Some(baggage) = baggage {
                request = request.header("baggage", baggage);
            }
            let got = body_of(request).await;
            let (traceparent, sent_baggage) = got.split_once(' ').expect("two fields");
            let fields: Vec<&str> = traceparent.split('-').collect();
            assert_eq!(fields.len(), 4, "{got}");
            assert_eq!(
                (fields[0], fields[1], fields[3]),
                ("00", TRACE, "00"),
                "{got}"
            );
            assert_eq!(sent_baggage, baggage.unwrap_or_default(), "{got}");
        }
    });
    guard.force_flush(Duration::from_secs(5)).expect("a flush");
    drop(guard);
    assert!(exporter.spans().is_empty(), "{:?}", exporter.spans());
}

// ---------------------------------------------------------------------------------------------
// clients
// ---------------------------------------------------------------------------------------------

fn traced_client() -> reqwest_middleware::ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(plain_client())
        .with(traced::reqwest::TracingMiddleware::new())
        .build()
}

#[test]
fn reqwest_client_spans_parent_the_servers_spans() {
    let spans = run(7, || async {
        let addr = serve(app()).await;
        let client = traced_client();
        let mut outer = traced::span("checkout").start();
        let calls = async {
            // The current baggage goes along with the traceparent (the guard stays on this
            // thread: `block_on` polls here).
            let mut baggage = Baggage::new();
            baggage.insert("tenant", "acme").expect("a baggage entry");
            let _baggage = baggage.attach();
            let ok = client
                .get(format!("http://{addr}/users/3?token=t0p&x=1"))
                .send()
                .await
                .expect("a response");
            assert_eq!(ok.status(), 200);
            assert_eq!(ok.text().await.expect("a body"), "user-3 of acme");
            let missing = client
                .get(format!("http://{addr}/nowhere"))
                .send()
                .await
                .expect("a response");
            assert_eq!(missing.status(), 404);
            // Nothing listens on port 9 (discard) of 127.0.0.1 here.
            let refused = client.get("http://127.0.0.1:9/").send().await;
            assert!(refused.is_err());
        };
        traced::FutureExt::instrument(calls, std::mem::replace(&mut outer, traced::Span::none()))
            .await;
    });
    let outer = find(&spans, "checkout", SpanKind::Internal);
    let clients: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Client)
        .collect();
    assert_eq!(clients.len(), 3, "{}", traced::export::render_tree(&spans));
    for client in &clients {
        assert_eq!(client.name, "GET");
        assert_eq!(client.parent_span_id, outer.span_context.span_id());
        assert_eq!(str_attr(client, "http.request.method"), Some("GET"));
    }
    let ok = clients[0];
    // (Credentials in a URL never reach the middleware: reqwest moves them to an
    // `Authorization` header. Their redaction is unit-tested in the runtime.)
    assert_eq!(
        str_attr(ok, "url.full"),
        Some(
            format!(
                "http://127.0.0.1:{}/users/3?token=REDACTED&x=1",
                int_attr(ok, "server.port").unwrap()
            )
            .as_str()
        )
    );
    assert_eq!(str_attr(ok, "server.address"), Some("127.0.0.1"));
    assert_eq!(int_attr(ok, "http.response.status_code"), Some(200));
    assert_eq!(ok.status, Status::Unset);
    // The server's span is the remote child of the client span.
    let server = find(&spans, "GET /users/{id}", SpanKind::Server);
    assert_eq!(server.parent_span_id, ok.span_context.span_id());
    assert!(server.parent_is_remote);

    let missing = clients[1];
    assert_eq!(int_attr(missing, "http.response.status_code"), Some(404));
    assert!(
        missing.status.is_error(),
        "4xx is an error on a client span"
    );
    assert_eq!(str_attr(missing, "error.type"), Some("404"));
    let not_found = find(&spans, "GET", SpanKind::Server);
    assert_eq!(not_found.status, Status::Unset);
    assert_eq!(not_found.parent_span_id, missing.span_context.span_id());

    let refused = clients[2];
    assert!(refused.status.is_error());
    assert_eq!(str_attr(refused, "error.type"), Some("connect"));
    assert_eq!(refused.attribute("http.response.status_code"), None);
}

/// Retries once on a 5xx: what reqwest-retry does, in a few lines.
struct RetryOnce;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for RetryOnce {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut axum::http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let again = req.try_clone().expect("a clonable request");
        let first = next.clone().run(req, extensions).await?;
        if first.status().is_server_error() {
            return next.run(again, extensions).await;
        }
        Ok(first)
    }
}

#[test]
fn retries_are_separate_spans_with_their_resend_count() {
    let spans = run(4, || async {
        let addr = serve(app()).await;
        let client = reqwest_middleware::ClientBuilder::new(plain_client())
            .with(RetryOnce)
            .with(traced::reqwest::TracingMiddleware::new())
            .build();
        let response = client
            .get(format!("http://{addr}/fail"))
            .send()
            .await
            .expect("a response");
        assert_eq!(response.status(), 503);
    });
    let clients: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Client)
        .collect();
    assert_eq!(clients.len(), 2, "{}", traced::export::render_tree(&spans));
    assert_eq!(clients[0].attribute("http.request.resend_count"), None);
    assert_eq!(int_attr(clients[1], "http.request.resend_count"), Some(1));
    // Each attempt reached the server as a child of its own client span.
    for client in clients {
        assert!(spans.iter().any(
            |s| s.kind == SpanKind::Server && s.parent_span_id == client.span_context.span_id()
        ));
    }
}

#[test]
fn the_tower_client_layer_traces_a_hyper_util_client() {
    use http_body_util::{BodyExt as _, Empty};
    use tower::ServiceExt as _;

    let spans = run(2, || async {
        let addr = serve(app()).await;
        let hyper =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Empty<bytes::Bytes>>();
        let client = tower::ServiceBuilder::new()
            .layer(traced::tower::ClientLayer::new())
            .service(hyper);
        let request = axum::http::Request::get(format!("http://{addr}/fail"))
            .body(Empty::new())
            .unwrap();
        let response = client.oneshot(request).await.expect("a response");
        assert_eq!(response.status(), 503);
        // The span ends when the body has been read.
        response.into_body().collect().await.expect("the body");
    });
    let client = find(&spans, "GET", SpanKind::Client);
    assert_eq!(int_attr(client, "http.response.status_code"), Some(503));
    assert!(client.status.is_error());
    assert_eq!(str_attr(client, "error.type"), Some("503"));
    assert!(str_attr(client, "url.full").is_some_and(|u| u.ends_with("/fail")));
    let server = find(&spans, "GET /fail", SpanKind::Server);
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert!(server.parent_is_remote);
}

#[test]
fn a_grpc_call_answered_by_a_plain_http_error_gets_its_grpc_code() {
    use http_body_util::{BodyExt as _, Empty};
    use tower::ServiceExt as _;

    let spans = run(2, || async {
        let addr = serve(app()).await;
        let hyper =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Empty<bytes::Bytes>>();
        let client = tower::ServiceBuilder::new()
            .layer(traced::tower::ClientLayer::new())
            .service(hyper);
        // A gRPC request to a path the axum app does not serve: a plain 404, no grpc-status.
        let request = axum::http::Request::post(format!("http://{addr}/shop.v1.Orders/Place"))
            .header("content-type", "application/grpc")
            .body(Empty::new())
            .unwrap();
        let response = client.oneshot(request).await.expect("a response");
        assert_eq!(response.status(), 404);
        response.into_body().collect().await.expect("the body");
    });
    let client = find(&spans, "shop.v1.Orders/Place", SpanKind::Client);
    // 404 maps to UNIMPLEMENTED (12), an error on a client span.
    assert_eq!(int_attr(client, "rpc.grpc.status_code"), Some(12));
    assert_eq!(client.status, Status::error("UNIMPLEMENTED: HTTP 404"));
    // The server saw a gRPC request too, and answered it the same way: UNIMPLEMENTED is a
    // server error.
    let server = find(&spans, "shop.v1.Orders/Place", SpanKind::Server);
    assert_eq!(int_attr(server, "rpc.grpc.status_code"), Some(12));
    assert!(server.status.is_error());
    assert_eq!(server.parent_span_id, client.span_context.span_id());
}
