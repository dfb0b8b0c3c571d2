//! `#[traced]` end to end: traced code runs under an in-memory pipeline and the tests assert
//! on the exported spans.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]
#![allow(unreachable_pub)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use traced::testing::{capture, one};
use traced::{SpanData, SpanKind, Status, Value, traced};

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn exception(span: &SpanData) -> (String, String) {
    let e = span.event("exception").expect("an exception event");
    let get = |k: &str| e.attribute(k).and_then(Value::as_str).unwrap().to_owned();
    (get("exception.type"), get("exception.message"))
}

// ---------------------------------------------------------------- names, kinds, parents

#[traced]
fn plain() -> u32 {
    7
}

#[traced(name = "renamed", kind = "client")]
fn named() {}

#[traced(kind = "server")]
fn outer_sync() -> u32 {
    inner_sync() + inner_sync()
}

#[traced(kind = "producer")]
fn inner_sync() -> u32 {
    1
}

#[test]
fn default_name_is_the_function_and_kind_internal() {
    let (r, spans) = capture(plain);
    assert_eq!(r, 7);
    let span = one(&spans, "plain");
    assert_eq!(span.kind, SpanKind::Internal);
    assert_eq!(span.status, Status::Unset);
    assert!(span.is_root());
    assert!(span.span_context.is_valid() && span.span_context.is_sampled());
    assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
    let code = span.code.unwrap();
    assert_eq!(code.function, "plain");
    assert!(code.module_path.ends_with("spans"));
    assert!(code.file.ends_with("spans.rs"));
    assert!(code.line > 0);
}

#[test]
fn name_and_kind_options() {
    let ((), spans) = capture(named);
    assert_eq!(one(&spans, "renamed").kind, SpanKind::Client);
}

#[traced]
fn renamed_inside() {
    traced::current().update_name(format!("renamed inside, at run time, {}", 42));
}

#[traced]
fn renamed_inside_twice() {
    traced::current().update_name(format!("a built name, {}", 1));
    traced::current().update_name("a static name set inside");
}

#[test]
fn names_set_at_run_time_reach_the_exporter_whole() {
    // Short and long names built at run time (a short one is kept inline, a long one on the
    // heap), renames to a static and to a built name, and renames from inside the function: a
    // static name after a built one replaces it.
    let long = format!("GET /orders/{{id}}/lines/{{line}}/{}", "x".repeat(40));
    let ((), spans) = capture(|| {
        traced::span(format!("GET /users/{}", 7)).start().end();
        traced::span(long.clone()).start().end();
        let mut span = traced::span(format!("first {}", 1)).start();
        span.update_name("a static name");
        span.end();
        let mut span = traced::span("static at first").start();
        span.update_name(format!("built later, longer than twenty-four bytes {}", 2));
        span.end();
        renamed_inside();
        renamed_inside_twice();
    });
    let names: Vec<&str> = spans.iter().map(|s| &*s.name).collect();
    for name in [
        "GET /users/7",
        long.as_str(),
        "a static name",
        "built later, longer than twenty-four bytes 2",
        "renamed inside, at run time, 42",
        "a static name set inside",
    ] {
        assert!(names.contains(&name), "{name:?} not in {names:?}");
    }
    assert_eq!(spans.len(), 6, "{names:?}");
}

#[test]
fn nested_spans_share_the_trace_and_point_at_their_parent() {
    let (r, spans) = capture(outer_sync);
    assert_eq!(r, 2);
    let outer = one(&spans, "outer_sync");
    assert_eq!(outer.kind, SpanKind::Server);
    let inner: Vec<_> = spans.iter().filter(|s| s.name == "inner_sync").collect();
    assert_eq!(inner.len(), 2);
    for i in &inner {
        assert_eq!(i.kind, SpanKind::Producer);
        assert_eq!(i.span_context.trace_id(), outer.span_context.trace_id());
        assert_eq!(i.parent_span_id, outer.span_context.span_id());
        assert!(i.start_time_unix_nano >= outer.start_time_unix_nano);
        assert!(i.end_time_unix_nano <= outer.end_time_unix_nano);
    }
    assert_ne!(
        inner[0].span_context.span_id(),
        inner[1].span_context.span_id()
    );
}

