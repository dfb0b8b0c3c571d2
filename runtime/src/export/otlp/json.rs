//! OTLP/JSON: the official types' serde derives, and the fix-ups OTLP/JSON needs on top.
//!
//! opentelemetry-proto's `with-serde` already follows most OTLP/JSON rules: lowerCamelCase
//! keys, hex `traceId`/`spanId`/`parentSpanId`, enums as integers, 64-bit integers
//! (`intValue`, times) as decimal strings. Where it departs from the proto3 JSON mapping:
//!
//! - a non-finite `doubleValue` (NaN, ±infinity) comes out as `null`, losing the value; the
//!   mapping spells them `"NaN"`, `"Infinity"` and `"-Infinity"`. Fixed here.
//! - a response's `rejectedSpans` (int64) is only read as a JSON number, while receivers may
//!   send it as a string, as the mapping says. Read leniently here.
//!
//! Unset message fields (`status`, `resource`, `scope`) would come out as `null`; the
//! mapping accepts that, but traced always sets them, so they never appear.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde_json::Value as Json;

/// The OTLP/JSON body for `request`.
pub(super) fn encode(request: &ExportTraceServiceRequest) -> Result<Vec<u8>, serde_json::Error> {
    if !has_non_finite(request) {
        // The common case: the derives alone are right.
        return serde_json::to_vec(request);
    }
    let mut json = serde_json::to_value(request)?;
    fix_non_finite(&mut json, request);
    serde_json::to_vec(&json)
}

