//! The OTLP exporters against real receivers on 127.0.0.1: an HTTP server (axum) decoding
//! protobuf with prost and JSON with opentelemetry-proto's serde types, and a tonic server
//! implementing the generated `TraceService`. Every field of every span is checked on
//! arrival, the fault paths (refused, 503, 429 + Retry-After, 400, slow, partial success)
//! are scripted, and the same work instrumented with the OpenTelemetry SDK is compared
//! with traced's, field by field.
//!
//! Run with `cargo test -p traced-runtime --features otlp --test otlp`.
#![cfg(feature = "otlp")]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue as PKeyValue, any_value,
};
use opentelemetry_proto::tonic::trace::v1 as ptrace;
use prost::Message as _;
use std::collections::{BTreeMap, VecDeque};
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use traced_runtime::export::otlp::{self, OtlpGrpcExporter, OtlpHttpExporter};
use traced_runtime::export::otlp::{OtlpCompression, OtlpConfig, OtlpProtocol};
use traced_runtime::export::{ExportError, SpanExporter};
use traced_runtime::model::{Array, Event, Link, Resource, SpanLimits, TraceFlags, TraceState};
use traced_runtime::pipeline::Pipeline;
use traced_runtime::propagation::TraceStateExt as _;
use traced_runtime::{
    KeyValue, Sampler, SpanContext, SpanData, SpanId, SpanKind, Status, TraceId, Value,
};

// ---------------------------------------------------------------------------------------
// Receivers
// ---------------------------------------------------------------------------------------

/// The receivers' runtime, shared by every test of this file.
static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
});

/// What a receiver answers to the next request.
#[derive(Clone, Debug)]
enum Reply {
    Ok,
    Partial(i64, &'static str),
    Http(u16, Option<&'static str>),
    Grpc(tonic::Code, Option<Duration>),
    Slow(Duration),
}

#[derive(Debug)]
struct Received {
    request: ExportTraceServiceRequest,
    headers: HeaderMap,
}

#[derive(Debug, Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    received: Mutex<Vec<Received>>,
}

impl Shared {
    fn next(&self) -> Reply {
        lock(&self.script).pop_front().unwrap_or(Reply::Ok)
    }
    fn record(&self, request: ExportTraceServiceRequest, headers: HeaderMap) {
        lock(&self.received).push(Received { request, headers });
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Receiver {
    fn http() -> Receiver {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(http_export))
            .with_state(shared.clone());
        let addr = RT.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            addr
        });
        Receiver { addr, shared }
    }

    fn grpc() -> Receiver {
        let shared = Arc::new(Shared::default());
        let service = TraceServiceServer::new(GrpcReceiver(shared.clone()))
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
            .send_compressed(tonic::codec::CompressionEncoding::Gzip);
        let addr = RT.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let incoming = tonic::transport::server::TcpIncoming::from(listener);
            tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(service)
                    .serve_with_incoming(incoming),
            );
            addr
        });
        Receiver { addr, shared }
    }

    fn script(&self, replies: impl IntoIterator<Item = Reply>) -> &Self {
        lock(&self.shared.script).extend(replies);
        self
    }

    fn config(&self, protocol: OtlpProtocol) -> OtlpConfig {
        let endpoint = match protocol {
            OtlpProtocol::Grpc => format!("http://{}", self.addr),
            _ => format!("http://{}/v1/traces", self.addr),
        };
        OtlpConfig {
            endpoint,
            protocol,
            timeout: Duration::from_secs(5),
            ..OtlpConfig::default()
        }
    }

    fn received(&self) -> Vec<Received> {
        std::mem::take(&mut *lock(&self.shared.received))
    }

    fn count(&self) -> usize {
        lock(&self.shared.received).len()
    }
}

async fn http_export(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut raw = body.to_vec();
    if header("content-encoding") == "gzip" {
        let mut out = Vec::new();
        if let Err(e) = flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out) {
            return (StatusCode::BAD_REQUEST, format!("bad gzip: {e}")).into_response();
        }
        raw = out;
    }
    let content_type = header("content-type");
    let json = match content_type.as_str() {
        "application/json" => true,
        "application/x-protobuf" => false,
        other => {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content-type {other:?}"),
            )
                .into_response();
        }
    };
    let decoded = if json {
        serde_json::from_slice::<ExportTraceServiceRequest>(&raw).map_err(|e| e.to_string())
    } else {
        ExportTraceServiceRequest::decode(&raw[..]).map_err(|e| e.to_string())
    };
    let request = match decoded {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("undecodable: {e}")).into_response(),
    };
    shared.record(request, headers);
    let ok = |partial: Option<ExportTracePartialSuccess>| {
        let body = if json {
            match &partial {
                // int64 as a string, as the proto3 JSON mapping writes it.
                Some(p) => format!(
                    r#"{{"partialSuccess":{{"rejectedSpans":"{}","errorMessage":"{}"}}}}"#,
                    p.rejected_spans, p.error_message
                )
                .into_bytes(),
                None => b"{}".to_vec(),
            }
        } else {
            ExportTraceServiceResponse {
                partial_success: partial,
            }
            .encode_to_vec()
        };
        (
            StatusCode::OK,
            [("content-type", content_type.clone())],
            body,
        )
            .into_response()
    };
    match shared.next() {
        Reply::Ok => ok(None),
        Reply::Partial(rejected, message) => ok(Some(ExportTracePartialSuccess {
            rejected_spans: rejected,
            error_message: message.to_owned(),
        })),
        Reply::Slow(d) => {
            tokio::time::sleep(d).await;
            ok(None)
        }
        Reply::Http(status, retry_after) => {
            let mut response = (
                StatusCode::from_u16(status).unwrap(),
                format!("scripted {status}"),
            )
                .into_response();
            if let Some(v) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", v.parse().unwrap());
            }
            response
        }
        Reply::Grpc(..) => unreachable!("gRPC reply scripted for the HTTP receiver"),
    }
}