#[test]
fn separate_calls_are_separate_traces() {
    let ((), spans) = capture(|| {
        plain();
        plain();
    });
    assert_eq!(spans.len(), 2);
    assert_ne!(
        spans[0].span_context.trace_id(),
        spans[1].span_context.trace_id()
    );
}

#[traced]
async fn inner_async() -> u32 {
    1
}

#[test]
fn the_sampler_still_decides_for_children_of_sampled_spans() {
    // Children of a sampled local span skip the sampler only when it would sample them all;
    // a sampler that drops them is still asked, for sync and async fns alike.
    let drop_local_children =
        traced::Sampler::ParentBased(Box::new(traced::pipeline::ParentBased {
            local_parent_sampled: traced::Sampler::AlwaysOff,
            ..match traced::Sampler::parent_based(traced::Sampler::AlwaysOn) {
                traced::Sampler::ParentBased(pb) => *pb,
                _ => unreachable!(),
            }
        }));
    let (n, spans) = traced::testing::capture_with(
        |p| p.with_sampler(drop_local_children),
        || {
            let mut root = traced::span("root").start();
            let n = root.in_scope(|| outer_sync() + futures::executor::block_on(inner_async()));
            root.end();
            n
        },
    );
    assert_eq!(n, 3);
    let names: Vec<&str> = spans.iter().map(|s| &*s.name).collect();
    assert_eq!(names, ["root"]);
}

// ---------------------------------------------------------------- arguments

#[derive(Debug)]
struct Point {
    x: i32,
    y: i32,
}

#[traced]
#[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
fn typed_args(
    count: u64,
    delta: i32,
    ratio: f64,
    flag: bool,
    label: &str,
    owned: String,
    maybe: Option<u64>,
    nothing: Option<u64>,
    point: Point,
    huge: u64,
) -> i32 {
    let _ = (
        count, delta, ratio, flag, label, owned, maybe, nothing, huge,
    );
    point.x + point.y
}

#[test]
fn arguments_are_recorded_with_their_types() {
    let (_, spans) = capture(|| {
        typed_args(
            3,
            -4,
            0.5,
            true,
            "abc",
            "def".into(),
            Some(9),
            None,
            Point { x: 1, y: 2 },
            u64::MAX,
        )
    });
    let span = one(&spans, "typed_args");
    assert_eq!(span.attribute("count"), Some(&Value::I64(3)));
    assert_eq!(span.attribute("delta"), Some(&Value::I64(-4)));
    assert_eq!(span.attribute("ratio"), Some(&Value::F64(0.5)));
    assert_eq!(span.attribute("flag"), Some(&Value::Bool(true)));
    assert_eq!(span.attribute("label"), Some(&s("abc")));
    assert_eq!(span.attribute("owned"), Some(&s("def")));
    assert_eq!(span.attribute("maybe"), Some(&Value::I64(9)));
    assert_eq!(span.attribute("nothing"), None, "None records no attribute");
    assert_eq!(span.attribute("point"), Some(&s("Point { x: 1, y: 2 }")));
    assert_eq!(span.attribute("huge"), Some(&s("18446744073709551615")));
}

