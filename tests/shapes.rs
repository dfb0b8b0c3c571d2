//! Shapes users meet on day one (issue 13): parameters under `cfg`, functions written by
//! `macro_rules!`, error exits hidden in macros, async spans that start at the call, lone
//! methods that know their type. Each runs under the in-memory pipeline.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]
#![allow(unreachable_pub)]

use traced::testing::{capture, one};
use traced::{Value, traced};

// ---------------------------------------------------------------- parameters under cfg

#[traced]
// `all()` and `any()` are the conditions that are always true and always false.
#[allow(clippy::non_minimal_cfg)]
fn cfg_params(
    #[cfg(any())] absent: u32,
    #[cfg(all())] present: u32,
    #[cfg_attr(any(), cfg(any()))] also_present: u32,
    #[cfg_attr(all(), cfg(any()))] also_absent: u32,
    #[allow(unused_mut)] mut kept: u32,
) -> u32 {
    present + also_present + kept
}

#[test]
fn cfg_d_out_parameters_are_neither_rebound_nor_recorded() {
    let (r, spans) = capture(|| cfg_params(1, 2, 3));
    assert_eq!(r, 6);
    let span = one(&spans, "cfg_params");
    assert_eq!(span.attribute("present"), Some(&Value::I64(1)));
    assert_eq!(span.attribute("also_present"), Some(&Value::I64(2)));
    assert_eq!(span.attribute("kept"), Some(&Value::I64(3)));
    assert_eq!(span.attribute("absent"), None);
    assert_eq!(span.attribute("also_absent"), None);
}

// ---------------------------------------------------------------- functions from macro_rules!

/// Parameter names, the span name and a skipped parameter all come from the macro's caller.
macro_rules! handler {
    ($name:ident, $arg:ident, $span:literal, $secret:ident) => {
        #[traced(name = $span, skip($secret))]
        fn $name($arg: u32, mut $secret: u32) -> u32 {
            $secret += 1;
            $arg * 2 + $secret
        }
    };
}

handler!(double, amount, "double.it", pin);

/// A method whose receiver and parameter come from the macro.
macro_rules! method {
    ($ty:ident, $name:ident, $arg:ident) => {
        impl $ty {
            #[traced(attrs(seen = $arg + 1))]
            fn $name(&self, $arg: u32) -> u32 {
                self.0 + $arg
            }
        }
    };
}

struct Base(u32);
method!(Base, add, more);

#[test]
fn macro_rules_functions_keep_the_callers_names() {
    let (r, spans) = capture(|| double(5, 1));
    assert_eq!(r, 12);
    let span = one(&spans, "double.it");
    assert_eq!(span.attribute("amount"), Some(&Value::I64(5)));
    assert_eq!(span.attribute("pin"), None);
    let (r, spans) = capture(|| Base(1).add(2));
    assert_eq!(r, 3);
    let span = one(&spans, "Base::add");
    assert_eq!(span.attribute("more"), Some(&Value::I64(2)));
    assert_eq!(span.attribute("seen"), Some(&Value::I64(3)));
}

// ---------------------------------------------------------------- exits hidden in macros

use traced::Status;

#[traced]
fn bails(fail: bool) -> anyhow::Result<u8> {
    if fail {
        anyhow::bail!("bailed at {}", 1);
    }
    Ok(1)
}

#[traced]
fn ensures(n: u8) -> anyhow::Result<u8> {
    anyhow::ensure!(n < 10, "too big: {n}");
    Ok(n)
}

#[traced]
fn eyre_bails(fail: bool) -> eyre::Result<u8> {
    if fail {
        eyre::bail!("eyre bailed");
    }
    Ok(2)
}

/// A macro of the user's own that returns.
macro_rules! reject {
    ($why:expr) => {
        return Err($why.to_owned())
    };
}

#[traced]
fn rejects(n: u8) -> Result<u8, String> {
    if n == 0 {
        reject!("zero");
    }
    Ok(n)
}

#[traced]
fn parses_in_vec(a: &str) -> Result<Vec<u32>, std::num::ParseIntError> {
    Ok(vec![a.parse()?])
}

#[traced]
fn formats(x: Result<u8, String>) -> Result<String, String> {
    Ok(format!("{}", x?))
}

#[traced]
fn prints(y: Option<u8>) -> Option<()> {
    println!("{}", y?);
    Some(())
}

#[traced]
#[track_caller]
fn caller_then_bails(fail: bool) -> anyhow::Result<u32> {
    if fail {
        anyhow::bail!("hidden");
    }
    Ok(std::panic::Location::caller().line())
}

fn error_of(spans: &[traced::SpanData], name: &str) -> Status {
    one(spans, name).status.clone()
}

#[test]
fn exits_inside_macros_reach_the_outcome_check() {
    let (r, spans) = capture(|| bails(true));
    assert!(r.is_err());
    assert_eq!(error_of(&spans, "bails"), Status::error("bailed at 1"));
    let (r, spans) = capture(|| bails(false));
    assert_eq!(r.unwrap(), 1);
    assert_eq!(error_of(&spans, "bails"), Status::Unset);

    let (_, spans) = capture(|| ensures(11));
    assert_eq!(error_of(&spans, "ensures"), Status::error("too big: 11"));
    let (_, spans) = capture(|| eyre_bails(true));
    assert_eq!(error_of(&spans, "eyre_bails"), Status::error("eyre bailed"));
    let (_, spans) = capture(|| rejects(0));
    assert_eq!(error_of(&spans, "rejects"), Status::error("zero"));

    let (_, spans) = capture(|| parses_in_vec("x"));
    assert_eq!(
        error_of(&spans, "parses_in_vec"),
        Status::error("invalid digit found in string")
    );
    let (r, spans) = capture(|| parses_in_vec("7"));
    assert_eq!(r.unwrap(), vec![7]);
    assert_eq!(error_of(&spans, "parses_in_vec"), Status::Unset);
    let (_, spans) = capture(|| formats(Err("bad".to_owned())));
    assert_eq!(error_of(&spans, "formats"), Status::error("bad"));
    // `None` is not an error, but the `?` in `println!` is seen: the value returned is read.
    let (r, _) = capture(|| prints(None));
    assert_eq!(r, None);
}