/// `(rejected_spans, error_message)` of a JSON `ExportTraceServiceResponse`, if it carries
/// a partial success.
pub(super) fn partial_success(body: &[u8]) -> Option<(i64, String)> {
    let json: Json = serde_json::from_slice(body).ok()?;
    let partial = json.get("partialSuccess")?;
    let rejected = match partial.get("rejectedSpans") {
        Some(Json::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Json::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    };
    let message = partial
        .get("errorMessage")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned();
    Some((rejected, message))
}

fn attribute_lists(request: &ExportTraceServiceRequest) -> impl Iterator<Item = &[KeyValue]> {
    request.resource_spans.iter().flat_map(|rs| {
        let resource = rs.resource.iter().map(|r| r.attributes.as_slice());
        let scopes = rs.scope_spans.iter().flat_map(|ss| {
            let scope = ss.scope.iter().map(|s| s.attributes.as_slice());
            let spans = ss.spans.iter().flat_map(|s| {
                std::iter::once(s.attributes.as_slice())
                    .chain(s.events.iter().map(|e| e.attributes.as_slice()))
                    .chain(s.links.iter().map(|l| l.attributes.as_slice()))
            });
            scope.chain(spans)
        });
        resource.chain(scopes)
    })
}

fn has_non_finite(request: &ExportTraceServiceRequest) -> bool {
    fn any(v: &AnyValue) -> bool {
        match &v.value {
            Some(any_value::Value::DoubleValue(d)) => !d.is_finite(),
            Some(any_value::Value::ArrayValue(a)) => a.values.iter().any(any),
            Some(any_value::Value::KvlistValue(l)) => l.values.iter().any(kv),
            _ => false,
        }
    }
    fn kv(kv: &KeyValue) -> bool {
        kv.value.as_ref().is_some_and(any)
    }
    attribute_lists(request).any(|list| list.iter().any(kv))
}

/// Walks the JSON tree beside the request it came from, so each attribute value is matched
/// with its typed source and non-finite doubles get their proto3 JSON spelling.
fn fix_non_finite(json: &mut Json, request: &ExportTraceServiceRequest) {
    fn list(json: Option<&mut Json>, kvs: &[KeyValue]) {
        let Some(items) = json.and_then(Json::as_array_mut) else {
            return;
        };
        for (item, kv) in items.iter_mut().zip(kvs) {
            if let Some(v) = &kv.value {
                any(item.get_mut("value"), v);
            }
        }
    }
    fn any(json: Option<&mut Json>, v: &AnyValue) {
        let Some(json) = json else { return };
        match &v.value {
            Some(any_value::Value::DoubleValue(d)) if !d.is_finite() => {
                let text = if d.is_nan() {
                    "NaN"
                } else if d.is_sign_positive() {
                    "Infinity"
                } else {
                    "-Infinity"
                };
                json["doubleValue"] = Json::String(text.to_owned());
            }
            Some(any_value::Value::ArrayValue(a)) => {
                if let Some(Json::Array(items)) = json.pointer_mut("/arrayValue/values") {
                    for (item, v) in items.iter_mut().zip(&a.values) {
                        any(Some(item), v);
                    }
                }
            }
            Some(any_value::Value::KvlistValue(l)) => {
                list(json.pointer_mut("/kvlistValue/values"), &l.values);
            }
            _ => {}
        }
    }
    let Some(Json::Array(rs_json)) = json.get_mut("resourceSpans") else {
        return;
    };
    for (rs_json, rs) in rs_json.iter_mut().zip(&request.resource_spans) {
        if let Some(r) = &rs.resource {
            list(rs_json.pointer_mut("/resource/attributes"), &r.attributes);
        }
        let Some(Json::Array(ss_json)) = rs_json.get_mut("scopeSpans") else {
            continue;
        };
        for (ss_json, ss) in ss_json.iter_mut().zip(&rs.scope_spans) {
            if let Some(scope) = &ss.scope {
                list(ss_json.pointer_mut("/scope/attributes"), &scope.attributes);
            }
            let Some(Json::Array(spans_json)) = ss_json.get_mut("spans") else {
                continue;
            };
            for (s_json, s) in spans_json.iter_mut().zip(&ss.spans) {
                list(s_json.get_mut("attributes"), &s.attributes);
                for (i, e) in s.events.iter().enumerate() {
                    list(
                        s_json.pointer_mut(&format!("/events/{i}/attributes")),
                        &e.attributes,
                    );
                }
                for (i, l) in s.links.iter().enumerate() {
                    list(
                        s_json.pointer_mut(&format!("/links/{i}/attributes")),
                        &l.attributes,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::KeyValue as Kv;
    use crate::model::{Attributes, Event, Link, Resource, SpanData, SpanKind};
    use crate::model::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    /// `examples/trace.json` of open-telemetry/opentelemetry-proto, the OTLP/JSON reference.
    const SPEC_EXAMPLE: &str = r#"{
      "resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
        "scopeSpans": [{
          "scope": {"name": "my.library", "version": "1.0.0",
                    "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]},
          "spans": [{
            "traceId": "5B8EFFF798038103D269B633813FC60C",
            "spanId": "EEE19B7EC3C1B174",
            "parentSpanId": "EEE19B7EC3C1B173",
            "name": "I'm a server span",
            "startTimeUnixNano": 1544712660000000000,
            "endTimeUnixNano": 1544712661000000000,
            "kind": 2,
            "attributes": [{"key": "my.span.attr", "value": {"stringValue": "some value"}}]
          }]
        }]
      }]
    }"#;

    fn example_span() -> SpanData {
        SpanData {
            parent_span_id: SpanId::from_hex("EEE19B7EC3C1B173").unwrap(),
            kind: SpanKind::Server,
            start_time_unix_nano: 1_544_712_660_000_000_000,
            end_time_unix_nano: 1_544_712_661_000_000_000,
            attributes: Attributes::from_iter([Kv::new("my.span.attr", "some value")]),
            ..SpanData::new(
                SpanContext::new(
                    TraceId::from_hex("5B8EFFF798038103D269B633813FC60C").unwrap(),
                    SpanId::from_hex("EEE19B7EC3C1B174").unwrap(),
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::NONE,
                ),
                "I'm a server span",
            )
        }
    }

    /// The spec example, with what OTLP/JSON leaves open normalized: ids are
    /// case-insensitive hex (we write lowercase), 64-bit integers may be strings (we write
    /// strings). The scope is traced's own, so the example's is left out.
    fn normalized_example() -> Json {
        let mut ex: Json = serde_json::from_str(SPEC_EXAMPLE).unwrap();
        let span = ex
            .pointer_mut("/resourceSpans/0/scopeSpans/0/spans/0")
            .unwrap();
        for id in ["traceId", "spanId", "parentSpanId"] {
            span[id] = Json::String(span[id].as_str().unwrap().to_ascii_lowercase());
        }
        for t in ["startTimeUnixNano", "endTimeUnixNano"] {
            span[t] = Json::String(span[t].to_string());
        }
        ex.pointer_mut("/resourceSpans/0/scopeSpans/0")
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove("scope");
        ex
    }

    /// Whether every member of `expected` is in `actual` with the same value (arrays match
    /// element by element and must have the same length).
    fn contains(actual: &Json, expected: &Json, path: &str) {
        match (actual, expected) {
            (Json::Object(a), Json::Object(e)) => {
                for (k, ev) in e {
                    let av = a.get(k).unwrap_or_else(|| panic!("{path}/{k} missing"));
                    contains(av, ev, &format!("{path}/{k}"));
                }
            }
            (Json::Array(a), Json::Array(e)) => {
                assert_eq!(a.len(), e.len(), "{path}: length");
                for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                    contains(av, ev, &format!("{path}/{i}"));
                }
            }
            _ => assert_eq!(actual, expected, "{path}"),
        }
    }

    #[test]
    fn matches_the_spec_example() {
        let resource = Resource::default().with("service.name", "my.service");
        let mut request = crate::export::otlp::to_request(&[example_span()], &resource);
        // The example's resource has only service.name.
        request.resource_spans[0]
            .resource
            .as_mut()
            .unwrap()
            .attributes
            .truncate(1);
        let ours: Json = serde_json::from_slice(&encode(&request).unwrap()).unwrap();
        contains(&ours, &normalized_example(), "");
        let span = ours
            .pointer("/resourceSpans/0/scopeSpans/0/spans/0")
            .unwrap();
        assert_eq!(span["kind"], Json::from(2), "enums are integers");
        assert_eq!(span["status"]["code"], Json::from(0));
        assert_eq!(span["flags"], Json::from(0x101));
        assert!(
            span.get("dropped_attributes_count").is_none(),
            "lowerCamelCase only"
        );
        assert_eq!(span["droppedAttributesCount"], Json::from(0));
    }

    #[test]
    fn typed_values_follow_proto3_json() {
        let mut span = example_span();
        span.attributes = Attributes::from_iter([
            Kv::new("i", i64::MAX),
            Kv::new("f", 1.5),
            Kv::new("nan", f64::NAN),
            Kv::new("inf", f64::INFINITY),
            Kv::new("ninf", f64::NEG_INFINITY),
            Kv::new("b", true),
            Kv::new("ints", [1i64, -2]),
            Kv::new("floats", [f64::NAN, 0.5]),
        ]);
        span.events
            .push(Event::new("e", vec![Kv::new("x", f64::INFINITY)]));
        span.links.push(Link::new(
            span.span_context.clone(),
            vec![Kv::new("y", f64::NAN)],
        ));
        let request = crate::export::otlp::to_request(&[span], &Resource::default());
        let json: Json = serde_json::from_slice(&encode(&request).unwrap()).unwrap();
        let span = json
            .pointer("/resourceSpans/0/scopeSpans/0/spans/0")
            .unwrap();
        let value = |i: usize| span["attributes"][i]["value"].clone();
        assert_eq!(
            value(0),
            serde_json::json!({"intValue": "9223372036854775807"})
        );
        assert_eq!(value(1), serde_json::json!({"doubleValue": 1.5}));
        assert_eq!(value(2), serde_json::json!({"doubleValue": "NaN"}));
        assert_eq!(value(3), serde_json::json!({"doubleValue": "Infinity"}));
        assert_eq!(value(4), serde_json::json!({"doubleValue": "-Infinity"}));
        assert_eq!(value(5), serde_json::json!({"boolValue": true}));
        assert_eq!(
            value(6),
            serde_json::json!({"arrayValue": {"values": [{"intValue": "1"}, {"intValue": "-2"}]}})
        );
        assert_eq!(
            value(7),
            serde_json::json!({"arrayValue": {"values": [{"doubleValue": "NaN"}, {"doubleValue": 0.5}]}})
        );
        assert_eq!(
            span["events"][0]["attributes"][0]["value"],
            serde_json::json!({"doubleValue": "Infinity"})
        );
        assert_eq!(
            span["links"][0]["attributes"][0]["value"],
            serde_json::json!({"doubleValue": "NaN"})
        );
        assert_eq!(span["links"][0]["spanId"], Json::from("eee19b7ec3c1b174"));
        assert_eq!(span["parentSpanId"], Json::from("eee19b7ec3c1b173"));
    }

    #[test]
    fn partial_success_reads_int64_as_string_or_number() {
        let s = br#"{"partialSuccess":{"rejectedSpans":"3","errorMessage":"bad"}}"#;
        assert_eq!(partial_success(s), Some((3, "bad".to_owned())));
        let n = br#"{"partialSuccess":{"rejectedSpans":2}}"#;
        assert_eq!(partial_success(n), Some((2, String::new())));
        assert_eq!(partial_success(b"{}"), None);
        assert_eq!(partial_success(b""), None);
    }
}
