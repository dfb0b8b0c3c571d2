//! Values from user code that fight back: a `Debug` or `Display` that panics or fails never
//! reaches the traced call; the call goes on exactly as untraced, the span records a
//! placeholder, and the failure is counted.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]
#![allow(unreachable_pub)]

use std::fmt;
use traced::model::SpanLimits;
use traced::testing::{capture, capture_with, one};
use traced::{Value, traced};

/// A value whose `Debug` and `Display` panic.
struct Panics;
impl fmt::Debug for Panics {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("hostile Debug")
    }
}
impl fmt::Display for Panics {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("hostile Display")
    }
}

/// A value whose `Debug` and `Display` return `fmt::Error`.
struct Fails;
impl fmt::Debug for Fails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("half")?;
        Err(fmt::Error)
    }
}
impl fmt::Display for Fails {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Err(fmt::Error)
    }
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn failures() -> u64 {
    traced::pipeline::formatting_failures()
}

#[traced]
fn arg_panics(x: Panics, n: u64) -> u64 {
    let _ = x;
    n + 1
}

#[traced]
fn arg_fails(x: Fails, n: u64) -> u64 {
    let _ = x;
    n + 1
}

#[test]
fn a_panicking_debug_argument_records_a_placeholder_and_the_call_goes_on() {
    let before = failures();
    let (r, spans) = capture(|| arg_panics(Panics, 41));
    assert_eq!(r, 42);
    let span = one(&spans, "arg_panics");
    assert_eq!(span.attribute("x"), Some(&s("<Debug panicked>")));
    assert_eq!(span.attribute("n"), Some(&Value::I64(41)));
    assert!(failures() > before);
}

#[test]
fn a_failing_debug_argument_records_a_placeholder() {
    let (r, spans) = capture(|| arg_fails(Fails, 1));
    assert_eq!(r, 2);
    assert_eq!(
        one(&spans, "arg_fails").attribute("x"),
        Some(&s("<Debug failed>"))
    );
}

#[traced(ret)]
fn ret_panics() -> Panics {
    Panics
}

#[test]
fn a_panicking_debug_return_value_still_reaches_the_caller() {
    let (r, spans) = capture(ret_panics);
    let Panics = r;
    assert_eq!(
        one(&spans, "ret_panics").attribute("traced.return"),
        Some(&s("<Debug panicked>"))
    );
}

#[derive(Debug)]
struct E;
impl fmt::Display for E {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("hostile error Display")
    }
}

#[traced(on_ok(value = v))]
fn on_ok_panics(v: &Panics) -> Result<u64, E> {
    let _ = v;
    Ok(3)
}

#[traced]
fn err_display_panics() -> Result<u64, E> {
    Err(E)
}

#[traced(err(debug))]
fn err_debug_fails() -> Result<u64, Fails> {
    Err(Fails)
}

#[test]
fn on_ok_values_and_errors_that_fight_back_are_placeholders() {
    let (r, spans) = capture(|| on_ok_panics(&Panics));
    assert!(matches!(r, Ok(3)));
    assert_eq!(
        one(&spans, "on_ok_panics").attribute("value"),
        Some(&s("<Debug panicked>"))
    );

    let (r, spans) = capture(err_display_panics);
    assert!(matches!(r, Err(E)));
    let span = one(&spans, "err_display_panics");
    let e = span.event("exception").expect("an exception event");
    assert_eq!(
        e.attribute("exception.message"),
        Some(&s("<Display panicked>"))
    );

    let (r, spans) = capture(err_debug_fails);
    assert!(r.is_err());
    let e = one(&spans, "err_debug_fails").event("exception").unwrap();
    assert_eq!(e.attribute("exception.message"), Some(&s("<Debug failed>")));
}