#[test]
fn track_caller_with_a_hidden_exit_keeps_the_caller_and_marks_the_exit() {
    let expected = line!() + 1;
    let (line, spans) = capture(|| caller_then_bails(false));
    assert_eq!(line.unwrap(), expected);
    assert_eq!(error_of(&spans, "caller_then_bails"), Status::Unset);
    let (r, spans) = capture(|| caller_then_bails(true));
    assert!(r.is_err());
    assert_eq!(
        error_of(&spans, "caller_then_bails"),
        Status::error(traced::__private::UNSEEN_EXIT)
    );
}

// ---------------------------------------------------------------- async spans start at the call

/// Pending once, so the executor polls the future again.
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

#[traced]
async fn handle_request(n: u64) -> u64 {
    yield_now().await;
    assert!(traced::current().span_context().is_valid());
    child_step(n).await
}

#[traced]
async fn child_step(n: u64) -> u64 {
    n + 1
}

#[test]
fn a_future_sent_to_plain_tokio_spawn_is_a_child_of_the_span_that_called_it() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (r, spans) = capture(|| {
        let mut a = traced::span("A").start();
        let future = a.in_scope(|| handle_request(1));
        a.end();
        // Polled later, on a worker thread, with no span active there.
        std::thread::sleep(std::time::Duration::from_millis(20));
        runtime.block_on(async { tokio::spawn(future).await.unwrap() })
    });
    assert_eq!(r, 2);
    let a = one(&spans, "A");
    let handle = one(&spans, "handle_request");
    assert_eq!(handle.parent_span_id, a.span_context.span_id());
    assert_eq!(handle.span_context.trace_id(), a.span_context.trace_id());
    // Started at the call, inside A: before A ended, 20 ms before the first poll.
    assert!(handle.start_time_unix_nano <= a.end_time_unix_nano);
    assert!(handle.end_time_unix_nano >= a.end_time_unix_nano + 20_000_000);
    let child = one(&spans, "child_step");
    assert_eq!(child.parent_span_id, handle.span_context.span_id());
}

#[test]
fn a_future_never_polled_ends_its_span_marked_cancelled() {
    let ((), spans) = capture(|| {
        let mut a = traced::span("A").start();
        let future = a.in_scope(|| handle_request(1));
        drop(future);
        a.end();
    });
    let handle = one(&spans, "handle_request");
    assert_eq!(
        handle.parent_span_id,
        one(&spans, "A").span_context.span_id()
    );
    assert_eq!(
        handle.attribute("traced.cancelled"),
        Some(&Value::Bool(true))
    );
    assert_eq!(handle.attribute("n"), Some(&Value::I64(1)));
}

struct Cart {
    items: Vec<u64>,
}

trait Pricing {
    async fn price(&self, n: u64) -> u64;
}

impl Pricing for Cart {
    #[traced]
    async fn price(&self, n: u64) -> u64 {
        yield_now().await;
        self.items.iter().sum::<u64>() * n
    }
}

#[traced]
impl Cart {
    async fn count(&self) -> usize {
        self.items.len()
    }
}

#[test]
fn methods_and_trait_impl_async_spans_start_at_the_call() {
    let cart = Cart { items: vec![1, 2] };
    let ((), spans) = capture(|| {
        let mut a = traced::span("A").start();
        let (price, count) = a.in_scope(|| (cart.price(2), cart.count()));
        a.end();
        assert_eq!(futures::executor::block_on(price), 6);
        assert_eq!(futures::executor::block_on(count), 2);
    });
    let a = one(&spans, "A").span_context.span_id();
    assert_eq!(one(&spans, "Cart::price").parent_span_id, a);
    assert_eq!(one(&spans, "Cart::count").parent_span_id, a);
}

// ---------------------------------------------------------------- a lone method knows its type

impl Cart {
    #[traced]
    fn total(&self) -> u64 {
        self.items.iter().sum()
    }

    #[traced(name = "cart.empty")]
    fn empty() -> Self {
        Cart { items: Vec::new() }
    }
}

struct Wrapper<T>(T);

impl<T: Clone> Wrapper<T> {
    #[traced(skip_all)]
    fn get(&self) -> T {
        self.0.clone()
    }
}

trait Named {
    fn label(&self) -> &'static str;
}

impl Named for Wrapper<Vec<u8>> {
    #[traced]
    fn label(&self) -> &'static str {
        "wrapper"
    }
}

#[test]
fn a_lone_method_is_named_after_its_type() {
    let ((), spans) = capture(|| {
        let cart = Cart::empty();
        let _ = cart.total();
        let _ = Wrapper(1u8).get();
        let _ = Wrapper(vec![1u8]).label();
    });
    let total = one(&spans, "Cart::total");
    let code = total.code.as_ref().unwrap();
    assert_eq!(code.function, "Cart::total");
    assert!(code.module_path.ends_with("shapes"));
    assert_eq!(
        one(&spans, "cart.empty").code.as_ref().unwrap().function,
        "Cart::empty"
    );
    assert_eq!(
        one(&spans, "Wrapper::get").code.as_ref().unwrap().function,
        "Wrapper::get"
    );
    one(&spans, "Wrapper::label");
}