struct GrpcReceiver(Arc<Shared>);

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let headers = request.metadata().clone().into_headers();
        self.0.record(request.into_inner(), headers);
        let ok = |partial_success| {
            Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success,
            }))
        };
        match self.0.next() {
            Reply::Ok => ok(None),
            Reply::Partial(rejected, message) => ok(Some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message.to_owned(),
            })),
            Reply::Slow(d) => {
                tokio::time::sleep(d).await;
                ok(None)
            }
            Reply::Grpc(code, retry_delay) => Err(match retry_delay {
                Some(d) => <tonic::Status as tonic_types::StatusExt>::with_error_details(
                    code,
                    "scripted",
                    tonic_types::ErrorDetails::with_retry_info(Some(d)),
                ),
                None => tonic::Status::new(code, "scripted"),
            }),
            Reply::Http(..) => unreachable!("HTTP reply scripted for the gRPC receiver"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Spans, and an independent check that each field arrived
// ---------------------------------------------------------------------------------------

static CODE: traced_runtime::model::CodeLocation = traced_runtime::model::CodeLocation {
    module_path: "shop::payments",
    function: "charge",
    file: "src/payments.rs",
    line: 42,
};

fn cx(trace: u128, span: u64, remote: bool, state: TraceState) -> SpanContext {
    SpanContext::new(
        TraceId::from_u128(trace),
        SpanId::from_u64(span),
        TraceFlags::SAMPLED,
        remote,
        state,
    )
}

const T: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

fn trace_state() -> TraceState {
    TraceState::from_entries([
        ("congo".to_owned(), "t61rcWkgMzE".to_owned()),
        ("rojo".to_owned(), "00f067aa0ba902b7".to_owned()),
    ])
}

/// A server span under a remote parent, with attributes of every type and dropped ones.
fn server_span() -> SpanData {
    SpanData {
        span_context: cx(T, 0x1111, false, trace_state()),
        parent_span_id: SpanId::from_u64(0x00f0_67aa_0ba9_02b7),
        parent_is_remote: true,
        name: "POST /orders".into(),
        kind: SpanKind::Server,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_250_000_000,
        attributes: [
            KeyValue::new("http.request.method", "POST"),
            KeyValue::new("http.response.status_code", 201),
            KeyValue::new("server.busy", false),
            KeyValue::new("load", 0.75),
            KeyValue::new("big", i64::MIN),
            KeyValue::new("flags", [true, false]),
            KeyValue::new("ids", [1i64, i64::MAX]),
            KeyValue::new("weights", [0.5, -2.25]),
            KeyValue::new("tags", ["a", "ünïcode"]),
            KeyValue::new("empty", Vec::<String>::new()),
        ]
        .into_iter()
        .collect(),
        dropped_attributes_count: 3,
        events: Vec::new(),
        dropped_events_count: 0,
        links: Vec::new(),
        dropped_links_count: 0,
        status: Status::Ok,
        code: None,
    }
}

/// Its client child: events, links, drops, an error and a code location.
fn client_span() -> SpanData {
    SpanData {
        span_context: cx(T, 0x2222, false, trace_state()),
        parent_span_id: SpanId::from_u64(0x1111),
        parent_is_remote: false,
        name: "charge".into(),
        kind: SpanKind::Client,
        start_time_unix_nano: 1_700_000_000_010_000_000,
        end_time_unix_nano: 1_700_000_000_200_000_000,
        attributes: [KeyValue::new("amount", 99.5)].into_iter().collect(),
        dropped_attributes_count: 0,
        events: vec![
            Event {
                name: "retry".into(),
                time_unix_nano: 1_700_000_000_050_000_000,
                attributes: vec![KeyValue::new("attempt", 2)],
                dropped_attributes_count: 1,
            },
            Event {
                name: "exception".into(),
                time_unix_nano: 1_700_000_000_190_000_000,
                attributes: vec![
                    KeyValue::new("exception.type", "shop::PaymentError"),
                    KeyValue::new("exception.message", "card declined"),
                ],
                dropped_attributes_count: 0,
            },
        ],
        dropped_events_count: 4,
        links: vec![
            Link {
                span_context: cx(0xabc, 0xdef, true, TraceState::NONE),
                attributes: vec![KeyValue::new("link.kind", "follows")],
                dropped_attributes_count: 2,
            },
            Link::new(
                SpanContext::new(
                    TraceId::from_u128(0x123),
                    SpanId::from_u64(0x456),
                    TraceFlags::NOT_SAMPLED,
                    false,
                    TraceState::from_entries([("k".to_owned(), "v".to_owned())]),
                ),
                vec![],
            ),
        ],
        dropped_links_count: 5,
        status: Status::error("card declined"),
        code: Some(&CODE),
    }
}

/// Five spans using every field: [`server_span`], [`client_span`], and a consumer root with
/// a producer and an internal child in another trace (flags `0x03`: sampled and random).
fn rich_spans() -> (Vec<SpanData>, Resource) {
    let other = SpanData {
        kind: SpanKind::Consumer,
        start_time_unix_nano: 5,
        end_time_unix_nano: 6,
        ..SpanData::new(
            SpanContext::new(
                TraceId::from_u128(0x77),
                SpanId::from_u64(0x88),
                TraceFlags::new(0x03),
                false,
                TraceState::NONE,
            ),
            "nightly-job",
        )
    };
    let mut producer = other.clone();
    producer.span_context = cx(0x77, 0x99, false, TraceState::NONE);
    producer.parent_span_id = SpanId::from_u64(0x88);
    producer.kind = SpanKind::Producer;
    producer.name = "enqueue".into();
    let mut internal = producer.clone();
    internal.span_context = cx(0x77, 0xaa, false, TraceState::NONE);
    internal.kind = SpanKind::Internal;
    internal.name = "compute".into();
    let resource = Resource::default()
        .with("service.name", "checkout")
        .with("service.version", "1.2.3")
        .with("host.cpus", 2)
        .with("deployment.canary", true);
    (
        vec![server_span(), client_span(), other, producer, internal],
        resource,
    )
}

/// The OTLP value a traced value must arrive as (written out here, apart from the
/// exporter's own mapping).
fn expected_value(v: &Value) -> any_value::Value {
    use any_value::Value as V;
    let array = |values: Vec<V>| {
        V::ArrayValue(ArrayValue {
            values: values
                .into_iter()
                .map(|v| AnyValue { value: Some(v) })
                .collect(),
        })
    };
    match v {
        Value::Bool(b) => V::BoolValue(*b),
        Value::I64(i) => V::IntValue(*i),
        Value::F64(f) => V::DoubleValue(*f),
        Value::String(s) => V::StringValue(s.as_str().to_owned()),
        Value::Array(Array::Bool(a)) => array(a.iter().map(|b| V::BoolValue(*b)).collect()),
        Value::Array(Array::I64(a)) => array(a.iter().map(|i| V::IntValue(*i)).collect()),
        Value::Array(Array::F64(a)) => array(a.iter().map(|f| V::DoubleValue(*f)).collect()),
        Value::Array(Array::String(a)) => array(
            a.iter()
                .map(|s| V::StringValue(s.as_str().to_owned()))
                .collect(),
        ),
    }
}

fn assert_attributes(
    got: &[PKeyValue],
    sent: &[KeyValue],
    extra: &[(&str, any_value::Value)],
    what: &str,
) {
    let got: Vec<(String, any_value::Value)> = got
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap().value.unwrap()))
        .collect();
    let mut want: Vec<(String, any_value::Value)> = sent
        .iter()
        .map(|kv| (kv.key.to_string(), expected_value(&kv.value)))
        .collect();
    want.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    assert_eq!(got, want, "attributes of {what}");
}