/// A type alias and a user type named like a primitive: decided by traits, not by name.
mod names {
    use std::sync::Arc;
    pub type Count = u64;
    #[allow(non_camel_case_types)]
    #[derive(Debug)]
    pub struct u8(#[allow(dead_code)] pub &'static str);

    #[traced::traced]
    pub fn by_traits_not_names(n: Count, shadow: u8, boxed: Box<str>, shared: Arc<str>) {
        let _ = (n, shadow, boxed, shared);
    }
}
use names::{by_traits_not_names, u8 as ShadowU8};

#[test]
fn arguments_are_classified_by_traits() {
    let ((), spans) = capture(|| by_traits_not_names(5, ShadowU8("x"), "b".into(), "c".into()));
    let span = one(&spans, "by_traits_not_names");
    assert_eq!(span.attribute("n"), Some(&Value::I64(5)));
    assert_eq!(span.attribute("shadow"), Some(&s("u8(\"x\")")));
    assert_eq!(span.attribute("boxed"), Some(&s("b")));
    assert_eq!(span.attribute("shared"), Some(&s("c")));
}

#[traced(skip(password, token))]
fn login(user: &str, password: &str, token: u64) -> bool {
    !user.is_empty() && !password.is_empty() && token > 0
}

#[traced(skip_all)]
fn secret_all(a: u64, b: &str) -> usize {
    a as usize + b.len()
}

#[test]
fn skip_and_skip_all() {
    let ((), spans) = capture(|| {
        login("ann", "hunter2", 7);
        secret_all(1, "x");
    });
    let l = one(&spans, "login");
    assert_eq!(l.attribute("user"), Some(&s("ann")));
    assert_eq!(l.attribute("password"), None);
    assert_eq!(l.attribute("token"), None);
    let a = one(&spans, "secret_all");
    assert!(a.attributes.is_empty(), "{:?}", a.attributes);
}

struct Order {
    id: u64,
    total: f64,
}

#[traced(skip(order), attrs(order.id = order.id, "payment.provider" = "stripe", order.double = order.total * 2.0))]
fn with_attrs(order: &Order) -> u64 {
    order.id
}

#[test]
fn attrs_option_records_expressions_over_arguments() {
    let (_, spans) = capture(|| {
        with_attrs(&Order {
            id: 42,
            total: 1.25,
        })
    });
    let span = one(&spans, "with_attrs");
    assert_eq!(span.attribute("order.id"), Some(&Value::I64(42)));
    assert_eq!(span.attribute("payment.provider"), Some(&s("stripe")));
    assert_eq!(span.attribute("order.double"), Some(&Value::F64(2.5)));
    assert_eq!(span.attribute("order"), None);
}

// ---------------------------------------------------------------- errors

#[derive(Debug)]
struct DeclinedError;
impl std::fmt::Display for DeclinedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}
impl std::error::Error for DeclinedError {}

#[traced]
fn charge(amount: u32) -> Result<u32, DeclinedError> {
    if amount > 100 {
        return Err(DeclinedError);
    }
    Ok(amount)
}

#[traced]
fn checkout(amount: u32) -> Result<u32, Box<dyn std::error::Error>> {
    let charged = charge(amount)?;
    Ok(charged + 1)
}

