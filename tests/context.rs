//! Context across boundaries: threads, closures, futures and streams polled elsewhere, W3C
//! headers in and out, remote parents and links. Every test runs the real pipeline through
//! `traced::testing::capture` and asserts on the exported spans.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]

use futures::StreamExt as _;
use futures::executor::block_on;
use std::collections::HashMap;
use traced::context::{self, Context};
use traced::propagation::{self, Baggage};
use traced::testing::{capture, one};
use traced::{
    FutureExt as _, KeyValue, Parent, SpanData, SpanKind, StreamExt as _, Value, current, span,
    traced,
};

fn is_child(child: &SpanData, parent: &SpanData) -> bool {
    child.span_context.trace_id() == parent.span_context.trace_id()
        && child.parent_span_id == parent.span_context.span_id()
        && !child.parent_is_remote
}

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[traced]
fn traced_work(n: u64) -> u64 {
    n * 2
}

// --- threads and closures -------------------------------------------------------------------

#[test]
fn thread_spawn_continues_the_trace() {
    let spans = traced::testing::spans(|| {
        let mut request = span("request").start();
        request.in_scope(|| {
            let with = traced::thread::spawn(|| traced_work(1));
            let without = std::thread::spawn(|| traced_work(2));
            assert_eq!(with.join().unwrap(), 2);
            assert_eq!(without.join().unwrap(), 4);
        });
        request.end();
    });
    let request = one(&spans, "request");
    let children: Vec<_> = spans.iter().filter(|s| s.name == "traced_work").collect();
    let with = children
        .iter()
        .find(|s| s.attribute("n") == Some(&Value::I64(1)))
        .unwrap();
    let without = children
        .iter()
        .find(|s| s.attribute("n") == Some(&Value::I64(2)))
        .unwrap();
    assert!(is_child(with, request));
    // Plain std::thread::spawn: nothing carried, a new trace (what the helper fixes).
    assert!(!without.parent_span_id.is_valid());
    assert_ne!(
        without.span_context.trace_id(),
        request.span_context.trace_id()
    );
}

#[test]
fn scoped_threads_continue_the_trace() {
    let spans = traced::testing::spans(|| {
        let mut batch = span("batch").start();
        batch.in_scope(|| {
            std::thread::scope(|s| {
                for i in 0..3 {
                    traced::thread::spawn_scoped(s, move || traced_work(i));
                }
            });
        });
        batch.end();
    });
    let batch = one(&spans, "batch");
    let parts: Vec<_> = spans.iter().filter(|s| s.name == "traced_work").collect();
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|p| is_child(p, batch)));
}

#[test]
fn wrapped_closure_runs_in_the_captured_context() {
    let spans = traced::testing::spans(|| {
        let mut parent = span("parent").start();
        let (later, explicit) = parent.in_scope(|| {
            (
                context::wrap(|| span("later").start().end()),
                Context::current().wrap(|| span("explicit").start().end()),
            )
        });
        // Out of the parent's scope: the closures still carry it.
        later();
        std::thread::spawn(explicit).join().unwrap();
        span("unrelated").start().end();
        parent.end();
    });
    let parent = one(&spans, "parent");
    assert!(is_child(one(&spans, "later"), parent));
    assert!(is_child(one(&spans, "explicit"), parent));
    assert!(!one(&spans, "unrelated").parent_span_id.is_valid());
}

#[test]
fn an_empty_context_detaches() {
    let spans = traced::testing::spans(|| {
        let mut parent = span("parent").start();
        parent.in_scope(|| Context::new().run(|| span("detached").start().end()));
        parent.end();
    });
    assert!(!one(&spans, "detached").parent_span_id.is_valid());
}