fn flags(cx: &SpanContext, remote: bool) -> u32 {
    u32::from(cx.trace_flags().to_u8()) | 0x100 | if remote { 0x200 } else { 0 }
}

/// Checks that `got` carries `sent` and `resource` in full.
fn assert_carries(got: &ExportTraceServiceRequest, sent: &[SpanData], resource: &Resource) {
    assert_eq!(got.resource_spans.len(), 1);
    let rs = &got.resource_spans[0];
    assert_attributes(
        &rs.resource.as_ref().unwrap().attributes,
        resource.attributes(),
        &[],
        "the resource",
    );
    assert_eq!(rs.scope_spans.len(), 1);
    let scope = rs.scope_spans[0].scope.as_ref().unwrap();
    assert_eq!(
        (scope.name.as_str(), scope.version.as_str()),
        ("traced", env!("CARGO_PKG_VERSION"))
    );
    let spans = &rs.scope_spans[0].spans;
    assert_eq!(spans.len(), sent.len());
    for (g, s) in spans.iter().zip(sent) {
        let what = &*s.name;
        let c = &s.span_context;
        assert_eq!(g.trace_id, c.trace_id().to_bytes(), "{what}");
        assert_eq!(g.span_id, c.span_id().to_bytes(), "{what}");
        if s.parent_span_id.is_valid() {
            assert_eq!(g.parent_span_id, s.parent_span_id.to_bytes(), "{what}");
        } else {
            assert!(
                g.parent_span_id.is_empty(),
                "{what}: roots have no parent id"
            );
        }
        assert_eq!(g.flags, flags(c, s.parent_is_remote), "{what}");
        assert_eq!(g.trace_state, c.trace_state().header(), "{what}");
        assert_eq!(g.name, s.name, "{what}");
        let kind = match s.kind {
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
        };
        assert_eq!(g.kind, kind, "{what}");
        assert_eq!(g.start_time_unix_nano, s.start_time_unix_nano, "{what}");
        assert_eq!(g.end_time_unix_nano, s.end_time_unix_nano, "{what}");
        let code: Vec<(&str, any_value::Value)> = s.code.map_or_else(Vec::new, |c| {
            vec![
                (
                    "code.function.name",
                    any_value::Value::StringValue(format!("{}::{}", c.module_path, c.function)),
                ),
                (
                    "code.file.path",
                    any_value::Value::StringValue(c.file.to_owned()),
                ),
                (
                    "code.line.number",
                    any_value::Value::IntValue(c.line.into()),
                ),
            ]
        });
        assert_attributes(&g.attributes, &s.attributes, &code, what);
        assert_eq!(
            g.dropped_attributes_count, s.dropped_attributes_count,
            "{what}"
        );
        assert_eq!(g.events.len(), s.events.len(), "{what}");
        for (ge, se) in g.events.iter().zip(&s.events) {
            assert_eq!(ge.name, se.name);
            assert_eq!(ge.time_unix_nano, se.time_unix_nano);
            assert_attributes(&ge.attributes, &se.attributes, &[], &se.name);
            assert_eq!(ge.dropped_attributes_count, se.dropped_attributes_count);
        }
        assert_eq!(g.dropped_events_count, s.dropped_events_count, "{what}");
        assert_eq!(g.links.len(), s.links.len(), "{what}");
        for (gl, sl) in g.links.iter().zip(&s.links) {
            let lc = &sl.span_context;
            assert_eq!(gl.trace_id, lc.trace_id().to_bytes());
            assert_eq!(gl.span_id, lc.span_id().to_bytes());
            assert_eq!(gl.trace_state, lc.trace_state().header());
            assert_eq!(gl.flags, flags(lc, lc.is_remote()));
            assert_attributes(&gl.attributes, &sl.attributes, &[], "a link");
            assert_eq!(gl.dropped_attributes_count, sl.dropped_attributes_count);
        }
        assert_eq!(g.dropped_links_count, s.dropped_links_count, "{what}");
        let status = g.status.as_ref().unwrap();
        let (code, message) = match &s.status {
            Status::Unset => (0, ""),
            Status::Ok => (1, ""),
            Status::Error { description } => (2, &**description),
        };
        assert_eq!(
            (status.code, status.message.as_str()),
            (code, message),
            "{what}"
        );
    }
    // And the exporter's own mapping is what went over the wire, byte for byte.
    assert_eq!(*got, otlp::to_request(sent, resource));
}