#[traced]
fn read_config(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

#[traced]
fn anyhow_fn(fail: bool) -> anyhow::Result<u8> {
    if fail {
        return Err(anyhow::anyhow!("anyhow failure"));
    }
    Ok(1)
}

#[traced]
fn anyhow_question(fail: bool) -> anyhow::Result<u8> {
    let v: u8 = if fail { "x".parse()? } else { 1 };
    Ok(v)
}

#[derive(Debug)]
struct DebugOnly(#[allow(dead_code)] u8);
#[traced]
fn debug_err() -> Result<(), DebugOnly> {
    Err(DebugOnly(3))
}

#[test]
fn ok_leaves_status_unset_and_err_sets_error_with_an_exception_event() {
    let (r, spans) = capture(|| charge(5));
    assert_eq!(r.unwrap(), 5);
    let span = one(&spans, "charge");
    assert_eq!(span.status, Status::Unset);
    assert!(span.events.is_empty());

    let (r, spans) = capture(|| charge(500));
    assert!(r.is_err());
    let span = one(&spans, "charge");
    assert_eq!(span.status, Status::error("card declined"));
    let (ty, msg) = exception(span);
    assert!(ty.ends_with("DeclinedError"), "{ty}");
    assert_eq!(msg, "card declined");
}

#[test]
fn question_mark_paths_are_errors_on_every_span() {
    let (r, spans) = capture(|| checkout(500));
    assert_eq!(r.unwrap_err().to_string(), "card declined");
    assert_eq!(one(&spans, "charge").status, Status::error("card declined"));
    let outer = one(&spans, "checkout");
    assert_eq!(outer.status, Status::error("card declined"));
    assert!(exception(outer).0.contains("Box<dyn core::error::Error>"));
    let (r, spans) = capture(|| checkout(5));
    assert_eq!(r.unwrap(), 6);
    assert_eq!(one(&spans, "checkout").status, Status::Unset);
}

#[test]
fn result_aliases_are_results() {
    let (r, spans) = capture(|| read_config("/definitely/not/here"));
    assert!(r.is_err());
    let span = one(&spans, "read_config");
    assert!(span.status.is_error());
    assert!(
        exception(span).0.ends_with("io::error::Error"),
        "{:?}",
        exception(span)
    );

    let (_, spans) = capture(|| anyhow_fn(true));
    assert_eq!(
        one(&spans, "anyhow_fn").status,
        Status::error("anyhow failure")
    );
    let (_, spans) = capture(|| anyhow_question(true));
    assert_eq!(
        one(&spans, "anyhow_question").status,
        Status::error("invalid digit found in string")
    );
    let (_, spans) = capture(|| anyhow_question(false));
    assert_eq!(one(&spans, "anyhow_question").status, Status::Unset);
}

#[test]
fn errors_without_display_use_debug() {
    let (_, spans) = capture(debug_err);
    assert_eq!(
        one(&spans, "debug_err").status,
        Status::error("DebugOnly(3)")
    );
}

mod user_result {
    /// Not `core::result::Result`, only named like it.
    #[derive(Debug)]
    #[allow(dead_code)]
    pub enum Result {
        Ok,
        Err,
    }

    #[traced::traced]
    pub fn looks_like_err() -> Result {
        Result::Err
    }
}

#[test]
fn a_type_merely_named_result_is_not_a_result() {
    let (r, spans) = capture(user_result::looks_like_err);
    assert!(matches!(r, user_result::Result::Err));
    assert_eq!(one(&spans, "looks_like_err").status, Status::Unset);
}

#[traced]
fn early_returns(n: u32) -> Option<u32> {
    if n == 0 {
        return None;
    }
    let half = n.checked_rem(2)?;
    for i in 0..n {
        if i == 3 {
            return Some(i * 100);
        }
    }
    Some(half)
}

#[test]
fn early_returns_keep_their_values() {
    let (r, spans) = capture(|| (early_returns(0), early_returns(2), early_returns(10)));
    assert_eq!(r, (None, Some(0), Some(300)));
    assert_eq!(spans.len(), 3);
    assert!(spans.iter().all(|s| s.status == Status::Unset));
}

// ---------------------------------------------------------------- panics

#[traced]
fn explode(n: u32) -> u32 {
    assert!(n <= 1, "exploded at {n}");
    n
}

#[traced]
fn explode_outer() -> u32 {
    explode(5)
}

#[test]
fn a_panic_ends_every_span_with_an_error_and_keeps_unwinding() {
    let (r, spans) = capture(|| std::panic::catch_unwind(explode_outer));
    let payload = r.unwrap_err();
    assert_eq!(payload.downcast_ref::<String>().unwrap(), "exploded at 5");
    for name in ["explode", "explode_outer"] {
        let span = one(&spans, name);
        assert_eq!(span.status, Status::error("exploded at 5"));
        assert_eq!(
            exception(span),
            ("panic".to_owned(), "exploded at 5".to_owned())
        );
    }
    let inner = one(&spans, "explode");
    assert_eq!(
        inner.parent_span_id,
        one(&spans, "explode_outer").span_context.span_id()
    );
}

// ---------------------------------------------------------------- track_caller

#[traced]
#[track_caller]
fn where_called() -> u32 {
    std::panic::Location::caller().line()
}

#[test]
fn track_caller_still_reports_the_caller() {
    let expected = line!() + 1;
    let (line, _) = capture(|| where_called());
    assert_eq!(line, expected);
}

// ---------------------------------------------------------------- async

#[traced(kind = "server")]
async fn handle(n: u64) -> Result<u64, DeclinedError> {
    let a = fetch(n).await;
    yield_now().await;
    let b = fetch(n + 1).await;
    if a + b > 100 {
        return Err(DeclinedError);
    }
    Ok(a + b)
}

#[traced(kind = "client")]
async fn fetch(n: u64) -> u64 {
    yield_now().await;
    assert!(traced::current().span_context().is_valid());
    n * 2
}

/// Pending once, so the executor polls the future again.
async fn yield_now() {
    struct Yield(bool);
    impl Future for Yield {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                self.0 = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
    Yield(false).await;
}

#[test]
fn async_spans_are_parents_across_awaits() {
    let (r, spans) = capture(|| futures::executor::block_on(handle(3)));
    assert_eq!(r.unwrap(), 14);
    let h = one(&spans, "handle");
    assert_eq!(h.kind, SpanKind::Server);
    assert_eq!(h.attribute("n"), Some(&Value::I64(3)));
    let fetches: Vec<_> = spans.iter().filter(|s| s.name == "fetch").collect();
    assert_eq!(fetches.len(), 2);
    for f in fetches {
        assert_eq!(f.parent_span_id, h.span_context.span_id());
        assert_eq!(f.span_context.trace_id(), h.span_context.trace_id());
    }
    let (r, spans) = capture(|| futures::executor::block_on(handle(50)));
    assert!(r.is_err());
    assert_eq!(one(&spans, "handle").status, Status::error("card declined"));
}

#[test]
fn an_async_span_is_not_active_between_polls() {
    let ((), spans) = capture(|| {
        let mut fut = Box::pin(fetch(1));
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert!(!traced::current().span_context().is_valid());
        assert!(fut.as_mut().poll(&mut cx).is_ready());
    });
    assert_eq!(one(&spans, "fetch").attribute("traced.cancelled"), None);
}

#[test]
fn a_dropped_future_ends_its_span_marked_cancelled() {
    let ((), spans) = capture(|| {
        let mut fut = Box::pin(handle(1));
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        drop(fut);
    });
    let h = one(&spans, "handle");
    assert_eq!(h.attribute("traced.cancelled"), Some(&Value::Bool(true)));
    assert_eq!(h.status, Status::Unset);
    let f = one(&spans, "fetch");
    assert_eq!(f.attribute("traced.cancelled"), Some(&Value::Bool(true)));
}

#[traced]
async fn async_panics() -> u32 {
    yield_now().await;
    panic!("async boom");
}

#[test]
fn a_panic_inside_a_future_is_an_error() {
    let (r, spans) =
        capture(|| std::panic::catch_unwind(|| futures::executor::block_on(async_panics())));
    assert!(r.is_err());
    let span = one(&spans, "async_panics");
    assert_eq!(span.status, Status::error("async boom"));
    assert_eq!(span.attribute("traced.cancelled"), None);
}

#[traced]
fn returns_impl_future(n: u64) -> impl Future<Output = u64> {
    async move { fetch(n).await + 1 }
}

#[traced]
fn returns_boxed_future(
    n: u64,
) -> Pin<Box<dyn Future<Output = Result<u64, DeclinedError>> + Send>> {
    Box::pin(async move {
        if n > 10 {
            return Err(DeclinedError);
        }
        Ok(fetch(n).await)
    })
}

#[test]
fn async_block_tails_are_instrumented_from_the_call() {
    let (r, spans) = capture(|| futures::executor::block_on(returns_impl_future(2)));
    assert_eq!(r, 5);
    let outer = one(&spans, "returns_impl_future");
    assert_eq!(
        one(&spans, "fetch").parent_span_id,
        outer.span_context.span_id()
    );

    let (r, spans) = capture(|| futures::executor::block_on(returns_boxed_future(20)));
    assert!(r.is_err());
    assert_eq!(
        one(&spans, "returns_boxed_future").status,
        Status::error("card declined")
    );
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn futures_stay_send() {
    let f = handle(1);
    assert_send(&f);
    drop(f);
    let f = returns_boxed_future(1);
    assert_send(&f);
}

// ---------------------------------------------------------------- methods and traits

#[derive(Debug, Clone)]
struct Service {
    name: &'static str,
}

impl Service {
    #[traced]
    fn by_ref(&self, n: u32) -> u32 {
        n + self.name.len() as u32
    }
    #[traced(skip(self))]
    fn by_mut(&mut self) -> &'static str {
        self.name
    }
    #[traced]
    fn by_value(self) -> &'static str {
        self.name
    }
    #[traced]
    fn boxed(self: Box<Self>) -> &'static str {
        self.name
    }
    #[traced]
    fn arced(self: Arc<Self>) -> &'static str {
        self.name
    }
    #[traced]
    fn pinned(self: Pin<&mut Self>) -> &'static str {
        self.name
    }
    #[traced]
    async fn async_method(&self, n: u32) -> u32 {
        fetch(u64::from(n)).await as u32
    }
}

