//! Export requests under a size limit, over http/protobuf, http/json and grpc, against
//! receivers on 127.0.0.1 with a small limit of their own: an HTTP receiver answering 413
//! past it, tonic's server with `max_decoding_message_size` (`OUT_OF_RANGE`). Every span
//! arrives once, no request is over the limit, no refused request is sent again as it was,
//! and a span too large on its own is dropped and counted.
//!
//! Run with `cargo test -p traced-runtime --features otlp --test otlp_size`.
#![cfg(feature = "otlp")]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};
use traced_runtime::Sampler;
use traced_runtime::export::ExportError;
use traced_runtime::export::otlp::{self, OtlpConfig, OtlpProtocol};
use traced_runtime::model::{
    KeyValue, SpanContext, SpanData, SpanId, TraceFlags, TraceId, TraceState,
};
use traced_runtime::pipeline::Pipeline;

static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
});

/// What a receiver saw: the size of each accepted request and the span names in it, and the
/// refused requests (HTTP only: tonic refuses before the service sees anything).
#[derive(Debug, Default)]
struct Seen {
    accepted: Vec<(usize, Vec<String>)>,
    refused: Vec<Vec<u8>>,
}

struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

fn names(request: &ExportTraceServiceRequest) -> Vec<String> {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.clone())
        .collect()
}

async fn http_export(
    State((seen, limit)): State<(Arc<Mutex<Seen>>, usize)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    if body.len() > limit {
        seen.refused.push(body.to_vec());
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    let json = headers
        .get("content-type")
        .is_some_and(|v| v == "application/json");
    let request = if json {
        // Names only: a light look at OTLP/JSON (tests/otlp.rs checks it field by field).
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let mut names = Vec::new();
        for r in v["resourceSpans"].as_array().unwrap() {
            for s in r["scopeSpans"].as_array().unwrap() {
                for span in s["spans"].as_array().unwrap() {
                    names.push(span["name"].as_str().unwrap().to_owned());
                }
            }
        }
        seen.accepted.push((body.len(), names));
        return StatusCode::OK;
    } else {
        ExportTraceServiceRequest::decode(body.as_ref()).unwrap()
    };
    seen.accepted.push((body.len(), names(&request)));
    StatusCode::OK
}

struct Grpc(Arc<Mutex<Seen>>);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let request = request.into_inner();
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .accepted
            .push((request.encoded_len(), names(&request)));
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Receiver {
    /// A receiver that refuses requests over `limit` bytes.
    fn new(protocol: OtlpProtocol, limit: usize) -> Receiver {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let addr = if protocol == OtlpProtocol::Grpc {
            let service =
                TraceServiceServer::new(Grpc(seen.clone())).max_decoding_message_size(limit);
            RT.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let incoming = tonic::transport::server::TcpIncoming::from(listener);
                tokio::spawn(
                    tonic::transport::Server::builder()
                        .add_service(service)
                        .serve_with_incoming(incoming),
                );
                addr
            })
        } else {
            let app = axum::Router::new()
                .route("/v1/traces", axum::routing::post(http_export))
                .layer(axum::extract::DefaultBodyLimit::disable())
                .with_state((seen.clone(), limit));
            RT.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                tokio::spawn(async move { axum::serve(listener, app).await });
                addr
            })
        };
        Receiver { addr, seen }
    }

    fn config(&self, protocol: OtlpProtocol, max_request_size: usize) -> OtlpConfig {
        let endpoint = match protocol {
            OtlpProtocol::Grpc => format!("http://{}", self.addr),
            _ => format!("http://{}/v1/traces", self.addr),
        };
        OtlpConfig {
            endpoint,
            protocol,
            timeout: Duration::from_secs(10),
            max_request_size,
            ..OtlpConfig::default()
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The span names received, in order.
    fn names(&self) -> Vec<String> {
        self.seen()
            .accepted
            .iter()
            .flat_map(|(_, n)| n.clone())
            .collect()
    }
}

/// A span named `name` with a string attribute of `bytes` bytes.
fn span(name: String, bytes: usize) -> SpanData {
    let cx = SpanContext::new(
        TraceId::from_u128(7),
        SpanId::random(),
        TraceFlags::SAMPLED,
        false,
        TraceState::NONE,
    );
    let mut span = SpanData::new(cx, name);
    span.attributes
        .push(KeyValue::new("payload", "x".repeat(bytes)));
    span
}

fn spans(n: usize, bytes: usize) -> Vec<SpanData> {
    (0..n).map(|i| span(format!("s{i:03}"), bytes)).collect()
}

fn expected(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("s{i:03}")).collect()
}

const PROTOCOLS: [OtlpProtocol; 3] = [
    OtlpProtocol::HttpProtobuf,
    OtlpProtocol::HttpJson,
    OtlpProtocol::Grpc,
];

const KIB: usize = 1024;

#[test]
fn a_batch_over_our_limit_goes_out_as_several_requests_under_it() {
    for protocol in PROTOCOLS {
        // 100 spans of 2 KiB: about 210 KB in one request; ours is 64 KiB.
        let receiver = Receiver::new(protocol, 4 * 1024 * KIB);
        let mut exporter = otlp::exporter(&receiver.config(protocol, 64 * KIB)).unwrap();
        assert_eq!(exporter.export(spans(100, 2 * KIB)), Ok(()), "{protocol:?}");
        assert_eq!(receiver.names(), expected(100), "{protocol:?}");
        let seen = receiver.seen();
        let sizes: Vec<usize> = seen.accepted.iter().map(|(size, _)| *size).collect();
        assert!(sizes.len() >= 4, "{protocol:?}: {sizes:?}");
        assert!(
            sizes.iter().all(|&s| s <= 64 * KIB),
            "{protocol:?}: {sizes:?}"
        );
        assert!(seen.refused.is_empty());
        if protocol == OtlpProtocol::HttpProtobuf {
            eprintln!("http/protobuf requests under 64 KiB: {sizes:?}");
        }
    }
}