fn export_to(
    config: &OtlpConfig,
    spans: Vec<SpanData>,
    resource: &Resource,
) -> Result<(), ExportError> {
    let mut exporter = otlp::exporter(config).unwrap();
    exporter.set_resource(resource);
    exporter.export(spans)
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Every field, every protocol
// ---------------------------------------------------------------------------------------

fn every_field_arrives(receiver: &Receiver, protocol: OtlpProtocol) {
    for compression in [OtlpCompression::None, OtlpCompression::Gzip] {
        let (spans, resource) = rich_spans();
        let mut config = receiver.config(protocol);
        config.compression = compression;
        config
            .headers
            .insert("X-Api-Key".to_owned(), "secret-1".to_owned());
        export_to(&config, spans.clone(), &resource).unwrap();
        let requests = receiver.received();
        assert_eq!(
            requests.len(),
            1,
            "{protocol:?} {compression:?}: one request"
        );
        let r = &requests[0];
        assert_carries(&r.request, &spans, &resource);
        assert_eq!(header(&r.headers, "x-api-key"), "secret-1");
        let gzip = compression == OtlpCompression::Gzip;
        if protocol == OtlpProtocol::Grpc {
            assert_eq!(header(&r.headers, "grpc-encoding") == "gzip", gzip);
        } else {
            assert_eq!(header(&r.headers, "content-encoding") == "gzip", gzip);
            let json = protocol == OtlpProtocol::HttpJson;
            assert_eq!(
                header(&r.headers, "content-type"),
                if json {
                    "application/json"
                } else {
                    "application/x-protobuf"
                }
            );
        }
        assert!(header(&r.headers, "user-agent").starts_with("traced/"));
    }
}

#[test]
fn http_protobuf_carries_every_field() {
    every_field_arrives(&Receiver::http(), OtlpProtocol::HttpProtobuf);
}

#[test]
fn http_json_carries_every_field() {
    every_field_arrives(&Receiver::http(), OtlpProtocol::HttpJson);
}

#[test]
fn grpc_carries_every_field() {
    every_field_arrives(&Receiver::grpc(), OtlpProtocol::Grpc);
}

// ---------------------------------------------------------------------------------------
// Through the runtime's API and pipeline
// ---------------------------------------------------------------------------------------

/// The pipeline is process-wide: tests that install one take turns.
static PIPELINE: Mutex<()> = Mutex::new(());

fn through_the_pipeline(exporter: impl SpanExporter + 'static, receiver: &Receiver) {
    let _turn = lock(&PIPELINE);
    let resource = Resource::default().with("service.name", "api-test");
    let guard = Pipeline::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_resource(resource)
        .with_limits(SpanLimits {
            max_attributes_per_span: 2,
            ..SpanLimits::default()
        })
        .with_simple_exporter(exporter)
        .install();
    let remote = cx(
        0x5b8e_fff7_9803_8103_d269_b633_813f_c60c,
        0xeee1_9b7e_c3c1_b173,
        true,
        TraceState::NONE,
    );
    let linked = cx(0x99, 0x98, false, TraceState::NONE);
    {
        let mut root = traced_runtime::span("handle")
            .kind(SpanKind::Server)
            .parent(remote.clone())
            .attribute("user.id", 7)
            .link(linked.clone(), vec![KeyValue::new("why", "batch")])
            .start();
        let _entered = root.enter();
        let mut child = traced_runtime::span("query").kind(SpanKind::Client).start();
        child.set_attribute("db.rows", 3);
        child.set_attribute("db.cached", false);
        child.set_attribute("dropped.one", "x");
        child.add_event("row", vec![KeyValue::new("n", 1.5)]);
        child.set_status(Status::error("timeout"));
        child.end();
    }
    drop(guard);
    let requests = receiver.received();
    let spans: Vec<&ptrace::Span> = requests
        .iter()
        .flat_map(|r| &r.request.resource_spans)
        .inspect(|rs| {
            let service = &rs.resource.as_ref().unwrap().attributes[0];
            assert_eq!(service.key, "service.name");
        })
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .collect();
    let service: Vec<_> = requests
        .iter()
        .flat_map(|r| &r.request.resource_spans)
        .flat_map(|rs| &rs.resource.as_ref().unwrap().attributes)
        .filter(|kv| kv.key == "service.name")
        .map(|kv| kv.value.clone().unwrap().value.unwrap())
        .collect();
    assert!(!service.is_empty());
    assert!(
        service
            .iter()
            .all(|v| *v == any_value::Value::StringValue("api-test".into()))
    );
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let query = spans.iter().find(|s| s.name == "query").unwrap();
    let handle = spans.iter().find(|s| s.name == "handle").unwrap();
    assert_eq!(handle.trace_id, remote.trace_id().to_bytes());
    assert_eq!(handle.parent_span_id, remote.span_id().to_bytes());
    assert_eq!(handle.flags, 0x01 | 0x100 | 0x200, "remote parent");
    assert_eq!(handle.kind, 2);
    assert_eq!(handle.links.len(), 1);
    assert_eq!(handle.links[0].span_id, linked.span_id().to_bytes());
    assert_eq!(query.trace_id, handle.trace_id);
    assert_eq!(query.parent_span_id, handle.span_id);
    assert_eq!(query.flags, 0x01 | 0x100, "local parent");
    assert_eq!(query.kind, 3);
    assert!(query.start_time_unix_nano >= handle.start_time_unix_nano);
    assert!(query.end_time_unix_nano <= handle.end_time_unix_nano);
    assert!(query.start_time_unix_nano <= query.end_time_unix_nano);
    let attrs: Vec<_> = query
        .attributes
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.clone().unwrap().value.unwrap()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("db.rows", any_value::Value::IntValue(3)),
            ("db.cached", any_value::Value::BoolValue(false))
        ]
    );
    assert_eq!(query.dropped_attributes_count, 1);
    assert_eq!(query.events[0].name, "row");
    assert_eq!(
        query.events[0].attributes[0].value.clone().unwrap().value,
        Some(any_value::Value::DoubleValue(1.5))
    );
    let status = query.status.as_ref().unwrap();
    assert_eq!((status.code, status.message.as_str()), (2, "timeout"));
}

