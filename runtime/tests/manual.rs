//! The runtime through hand-written code shaped like the macro's expansion.

use traced_runtime::__private::{Arg, Callsite, Ret, Span as PSpan, SpanKind as K};
use traced_runtime::testing::capture;
use traced_runtime::{FutureExt, SpanKind, Status, Value, current, render_tree};

static PARENT: Callsite = Callsite::new(
    "parent",
    K::Server,
    module_path!(),
    "parent",
    file!(),
    line!(),
);
static CHILD: Callsite = Callsite::new(
    "child",
    K::Client,
    module_path!(),
    "child",
    file!(),
    line!(),
);

fn child(n: u64, who: &str) -> Result<u64, std::io::Error> {
    use traced_runtime::__private::{DebugArg as _, NoArg as _, ValueArg as _};
    use traced_runtime::__private::{
        OutcomeAny as _, OutcomeDebug as _, OutcomeDisplay as _, OutcomeNone as _,
    };
    let mut span = PSpan::start_callsite(&CHILD);
    if span.is_recording() {
        span.attr("n", (&&&Arg(&n)).__traced_value());
        span.attr("who", (&&&Arg(&who)).__traced_value());
        span.attr("opt", (&&&Arg(&Some(3u8))).__traced_value());
        span.attr("none", (&&&Arg(&None::<u8>)).__traced_value());
        span.attr("dbg", (&&&Arg(&vec![(1, 2)])).__traced_value());
    }
    let mut entered = span.enter_until_end();
    let ret = 'body: {
        if n == 0 {
            break 'body Err(std::io::Error::other("zero"));
        }
        current().set_attribute("late", true);
        Ok(n * 2)
    };
    (&&&&Ret(&ret)).__traced_outcome(&mut entered);
    ret
}

fn parent() -> u64 {
    let mut span = PSpan::start_callsite(&PARENT);
    let _entered = span.enter_until_end();
    child(2, "ann").unwrap() + child(0, "bob").unwrap_or(0)
}

#[test]
fn nested_sync_spans_share_trace_and_parent() {
    let (r, spans) = capture(parent);
    assert_eq!(r, 4);
    assert_eq!(spans.len(), 3, "{}", render_tree(&spans));
    let p = spans.iter().find(|s| s.name == "parent").unwrap();
    let kids: Vec<_> = spans.iter().filter(|s| s.name == "child").collect();
    assert!(p.is_root());
    assert_eq!(p.kind, SpanKind::Server);
    for k in &kids {
        assert_eq!(k.kind, SpanKind::Client);
        assert_eq!(k.span_context.trace_id(), p.span_context.trace_id());
        assert_eq!(k.parent_span_id, p.span_context.span_id());
        assert!(k.start_time_unix_nano >= p.start_time_unix_nano);
        assert!(k.end_time_unix_nano <= p.end_time_unix_nano);
    }
    assert_eq!(kids[0].attribute("n"), Some(&Value::I64(2)));
    assert_eq!(kids[0].attribute("who"), Some(&Value::String("ann".into())));
    assert_eq!(kids[0].attribute("opt"), Some(&Value::I64(3)));
    assert_eq!(kids[0].attribute("none"), None);
    assert_eq!(
        kids[0].attribute("dbg"),
        Some(&Value::String("[(1, 2)]".into()))
    );
    assert_eq!(kids[0].attribute("late"), Some(&Value::Bool(true)));
    assert_eq!(kids[0].status, Status::Unset);
    assert_eq!(kids[1].status, Status::error("zero"));
    assert_eq!(kids[1].events[0].name, "exception");
    assert_eq!(kids[0].code.unwrap().function, "child");
}

#[test]
fn panic_ends_span_with_error() {
    let (_, spans) = capture(|| {
        let r = std::panic::catch_unwind(|| {
            let mut span = PSpan::start_callsite(&PARENT);
            let _e = span.enter_until_end();
            panic!("boom {}", 7);
        });
        assert!(r.is_err());
    });
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].status, Status::error("boom 7"));
}

#[test]
fn async_spans_active_per_poll_and_cancelled_on_drop() {
    let (_, spans) = capture(|| {
        let fut = async {
            let s = traced_runtime::span("inner").start();
            drop(s);
            futures::future::pending::<()>().await;
        }
        .instrument(traced_runtime::span("outer").start());
        let mut fut = Box::pin(fut);
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert!(
            !current().span_context().is_valid(),
            "not active between polls"
        );
        drop(fut);
    });
    let outer = spans.iter().find(|s| s.name == "outer").unwrap();
    let inner = spans.iter().find(|s| s.name == "inner").unwrap();
    assert_eq!(inner.parent_span_id, outer.span_context.span_id());
    assert_eq!(
        outer.attribute("traced.cancelled"),
        Some(&Value::Bool(true))
    );
}

use std::future::Future as _;