#[test]
fn changes_through_current_reach_the_span_only_where_it_is_entered() {
    let spans = traced::testing::spans(|| {
        let mut parent = span("parent").start();
        parent.in_scope(|| {
            let cx = Context::current();
            // Another thread: the captured span is active but not recording there.
            std::thread::spawn({
                let cx = cx.clone();
                move || {
                    cx.run(|| {
                        assert!(current().span_context().is_valid());
                        assert!(!current().is_recording());
                        current().set_attribute("from.thread", true);
                    });
                }
            })
            .join()
            .unwrap();
            // This thread, under the span's own frame: recording, applied at its exit.
            cx.run(|| {
                assert!(current().is_recording());
                current().set_attribute("from.here", true);
            });
        });
        parent.end();
    });
    let parent = one(&spans, "parent");
    assert_eq!(parent.attribute("from.here"), Some(&Value::Bool(true)));
    assert_eq!(parent.attribute("from.thread"), None);
}

// --- futures --------------------------------------------------------------------------------

#[test]
fn future_in_current_context_polled_on_another_thread() {
    let spans = traced::testing::spans(|| {
        let mut request = span("request").start();
        let fut = request.in_scope(|| {
            async {
                let a = traced_work(1);
                futures::future::ready(()).await;
                span("after-await").start().end();
                a
            }
            .in_current_context()
        });
        let out = std::thread::spawn(move || block_on(fut)).join().unwrap();
        assert_eq!(out, 2);
        request.end();
    });
    let request = one(&spans, "request");
    assert!(is_child(one(&spans, "traced_work"), request));
    assert!(is_child(one(&spans, "after-await"), request));
}

#[test]
fn future_with_a_shared_context_on_several_threads() {
    let spans = traced::testing::spans(|| {
        let mut request = span("request").start();
        let cx = request.in_scope(Context::current);
        let (tx, rx) = std::sync::mpsc::channel();
        let pool: Vec<_> = (0..2)
            .map(|_| {
                let task = {
                    let cx = cx.clone();
                    async move { span("task").start().end() }.with_context(cx)
                };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    block_on(task);
                    tx.send(()).unwrap();
                })
            })
            .collect();
        for t in pool {
            t.join().unwrap();
        }
        drop(tx);
        assert_eq!(rx.iter().count(), 2);
        request.end();
    });
    let request = one(&spans, "request");
    let tasks: Vec<_> = spans.iter().filter(|s| s.name == "task").collect();
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| is_child(t, request)));
}

#[test]
fn tokio_spawn_continues_the_trace() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let spans = traced::testing::spans(|| {
        let mut request = span("request").start();
        let (task, blocking) = request.in_scope(|| {
            let _rt = rt.enter();
            (
                traced::tokio::spawn(async { traced_work(1) }),
                traced::tokio::spawn_blocking(|| traced_work(2)),
            )
        });
        rt.block_on(async {
            assert_eq!(task.await.unwrap(), 2);
            assert_eq!(blocking.await.unwrap(), 4);
        });
        request.end();
    });
    let request = one(&spans, "request");
    let work: Vec<_> = spans.iter().filter(|s| s.name == "traced_work").collect();
    assert_eq!(work.len(), 2);
    assert!(work.iter().all(|w| is_child(w, request)));
}

// --- streams --------------------------------------------------------------------------------

#[test]
fn instrumented_stream_runs_each_poll_in_its_span_and_ends_with_the_stream() {
    let (items, spans) = capture(|| {
        let numbers = futures::stream::iter(1..=3).map(traced_work);
        let stream = numbers.instrument(span("numbers").start());
        block_on(stream.collect::<Vec<_>>())
    });
    assert_eq!(items, [2, 4, 6]);
    let numbers = one(&spans, "numbers");
    let work: Vec<_> = spans.iter().filter(|s| s.name == "traced_work").collect();
    assert_eq!(work.len(), 3);
    assert!(work.iter().all(|w| is_child(w, numbers)));
    assert_eq!(numbers.attribute("traced.cancelled"), None);
}

