//! The instrumentation scope: a `#[traced]` function's spans carry the crate that holds it
//! (here `traced-scope-fixture` 0.7.3, a crate of the workspace's test fixtures), spans
//! started by hand traced's own scope unless given one, and OTLP receives one `ScopeSpans`
//! per scope, over HTTP/protobuf and gRPC, decoded with the official types.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]

use prost::Message as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use traced::export::otlp::proto::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use traced::export::otlp::proto::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use traced::export::otlp::{OtlpConfig, OtlpProtocol};
use traced::model::InstrumentationScope;
use traced::pipeline::{Pipeline, Sampler};
use traced::testing::capture;
use traced_scope_fixture as fixture;

const FIXTURE: (&str, &str) = ("traced-scope-fixture", "0.7.3");
const TRACED: (&str, &str) = ("traced", env!("CARGO_PKG_VERSION"));

fn pair(scope: &InstrumentationScope) -> (&str, &str) {
    (scope.name(), scope.version())
}

/// This test's own traced function: its crate is `traced` (the root package's tests).
#[traced::traced]
fn here() {
    fixture::work(1);
    fixture::quiet();
    fixture::through_facade();
    fixture::by_hand();
    traced::span("plain").start().end();
}

/// The pipeline is process-wide: the tests take turns.
static TURN: Mutex<()> = Mutex::new(());

#[test]
fn each_span_carries_the_crate_of_its_function() {
    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let ((), spans) = capture(here);
    let got: Vec<(&str, (&str, &str))> = spans.iter().map(|s| (&*s.name, pair(s.scope))).collect();
    assert_eq!(
        got,
        [
            ("work", FIXTURE),
            ("quiet", FIXTURE),
            ("through_facade", FIXTURE),
            ("by-hand", FIXTURE),
            ("plain", TRACED),
            ("here", TRACED),
        ]
    );
    assert!(spans[1].code.is_none(), "code = false keeps its scope");
}

// --- over the wire ---------------------------------------------------------------------------

type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// An OTLP/HTTP receiver on 127.0.0.1 that decodes each protobuf body with the official types.
fn http_receiver(rt: &tokio::runtime::Runtime, received: Received) -> SocketAddr {
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| async move {
            let request = ExportTraceServiceRequest::decode(body).unwrap();
            received.lock().unwrap().push(request);
            ExportTraceServiceResponse::default().encode_to_vec()
        }),
    );
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    })
}

struct Grpc(Received);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// An OTLP/gRPC receiver on 127.0.0.1: the generated server, decoding with the official types.
fn grpc_receiver(rt: &tokio::runtime::Runtime, received: Received) -> SocketAddr {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(Grpc(received)))
                .serve_with_incoming(incoming),
        );
        addr
    })
}

/// `here()` through a pipeline exporting to `endpoint`; what the receiver got, as
/// (scope, span names) per `ScopeSpans`.
fn exported(
    protocol: OtlpProtocol,
    endpoint: String,
    received: &Received,
) -> Vec<((String, String), Vec<String>)> {
    let _turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let config = OtlpConfig {
        endpoint,
        protocol,
        timeout: Duration::from_secs(5),
        ..OtlpConfig::default()
    };
    let exporter = traced::export::otlp::exporter(&config).unwrap();
    let guard = Pipeline::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_batch_exporter(exporter)
        .install();
    here();
    guard.force_flush(Duration::from_secs(5)).unwrap();
    drop(guard);
    let requests = std::mem::take(&mut *received.lock().unwrap());
    assert_eq!(requests.len(), 1, "one request");
    let rs = &requests[0].resource_spans;
    assert_eq!(rs.len(), 1);
    rs[0]
        .scope_spans
        .iter()
        .map(|ss| {
            let scope = ss.scope.clone().unwrap();
            let names = ss.spans.iter().map(|s| s.name.clone()).collect();
            ((scope.name, scope.version), names)
        })
        .collect()
}

fn one_scope_spans_per_scope(got: &[((String, String), Vec<String>)]) {
    let owned = |(n, v): (&str, &str)| (n.to_owned(), v.to_owned());
    let names = |n: &[&str]| n.iter().map(|&s| s.to_owned()).collect::<Vec<_>>();
    assert_eq!(
        got,
        [
            (
                owned(FIXTURE),
                names(&["work", "quiet", "through_facade", "by-hand"])
            ),
            (owned(TRACED), names(&["plain", "here"])),
        ]
    );
}

#[test]
fn otlp_http_protobuf_has_one_scope_spans_per_scope() {
    let rt = runtime();
    let received = Received::default();
    let addr = http_receiver(&rt, received.clone());
    let got = exported(
        OtlpProtocol::HttpProtobuf,
        format!("http://{addr}/v1/traces"),
        &received,
    );
    one_scope_spans_per_scope(&got);
}

#[test]
fn otlp_grpc_has_one_scope_spans_per_scope() {
    let rt = runtime();
    let received = Received::default();
    let addr = grpc_receiver(&rt, received.clone());
    let got = exported(OtlpProtocol::Grpc, format!("http://{addr}"), &received);
    one_scope_spans_per_scope(&got);
}
