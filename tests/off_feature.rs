//! The `off` feature compiles instrumentation out: `#[traced]` emits each function unchanged,
//! so with a pipeline installed it makes no span, and every function still returns what it
//! returns, `?`, `Err`, panics and `async fn` included. Only built with the feature:
//! `cargo test -p traced --features off --test off_feature` (`.ci/run` runs it).
#![cfg(feature = "off")]

use traced::testing::capture;
use traced::traced;

#[derive(Debug, PartialEq)]
struct Declined;

#[traced(kind = "client", name = "charge-payment", skip(card_number))]
fn charge(amount: f64, card_number: &str) -> Result<f64, Declined> {
    if amount > 100.0 {
        return Err(Declined);
    }
    let _ = card_number;
    Ok(amount * 1.1)
}

#[traced(attrs(order.id = id))]
fn order(id: u64) -> Result<f64, Declined> {
    let total = charge(42.0, "4111")?;
    let refused = charge(250.0, "4111");
    assert_eq!(refused, Err(Declined));
    Ok(total + id as f64)
}

#[traced]
async fn later(n: u32) -> u32 {
    std::future::ready(n + 1).await
}

#[traced]
fn explode() {
    panic!("boom");
}

#[test]
fn traced_functions_run_unchanged_and_make_no_span() {
    let (result, spans) = capture(|| {
        let sum = order(1).unwrap();
        let n = futures::executor::block_on(later(1));
        let panicked = std::panic::catch_unwind(explode).is_err();
        // A span started by hand still records: only the attribute is compiled out.
        traced::span("by-hand").start().end();
        (sum, n, panicked)
    });
    assert!((result.0 - 47.2).abs() < 1e-9);
    assert_eq!((result.1, result.2), (2, true));
    let names: Vec<&str> = spans.iter().map(|s| &*s.name).collect();
    assert_eq!(names, ["by-hand"]);
}