#[test]
fn instrumented_stream_ends_when_it_yields_none_not_when_dropped() {
    let ((), spans) = capture(|| {
        let mut stream = futures::stream::iter([1]).instrument(span("short").start());
        block_on(async {
            assert_eq!(stream.next().await, Some(1));
            assert_eq!(stream.next().await, None);
        });
        span("after-end").start().end();
        drop(stream);
    });
    // "short" ended (exported) before "after-end" started.
    assert_eq!(spans[0].name, "short");
    assert_eq!(spans[0].attribute("traced.cancelled"), None);
}

#[test]
fn dropped_stream_is_marked_cancelled() {
    let ((), spans) = capture(|| {
        let mut stream = futures::stream::iter(1..=10).instrument(span("endless").start());
        block_on(async {
            assert_eq!(stream.next().await, Some(1));
        });
        drop(stream);
    });
    let endless = one(&spans, "endless");
    assert_eq!(
        endless.attribute("traced.cancelled"),
        Some(&Value::Bool(true))
    );
}

#[test]
fn stream_in_current_context() {
    let spans = traced::testing::spans(|| {
        let mut request = span("request").start();
        let stream = request.in_scope(|| {
            futures::stream::iter(1..=2)
                .map(traced_work)
                .in_current_context()
        });
        let out = std::thread::spawn(move || block_on(stream.collect::<Vec<_>>()))
            .join()
            .unwrap();
        assert_eq!(out, [2, 4]);
        request.end();
    });
    let request = one(&spans, "request");
    assert!(
        spans
            .iter()
            .filter(|s| s.name == "traced_work")
            .all(|w| is_child(w, request))
    );
}

// --- propagation ----------------------------------------------------------------------------

#[test]
fn inject_then_extract_round_trips_through_a_hashmap() {
    let ((sent, carrier), _) = capture(|| {
        let mut baggage = Baggage::new();
        baggage.insert("userId", "alice").unwrap();
        let _baggage = baggage.attach();
        let mut call = span("call").kind(SpanKind::Client).start();
        let mut carrier = HashMap::new();
        call.in_scope(|| propagation::inject(&mut carrier));
        (call.span_context(), carrier)
    });
    assert_eq!(
        carrier["traceparent"],
        format!("00-{}-{}-03", sent.trace_id(), sent.span_id())
    );
    assert_eq!(carrier["baggage"], "userId=alice");
    let received = propagation::extract(&carrier).unwrap();
    assert_eq!(received.trace_id(), sent.trace_id());
    assert_eq!(received.span_id(), sent.span_id());
    assert!(received.is_remote() && received.is_sampled());
    let cx = propagation::extract_context(&carrier);
    assert_eq!(cx.baggage().unwrap().get("userId"), Some("alice"));
    assert_eq!(cx.span_context(), received);
}

#[test]
fn inject_then_extract_round_trips_through_an_http_header_map() {
    let ((sent, carrier), _) = capture(|| {
        let mut call = span("call").kind(SpanKind::Client).start();
        let mut carrier = axum::http::HeaderMap::new();
        call.in_scope(|| propagation::inject(&mut carrier));
        (call.span_context(), carrier)
    });
    assert!(carrier.get("traceparent").is_some());
    assert!(carrier.get("baggage").is_none(), "no baggage, no header");
    let received = propagation::extract(&carrier).unwrap();
    assert_eq!(
        (received.trace_id(), received.span_id()),
        (sent.trace_id(), sent.span_id())
    );
}

