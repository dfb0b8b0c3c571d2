//! gRPC through `traced::tower::{ServerLayer, ClientLayer}`: a real tonic server and client
//! on 127.0.0.1 (the OTLP `TraceService` that opentelemetry-proto generates, so no protoc),
//! the spans exported through the pipeline.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::net::SocketAddr;
use traced::{SpanData, SpanKind, Status, Value, traced};

mod support;

const EXPORT: &str = "opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Answers by the `x-outcome` metadata of the request.
struct Receiver;

#[traced]
fn store(outcome: &str) -> Result<(), tonic::Status> {
    match outcome {
        "unavailable" => Err(tonic::Status::unavailable("try later")),
        "invalid" => Err(tonic::Status::invalid_argument("no spans")),
        _ => Ok(()),
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let outcome = request
            .metadata()
            .get("x-outcome")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("ok")
            .to_owned();
        store(&outcome)?;
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .layer(traced::tower::ServerLayer::new())
            .add_service(TraceServiceServer::new(Receiver))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
    });
    addr
}

fn code(span: &SpanData) -> Option<i64> {
    match span.attribute("rpc.grpc.status_code") {
        Some(Value::I64(n)) => Some(*n),
        _ => None,
    }
}

/// Three calls through a traced channel to a traced server: `OK`, `UNAVAILABLE`,
/// `INVALID_ARGUMENT`; the spans they exported.
fn three_calls() -> Vec<SpanData> {
    support::run(9, || async {
        let addr = serve().await;
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("an endpoint")
            .connect()
            .await
            .expect("a channel");
        let channel = tower::ServiceBuilder::new()
            .layer(traced::tower::ClientLayer::new())
            .service(channel);
        let mut client = TraceServiceClient::new(channel);
        for outcome in ["ok", "unavailable", "invalid"] {
            let mut request = tonic::Request::new(ExportTraceServiceRequest::default());
            request
                .metadata_mut()
                .insert("x-outcome", outcome.parse().unwrap());
            let answer = client.export(request).await;
            assert_eq!(answer.is_ok(), outcome == "ok", "{outcome}: {answer:?}");
        }
    })
}

#[test]
fn grpc_calls_get_client_and_server_spans_with_grpc_statuses() {
    let spans = three_calls();
    let tree = traced::export::render_tree(&spans);

    let of = |kind: SpanKind| -> Vec<&SpanData> {
        spans
            .iter()
            .filter(|s| s.kind == kind && s.name == EXPORT)
            .collect()
    };
    let (clients, servers) = (of(SpanKind::Client), of(SpanKind::Server));
    assert_eq!(clients.len(), 3, "{tree}");
    assert_eq!(servers.len(), 3, "{tree}");
    for span in clients.iter().chain(&servers) {
        assert_eq!(
            span.attribute("rpc.system").and_then(Value::as_str),
            Some("grpc")
        );
        assert_eq!(
            span.attribute("rpc.service").and_then(Value::as_str),
            Some("opentelemetry.proto.collector.trace.v1.TraceService")
        );
        assert_eq!(
            span.attribute("rpc.method").and_then(Value::as_str),
            Some("Export")
        );
        assert_eq!(span.attribute("http.response.status_code"), None, "{tree}");
    }
    // Each server span is the remote child of a client span, and the handler's #[traced]
    // function runs under it.
    let server_of = |client: &SpanData| -> &SpanData {
        servers
            .iter()
            .find(|s| s.parent_span_id == client.span_context.span_id())
            .unwrap_or_else(|| {
                panic!(
                    "no server span under {}:\n{tree}",
                    client.span_context.span_id()
                )
            })
    };
    for client in &clients {
        let server = server_of(client);
        assert!(server.parent_is_remote);
        assert!(
            spans
                .iter()
                .any(|s| s.name == "store" && s.parent_span_id == server.span_context.span_id()),
            "no `store` span under {}:\n{tree}",
            server.span_context.span_id()
        );
    }
    // Ended in the order the calls were made: OK, UNAVAILABLE (14), INVALID_ARGUMENT (3).
    let (ok, unavailable, invalid) = (clients[0], clients[1], clients[2]);
    assert_eq!(code(ok), Some(0), "{tree}");
    assert_eq!(ok.status, Status::Unset);
    assert_eq!(code(server_of(ok)), Some(0));
    assert_eq!(server_of(ok).status, Status::Unset);

    assert_eq!(code(unavailable), Some(14));
    assert_eq!(unavailable.status, Status::error("UNAVAILABLE: try later"));
    assert_eq!(code(server_of(unavailable)), Some(14));
    assert!(
        server_of(unavailable).status.is_error(),
        "UNAVAILABLE is a server error"
    );

    assert_eq!(code(invalid), Some(3));
    assert!(
        invalid.status.is_error(),
        "every non-OK code is a client error"
    );
    assert_eq!(code(server_of(invalid)), Some(3));
    assert_eq!(
        server_of(invalid).status,
        Status::Unset,
        "INVALID_ARGUMENT is the caller's fault"
    );
}