#[test]
fn a_receiver_with_a_smaller_limit_gets_halves_never_the_same_request_again() {
    for protocol in PROTOCOLS {
        // Our limit is the default (4 MB); the receiver's is 64 KiB.
        let receiver = Receiver::new(protocol, 64 * KIB);
        let config = receiver.config(protocol, OtlpConfig::default().max_request_size);
        let mut exporter = otlp::exporter(&config).unwrap();
        let start = Instant::now();
        assert_eq!(exporter.export(spans(100, 2 * KIB)), Ok(()), "{protocol:?}");
        // Refusals are answered by halving at once, not by backing off and retrying.
        assert!(start.elapsed() < Duration::from_secs(2), "{protocol:?}");
        assert_eq!(receiver.names(), expected(100), "{protocol:?}");
        let seen = receiver.seen();
        assert!(seen.accepted.iter().all(|(size, _)| *size <= 64 * KIB));
        if protocol != OtlpProtocol::Grpc {
            // 210 KB, then two halves of 105 KB: three refusals, each request different.
            assert_eq!(seen.refused.len(), 3, "{protocol:?}");
            for (i, a) in seen.refused.iter().enumerate() {
                assert!(
                    seen.refused[i + 1..].iter().all(|b| a != b),
                    "{protocol:?}: a refused request was sent again"
                );
            }
        }
    }
}

#[test]
fn a_span_too_large_alone_is_dropped_and_counted() {
    for protocol in PROTOCOLS {
        let receiver = Receiver::new(protocol, 4 * 1024 * KIB);
        let mut exporter = otlp::exporter(&receiver.config(protocol, 64 * KIB)).unwrap();
        let mut batch = spans(5, 100);
        batch[2] = span("huge".to_owned(), 100 * KIB);
        match exporter.export(batch) {
            Err(ExportError::Partial { failed: 1, error }) => {
                assert!(error.to_string().contains("too large"), "{error}");
            }
            other => panic!("{protocol:?}: {other:?}"),
        }
        assert_eq!(
            receiver.names(),
            ["s000", "s001", "s003", "s004"],
            "{protocol:?}"
        );
        // Over a receiver whose own limit refuses it: the same, on its refusal.
        let small = Receiver::new(protocol, 64 * KIB);
        let config = small.config(protocol, OtlpConfig::default().max_request_size);
        let mut exporter = otlp::exporter(&config).unwrap();
        let mut batch = spans(5, 100);
        batch[2] = span("huge".to_owned(), 100 * KIB);
        let result = exporter.export(batch);
        assert!(
            matches!(result, Err(ExportError::Partial { failed: 1, .. })),
            "{protocol:?}: {result:?}"
        );
        assert_eq!(
            small.names(),
            ["s000", "s001", "s003", "s004"],
            "{protocol:?}"
        );
    }
}

#[test]
fn the_batch_processor_counts_dropped_spans_as_failed() {
    let receiver = Receiver::new(OtlpProtocol::HttpProtobuf, 4 * 1024 * KIB);
    let exporter = otlp::exporter(&receiver.config(OtlpProtocol::HttpProtobuf, 16 * KIB)).unwrap();
    let guard = Pipeline::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_batch_exporter(exporter)
        .install();
    for i in 0..10 {
        let mut s = traced_runtime::span("work").start();
        let bytes = if i == 4 { 32 * KIB } else { 100 };
        s.set_attribute("payload", "x".repeat(bytes));
        s.end();
    }
    let processor = guard.pipeline().processor();
    let _ = processor.shutdown(Duration::from_secs(10));
    let stats = processor.stats();
    drop(guard);
    assert_eq!(
        (stats.received, stats.exported, stats.failed),
        (10, 9, 1),
        "{stats:?}"
    );
    assert_eq!(receiver.names().len(), 9);
}

/// The case reported: 512 spans of 16 KiB attributes, 8.5 MB in one request, to a receiver
/// with gRPC's usual 4 MiB limit, under the default limit of 4,000,000 bytes.
#[test]
fn five_hundred_spans_of_16_kib_reach_a_4_mib_receiver() {
    for protocol in [OtlpProtocol::HttpProtobuf, OtlpProtocol::Grpc] {
        let receiver = Receiver::new(protocol, 4 * 1024 * KIB);
        let config = receiver.config(protocol, OtlpConfig::default().max_request_size);
        let mut exporter = otlp::exporter(&config).unwrap();
        assert_eq!(
            exporter.export(spans(512, 16 * KIB)),
            Ok(()),
            "{protocol:?}"
        );
        assert_eq!(receiver.names(), expected(512), "{protocol:?}");
        let seen = receiver.seen();
        let sizes: Vec<usize> = seen.accepted.iter().map(|(size, _)| *size).collect();
        assert_eq!(sizes.len(), 3, "{protocol:?}: {sizes:?}");
        assert!(sizes.iter().all(|&s| s <= 4_000_000), "{sizes:?}");
        eprintln!("{protocol:?}: 512 spans of 16 KiB in requests of {sizes:?} bytes");
    }
}