/// W3C Level 2: traced's trace ids are random, so a trace it starts carries the random flag
/// (`0x02`), exported and sent on; a continued trace keeps the caller's flag, set or not.
#[test]
fn new_traces_carry_the_random_flag_and_continued_ones_keep_the_callers() {
    let inject_under = |parent: Option<&str>| {
        let mut span = match parent {
            Some(tp) => span("server")
                .parent(propagation::extract(&headers(&[("traceparent", tp)])))
                .start(),
            None => span("root").start(),
        };
        let mut carrier = HashMap::new();
        span.in_scope(|| traced_work(1));
        span.in_scope(|| propagation::inject(&mut carrier));
        carrier.remove("traceparent").unwrap()
    };
    let (sent, spans) = capture(|| {
        [
            inject_under(None),
            inject_under(Some(TRACEPARENT)),
            inject_under(Some(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
            )),
            inject_under(Some(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02",
            )),
        ]
    });
    let flags: Vec<&str> = sent.iter().map(|tp| &tp[53..]).collect();
    // `capture` samples everything: the sampled bit is set under each caller, the random
    // bit is the caller's.
    assert_eq!(flags, ["03", "01", "03", "03"], "{sent:?}");
    let exported = |name: &str| -> Vec<u8> {
        spans
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.span_context.trace_flags().to_u8())
            .collect()
    };
    assert_eq!(exported("root"), [0x03]);
    assert_eq!(exported("server"), [0x01, 0x03, 0x03]);
    assert_eq!(exported("traced_work"), [0x03, 0x01, 0x03, 0x03]);
    // Under the default parent-based sampler an unsampled `-02` caller stays unsampled and
    // random: the header sent on is `-02`.
    let cx = propagation::extract(&headers(&[(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02",
    )]))
    .unwrap();
    let mut carrier = HashMap::new();
    propagation::TraceContextPropagator.inject(&cx, &mut carrier);
    assert!(carrier["traceparent"].ends_with("-02"));
}

#[test]
fn nothing_active_injects_nothing() {
    let mut carrier = HashMap::new();
    propagation::inject(&mut carrier);
    assert!(carrier.is_empty());
}

