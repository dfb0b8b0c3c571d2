//! OTLP/JSON checked by an independent decoder: Python's official protobuf library
//! (`google.protobuf.json_format`, strict: unknown fields and wrong types are errors) with the
//! OpenTelemetry project's generated classes (`opentelemetry-proto` on `PyPI`). The same batch is
//! exported as http/json and as http/protobuf to a receiver on 127.0.0.1; Python parses the
//! JSON (after turning its hex ids into bytes, the one place where OTLP/JSON departs from
//! proto3 JSON) and the protobuf, and the two messages must be equal.
//!
//! Needs `python3` with `pip install protobuf opentelemetry-proto`, so it is ignored by
//! default; run it with
//! `cargo test -p traced-runtime --features otlp --test otlp_json_python -- --ignored`.
#![cfg(feature = "otlp")]

use axum::body::Bytes;
use axum::extract::State;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use traced_runtime::export::otlp::{self, OtlpConfig, OtlpProtocol};
use traced_runtime::model::{
    Event, KeyValue, Link, SpanContext, SpanData, SpanId, SpanKind, Status, TraceFlags, TraceId,
};
use traced_runtime::propagation::parse_trace_state;

/// Spans with every kind of field OTLP/JSON writes differently from protobuf: 64-bit
/// integers, doubles (non-finite ones too), bytes-like ids, enums, nested arrays, flags,
/// trace state, events and links with attributes, dropped counts, an error status.
fn batch() -> Vec<SpanData> {
    let state = parse_trace_state("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7").unwrap();
    let cx = |span: u64| {
        SpanContext::new(
            TraceId::from_u128(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c),
            SpanId::from_u64(span),
            TraceFlags::new(0x03),
            false,
            state.clone(),
        )
    };
    let mut server = SpanData::new(cx(0x1111), "POST /orders");
    server.kind = SpanKind::Server;
    server.parent_span_id = SpanId::from_u64(0x00f0_67aa_0ba9_02b7);
    server.parent_is_remote = true;
    server.start_time_unix_nano = 1_700_000_000_000_000_000;
    server.end_time_unix_nano = 1_700_000_000_250_000_000;
    server.attributes = [
        KeyValue::new("http.request.method", "POST"),
        KeyValue::new("big", i64::MIN),
        KeyValue::new("max", i64::MAX),
        KeyValue::new("load", 0.75),
        KeyValue::new("nan", f64::NAN),
        KeyValue::new("inf", f64::NEG_INFINITY),
        KeyValue::new("ok", false),
        KeyValue::new("tags", ["a", "ünïcode \"quoted\""]),
        KeyValue::new("ids", [1i64, i64::MAX]),
        KeyValue::new("weights", [0.5, -2.25]),
        KeyValue::new("flags", [true, false]),
    ]
    .into_iter()
    .collect();
    server.dropped_attributes_count = 3;
    server.status = Status::Ok;
    let mut client = SpanData::new(cx(0x2222), "charge");
    client.kind = SpanKind::Client;
    client.parent_span_id = SpanId::from_u64(0x1111);
    client.start_time_unix_nano = 1_700_000_000_010_000_000;
    client.end_time_unix_nano = 1_700_000_000_200_000_000;
    client.events = vec![Event {
        name: "retry".into(),
        time_unix_nano: 1_700_000_000_100_000_000,
        attributes: vec![KeyValue::new("attempt", 2)],
        dropped_attributes_count: 1,
    }];
    client.dropped_events_count = 4;
    client.links = vec![Link::new(cx(0x3333), vec![KeyValue::new("why", "batch")])];
    client.dropped_links_count = 5;
    client.status = Status::Error {
        description: "card declined".into(),
    };
    vec![server, client]
}

/// The body the exporter posts for `protocol`.
fn body(rt: &tokio::runtime::Runtime, protocol: OtlpProtocol) -> Vec<u8> {
    let seen: Arc<Mutex<Vec<u8>>> = Arc::default();
    let keep = |State(seen): State<Arc<Mutex<Vec<u8>>>>, body: Bytes| async move {
        *seen.lock().unwrap_or_else(PoisonError::into_inner) = body.to_vec();
    };
    let app = axum::Router::new()
        .route("/v1/traces", axum::routing::post(keep))
        .with_state(seen.clone());
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });
    let config = OtlpConfig {
        endpoint: format!("http://{addr}/v1/traces"),
        protocol,
        timeout: Duration::from_secs(5),
        ..OtlpConfig::default()
    };
    otlp::exporter(&config)
        .unwrap()
        .export(batch())
        .expect("exported");
    std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner))
}

const CHECK: &str = r#"
import base64, json, sys
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

doc = json.load(open(sys.argv[1]))
# OTLP/JSON: trace and span ids are hex, where proto3 JSON has base64.
def ids(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str):
                obj[k] = base64.b64encode(bytes.fromhex(v)).decode()
            else:
                ids(v)
    elif isinstance(obj, list):
        for v in obj:
            ids(v)
ids(doc)
from_json = json_format.ParseDict(doc, ExportTraceServiceRequest(), ignore_unknown_fields=False)
from_proto = ExportTraceServiceRequest.FromString(open(sys.argv[2], "rb").read())
spans = [s for r in from_proto.resource_spans for ss in r.scope_spans for s in ss.spans]
if from_json != from_proto:
    print("JSON:\n%s\nprotobuf:\n%s" % (from_json, from_proto))
    sys.exit(1)
print("equal: %d spans, %d JSON bytes" % (len(spans), len(open(sys.argv[1]).read())))
"#;

#[test]
#[ignore = "needs python3 with protobuf and opentelemetry-proto"]
fn otlp_json_decodes_with_python_protobuf_as_our_protobuf() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let json = body(&rt, OtlpProtocol::HttpJson);
    let proto = body(&rt, OtlpProtocol::HttpProtobuf);
    let dir = std::env::temp_dir().join(format!("traced-otlp-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json_file, proto_file) = (dir.join("request.json"), dir.join("request.pb"));
    std::fs::write(&json_file, &json).unwrap();
    std::fs::write(&proto_file, &proto).unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(CHECK)
        .arg(&json_file)
        .arg(&proto_file)
        .output()
        .expect("python3 runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    eprintln!("{stdout}");
    assert!(stdout.contains("equal: 2 spans"), "{stdout}");
}
