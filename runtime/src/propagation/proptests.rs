//! Property tests of the header parsers: random and adversarial input is either refused or
//! parsed into a value that formats to a header parsing back to the same value. Nothing
//! panics.

use std::collections::HashMap;

use proptest::collection::{hash_map, vec as vec_of};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::*;
use crate::model::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use PropagationError::{InvalidTraceStateKey, InvalidTraceStateValue};

/// Any header value: unicode, control characters, empty.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,120}",
        vec_of(any::<u8>(), 0..120).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

// ---- traceparent --------------------------------------------------------------------------

fn check_traceparent(s: &str) -> Result<(), TestCaseError> {
    let Ok(cx) = parse_traceparent(s) else {
        return Ok(());
    };
    prop_assert!(cx.is_valid() && cx.is_remote());
    let out = format_traceparent(&cx);
    prop_assert_eq!(out.len(), 55);
    prop_assert!(out.starts_with("00-"));
    prop_assert!(!out.bytes().any(|b| b.is_ascii_uppercase()));
    let again = parse_traceparent(&out);
    prop_assert!(again.is_ok(), "{} formatted to unparsable {}", s, out);
    let again = again.unwrap_or_default();
    prop_assert_eq!(again.trace_id(), cx.trace_id());
    prop_assert_eq!(again.span_id(), cx.span_id());
    prop_assert_eq!(again.trace_flags().to_u8(), cx.trace_flags().to_u8() & 0x03);
    prop_assert_eq!(format_traceparent(&again), out);
    Ok(())
}

/// A valid header of any version but `ff`, with an optional suffix for later versions.
fn valid_traceparent() -> impl Strategy<Value = String> {
    (0u8..=0xfe, 1u128.., 1u64.., any::<u8>(), "(-[ -~]{0,20})?").prop_map(
        |(version, trace_id, span_id, flags, suffix)| {
            let suffix = if version == 0 { "" } else { suffix.as_str() };
            format!("{version:02x}-{trace_id:032x}-{span_id:016x}-{flags:02x}{suffix}")
        },
    )
}

#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let byte = prop_oneof![
        Just(b'-'),
        Just(b'0'),
        Just(b'f'),
        Just(b'F'),
        Just(b'g'),
        Just(b' '),
        Just(b','),
        any::<u8>()
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

fn apply(s: &str, edits: &[Edit]) -> String {
    let mut bytes = s.as_bytes().to_vec();
    for e in edits {
        let len = bytes.len();
        match *e {
            Edit::Replace(i, b) if len > 0 => bytes[i % len] = b,
            Edit::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Edit::Delete(i) if len > 0 => {
                bytes.remove(i % len);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn traceparent_any_text(s in any_text()) {
        check_traceparent(&s)?;
    }

    #[test]
    fn traceparent_near_miss_alphabet(s in "[0-9a-fA-F\\- g]{52,58}") {
        check_traceparent(&s)?;
    }

    #[test]
    fn traceparent_valid_round_trips(s in valid_traceparent()) {
        let cx = parse_traceparent(&s);
        prop_assert!(cx.is_ok(), "{} refused", s);
        check_traceparent(&s)?;
    }

    #[test]
    fn traceparent_mutations(s in valid_traceparent(), edits in vec_of(edit(), 1..4)) {
        check_traceparent(&apply(&s, &edits))?;
    }

    #[test]
    fn traceparent_over_long(s in valid_traceparent(), tail in "[ -~]{0,3}", n in 0usize..2000) {
        check_traceparent(&format!("{s}{}", tail.repeat(n)))?;
    }
}

// ---- tracestate ---------------------------------------------------------------------------

fn check_trace_state(s: &str) -> Result<(), TestCaseError> {
    let Ok(ts) = parse_trace_state(s) else {
        return Ok(());
    };
    prop_assert!(ts.entries().len() <= 32);
    let out = format_trace_state(&ts);
    prop_assert_eq!(&out, &ts.header());
    let again = parse_trace_state(&out);
    prop_assert!(again.is_ok(), "{:?} formatted to unparsable {:?}", s, out);
    check_sent(&ts, &again.unwrap_or_default())
}

/// What was sent for `ts` (parsed back): at most 512 characters, whole entries of `ts` in
/// their order, and all of them when they fit (parsed entries are valid and unique).
fn check_sent(ts: &TraceState, sent: &TraceState) -> Result<(), TestCaseError> {
    let header = sent.header();
    prop_assert!(header.len() <= 512, "{} characters", header.len());
    let full: usize = ts
        .entries()
        .iter()
        .map(|(k, v)| k.len() + v.len() + 2)
        .sum();
    if full <= 513 {
        prop_assert_eq!(sent, ts);
    } else {
        let mut rest = ts.entries().iter();
        for entry in sent.entries() {
            prop_assert!(rest.any(|e| e == entry), "{:?} not kept in order", entry);
        }
    }
    Ok(())
}

fn simple_key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_*/-]{0,12}"
}

/// A Level 2 key: a letter or digit first, then key characters, `@` among them anywhere.
fn l2_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9][a-z0-9_*/@-]{0,20}",
        "[a-z0-9][a-z0-9_*/-]{0,8}@[a-z0-9@][a-z0-9_*/@-]{0,13}",
        "[a-z0-9][a-z0-9_*/@-]{250,255}",
    ]
}