#[test]
fn server_span_from_extracted_headers_is_remote_parented() {
    let incoming = headers(&[
        ("TraceParent", TRACEPARENT),
        ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
    ]);
    let spans = traced::testing::spans(|| {
        let mut server = span("GET /users")
            .kind(SpanKind::Server)
            .parent(propagation::extract(&incoming))
            .start();
        server.in_scope(|| traced_work(1));
        server.end();
    });
    let server = one(&spans, "GET /users");
    assert_eq!(
        server.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(server.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(server.parent_is_remote);
    assert!(server.span_context.is_sampled());
    assert_eq!(
        server.span_context.trace_state().get("congo"),
        Some("t61rcWkgMzE")
    );
    // Its children are local children.
    assert!(is_child(one(&spans, "traced_work"), server));
}

#[test]
fn attached_extracted_context_parents_default_spans_and_forwards_baggage() {
    let incoming = headers(&[("traceparent", TRACEPARENT), ("baggage", "tenant=acme")]);
    let (outgoing, spans) = capture(|| {
        let _cx = propagation::extract_context(&incoming).attach();
        assert_eq!(Baggage::current().unwrap().get("tenant"), Some("acme"));
        traced_work(1);
        let mut outgoing = HashMap::new();
        propagation::inject(&mut outgoing);
        outgoing
    });
    let work = one(&spans, "traced_work");
    assert_eq!(work.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(work.parent_is_remote);
    // With only the remote context active, its ids and baggage go on unchanged.
    assert_eq!(outgoing["traceparent"], TRACEPARENT);
    assert_eq!(outgoing["baggage"], "tenant=acme");
    assert!(Baggage::current().is_none());
}

#[test]
fn invalid_headers_start_a_new_trace() {
    for bad in [
        "",
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
    ] {
        let incoming = headers(&[("traceparent", bad), ("tracestate", "rojo=1")]);
        assert!(
            matches!(Parent::from_carrier(&incoming), Parent::Root),
            "{bad:?}"
        );
        let spans = traced::testing::spans(|| {
            let mut outer = span("outer").start();
            outer.in_scope(|| {
                span("server")
                    .kind(SpanKind::Server)
                    .parent(propagation::extract(&incoming))
                    .start()
                    .end();
            });
            outer.end();
        });
        let server = one(&spans, "server");
        assert!(!server.parent_span_id.is_valid(), "{bad:?}");
        assert!(!server.parent_is_remote);
        assert_ne!(
            server.span_context.trace_id(),
            one(&spans, "outer").span_context.trace_id(),
            "a new trace, not the active one"
        );
        assert!(server.span_context.trace_state().is_empty());
    }
    // Repeated traceparent headers are invalid too.
    let mut repeated = axum::http::HeaderMap::new();
    repeated.append("traceparent", TRACEPARENT.parse().unwrap());
    repeated.append("traceparent", TRACEPARENT.parse().unwrap());
    assert!(propagation::extract(&repeated).is_none());
}

#[test]
fn unsampled_parent_propagates_unsampled() {
    let incoming = headers(&[(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
    )]);
    let (outgoing, spans) = traced::testing::capture_with(
        |b| b.with_sampler(traced::Sampler::parent_based(traced::Sampler::AlwaysOn)),
        || {
            let mut server = span("server")
                .kind(SpanKind::Server)
                .parent(Parent::from_carrier(&incoming))
                .start();
            let mut outgoing = HashMap::new();
            server.in_scope(|| propagation::inject(&mut outgoing));
            outgoing
        },
    );
    assert!(spans.is_empty());
    let tp = &outgoing["traceparent"];
    assert!(
        tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{tp}"
    );
    assert!(!tp.contains("00f067aa0ba902b7"), "a new parent id: {tp}");
    assert!(tp.ends_with("-00"), "{tp}");
}

/// The children of an unsampled local span are skipped without looking at the context stack
/// (a per-thread flag kept on enter and exit): the flag must follow the stack exactly.
#[test]
fn children_of_unsampled_spans_are_skipped_only_while_one_is_active() {
    let incoming = headers(&[(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
    )]);
    let ((), spans) = traced::testing::capture_with(
        |b| b.with_sampler(traced::Sampler::parent_based(traced::Sampler::AlwaysOn)),
        || {
            let mut unsampled = span("unsampled")
                .parent(Parent::from_carrier(&incoming))
                .start();
            let mut sampled = span("sampled").root().start();
            unsampled.in_scope(|| {
                traced_work(1);
                // A sampled span entered above the unsampled one: its children record.
                sampled.in_scope(|| traced_work(2));
                traced_work(3);
            });
            traced_work(4);
            sampled.end();
            unsampled.end();
        },
    );
    let works: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "traced_work")
        .map(|s| s.attribute("n").cloned())
        .collect();
    assert_eq!(works, [Some(Value::I64(2)), Some(Value::I64(4))]);
    let sampled = one(&spans, "sampled");
    let under_sampled = spans
        .iter()
        .find(|s| s.attribute("n") == Some(&Value::I64(2)))
        .unwrap();
    assert!(is_child(under_sampled, sampled));
    assert!(spans.iter().all(|s| s.name != "unsampled"));
}

// --- links ----------------------------------------------------------------------------------

#[test]
fn links_are_recorded_with_attributes() {
    let spans = traced::testing::spans(|| {
        let mut producer = span("publish").kind(SpanKind::Producer).start();
        let mut message = HashMap::new();
        producer.in_scope(|| propagation::inject(&mut message));
        producer.end();

        let linked = propagation::extract(&message).unwrap();
        let mut consumer = span("process")
            .kind(SpanKind::Consumer)
            .root()
            .link(
                linked.clone(),
                vec![KeyValue::new("messaging.operation", "publish")],
            )
            .start();
        consumer.add_link(linked, vec![KeyValue::new("late", true)]);
        consumer.end();
    });
    let producer = one(&spans, "publish");
    let consumer = one(&spans, "process");
    assert_ne!(
        consumer.span_context.trace_id(),
        producer.span_context.trace_id()
    );
    assert!(!consumer.parent_span_id.is_valid());
    assert_eq!(consumer.links.len(), 2);
    for link in &consumer.links {
        assert_eq!(link.span_context.span_id(), producer.span_context.span_id());
        assert_eq!(
            link.span_context.trace_id(),
            producer.span_context.trace_id()
        );
    }
    assert_eq!(
        consumer.links[0].attributes,
        vec![KeyValue::new("messaging.operation", "publish")]
    );
    assert_eq!(
        consumer.links[1].attributes,
        vec![KeyValue::new("late", true)]
    );
}

#[test]
fn a_span_or_a_context_is_a_parent() {
    let spans = traced::testing::spans(|| {
        let parent = span("parent").start();
        span("by-span").parent(&parent).start().end();
        let cx = Context::from_span_context(&parent.span_context());
        span("by-context").parent(&cx).start().end();
        span("by-empty-context")
            .parent(Context::new())
            .start()
            .end();
        parent.end();
    });
    let parent = one(&spans, "parent");
    assert!(is_child(one(&spans, "by-span"), parent));
    assert!(is_child(one(&spans, "by-context"), parent));
    assert!(!one(&spans, "by-empty-context").parent_span_id.is_valid());
}

// --- the macro's entry point ----------------------------------------------------------------

static CALLSITE: traced::__private::Callsite = traced::__private::Callsite::new(
    traced::__private::crate_scope!(),
    "handle",
    SpanKind::Server,
    "context",
    "handle",
    file!(),
    line!(),
);

#[test]
fn callsite_with_an_explicit_parent() {
    let incoming = headers(&[("traceparent", TRACEPARENT)]);
    let spans = traced::testing::spans(|| {
        let mut active = span("active").start();
        active.in_scope(|| {
            // What `#[traced(parent = propagation::extract(&headers))]` expands to.
            let parent = Parent::from(propagation::extract(&incoming));
            let mut s = traced::__private::Span::start_callsite_with_parent(&CALLSITE, &parent);
            s.add_link(
                traced::SpanContext::from(&Context::current()),
                vec![KeyValue::new("why", "was active")],
            );
            s.end();
        });
        active.end();
    });
    let handle = one(&spans, "handle");
    assert_eq!(handle.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(handle.parent_is_remote);
    assert_eq!(handle.kind, SpanKind::Server);
    assert_eq!(
        handle.links[0].span_context.span_id(),
        one(&spans, "active").span_context.span_id()
    );
}

// --- `#[traced(parent = ..)]` and `#[traced(links(..))]` ------------------------------------

#[traced(kind = "server", parent = &headers, skip(headers))]
fn serve(headers: &HashMap<String, String>, n: u64) -> u64 {
    traced_work(n)
}

#[traced(kind = "server", parent = propagation::extract(&headers), skip(headers))]
fn serve_extracted(headers: HashMap<String, String>) -> usize {
    // The parameter is borrowed by `parent`, not moved: still the body's to consume.
    headers.into_keys().count()
}

#[traced(kind = "server", parent = &headers, skip(headers))]
async fn serve_async(headers: HashMap<String, String>) -> usize {
    traced_work(1);
    headers.len()
}

// An owned `http::HeaderMap`, borrowed by `&headers`.
#[traced(kind = "server", parent = &headers, skip(headers))]
fn serve_header_map(headers: axum::http::HeaderMap) -> usize {
    headers.into_iter().count()
}

#[traced(parent = None)]
fn detached() {}

#[traced(parent = cx)]
fn under_context(cx: Context) {
    drop(cx);
}

// `&span` of a `&Span` (a `&&Span`) works too.
#[traced(parent = &span, skip(span))]
fn under_span(span: &traced::Span) {}

#[traced(parent = &cx)]
fn under_context_ref(cx: &Context) {}

#[traced(parent = traced::Parent::Root, code = false)]
fn explicit_root() {}

#[test]
fn parent_from_extracted_headers_joins_the_callers_trace() {
    let incoming = headers(&[
        ("traceparent", TRACEPARENT),
        ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
    ]);
    let spans = traced::testing::spans(|| {
        // An active span is not the parent: the headers are.
        let mut active = span("active").start();
        active.in_scope(|| {
            assert_eq!(serve(&incoming, 2), 4);
            assert_eq!(serve_extracted(incoming.clone()), 2);
            assert_eq!(block_on(serve_async(incoming.clone())), 2);
        });
        active.end();
    });
    for name in ["serve", "serve_extracted", "serve_async"] {
        let server = one(&spans, name);
        assert_eq!(server.kind, SpanKind::Server);
        assert_eq!(
            server.span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "{name}"
        );
        assert_eq!(server.parent_span_id.to_string(), "00f067aa0ba902b7");
        assert!(server.parent_is_remote, "{name}");
        assert!(server.span_context.is_sampled(), "{name}");
        assert!(!server.span_context.is_remote(), "{name}");
        assert_eq!(
            server.span_context.trace_state().get("rojo"),
            Some("00f067aa0ba902b7"),
            "{name}"
        );
        assert_eq!(
            server.span_context.trace_state().get("congo"),
            Some("t61rcWkgMzE")
        );
    }
    let serve = one(&spans, "serve");
    assert_eq!(serve.attribute("n"), Some(&Value::I64(2)));
    // The body's spans are the server span's local children.
    let children: Vec<_> = spans.iter().filter(|s| s.name == "traced_work").collect();
    assert_eq!(children.len(), 2);
    assert!(is_child(children[0], serve));
    assert!(is_child(children[1], one(&spans, "serve_async")));
    // A child keeps its parent's trace state, the async one's (entered at each poll) too.
    for child in children {
        assert_eq!(
            child.span_context.trace_state().get("rojo"),
            Some("00f067aa0ba902b7")
        );
    }
}

#[test]
fn parent_from_an_http_header_map_keeps_the_callers_flags() {
    let mut incoming = axum::http::HeaderMap::new();
    incoming.insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
            .parse()
            .unwrap(),
    );
    let ((), spans) = traced::testing::capture_with(
        |b| b.with_sampler(traced::Sampler::parent_based(traced::Sampler::AlwaysOn)),
        || {
            let mut sampled = incoming.clone();
            sampled.insert("traceparent", TRACEPARENT.parse().unwrap());
            assert_eq!(serve_header_map(sampled), 1);
            // The caller did not sample: under a parent-based sampler, neither do we.
            assert_eq!(serve_header_map(incoming), 1);
        },
    );
    // Only the sampled call is exported.
    let server = one(&spans, "serve_header_map");
    assert_eq!(server.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(server.parent_is_remote);
    assert!(server.span_context.is_sampled());
}

#[test]
fn parent_from_invalid_or_missing_headers_starts_a_new_trace() {
    for incoming in [
        headers(&[]),
        headers(&[(
            "traceparent",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        )]),
        headers(&[
            ("traceparent", "not a traceparent"),
            ("tracestate", "rojo=1"),
        ]),
    ] {
        let spans = traced::testing::spans(|| {
            let mut active = span("active").start();
            active.in_scope(|| serve(&incoming, 1));
            active.end();
        });
        let server = one(&spans, "serve");
        assert!(!server.parent_span_id.is_valid(), "{incoming:?}");
        assert!(!server.parent_is_remote);
        assert_ne!(
            server.span_context.trace_id(),
            one(&spans, "active").span_context.trace_id()
        );
        assert!(server.span_context.trace_state().is_empty());
    }
}

#[test]
fn parent_none_or_root_is_a_root_inside_an_active_span() {
    let spans = traced::testing::spans(|| {
        let mut active = span("active").start();
        active.in_scope(|| {
            detached();
            explicit_root();
        });
        active.end();
    });
    let active = one(&spans, "active");
    for name in ["detached", "explicit_root"] {
        let root = one(&spans, name);
        assert!(!root.parent_span_id.is_valid(), "{name}");
        assert_ne!(
            root.span_context.trace_id(),
            active.span_context.trace_id(),
            "{name}"
        );
    }
}

#[test]
fn parent_is_a_span_or_a_context() {
    let spans = traced::testing::spans(|| {
        let parent = span("parent").start();
        let mut elsewhere = span("elsewhere").start();
        elsewhere.in_scope(|| {
            under_span(&parent);
            under_context(Context::from_span_context(&parent.span_context()));
            under_context(Context::new());
            under_context_ref(&Context::from_span_context(&parent.span_context()));
        });
        elsewhere.end();
        parent.end();
    });
    let parent = one(&spans, "parent");
    assert!(is_child(one(&spans, "under_span"), parent));
    let contexts: Vec<_> = spans.iter().filter(|s| s.name == "under_context").collect();
    assert!(is_child(contexts[0], parent));
    // An empty context: a root.
    assert!(!contexts[1].parent_span_id.is_valid());
    assert!(is_child(one(&spans, "under_context_ref"), parent));
}

#[traced(links(expensive()))]
fn links_expensive() {}

fn expensive() -> Option<traced::SpanContext> {
    panic!("a link of an unsampled span was evaluated")
}

#[test]
fn links_are_evaluated_only_for_a_recorded_span() {
    let spans = traced::testing::capture_with(
        |b| b.with_sampler(traced::Sampler::AlwaysOff),
        links_expensive,
    )
    .1;
    assert!(spans.is_empty());
}

#[derive(Debug)]
pub struct Message {
    context: Option<traced::SpanContext>,
    body: &'static str,
}

#[traced(kind = "consumer", parent = None, skip(batch), links(batch[0].context, batch[1].context => (messaging.batch.index = 1, "messaging.body" = batch[1].body)))]
fn consume(batch: &[Message]) -> usize {
    batch.len()
}

#[traced(links(&first, second, third, fourth => (why = "a context")))]
async fn linked_async(
    first: traced::SpanContext,
    second: Option<traced::SpanContext>,
    third: &traced::Span,
    fourth: Context,
) {
    // Nothing was moved into the links.
    drop((first, second, fourth));
    let _ = third;
}

#[test]
fn links_with_and_without_attributes() {
    let spans = traced::testing::spans(|| {
        let mut producer = span("publish").kind(SpanKind::Producer).start();
        let mut message = HashMap::new();
        producer.in_scope(|| propagation::inject(&mut message));
        producer.end();
        let other = span("other").start();
        let batch = [
            Message {
                context: propagation::extract(&message),
                body: "a",
            },
            Message {
                context: Some(other.span_context()),
                body: "b",
            },
        ];
        let mut active = span("active").start();
        active.in_scope(|| assert_eq!(consume(&batch), 2));
        active.end();
        block_on(linked_async(
            other.span_context(),
            None,
            &other,
            Context::from_span_context(&other.span_context()),
        ));
        other.end();
    });
    let producer = one(&spans, "publish");
    let other = one(&spans, "other");
    let consume = one(&spans, "consume");
    assert_eq!(consume.kind, SpanKind::Consumer);
    assert!(!consume.parent_span_id.is_valid());
    assert_eq!(consume.links.len(), 2);
    assert_eq!(
        consume.links[0].span_context.span_id(),
        producer.span_context.span_id()
    );
    assert!(consume.links[0].span_context.is_remote());
    assert!(consume.links[0].attributes.is_empty());
    assert_eq!(
        consume.links[1].span_context.span_id(),
        other.span_context.span_id()
    );
    assert_eq!(
        consume.links[1].attributes,
        vec![
            KeyValue::new("messaging.batch.index", 1_i64),
            KeyValue::new("messaging.body", "b"),
        ]
    );

    // `None` adds no link; a span, a context and a span context do.
    let linked = one(&spans, "linked_async");
    assert_eq!(linked.links.len(), 3);
    for link in &linked.links {
        assert_eq!(link.span_context.span_id(), other.span_context.span_id());
    }
    assert!(linked.links[0].attributes.is_empty());
    assert_eq!(
        linked.links[2].attributes,
        vec![KeyValue::new("why", "a context")]
    );
}