#[test]
fn runtime_spans_over_http() {
    let receiver = Receiver::http();
    let exporter = OtlpHttpExporter::new(receiver.config(OtlpProtocol::HttpProtobuf)).unwrap();
    through_the_pipeline(exporter, &receiver);
}

#[test]
fn runtime_spans_over_http_json() {
    let receiver = Receiver::http();
    let exporter = OtlpHttpExporter::new(receiver.config(OtlpProtocol::HttpJson)).unwrap();
    through_the_pipeline(exporter, &receiver);
}

#[test]
fn runtime_spans_over_grpc() {
    let receiver = Receiver::grpc();
    let exporter = OtlpGrpcExporter::new(receiver.config(OtlpProtocol::Grpc)).unwrap();
    through_the_pipeline(exporter, &receiver);
}

// ---------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------

fn one_span() -> Vec<SpanData> {
    vec![rich_spans().0.remove(2)]
}

fn export_with(
    receiver: &Receiver,
    protocol: OtlpProtocol,
    timeout: Duration,
) -> (Result<(), ExportError>, Duration) {
    let mut config = receiver.config(protocol);
    config.timeout = timeout;
    let start = Instant::now();
    let result = export_to(&config, one_span(), &Resource::default());
    (result, start.elapsed())
}

fn refused_endpoint() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

#[test]
fn receiver_down_fails_within_the_timeout() {
    let addr = refused_endpoint();
    for protocol in [OtlpProtocol::HttpProtobuf, OtlpProtocol::Grpc] {
        let endpoint = match protocol {
            OtlpProtocol::Grpc => format!("http://{addr}"),
            _ => format!("http://{addr}/v1/traces"),
        };
        let config = OtlpConfig {
            endpoint,
            protocol,
            timeout: Duration::from_millis(800),
            ..OtlpConfig::default()
        };
        let start = Instant::now();
        let mut exporter = otlp::exporter(&config).unwrap();
        let result = exporter.export(one_span());
        let elapsed = start.elapsed();
        assert!(result.is_err(), "{protocol:?}");
        // Retried with backoff (connection failures are retryable), given up in time.
        assert!(
            elapsed < Duration::from_secs(2),
            "{protocol:?}: {elapsed:?}"
        );
    }
}