fn ts_value() -> impl Strategy<Value = String> {
    "[\\x20-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,16}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]"
}

/// A list member: usually valid, sometimes broken, empty or surrounded by white space.
fn ts_member() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (prop_oneof![simple_key(), l2_key()], ts_value())
            .prop_map(|(k, v)| format!("{k}={v}")),
        1 => Just(String::new()),
        1 => "[ \\t]{1,3}",
        1 => "[ -~]{0,12}",
        1 => ("[A-Za-z0-9@_.]{0,6}", "[ -~]{0,6}").prop_map(|(k, v)| format!("{k}={v}")),
        1 => (simple_key(), any_text()).prop_map(|(k, v)| format!("{k}={v}")),
    ]
}

fn ts_header() -> impl Strategy<Value = String> {
    vec_of(
        (
            ts_member(),
            prop_oneof![Just(","), Just(" , "), Just(",\t"), Just(",,")],
        ),
        0..40,
    )
    .prop_map(|members| {
        members
            .iter()
            .flat_map(|(m, sep)| [m.as_str(), sep])
            .collect()
    })
}

/// The valid entries of `ts_header`, when they parse: a few valid members often collide.
fn small_valid_ts_header() -> impl Strategy<Value = String> {
    vec_of((simple_key(), ts_value()), 0..34).prop_map(|m| {
        m.iter()
            .map(|(k, v)| format!(" {k}={v} "))
            .collect::<Vec<_>>()
            .join(",")
    })
}

#[derive(Debug, Clone)]
enum TsOp {
    Insert(String, String),
    Remove(String),
}