trait Greeter {
    fn name(&self) -> String;

    #[traced]
    fn greet(&self, greeting: &str) -> String {
        format!("{greeting}, {}", self.name())
    }

    async fn greet_later(&self) -> String;
}

impl Greeter for Service {
    #[traced]
    fn name(&self) -> String {
        self.name.to_owned()
    }

    #[traced]
    async fn greet_later(&self) -> String {
        yield_now().await;
        self.greet("hello")
    }
}

#[async_trait::async_trait]
trait Repository {
    async fn load(&self, id: u64) -> Result<String, DeclinedError>;
}

#[async_trait::async_trait]
impl Repository for Service {
    #[traced(kind = "client")]
    async fn load(&self, id: u64) -> Result<String, DeclinedError> {
        yield_now().await;
        if id == 0 {
            Err(DeclinedError)
        } else {
            Ok(format!("{}-{id}", self.name))
        }
    }
}

#[test]
fn methods_with_every_receiver() {
    let svc = Service { name: "svc" };
    let ((), spans) = capture(|| {
        assert_eq!(svc.by_ref(1), 4);
        assert_eq!(svc.clone().by_mut(), "svc");
        assert_eq!(svc.clone().by_value(), "svc");
        assert_eq!(Box::new(svc.clone()).boxed(), "svc");
        assert_eq!(Arc::new(svc.clone()).arced(), "svc");
        let mut pinned = svc.clone();
        assert_eq!(Pin::new(&mut pinned).pinned(), "svc");
        assert_eq!(futures::executor::block_on(svc.async_method(2)), 4);
    });
    // Traced one by one, the methods still know their type.
    for name in [
        "Service::by_ref",
        "Service::by_mut",
        "Service::by_value",
        "Service::boxed",
        "Service::arced",
        "Service::pinned",
        "Service::async_method",
    ] {
        one(&spans, name);
    }
    assert_eq!(
        one(&spans, "Service::by_ref").attribute("self"),
        Some(&s("Service { name: \"svc\" }"))
    );
    assert_eq!(one(&spans, "Service::by_mut").attribute("self"), None);
}

