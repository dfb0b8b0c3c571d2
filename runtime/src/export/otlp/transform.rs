//! traced's span model to the official OTLP messages (`opentelemetry-proto`).

use crate::model::SpanContext;
use crate::model::{Array, KeyValue, Value};
use crate::model::{Event, Link, Resource, SpanData, SpanKind, Status};
use crate::propagation::TraceStateExt as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1 as common;
use opentelemetry_proto::tonic::resource::v1 as resource;
use opentelemetry_proto::tonic::trace::v1 as trace;

/// The instrumentation scope every traced span is reported under.
pub(super) const SCOPE_NAME: &str = "traced";
/// The scope's version: this crate's.
pub(super) const SCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Builds the OTLP request for a batch of spans: one `ResourceSpans` for `resource`, one
/// `ScopeSpans` for the `traced` scope, one `Span` per span, every field mapped.
///
/// An empty batch gives an empty request (OTLP asks senders not to send empty envelopes).
/// Spans of `#[traced]` functions also get the `code.function.name`
/// (`module::path::function`), `code.file.path` and `code.line.number` attributes, unless
/// the span already has an attribute with that key.
///
/// ```
/// use traced_runtime::export::otlp::to_request;
/// use traced_runtime::model::Resource;
/// let request = to_request(&[], &Resource::default());
/// assert!(request.resource_spans.is_empty());
/// ```
pub fn to_request(spans: &[SpanData], resource: &Resource) -> ExportTraceServiceRequest {
    if spans.is_empty() {
        return ExportTraceServiceRequest::default();
    }
    ExportTraceServiceRequest {
        resource_spans: vec![trace::ResourceSpans {
            resource: Some(to_request_resource(resource)),
            scope_spans: vec![trace::ScopeSpans {
                scope: Some(common::InstrumentationScope {
                    name: SCOPE_NAME.to_owned(),
                    version: SCOPE_VERSION.to_owned(),
                    attributes: Vec::new(),
                    dropped_attributes_count: 0,
                }),
                spans: spans.iter().map(span).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// The OTLP form of `resource`.
pub(super) fn to_request_resource(resource: &Resource) -> resource::Resource {
    resource::Resource {
        attributes: key_values(resource.attributes()),
        dropped_attributes_count: 0,
        entity_refs: Vec::new(),
    }
}

fn span(s: &SpanData) -> trace::Span {
    let cx = &s.span_context;
    let mut attributes = key_values(&s.attributes);
    if let Some(code) = s.code {
        let mut push = |key: &str, value: common::any_value::Value| {
            if s.attribute(key).is_none() {
                attributes.push(common::KeyValue {
                    key: key.to_owned(),
                    value: Some(common::AnyValue { value: Some(value) }),
                    key_strindex: 0,
                });
            }
        };
        push(
            "code.function.name",
            string(format!("{}::{}", code.module_path, code.function)),
        );
        push("code.file.path", string(code.file.to_owned()));
        push(
            "code.line.number",
            common::any_value::Value::IntValue(i64::from(code.line)),
        );
    }
    trace::Span {
        trace_id: cx.trace_id().to_bytes().to_vec(),
        span_id: cx.span_id().to_bytes().to_vec(),
        trace_state: cx.trace_state().header(),
        parent_span_id: if s.parent_span_id.is_valid() {
            s.parent_span_id.to_bytes().to_vec()
        } else {
            Vec::new()
        },
        flags: flags(cx, s.parent_is_remote),
        name: s.name.clone().into_owned(),
        kind: kind(s.kind) as i32,
        start_time_unix_nano: s.start_time_unix_nano,
        end_time_unix_nano: s.end_time_unix_nano,
        attributes,
        dropped_attributes_count: s.dropped_attributes_count,
        events: s.events.iter().map(event).collect(),
        dropped_events_count: s.dropped_events_count,
        links: s.links.iter().map(link).collect(),
        dropped_links_count: s.dropped_links_count,
        status: Some(status(&s.status)),
    }
}

/// The OTLP `flags` field: the W3C trace flags in bits 0-7, and bits 8-9 saying that
/// whether the parent (or linked span) is remote is known, and whether it is.
fn flags(cx: &SpanContext, remote: bool) -> u32 {
    let mut flags =
        u32::from(cx.trace_flags().to_u8()) | trace::SpanFlags::ContextHasIsRemoteMask as u32;
    if remote {
        flags |= trace::SpanFlags::ContextIsRemoteMask as u32;
    }
    flags
}

fn kind(kind: SpanKind) -> trace::span::SpanKind {
    match kind {
        SpanKind::Internal => trace::span::SpanKind::Internal,
        SpanKind::Server => trace::span::SpanKind::Server,
        SpanKind::Client => trace::span::SpanKind::Client,
        SpanKind::Producer => trace::span::SpanKind::Producer,
        SpanKind::Consumer => trace::span::SpanKind::Consumer,
    }
}

fn status(status: &Status) -> trace::Status {
    let (code, message) = match status {
        Status::Unset => (trace::status::StatusCode::Unset, String::new()),
        Status::Ok => (trace::status::StatusCode::Ok, String::new()),
        Status::Error { description } => (
            trace::status::StatusCode::Error,
            description.clone().into_owned(),
        ),
    };
    trace::Status {
        message,
        code: code as i32,
    }
}

fn event(e: &Event) -> trace::span::Event {
    trace::span::Event {
        time_unix_nano: e.time_unix_nano,
        name: e.name.clone().into_owned(),
        attributes: key_values(&e.attributes),
        dropped_attributes_count: e.dropped_attributes_count,
    }
}

fn link(l: &Link) -> trace::span::Link {
    let cx = &l.span_context;
    trace::span::Link {
        trace_id: cx.trace_id().to_bytes().to_vec(),
        span_id: cx.span_id().to_bytes().to_vec(),
        trace_state: cx.trace_state().header(),
        attributes: key_values(&l.attributes),
        dropped_attributes_count: l.dropped_attributes_count,
        flags: flags(cx, cx.is_remote()),
    }
}

fn key_values(attributes: &[KeyValue]) -> Vec<common::KeyValue> {
    attributes
        .iter()
        .map(|kv| common::KeyValue {
            key: kv.key.clone().into_owned(),
            value: Some(any_value(&kv.value)),
            key_strindex: 0,
        })
        .collect()
}

fn string(s: String) -> common::any_value::Value {
    common::any_value::Value::StringValue(s)
}

fn any_value(value: &Value) -> common::AnyValue {
    use common::any_value::Value as V;
    fn array<T>(items: &[T], f: impl Fn(&T) -> V) -> V {
        V::ArrayValue(common::ArrayValue {
            values: items
                .iter()
                .map(|x| common::AnyValue { value: Some(f(x)) })
                .collect(),
        })
    }
    let value = match value {
        Value::Bool(v) => V::BoolValue(*v),
        Value::I64(v) => V::IntValue(*v),
        Value::F64(v) => V::DoubleValue(*v),
        Value::String(v) => string(v.as_str().to_owned()),
        Value::Array(Array::Bool(v)) => array(v, |x| V::BoolValue(*x)),
        Value::Array(Array::I64(v)) => array(v, |x| V::IntValue(*x)),
        Value::Array(Array::F64(v)) => array(v, |x| V::DoubleValue(*x)),
        Value::Array(Array::String(v)) => array(v, |x| string(x.as_str().to_owned())),
    };
    common::AnyValue { value: Some(value) }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::CodeLocation;
    use crate::model::{SpanId, TraceFlags, TraceId, TraceState};

    /// A `#[traced]` function's location, for the OTLP tests.
    pub(in crate::export::otlp) static CODE: CodeLocation = CodeLocation {
        module_path: "shop::payments",
        function: "charge",
        file: "src/payments.rs",
        line: 42,
    };

    fn data() -> SpanData {
        SpanData {
            kind: SpanKind::Client,
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            code: Some(&CODE),
            ..SpanData::new(
                SpanContext::new(
                    TraceId::from_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
                    SpanId::from_u64(0x1112_1314_1516_1718),
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::from_entries([("vendor".to_owned(), "x".to_owned())]),
                ),
                "charge",
            )
        }
    }

    #[test]
    fn root_has_empty_parent_and_known_local_parent_flag() {
        let req = to_request(&[data()], &Resource::default());
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert!(span.parent_span_id.is_empty());
        assert_eq!(span.flags, 0x01 | 0x100);
        assert_eq!(span.trace_state, "vendor=x");
        assert_eq!(span.kind, 3);
    }

    #[test]
    fn code_attributes_use_current_semantic_conventions_and_never_duplicate_keys() {
        use common::any_value::Value as V;
        let mut s = data();
        s.attributes
            .push(KeyValue::new("code.file.path", "overridden.rs"));
        let req = to_request(&[s], &Resource::default());
        let attrs = &req.resource_spans[0].scope_spans[0].spans[0].attributes;
        let get = |k: &str| {
            let found: Vec<_> = attrs.iter().filter(|kv| kv.key == k).collect();
            assert_eq!(found.len(), 1, "{k}");
            found[0].value.clone().unwrap().value.unwrap()
        };
        assert_eq!(
            get("code.function.name"),
            V::StringValue("shop::payments::charge".into())
        );
        assert_eq!(
            get("code.file.path"),
            V::StringValue("overridden.rs".into())
        );
        assert_eq!(get("code.line.number"), V::IntValue(42));
    }
}
