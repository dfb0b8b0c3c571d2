//! The W3C Trace Context propagator: `traceparent` and `tracestate` together.

use super::{
    Extractor, Injector, TRACEPARENT_HEADER, TRACESTATE_HEADER, format_trace_state,
    format_traceparent, parse_trace_state, parse_traceparent, trim_ows,
};
use crate::model::{SpanContext, TraceState};

/// Reads and writes span contexts as W3C Trace Context `traceparent` and `tracestate`
/// headers.
///
/// ```
/// use std::collections::HashMap;
/// use traced_runtime::propagation::TraceContextPropagator;
/// use traced_runtime::{SpanContext, SpanId, TraceId};
/// use traced_runtime::model::{TraceFlags, TraceState};
///
/// let cx = SpanContext::new(
///     TraceId::from_u128(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c),
///     SpanId::from_u64(0xb7ad_6b71_6920_3331),
///     TraceFlags::SAMPLED,
///     false,
///     TraceState::from_entries([("congo".to_string(), "t61rcWkgMzE".to_string())]),
/// );
/// let mut headers = HashMap::new();
/// TraceContextPropagator.inject(&cx, &mut headers);
/// assert_eq!(headers["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
/// assert_eq!(headers["tracestate"], "congo=t61rcWkgMzE");
///
/// let received = TraceContextPropagator.extract(&headers).unwrap();
/// assert_eq!(received, SpanContext::new(
///     cx.trace_id(), cx.span_id(), cx.trace_flags(), true, cx.trace_state().clone(),
/// ));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TraceContextPropagator;