#[test]
fn trait_default_methods_async_in_traits_and_async_trait() {
    let svc = Service { name: "svc" };
    let (r, spans) = capture(|| futures::executor::block_on(svc.greet_later()));
    assert_eq!(r, "hello, svc");
    let later = one(&spans, "Service::greet_later");
    let greet = one(&spans, "Greeter::greet");
    assert_eq!(greet.parent_span_id, later.span_context.span_id());
    assert_eq!(
        one(&spans, "Service::name").parent_span_id,
        greet.span_context.span_id()
    );

    let (r, spans) = capture(|| futures::executor::block_on(svc.load(0)));
    assert!(r.is_err());
    let load = one(&spans, "Service::load");
    assert_eq!(load.kind, SpanKind::Client);
    assert_eq!(load.status, Status::error("card declined"));
    assert_eq!(load.attribute("id"), Some(&Value::I64(0)));
}

// ---------------------------------------------------------------- threads

#[test]
fn spans_on_two_threads_are_separate_traces() {
    let ((), spans) = capture(|| {
        let a = std::thread::spawn(outer_sync);
        let b = std::thread::spawn(outer_sync);
        assert_eq!(a.join().unwrap() + b.join().unwrap(), 4);
    });
    assert_eq!(spans.len(), 6);
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "outer_sync").collect();
    assert_eq!(roots.len(), 2);
    assert_ne!(
        roots[0].span_context.trace_id(),
        roots[1].span_context.trace_id()
    );
    for r in roots {
        let kids = spans
            .iter()
            .filter(|s| s.parent_span_id == r.span_context.span_id())
            .count();
        assert_eq!(kids, 2);
    }
}

// ---------------------------------------------------------------- no pipeline

#[test]
fn without_a_pipeline_traced_code_just_runs() {
    // Serialize with the captures so none is installed meanwhile.
    let (r, _) = traced::testing::capture_with(
        |b| b.with_sampler(traced::Sampler::AlwaysOff),
        || {
            (
                plain(),
                charge(500).is_err(),
                futures::executor::block_on(handle(1)).unwrap(),
            )
        },
    );
    assert_eq!(r, (7, true, 6));
}
