//! One trace across two implementations: traced and the OpenTelemetry Python SDK, each
//! exporting its own spans over OTLP/HTTP protobuf to one receiver on 127.0.0.1, which decodes
//! them with the official types.
//!
//! A traced root calls the Python service through the reqwest middleware; the SDK continues the
//! trace in its own server span, and calls back a traced axum service (`ServerLayer`), whose
//! `#[traced]` handler ends the chain: traced → Python → traced, five hops of context, two
//! resources, one trace id, every parent where the other side said it was.
//!
//! Needs `python3` with `pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http`,
//! so it is ignored by default; `.ci/run` installs them and runs it:
//! `cargo test -p traced --test python_peer -- --ignored`.

mod support;

use axum::Router;
use axum::routing::post;
use prost::Message as _;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use traced::export::otlp::proto::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use traced::export::otlp::proto::common::v1::any_value;
use traced::export::otlp::proto::trace::v1::{Span, span::SpanKind};
use traced::export::otlp::{OtlpConfig, OtlpProtocol};
use traced::model::Resource;
use traced::pipeline::{Pipeline, Sampler};
use traced::propagation::Baggage;

type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

/// An OTLP/HTTP receiver that decodes each protobuf body with the official types.
async fn receiver(received: Received) -> SocketAddr {
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: axum::body::Bytes| async move {
            let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
            received.lock().unwrap().push(request);
            ExportTraceServiceResponse::default().encode_to_vec()
        }),
    );
    serve(app).await
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[traced::traced]
fn settle(order: u64) -> u64 {
    order + 1
}

/// The traced service the Python peer calls back.
async fn settle_handler() -> String {
    settle(7).to_string()
}

/// The Python peer, killed when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the Python service on `port`, exporting to `otlp`; returns once it listens.
fn python_peer(port: u16, otlp: &str) -> Peer {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/python_service.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(otlp)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let peer = Peer(child);
    assert_eq!(
        line.trim(),
        "ready",
        "the Python peer did not start (is opentelemetry-sdk installed?)"
    );
    peer
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn string_attr<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
}

/// Runs the chain (traced root → Python → traced) with both sides exporting to one
/// receiver; returns every span exported, with the service that exported it, and the root's
/// context.
fn run_the_chain() -> (Vec<(String, Span)>, traced::SpanContext) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let received = Received::default();
    let collector = rt.block_on(receiver(received.clone()));
    let otlp = format!("http://{collector}/v1/traces");
    let traced_service = rt.block_on(serve(
        Router::new()
            .route("/settle", post(settle_handler))
            .layer(traced::tower::ServerLayer::new()),
    ));
    let port = support::free_port();
    let peer = python_peer(port, &otlp);

    let exporter = traced::export::otlp::exporter(&OtlpConfig {
        endpoint: otlp.clone(),
        protocol: OtlpProtocol::HttpProtobuf,
        timeout: Duration::from_secs(5),
        ..OtlpConfig::default()
    })
    .unwrap();
    let mut resource = Resource::default_for_process();
    resource.set("service.name", "traced-side");
    let guard = Pipeline::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .install();

    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(traced::reqwest::TracingMiddleware::new())
        .build();
    let mut root = traced::span("checkout").start();
    let root_ids = root.span_context();
    let status = {
        // Active on this thread, where `block_on` polls the call.
        let _in = root.enter();
        rt.block_on(async {
            let mut baggage = Baggage::new();
            baggage.insert("tenant", "acme").unwrap();
            let _baggage = baggage.attach();
            let call = client
                .post(format!("http://127.0.0.1:{port}/hop"))
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"callback": "http://{traced_service}/settle"}}"#
                ))
                .send();
            call.await.expect("the Python peer answers").status()
        })
    };
    root.end();
    assert_eq!(status, 200);
    guard.force_flush(Duration::from_secs(10)).unwrap();
    drop(guard);
    drop(peer);

    let requests = std::mem::take(&mut *received.lock().unwrap());
    let mut spans = Vec::new();
    for request in requests {
        for rs in request.resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    any_value::Value::StringValue(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for span in ss.spans {
                    spans.push((service.clone(), span));
                }
            }
        }
    }
    (spans, root_ids)
}

#[test]
#[ignore = "needs python3 with opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http; .ci/run installs them and runs this"]
fn one_trace_across_traced_and_the_python_sdk() {
    let (spans, root_ids) = run_the_chain();
    let listing: Vec<String> = spans
        .iter()
        .map(|(service, s)| {
            format!(
                "{service}: {} {} parent {} trace {}",
                s.name,
                hex(&s.span_id),
                hex(&s.parent_span_id),
                hex(&s.trace_id)
            )
        })
        .collect();
    let listing = listing.join("\n");
    let one = |service: &str, name: &str| -> &Span {
        let found: Vec<&Span> = spans
            .iter()
            .filter(|(s, span)| s == service && span.name == name)
            .map(|(_, span)| span)
            .collect();
        assert_eq!(found.len(), 1, "{service} {name}:\n{listing}");
        found[0]
    };
    let checkout = one("traced-side", "checkout");
    let client_span = one("traced-side", "POST");
    let py_server = one("python-peer", "python /hop");
    let py_work = one("python-peer", "python-work");
    let py_client = one("python-peer", "python call");
    let traced_server = one("traced-side", "POST /settle");
    let handler = one("traced-side", "settle");

    // One trace, the root's.
    let trace = hex(&root_ids.trace_id().to_bytes());
    for (_, span) in &spans {
        assert_eq!(hex(&span.trace_id), trace, "{listing}");
    }
    assert_eq!(hex(&checkout.span_id), hex(&root_ids.span_id().to_bytes()));
    // traced → Python: the SDK's server span is the remote child of traced's client span.
    assert_eq!(client_span.kind, SpanKind::Client as i32);
    assert_eq!(client_span.parent_span_id, checkout.span_id, "{listing}");
    assert_eq!(py_server.kind, SpanKind::Server as i32);
    assert_eq!(py_server.parent_span_id, client_span.span_id, "{listing}");
    assert_eq!(py_work.parent_span_id, py_server.span_id, "{listing}");
    assert_eq!(py_client.parent_span_id, py_server.span_id, "{listing}");
    // The baggage traced sent reached the SDK.
    assert_eq!(string_attr(py_server, "peer.baggage.tenant"), Some("acme"));
    // Python → traced: traced's server span is the remote child of the SDK's client span,
    // and the #[traced] handler its child.
    assert_eq!(traced_server.kind, SpanKind::Server as i32);
    assert_eq!(traced_server.parent_span_id, py_client.span_id, "{listing}");
    assert_eq!(handler.parent_span_id, traced_server.span_id, "{listing}");
    // Both sides mark a remote parent in the flags (OTLP 1.4: bit 8 says the flag is known,
    // bit 9 that the parent is remote).
    assert_eq!(traced_server.flags & 0x300, 0x300, "{listing}");
    assert_eq!(spans.len(), 7, "{listing}");
}