impl TraceContextPropagator {
    /// The headers this propagator reads and writes.
    pub const FIELDS: [&'static str; 2] = [TRACEPARENT_HEADER, TRACESTATE_HEADER];

    /// The remote span context in `carrier`, or `None` if there is no usable one: no
    /// `traceparent`, more than one, or an invalid one (see [`parse_traceparent`]; `OWS`
    /// around the value is allowed). The caller then starts a new trace.
    ///
    /// Repeated `tracestate` headers are combined in order into one list. An invalid
    /// `tracestate` is dropped and the context keeps an empty trace state.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use traced_runtime::propagation::TraceContextPropagator;
    ///
    /// let mut headers = HashMap::new();
    /// headers.insert("TraceParent".to_string(), "ff-bad".to_string());
    /// assert!(TraceContextPropagator.extract(&headers).is_none());
    /// ```
    pub fn extract(&self, carrier: &dyn Extractor) -> Option<SpanContext> {
        // Read in place (`for_each_value`), not collected: no allocation per request.
        let (mut traceparent, mut count) = (None, 0_usize);
        carrier.for_each_value(TRACEPARENT_HEADER, &mut |value| {
            traceparent = Some(value);
            count += 1;
        });
        // A repeated `traceparent` is invalid.
        let (1, Some(traceparent)) = (count, traceparent) else {
            return None;
        };
        let cx = parse_traceparent(trim_ows(traceparent)).ok()?;
        // Repeated `tracestate` headers are one list, joined in order.
        let (mut first, mut joined) = (None::<&str>, None::<String>);
        carrier.for_each_value(TRACESTATE_HEADER, &mut |value| match (&mut joined, first) {
            (Some(joined), _) => {
                joined.push(',');
                joined.push_str(value);
            }
            (None, Some(one)) => joined = Some(format!("{one},{value}")),
            (None, None) => first = Some(value),
        });
        let trace_state = match (joined, first) {
            (Some(many), _) => parse_trace_state(&many).unwrap_or_default(),
            (None, Some(one)) => parse_trace_state(one).unwrap_or_default(),
            (None, None) => TraceState::NONE,
        };
        Some(cx.with_trace_state(trace_state))
    }

    /// Writes `cx` into `carrier` as `traceparent` (version `00`) and, when it has entries,
    /// `tracestate` (see [`format_trace_state`]). Does nothing for an invalid context
    /// (an all-zero id).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use traced_runtime::SpanContext;
    /// use traced_runtime::propagation::TraceContextPropagator;
    ///
    /// let mut headers = HashMap::new();
    /// TraceContextPropagator.inject(&SpanContext::NONE, &mut headers);
    /// assert!(headers.is_empty());
    /// ```
    pub fn inject(&self, cx: &SpanContext, carrier: &mut dyn Injector) {
        if !cx.is_valid() {
            return;
        }
        carrier.set(TRACEPARENT_HEADER, format_traceparent(cx));
        let trace_state = format_trace_state(cx.trace_state());
        if !trace_state.is_empty() {
            carrier.set(TRACESTATE_HEADER, trace_state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SpanId, TraceFlags, TraceId};
    use crate::propagation::TraceStateExt as _;

    const TP: &str = "00-12345678901234567890123456789012-1234567890123456-01";

    /// A header list: keeps order and repeats, like a request on the wire.
    struct Headers(Vec<(&'static str, String)>);

    impl Extractor for Headers {
        fn get(&self, key: &str) -> Option<&str> {
            self.get_all(key).first().copied()
        }
        fn get_all(&self, key: &str) -> Vec<&str> {
            self.0
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
                .collect()
        }
        fn keys(&self) -> Vec<&str> {
            self.0.iter().map(|(k, _)| *k).collect()
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> Headers {
        Headers(pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect())
    }

    fn extract(pairs: &[(&'static str, &str)]) -> Option<SpanContext> {
        TraceContextPropagator.extract(&headers(pairs))
    }

    fn state(pairs: &[(&'static str, &str)]) -> String {
        extract(pairs)
            .expect("traceparent is valid")
            .trace_state()
            .header()
    }

    #[test]
    fn extracts_remote_context() {
        let cx = extract(&[("traceparent", TP)]).unwrap();
        assert_eq!(
            cx.trace_id().to_string(),
            "12345678901234567890123456789012"
        );
        assert_eq!(cx.span_id().to_string(), "1234567890123456");
        assert!(cx.is_remote() && cx.is_sampled() && cx.trace_state().is_empty());
    }

    #[test]
    fn missing_or_repeated_traceparent_is_none() {
        assert!(extract(&[]).is_none());
        assert!(extract(&[("tracestate", "foo=1")]).is_none());
        assert!(extract(&[("trace-parent", TP)]).is_none());
        assert!(extract(&[("trace.parent", TP)]).is_none());
        assert!(extract(&[("traceparent", TP), ("traceparent", TP)]).is_none());
        assert!(extract(&[("traceparent", TP), ("TraceParent", "garbage")]).is_none());
        assert!(extract(&[("traceparent", &format!("{TP},{TP}"))]).is_none());
    }

    #[test]
    fn header_names_ignore_case() {
        for name in ["TraceParent", "TrAcEpArEnT", "TRACEPARENT"] {
            let cx = TraceContextPropagator
                .extract(&Headers(vec![
                    (name, TP.to_owned()),
                    ("TrAcEsTaTe", "foo=1".to_owned()),
                ]))
                .unwrap();
            assert_eq!(cx.trace_state().get("foo"), Some("1"), "{name}");
        }
    }

    #[test]
    fn ows_around_traceparent() {
        for v in [
            format!(" {TP}"),
            format!("\t{TP}"),
            format!("{TP} "),
            format!("{TP}\t"),
            format!("\t {TP} \t"),
        ] {
            assert!(
                TraceContextPropagator
                    .extract(&Headers(vec![("traceparent", v.clone())]))
                    .is_some(),
                "{v:?}"
            );
        }
        assert!(extract(&[("traceparent", &format!("{TP}\n"))]).is_none());
    }

    #[test]
    fn tracestate_rules() {
        assert_eq!(
            state(&[("traceparent", TP), ("tracestate", "foo=1,bar=2")]),
            "foo=1,bar=2"
        );
        assert_eq!(state(&[("traceparent", TP), ("tracestate", "")]), "");
        assert_eq!(
            state(&[
                ("traceparent", TP),
                ("tracestate", "foo=1"),
                ("tracestate", "")
            ]),
            "foo=1"
        );
        assert_eq!(
            state(&[
                ("traceparent", TP),
                ("tracestate", ""),
                ("tracestate", "foo=1")
            ]),
            "foo=1"
        );
        assert_eq!(
            state(&[
                ("traceparent", TP),
                ("tracestate", "foo=1,bar=2"),
                ("tracestate", "rojo=1,congo=2"),
                ("tracestate", "baz=3"),
            ]),
            "foo=1,bar=2,rojo=1,congo=2,baz=3"
        );
        // Duplicates, on one line or across lines, keep the caller's list (Level 2): the
        // first entry of a key stays, later ones are removed.
        for lines in [
            &[("tracestate", "foo=1,foo=1")][..],
            &[("tracestate", "foo=1,foo=2")],
            &[("tracestate", "foo=1"), ("tracestate", "foo=1")],
            &[("tracestate", "foo=1"), ("tracestate", "foo=2")],
        ] {
            let mut pairs = vec![("traceparent", TP)];
            pairs.extend_from_slice(lines);
            assert_eq!(state(&pairs), "foo=1", "{lines:?}");
        }
        assert_eq!(
            state(&[
                ("traceparent", TP),
                ("tracestate", "foo@=1,bar=2"),
                ("tracestate", "foo@bar@baz=3,bar=4")
            ]),
            "foo@=1,bar=2,foo@bar@baz=3"
        );
        assert_eq!(state(&[("traceparent", TP), ("trace-state", "foo=1")]), "");
        assert_eq!(
            state(&[("traceparent", TP), ("tracestate", "foo=1,BAR=2")]),
            ""
        );
        // 32 members over several lines are fine, 33 are not.
        let lines = |n: usize| -> Vec<(&'static str, String)> {
            let mut v = vec![("traceparent", TP.to_owned())];
            for chunk in (1..=n).collect::<Vec<_>>().chunks(10) {
                let line = chunk
                    .iter()
                    .map(|i| format!("bar{i:02}={i:02}"))
                    .collect::<Vec<_>>();
                v.push(("tracestate", line.join(",")));
            }
            v
        };
        let cx = TraceContextPropagator.extract(&Headers(lines(32))).unwrap();
        assert_eq!(cx.trace_state().entries().len(), 32);
        let cx = TraceContextPropagator.extract(&Headers(lines(33))).unwrap();
        assert!(cx.trace_state().is_empty());
        // Key length limits, one line good and one bad.
        let long = format!("{}=1", "z".repeat(257));
        assert_eq!(
            state(&[
                ("traceparent", TP),
                ("tracestate", "foo=1"),
                ("tracestate", &long)
            ]),
            ""
        );
    }

    #[test]
    fn tracestate_without_valid_traceparent_is_ignored() {
        assert!(
            extract(&[
                (
                    "traceparent",
                    "00-00000000000000000000000000000000-1234567890123456-01"
                ),
                ("tracestate", "foo=1")
            ])
            .is_none()
        );
    }

    #[test]
    fn inject_round_trip() {
        let cx = SpanContext::new(
            TraceId::from_u128(0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c),
            SpanId::from_u64(0x00f0_67aa_0ba9_02b7),
            TraceFlags::SAMPLED.with_sampled(true),
            false,
            parse_trace_state("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE").unwrap(),
        );
        let mut carrier = std::collections::HashMap::new();
        TraceContextPropagator.inject(&cx, &mut carrier);
        assert_eq!(carrier.len(), 2);
        assert_eq!(
            carrier["traceparent"],
            "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"
        );
        assert_eq!(
            carrier["tracestate"],
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
        );
        let back = TraceContextPropagator.extract(&carrier).unwrap();
        assert_eq!(back.trace_state(), cx.trace_state());
        assert_eq!(
            (back.trace_id(), back.span_id(), back.trace_flags()),
            (cx.trace_id(), cx.span_id(), cx.trace_flags())
        );
    }

    #[test]
    fn inject_keeps_random_flag_and_skips_empty_state() {
        let cx = SpanContext::new(
            TraceId::from_u128(1),
            SpanId::from_u64(2),
            TraceFlags::RANDOM,
            false,
            TraceState::NONE,
        );
        let mut carrier = std::collections::HashMap::new();
        TraceContextPropagator.inject(&cx, &mut carrier);
        assert_eq!(carrier.len(), 1);
        assert_eq!(
            carrier["traceparent"],
            "00-00000000000000000000000000000001-0000000000000002-02"
        );
    }

    #[test]
    fn inject_holds_tracestate_to_512_characters() {
        // 32 members of 259 characters each, as a caller may send them: 8 KB.
        let received = (0..32)
            .map(|i| format!("vendor{i:02}={}", "x".repeat(250)))
            .collect::<Vec<_>>()
            .join(",");
        let line = ("tracestate", received.as_str());
        let cx = extract(&[("traceparent", TP), line]).unwrap();
        assert_eq!(cx.trace_state().entries().len(), 32);
        let mut carrier = std::collections::HashMap::new();
        TraceContextPropagator.inject(&cx, &mut carrier);
        assert_eq!(
            carrier["tracestate"],
            format!("vendor00={}", "x".repeat(250))
        );
        // Our own short entry in front survives; the long ones go from the end.
        let ours = cx.trace_state().insert("traced", "1").unwrap();
        let cx = cx.with_trace_state(ours);
        TraceContextPropagator.inject(&cx, &mut carrier);
        assert_eq!(
            carrier["tracestate"],
            format!("traced=1,vendor00={}", "x".repeat(250))
        );
    }

    #[test]
    fn inject_skips_invalid_contexts() {
        let mut carrier = std::collections::HashMap::new();
        for (t, s) in [(0, 1), (1, 0), (0, 0)] {
            let cx = SpanContext::new(
                TraceId::from_u128(t),
                SpanId::from_u64(s),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            );
            TraceContextPropagator.inject(&cx, &mut carrier);
        }
        assert!(carrier.is_empty());
    }

    #[cfg(feature = "http")]
    #[test]
    fn header_map_carrier() {
        use http::{HeaderMap, HeaderValue};
        let mut h = HeaderMap::new();
        h.insert("TraceParent", HeaderValue::from_static(TP));
        h.append("tracestate", HeaderValue::from_static("a=1"));
        h.append("tracestate", HeaderValue::from_static("b=2"));
        let cx = TraceContextPropagator.extract(&h).unwrap();
        assert_eq!(cx.trace_state().header(), "a=1,b=2");

        let mut out = HeaderMap::new();
        out.append("tracestate", HeaderValue::from_static("stale=1"));
        TraceContextPropagator.inject(&cx, &mut out);
        assert_eq!(out.get_all("tracestate").iter().count(), 1);
        assert_eq!(out["tracestate"], "a=1,b=2");
        assert_eq!(out["traceparent"], TP);

        h.append("traceparent", HeaderValue::from_bytes(b"\xff").unwrap());
        assert!(
            TraceContextPropagator.extract(&h).is_none(),
            "repeated traceparent"
        );
        h.remove("traceparent");
        h.insert("traceparent", HeaderValue::from_static(TP));
        h.append("tracestate", HeaderValue::from_bytes(b"c=\xff").unwrap());
        assert!(
            TraceContextPropagator
                .extract(&h)
                .unwrap()
                .trace_state()
                .is_empty()
        );
    }
}