#[test]
fn http_503_is_retried() {
    let receiver = Receiver::http();
    receiver.script([Reply::Http(503, None), Reply::Http(502, None), Reply::Ok]);
    let (result, elapsed) = export_with(
        &receiver,
        OtlpProtocol::HttpProtobuf,
        Duration::from_secs(5),
    );
    result.unwrap();
    assert_eq!(receiver.count(), 3);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn http_429_honours_retry_after() {
    let receiver = Receiver::http();
    receiver.script([Reply::Http(429, Some("1")), Reply::Ok]);
    let (result, elapsed) = export_with(&receiver, OtlpProtocol::HttpJson, Duration::from_secs(5));
    result.unwrap();
    assert_eq!(receiver.count(), 2);
    assert!(
        elapsed >= Duration::from_secs(1),
        "waited as asked: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn http_retry_after_beyond_the_timeout_gives_up_at_once() {
    let receiver = Receiver::http();
    receiver.script([Reply::Http(503, Some("30"))]);
    let (result, elapsed) = export_with(
        &receiver,
        OtlpProtocol::HttpProtobuf,
        Duration::from_secs(2),
    );
    assert!(
        matches!(result, Err(ExportError::HttpStatus { status: 503, .. })),
        "{result:?}"
    );
    assert_eq!(receiver.count(), 1);
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn http_400_is_not_retried() {
    let receiver = Receiver::http();
    receiver.script([Reply::Http(400, None)]);
    let (result, _) = export_with(
        &receiver,
        OtlpProtocol::HttpProtobuf,
        Duration::from_secs(5),
    );
    assert_eq!(
        result,
        Err(ExportError::HttpStatus {
            status: 400,
            body: "scripted 400".to_owned()
        })
    );
    assert_eq!(receiver.count(), 1);
}

#[test]
fn slow_receiver_times_out() {
    for (receiver, protocol) in [
        (Receiver::http(), OtlpProtocol::HttpProtobuf),
        (Receiver::grpc(), OtlpProtocol::Grpc),
    ] {
        receiver.script([Reply::Slow(Duration::from_secs(3))]);
        let timeout = Duration::from_millis(400);
        let (result, elapsed) = export_with(&receiver, protocol, timeout);
        assert_eq!(result, Err(ExportError::Timeout(timeout)), "{protocol:?}");
        assert!(
            elapsed < Duration::from_millis(1500),
            "{protocol:?}: {elapsed:?}"
        );
    }
}

#[test]
fn partial_success_is_accepted_without_retry() {
    for (receiver, protocol) in [
        (Receiver::http(), OtlpProtocol::HttpProtobuf),
        (Receiver::http(), OtlpProtocol::HttpJson),
        (Receiver::grpc(), OtlpProtocol::Grpc),
    ] {
        receiver.script([
            Reply::Partial(1, "span name too long"),
            Reply::Partial(1, "again"),
        ]);
        let mut exporter = otlp::exporter(&receiver.config(protocol)).unwrap();
        exporter.export(one_span()).unwrap();
        exporter.export(one_span()).unwrap();
        assert_eq!(receiver.count(), 2, "{protocol:?}");
    }
}

#[test]
fn grpc_unavailable_is_retried_and_invalid_argument_is_not() {
    let receiver = Receiver::grpc();
    receiver.script([Reply::Grpc(tonic::Code::Unavailable, None), Reply::Ok]);
    let (result, _) = export_with(&receiver, OtlpProtocol::Grpc, Duration::from_secs(5));
    result.unwrap();
    assert_eq!(receiver.received().len(), 2);

    receiver.script([Reply::Grpc(tonic::Code::InvalidArgument, None)]);
    let (result, _) = export_with(&receiver, OtlpProtocol::Grpc, Duration::from_secs(5));
    assert_eq!(
        result,
        Err(ExportError::GrpcStatus {
            code: tonic::Code::InvalidArgument as i32,
            message: "scripted".to_owned()
        })
    );
    assert_eq!(receiver.received().len(), 1);
}

#[test]
fn grpc_resource_exhausted_is_retried_only_with_retry_info() {
    let receiver = Receiver::grpc();
    receiver.script([Reply::Grpc(tonic::Code::ResourceExhausted, None)]);
    let (result, _) = export_with(&receiver, OtlpProtocol::Grpc, Duration::from_secs(5));
    assert!(
        matches!(result, Err(ExportError::GrpcStatus { code: 8, .. })),
        "{result:?}"
    );
    assert_eq!(receiver.received().len(), 1);

    receiver.script([
        Reply::Grpc(
            tonic::Code::ResourceExhausted,
            Some(Duration::from_millis(600)),
        ),
        Reply::Ok,
    ]);
    let (result, elapsed) = export_with(&receiver, OtlpProtocol::Grpc, Duration::from_secs(5));
    result.unwrap();
    assert_eq!(receiver.received().len(), 2);
    assert!(
        elapsed >= Duration::from_millis(600),
        "RetryInfo honoured: {elapsed:?}"
    );
}

#[test]
fn grpc_export_works_from_inside_a_tokio_runtime() {
    let receiver = Receiver::grpc();
    let mut exporter = OtlpGrpcExporter::new(receiver.config(OtlpProtocol::Grpc)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        exporter.export(one_span()).unwrap();
        // Dropped inside the runtime too: no "cannot drop a runtime" panic.
        drop(exporter);
    });
    assert_eq!(receiver.count(), 1);
}

#[test]
fn exporter_rejects_bad_configuration() {
    for (protocol, endpoint) in [
        (OtlpProtocol::HttpProtobuf, "not a url"),
        (OtlpProtocol::HttpJson, "ftp://host/v1/traces"),
        (OtlpProtocol::Grpc, "localhost:4317"),
    ] {
        let config = OtlpConfig {
            endpoint: endpoint.to_owned(),
            protocol,
            ..OtlpConfig::default()
        };
        assert!(otlp::exporter(&config).is_err(), "{protocol:?} {endpoint}");
    }
    let mut config = OtlpConfig::default();
    config
        .headers
        .insert("bad header".to_owned(), "v".to_owned());
    assert!(otlp::exporter(&config).is_err());
    assert!(
        OtlpHttpExporter::new(OtlpConfig {
            protocol: OtlpProtocol::Grpc,
            ..OtlpConfig::default()
        })
        .is_err()
    );
}

#[test]
fn shut_down_exporters_refuse_exports() {
    let receiver = Receiver::http();
    let mut exporter = otlp::exporter(&receiver.config(OtlpProtocol::HttpProtobuf)).unwrap();
    exporter.shutdown().unwrap();
    assert_eq!(exporter.export(one_span()), Err(ExportError::Shutdown));
    assert_eq!(receiver.count(), 0);
}

// ---------------------------------------------------------------------------------------
// Peer: the same work with the OpenTelemetry SDK
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
struct Collect(Arc<Mutex<Vec<opentelemetry_sdk::trace::SpanData>>>);

impl opentelemetry_sdk::trace::SpanExporter for Collect {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        lock(&self.0).extend(batch);
        Ok(())
    }
}

/// The work, instrumented with traced: a server span, a client child with an event and an
/// error, typed attributes of each kind.
fn work_with_traced() {
    let mut root = traced_runtime::span("checkout")
        .kind(SpanKind::Server)
        .attribute("order.id", 42)
        .attribute("order.vip", true)
        .start();
    {
        let _entered = root.enter();
        let mut child = traced_runtime::span("charge")
            .kind(SpanKind::Client)
            .attribute("amount", 99.5)
            .attribute("currency", "EUR")
            .attribute("items", ["book", "pen"])
            .start();
        child.add_event("retry", vec![KeyValue::new("attempt", 2)]);
        child.set_status(Status::error("card declined"));
        child.end();
    }
    root.set_status(Status::Ok);
    root.end();
}

/// The same work, instrumented with the OpenTelemetry SDK.
fn work_with_the_sdk(tracer: &opentelemetry_sdk::trace::SdkTracer) {
    use opentelemetry::KeyValue as K;
    use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _};
    let root = tracer
        .span_builder("checkout")
        .with_kind(opentelemetry::trace::SpanKind::Server)
        .with_attributes([K::new("order.id", 42i64), K::new("order.vip", true)])
        .start(tracer);
    let cx = opentelemetry::Context::current_with_span(root);
    {
        let mut child = tracer
            .span_builder("charge")
            .with_kind(opentelemetry::trace::SpanKind::Client)
            .with_attributes([
                K::new("amount", 99.5),
                K::new("currency", "EUR"),
                K::new(
                    "items",
                    opentelemetry::Value::Array(opentelemetry::Array::String(vec![
                        "book".into(),
                        "pen".into(),
                    ])),
                ),
            ])
            .start_with_context(tracer, &cx);
        child.add_event("retry", vec![K::new("attempt", 2i64)]);
        child.set_status(opentelemetry::trace::Status::error("card declined"));
        child.end();
    }
    cx.span().set_status(opentelemetry::trace::Status::Ok);
    cx.span().end();
}