#[test]
fn attributes_and_events_set_by_hand_format_safely() {
    let ((), spans) = capture(|| {
        let mut span = traced::span("by-hand").start();
        span.set_attribute("d", Value::debug(&Panics));
        span.set_attribute("s", Value::display(&Fails));
        span.add_event("e", vec![traced::KeyValue::new("x", Value::debug(&Fails))]);
        span.record_error(&std::io::Error::other(DisplayOnly));
        span.end();
    });
    let span = one(&spans, "by-hand");
    assert_eq!(span.attribute("d"), Some(&s("<Debug panicked>")));
    assert_eq!(span.attribute("s"), Some(&s("<Display failed>")));
    assert_eq!(
        span.event("e").unwrap().attribute("x"),
        Some(&s("<Debug failed>"))
    );
    let e = span.event("exception").unwrap();
    assert_eq!(
        e.attribute("exception.message"),
        Some(&s("<Display panicked>"))
    );
}

#[derive(Debug)]
struct DisplayOnly;
impl fmt::Display for DisplayOnly {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("hostile inner Display")
    }
}
impl std::error::Error for DisplayOnly {}

/// A `Debug` of `n` bytes, written 1 KiB at a time, that counts how much it was asked for.
struct Big(usize);
impl fmt::Debug for Big {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chunk = "é".repeat(512);
        let mut left = self.0;
        while left > 0 {
            f.write_str(&chunk)?;
            left = left.saturating_sub(chunk.len());
        }
        Ok(())
    }
}

#[traced]
fn big(v: Big) {
    let _ = v;
}

#[test]
fn a_huge_debug_stops_at_the_limit_cut_on_a_char_boundary_and_marked() {
    let limits = SpanLimits {
        max_attribute_value_length: Some(1000),
        ..SpanLimits::default()
    };
    let ((), spans) = capture_with(|b| b.with_limits(limits), || big(Big(50 << 20)));
    let v = one(&spans, "big")
        .attribute("v")
        .and_then(Value::as_str)
        .unwrap();
    assert!(v.len() <= 1000, "{}", v.len());
    assert!(v.ends_with('…'), "marked as cut");
    assert!(v.starts_with("éé"));
}

#[test]
fn debug_values_have_a_default_cap() {
    let ((), spans) = capture(|| big(Big(1 << 20)));
    let v = one(&spans, "big")
        .attribute("v")
        .and_then(Value::as_str)
        .unwrap();
    let cap = SpanLimits::default().max_debug_value_length.unwrap() as usize;
    assert!(v.len() <= cap && v.len() > cap - 8, "{}", v.len());
    assert!(v.ends_with('…'));
}

#[test]
fn an_uninstrumented_call_is_the_same() {
    // Without a pipeline nothing is formatted at all.
    assert_eq!(arg_panics(Panics, 1), 2);
}

/// The child side of the test below: a traced call with a panicking `Debug` argument.
#[test]
fn child_process() {
    if std::env::var_os("TRACED_HOSTILE_CHILD").is_none() {
        return;
    }
    let ((), _) = capture(|| {
        assert_eq!(arg_panics(Panics, 1), 2);
    });
    println!("call returned");
}

#[test]
fn a_caught_formatter_panic_prints_nothing() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process", "--nocapture"])
        .env("TRACED_HOSTILE_CHILD", "1")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stdout.contains("call returned"), "{stdout}");
    assert!(!stderr.contains("hostile Debug"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn panics_past_zero(n: u64) -> u64 {
    assert!(n == 0, "hostile attrs");
    n
}

#[traced(attrs(first = n + 1, second = panics_past_zero(n), third = "never"))]
fn attrs_panics(n: u64, text: &str) -> usize {
    text.len() + usize::from(n == 0)
}

#[test]
fn a_panicking_attrs_expression_keeps_the_attributes_before_it() {
    let (r, spans) = capture(|| std::panic::catch_unwind(|| attrs_panics(1, "short text")));
    assert!(r.is_err());
    let span = one(&spans, "attrs_panics");
    assert_eq!(span.attribute("n"), Some(&Value::I64(1)));
    assert_eq!(span.attribute("text"), Some(&s("short text")));
    assert_eq!(span.attribute("first"), Some(&Value::I64(2)));
    assert_eq!(span.attribute("second"), None);
    assert_eq!(span.attribute("third"), None);
    assert_eq!(span.attributes.len(), 3);
}