fn ts_op() -> impl Strategy<Value = TsOp> {
    let key = prop_oneof![4 => "[a-e]", 2 => simple_key(), 1 => l2_key(), 1 => "[ -~]{0,4}"];
    prop_oneof![
        4 => (key.clone(), prop_oneof![4 => ts_value(), 1 => "[ -~]{0,4}"])
            .prop_map(|(k, v)| TsOp::Insert(k, v)),
        1 => key.prop_map(TsOp::Remove),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn trace_state_any_text(s in any_text()) {
        check_trace_state(&s)?;
    }

    #[test]
    fn trace_state_member_lists(s in ts_header()) {
        check_trace_state(&s)?;
    }

    #[test]
    fn trace_state_valid_lists(s in small_valid_ts_header()) {
        check_trace_state(&s)?;
    }

    #[test]
    fn trace_state_duplicates_keep_the_first(
        members in vec_of(("[a-c]|[a-c]@[a-c]", ts_value()), 1..=32),
    ) {
        let header = members.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
        let parsed = parse_trace_state(&header);
        prop_assert!(parsed.is_ok(), "{} refused", header);
        let mut want: Vec<(String, String)> = Vec::new();
        for (k, v) in members {
            if !want.iter().any(|(seen, _)| *seen == k) {
                want.push((k, v));
            }
        }
        let parsed = parsed.unwrap_or_default();
        prop_assert_eq!(parsed.entries(), &want[..]);
        check_trace_state(&header)?;
    }

    #[test]
    fn trace_state_many_members(n in 0usize..200, sep in "[ \\t]{0,2},[ \\t]{0,2}") {
        let header = (0..n).map(|i| format!("k{i}=v{i}")).collect::<Vec<_>>().join(&sep);
        let parsed = parse_trace_state(&header);
        prop_assert_eq!(parsed.is_ok(), n <= 32);
        check_trace_state(&header)?;
    }

}

proptest! {
    // Each case runs up to 60 mutations, each checked by a format and parse round trip.
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn trace_state_mutations_keep_the_rules(
        start in small_valid_ts_header(),
        ops in vec_of(ts_op(), 0..60),
    ) {
        let mut ts = parse_trace_state(&start).unwrap_or_default();
        for op in ops {
            match op {
                TsOp::Insert(k, v) => match ts.insert(&k, &v) {
                    Ok(next) => {
                        prop_assert_eq!(&next.entries()[0], &(k.clone(), v.clone()));
                        prop_assert_eq!(next.get(&k), Some(v.as_str()));
                        ts = next;
                    }
                    Err(e) => prop_assert!(matches!(e, InvalidTraceStateKey | InvalidTraceStateValue)),
                },
                TsOp::Remove(k) => {
                    ts = ts.remove(&k);
                    prop_assert!(ts.get(&k).is_none());
                }
            }
            prop_assert!(ts.entries().len() <= 32);
            check_trace_state(&ts.header())?;
            let sent = parse_trace_state(&format_trace_state(&ts));
            prop_assert!(sent.is_ok());
            check_sent(&ts, &sent.unwrap_or_default())?;
        }
    }
}

// ---- baggage ------------------------------------------------------------------------------

fn check_baggage(b: &Baggage) -> Result<(), TestCaseError> {
    prop_assert!(b.len() <= Baggage::MAX_MEMBERS);
    let header = b.header();
    prop_assert!(header.len() <= Baggage::MAX_BYTES, "{} bytes", header.len());
    prop_assert!(header.bytes().all(|c| c.is_ascii_graphic()), "{:?}", header);
    let again = Baggage::parse(&header);
    prop_assert_eq!(&again, b);
    prop_assert_eq!(again.header(), header);
    Ok(())
}

fn token() -> impl Strategy<Value = String> {
    "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,10}"
}

/// Raw `baggage-octet`s, `%` escapes and stray `%` included.
fn raw_bg_value() -> impl Strategy<Value = String> {
    "[\\x21\\x23-\\x2b\\x2d-\\x3a\\x3c-\\x5b\\x5d-\\x7e]{0,12}"
}

/// Properties in the wire form, or none.
fn bg_properties() -> impl Strategy<Value = String> {
    "([a-z]{1,3}(=[a-z%]{0,3})?(;[a-z]{1,3}){0,2})?"
}

fn bg_member() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (token(), "[ \\t]{0,2}", raw_bg_value(), "(;[ -~&&[^,]]{0,8}){0,2}")
            .prop_map(|(k, ows, v, p)| format!("{ows}{k}{ows}={ows}{v}{ows}{p}")),
        1 => "[ -~]{0,16}",
        1 => any_text(),
        1 => Just(String::new()),
        1 => (token(), "[ -~]{1,3}", 0usize..3000).prop_map(|(k, v, n)| format!("{k}={}", v.repeat(n))),
    ]
}

fn bg_header() -> impl Strategy<Value = String> {
    vec_of(bg_member(), 0..90).prop_map(|m| m.join(","))
}

proptest! {
    // Headers up to ~8 KiB and 90 members: fewer cases keep the debug-build run short.
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn baggage_any_text(s in any_text()) {
        check_baggage(&Baggage::parse(&s))?;
    }

    #[test]
    fn baggage_member_lists(s in bg_header()) {
        check_baggage(&Baggage::parse(&s))?;
    }

    #[test]
    fn baggage_values_survive_the_wire(
        entries in vec_of((token(), any::<String>(), bg_properties()), 0..70),
    ) {
        let mut b = Baggage::new();
        for (k, v, p) in &entries {
            let before = b.clone();
            match b.insert_with_properties(k, v, p) {
                Ok(()) => prop_assert_eq!(b.get(k), Some(v.as_str())),
                Err(e) => {
                    prop_assert_eq!(e, PropagationError::BaggageTooLarge);
                    prop_assert_eq!(&b, &before);
                }
            }
        }
        check_baggage(&b)?;
    }
}

