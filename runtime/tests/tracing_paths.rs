//! The paths the `tracing` bridge takes around the `#[traced]` fast path: a `#[traced]` span
//! (started by its callsite, as the macro does) gets its stand-in under an eager layer, even
//! with the pipeline installed after the layer; stand-ins are exited with their span, and a
//! lazy registry's are left once their span is gone.
#![cfg(feature = "tracing")]

use traced_runtime::__private::{Callsite, Guard, SpanKind};
use traced_runtime::{span, testing};
use tracing_subscriber::prelude::*;

static CHILD: Callsite = Callsite::new(
    traced_runtime::__private::crate_scope!(),
    "child",
    SpanKind::Internal,
    module_path!(),
    "child",
    file!(),
    line!(),
);

/// The id of the current `tracing` span, if it is a stand-in (`traced`).
fn current_stand_in() -> Option<tracing::Id> {
    let current = tracing::Span::current();
    (current.metadata()?.name() == "traced").then(|| current.id())?
}

/// On another thread, under the `tracing` span current here (what `Span::current()` and
/// `in_current_span` hand a worker): a traced span `on-worker` and an event.
fn on_a_worker_under_the_current_tracing_span() {
    let captured = tracing::Span::current();
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    std::thread::spawn(move || {
        tracing::dispatcher::with_default(&dispatch, || {
            let _in = captured.enter();
            span("on-worker").start().end();
            tracing::info!("from the worker");
        });
    })
    .join()
    .unwrap();
}

#[test]
fn eager_stand_in_for_a_callsite_span_leads_a_worker_back_to_it() {
    let subscriber = tracing_subscriber::registry().with(traced_runtime::tracing::layer());
    let spans = tracing::subscriber::with_default(subscriber, || {
        // The pipeline is installed after the layer turned the fast path off.
        testing::spans(|| {
            let mut root = span("root").start();
            let entered = root.enter();
            let root_stand_in = current_stand_in().expect("a stand-in for root");
            let guard = Guard::start(&CHILD);
            let child_stand_in = current_stand_in().expect("a stand-in for child");
            assert_ne!(child_stand_in, root_stand_in);
            on_a_worker_under_the_current_tracing_span();
            drop(guard);
            // Exited with its span: root's stand-in is current again.
            assert_eq!(current_stand_in(), Some(root_stand_in));
            drop(entered);
            assert_eq!(current_stand_in(), None);
            root.end();
        })
    });
    let child = testing::one(&spans, "child");
    let worker = testing::one(&spans, "on-worker");
    let root = testing::one(&spans, "root");
    assert_eq!(worker.parent_span_id, child.span_context.span_id());
    assert_eq!(child.parent_span_id, root.span_context.span_id());
    // The worker's event went to the child's inbox, and into the child when it ended.
    assert!(child.events.iter().any(|e| e.name == "from the worker"));
}

#[test]
fn lazy_stand_in_is_left_once_its_span_exits() {
    let subscriber = traced_runtime::tracing::registry().with(traced_runtime::tracing::layer());
    let spans = tracing::subscriber::with_default(subscriber, || {
        testing::spans(|| {
            let mut root = span("root").start();
            let entered = root.enter();
            let guard = Guard::start(&CHILD);
            let child_stand_in = current_stand_in().expect("a stand-in for child, on demand");
            on_a_worker_under_the_current_tracing_span();
            drop(guard);
            let root_stand_in = current_stand_in().expect("a stand-in for root, on demand");
            assert_ne!(root_stand_in, child_stand_in);
            drop(entered);
            assert_eq!(current_stand_in(), None);
            root.end();
        })
    });
    let child = testing::one(&spans, "child");
    let worker = testing::one(&spans, "on-worker");
    assert_eq!(worker.parent_span_id, child.span_context.span_id());
    // The worker's event went to the child's inbox, and into the child when it ended.
    assert!(child.events.iter().any(|e| e.name == "from the worker"));
}

#[test]
fn bridged_spans_enter_their_own_context_wherever_they_were_made_and_closed() {
    let subscriber = tracing_subscriber::registry().with(traced_runtime::tracing::layer());
    let spans = tracing::subscriber::with_default(subscriber, || {
        testing::spans(|| {
            let mut root = span("root").start();
            let entered = root.enter();
            let span_a = tracing::info_span!("a");
            // Made last on this thread: its enter needs no look-up.
            let span_b = tracing::info_span!("b");
            span_a.in_scope(|| span("under-a").start().end());
            span_b.in_scope(|| span("under-b").start().end());
            drop(span_b);
            // Closed on another thread; another made there, entered here.
            let span_c = tracing::info_span!("c");
            let dispatch = tracing::dispatcher::get_default(Clone::clone);
            let span_d = std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    drop(span_c);
                    tracing::info_span!(parent: None, "d")
                })
            })
            .join()
            .unwrap();
            span_d.in_scope(|| span("under-d").start().end());
            let span_e = tracing::info_span!("e");
            span_e.in_scope(|| span("under-e").start().end());
            drop((span_a, span_d, span_e));
            drop(entered);
            root.end();
        })
    });
    let parent_of = |child: &str, parent: &str| {
        assert_eq!(
            testing::one(&spans, child).parent_span_id,
            testing::one(&spans, parent).span_context.span_id(),
            "{child} under {parent}"
        );
    };
    for (child, parent) in [
        ("under-a", "a"),
        ("under-b", "b"),
        ("under-d", "d"),
        ("under-e", "e"),
        ("a", "root"),
        ("e", "root"),
    ] {
        parent_of(child, parent);
    }
    assert!(testing::one(&spans, "d").is_root());
}