/// What two OTLP spans must agree on: everything but ids, times and the scope.
#[derive(Debug, PartialEq)]
struct Shape {
    name: String,
    kind: i32,
    parent: Option<String>,
    flags: u32,
    attributes: BTreeMap<String, any_value::Value>,
    events: Vec<(String, BTreeMap<String, any_value::Value>)>,
    status: (i32, String),
    dropped: (u32, u32, u32),
}

fn shapes(spans: &[ptrace::Span]) -> Vec<Shape> {
    let attrs = |kvs: &[PKeyValue]| {
        kvs.iter()
            .map(|kv| (kv.key.clone(), kv.value.clone().unwrap().value.unwrap()))
            .collect::<BTreeMap<_, _>>()
    };
    let mut out: Vec<Shape> = spans
        .iter()
        .map(|s| Shape {
            name: s.name.clone(),
            kind: s.kind,
            parent: spans
                .iter()
                .find(|p| p.span_id == s.parent_span_id && p.trace_id == s.trace_id)
                .map(|p| p.name.clone()),
            flags: s.flags,
            attributes: attrs(&s.attributes),
            events: s
                .events
                .iter()
                .map(|e| (e.name.clone(), attrs(&e.attributes)))
                .collect(),
            status: s
                .status
                .as_ref()
                .map(|st| (st.code, st.message.clone()))
                .unwrap_or_default(),
            dropped: (
                s.dropped_attributes_count,
                s.dropped_events_count,
                s.dropped_links_count,
            ),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[test]
fn same_work_same_otlp_as_the_opentelemetry_sdk() {
    // The SDK's side, converted to OTLP by opentelemetry-proto's own transform.
    let collected = Collect::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(collected.clone())
        .build();
    let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "peer");
    work_with_the_sdk(&tracer);
    provider.force_flush().unwrap();
    let sdk: Vec<ptrace::Span> = lock(&collected.0)
        .drain(..)
        .map(ptrace::Span::from)
        .collect();

    // traced's side, over the wire to a real receiver.
    let receiver = Receiver::http();
    let exporter = OtlpHttpExporter::new(receiver.config(OtlpProtocol::HttpProtobuf)).unwrap();
    {
        let _turn = lock(&PIPELINE);
        let guard = Pipeline::builder()
            .with_sampler(Sampler::AlwaysOn)
            .with_simple_exporter(exporter)
            .install();
        work_with_traced();
        drop(guard);
    }
    let mut ours: Vec<ptrace::Span> = receiver
        .received()
        .into_iter()
        .flat_map(|r| r.request.resource_spans)
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .collect();

    assert_eq!(sdk.len(), 2);
    // traced sets the W3C Level 2 random flag (0x02) on the traces it starts; the SDK (0.33)
    // does not. Everything else matches, the sampled and remote-known bits included.
    for s in &mut ours {
        assert_eq!(s.flags & 0x02, 0x02, "{}: random flag", s.name);
        s.flags &= !0x02;
    }
    assert_eq!(shapes(&ours), shapes(&sdk));
    // Ids and times differ, but are well formed on both sides.
    for s in ours.iter().chain(&sdk) {
        assert_eq!((s.trace_id.len(), s.span_id.len()), (16, 8));
        assert!(s.start_time_unix_nano <= s.end_time_unix_nano);
    }
}

// ---------------------------------------------------------------------------------------
// Faults through the whole pipeline: spans ended by the program, the batch processor, the
// real exporter, a misbehaving receiver. The program's calls only ever pay the enqueue,
// nothing panics, and every span ended is accounted for.
// ---------------------------------------------------------------------------------------

/// Ends `n` spans on two threads through a batch pipeline exporting to `config`, and returns
/// the processor's counts after shutdown and the slowest single span end seen.
fn ended_through_batch(
    config: &OtlpConfig,
    n: usize,
    queue: usize,
) -> (traced_runtime::pipeline::ProcessorStats, Duration) {
    let _turn = lock(&PIPELINE);
    let exporter = otlp::exporter(config).unwrap();
    let batch = traced_runtime::pipeline::BatchConfig::default()
        .with_max_queue_size(queue)
        .with_max_export_batch_size(32)
        .with_scheduled_delay(Duration::from_millis(5))
        .with_export_timeout(Duration::from_secs(2));
    let guard = Pipeline::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_batch_exporter_config(exporter, batch)
        .install();
    let worker = |count: usize| {
        move || {
            let mut slowest = Duration::ZERO;
            for i in 0..count {
                let started = Instant::now();
                let mut s = traced_runtime::span("work").kind(SpanKind::Client).start();
                s.set_attribute("i", i as i64);
                s.end();
                slowest = slowest.max(started.elapsed());
                if i % 50 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            slowest
        }
    };
    let a = std::thread::spawn(worker(n / 2));
    let b = std::thread::spawn(worker(n - n / 2));
    let slowest = a.join().unwrap().max(b.join().unwrap());
    let processor = guard.pipeline().processor();
    let _ = processor.shutdown(Duration::from_secs(10));
    let stats = processor.stats();
    drop(guard);
    (stats, slowest)
}

fn assert_accounted(stats: traced_runtime::pipeline::ProcessorStats, n: usize) {
    assert_eq!(stats.received, n as u64, "{stats:?}");
    assert_eq!(
        stats.exported + stats.dropped + stats.failed,
        n as u64,
        "{stats:?}"
    );
}

/// Generous: a span end that waited for the network would take milliseconds to seconds.
const ENQUEUE_ONLY: Duration = Duration::from_millis(50);

#[test]
fn pipeline_with_the_receiver_down_drops_or_fails_and_never_blocks() {
    let mut config = Receiver::http().config(OtlpProtocol::HttpProtobuf);
    config.endpoint = format!("http://{}/v1/traces", refused_endpoint());
    config.timeout = Duration::from_millis(300);
    let (stats, slowest) = ended_through_batch(&config, 400, 256);
    assert_accounted(stats, 400);
    assert_eq!(stats.exported, 0, "{stats:?}");
    assert!(stats.failed > 0, "{stats:?}");
    assert!(slowest < ENQUEUE_ONLY, "a span end took {slowest:?}");
}

#[test]
fn pipeline_with_a_slow_receiver_keeps_callers_fast() {
    let receiver = Receiver::http();
    receiver.script(std::iter::repeat_n(
        Reply::Slow(Duration::from_millis(400)),
        3,
    ));
    let mut config = receiver.config(OtlpProtocol::HttpProtobuf);
    config.timeout = Duration::from_millis(200);
    let (stats, slowest) = ended_through_batch(&config, 400, 256);
    assert_accounted(stats, 400);
    assert!(stats.failed > 0, "the slow batches time out: {stats:?}");
    assert!(stats.exported > 0, "later batches go through: {stats:?}");
    assert!(slowest < ENQUEUE_ONLY, "a span end took {slowest:?}");
}

/// With room in the queue for the retries' wait, nothing is lost.
#[test]
fn pipeline_retries_503_then_delivers_everything() {
    let receiver = Receiver::http();
    receiver.script([Reply::Http(503, None), Reply::Http(503, None)]);
    let (stats, slowest) =
        ended_through_batch(&receiver.config(OtlpProtocol::HttpProtobuf), 300, 512);
    assert_accounted(stats, 300);
    assert_eq!(stats.exported, 300, "{stats:?}");
    // The receiver also saw the two refused requests: count each span once.
    let arrived: std::collections::HashSet<Vec<u8>> = receiver
        .received()
        .iter()
        .flat_map(|r| &r.request.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|span| span.span_id.clone())
        .collect();
    assert_eq!(arrived.len(), 300);
    assert!(slowest < ENQUEUE_ONLY, "a span end took {slowest:?}");
}

#[test]
fn pipeline_counts_a_batch_refused_with_400_as_failed() {
    let receiver = Receiver::grpc();
    receiver.script([Reply::Grpc(tonic::Code::InvalidArgument, None)]);
    let (stats, _) = ended_through_batch(&receiver.config(OtlpProtocol::Grpc), 200, 256);
    assert_accounted(stats, 200);
    assert!(stats.failed > 0 && stats.failed < 200, "{stats:?}");
    let receiver = Receiver::http();
    receiver.script([Reply::Http(400, Some("bad"))]);
    let (stats, _) = ended_through_batch(&receiver.config(OtlpProtocol::HttpJson), 200, 256);
    assert_accounted(stats, 200);
    assert!(stats.failed > 0 && stats.failed < 200, "{stats:?}");
}