// ---- propagators --------------------------------------------------------------------------

fn carrier() -> impl Strategy<Value = HashMap<String, String>> {
    let name = prop_oneof![
        Just("traceparent".to_owned()),
        Just("TraceParent".to_owned()),
        Just("tracestate".to_owned()),
        Just("TRACESTATE".to_owned()),
        Just("baggage".to_owned()),
        "[a-zA-Z-]{1,12}",
    ];
    let value = prop_oneof![valid_traceparent(), ts_header(), bg_header(), any_text()];
    hash_map(name, value, 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn propagators_never_panic_and_round_trip(c in carrier()) {
        if let Some(cx) = TraceContextPropagator.extract(&c) {
            prop_assert!(cx.is_valid() && cx.is_remote());
            let mut out = HashMap::new();
            TraceContextPropagator.inject(&cx, &mut out);
            let back = TraceContextPropagator.extract(&out);
            prop_assert!(back.is_some());
            let back = back.unwrap_or_default();
            prop_assert_eq!(back.trace_id(), cx.trace_id());
            prop_assert_eq!(back.span_id(), cx.span_id());
            prop_assert_eq!(back.trace_flags().to_u8(), cx.trace_flags().to_u8() & 0x03);
            check_sent(cx.trace_state(), back.trace_state())?;
        }
        if let Some(b) = BaggagePropagator.extract(&c) {
            prop_assert!(!b.is_empty());
            let mut out = HashMap::new();
            BaggagePropagator.inject(&b, &mut out);
            prop_assert_eq!(BaggagePropagator.extract(&out), Some(b));
        }
    }

    #[test]
    fn inject_then_extract_is_identity(
        trace_id in 1u128..,
        span_id in 1u64..,
        flags in 0u8..4,
        state in small_valid_ts_header(),
    ) {
        let state = parse_trace_state(&state).unwrap_or_default();
        let cx = SpanContext::new(
            TraceId::from_u128(trace_id),
            SpanId::from_u64(span_id),
            TraceFlags::new(flags),
            false,
            state.clone(),
        );
        let mut out = HashMap::new();
        TraceContextPropagator.inject(&cx, &mut out);
        let back = TraceContextPropagator.extract(&out);
        prop_assert!(back.is_some());
        let back = back.unwrap_or_default();
        let want = SpanContext::new(cx.trace_id(), cx.span_id(), cx.trace_flags(), true, back.trace_state().clone());
        prop_assert_eq!(&back, &want);
        check_sent(&state, back.trace_state())?;
    }
}

#[test]
fn inject_filters_unvalidated_trace_state() {
    let ts = TraceState::from_entries([
        ("ok".to_owned(), "1".to_owned()),
        ("BAD".to_owned(), "2".to_owned()),
        ("ok".to_owned(), "3".to_owned()),
    ]);
    let cx = SpanContext::new(
        TraceId::from_u128(1),
        SpanId::from_u64(1),
        TraceFlags::SAMPLED,
        false,
        ts,
    );
    let mut out = HashMap::new();
    TraceContextPropagator.inject(&cx, &mut out);
    assert_eq!(out["tracestate"], "ok=1");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Any entries at all, as `TraceState::from_entries` takes them unchecked: what inject
    /// sends and what `header()` returns is the same, parses, holds no control character and
    /// fits 512 characters.
    #[test]
    fn inject_and_header_agree_and_stay_within_limits(
        entries in vec_of((prop_oneof![l2_key(), any_text()], prop_oneof![ts_value(), any_text(), "[ -~]{100,256}"]), 0..40),
    ) {
        let ts = TraceState::from_entries(entries);
        let cx = SpanContext::new(TraceId::from_u128(1), SpanId::from_u64(1), TraceFlags::SAMPLED, false, ts.clone());
        let mut out = HashMap::new();
        TraceContextPropagator.inject(&cx, &mut out);
        let header = ts.header();
        prop_assert_eq!(out.get("tracestate").map(String::as_str), (!header.is_empty()).then_some(header.as_str()));
        prop_assert!(header.len() <= 512);
        prop_assert!(header.bytes().all(|b| (b' '..=b'~').contains(&b)), "{:?}", header);
        prop_assert!(parse_trace_state(&header).is_ok());
    }
}
