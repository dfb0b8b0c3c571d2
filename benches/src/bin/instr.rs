//! Instruction counts of traced's hot paths, for callgrind: `instr <case> <n>` runs `n` calls of
//! one case after one warm-up call. Run it twice (`n` and `0`) under
//! `valgrind --tool=callgrind --toggle-collect='instr::call*'` and divide the difference by `n`:
//!
//! ```sh
//! cargo build --release -p traced-benches --bin instr
//! for n in 0 20000; do valgrind --tool=callgrind --callgrind-out-file=/tmp/i.$n \
//!   --toggle-collect='instr::call*' target/release/instr child 20000... ; done
//! ```
//!
//! (`.ci`-free: a measuring tool, not a test.) Cases (sampler always on; `-batch` cases hand
//! the spans to the batch processor's worker, whose instructions are not collected):
//! - `child`: `#[traced]` child with kind and two arguments (`u64`, 11-byte `&str`) under a root;
//! - `child6`: six arguments (three `u64`, three `&str`);
//! - `child3-attrs2`: three arguments plus `attrs(..)` with two more;
//! - `child8`: six arguments plus two `attrs`: eight attributes;
//! - `root`: the two-argument function with no parent (a new trace per call);
//! - `async`: the two-argument `async fn` created and polled to its end under a root;
//! - `child-batch`, `root-batch`: `child` and `root` through `with_batch_exporter` into a
//!   counting exporter (the worker drains them; only the calling thread is counted);
//! - `child-otlp`, `root-otlp`: the same into the OTLP protobuf encoder (the end-to-end
//!   runs' `traced-otlp`); add `--separate-threads=yes` and leave out `--toggle-collect` to
//!   count the worker's instructions per span too (its thread's total, `n` minus `0`);
//! - `unsampled`: `child` under a root the sampler dropped (parent-based, roots off: as a
//!   ratio sampler for the traces it leaves out);
//! - `unsampled-root`: `child` with no parent, dropped by that sampler;
//! - `span`: `traced::span("step").start()` and its end under the root: the builder, through
//!   the general start;
//! - `remote`: the same span with a remote parent (`.parent(cx)`, a sampled `SpanContext` as
//!   a `traceparent` gives it), a root under the root, as an HTTP server's span is;
//! - `attach`: a captured `Context` attached and detached (what a future wrapped with
//!   `in_current_context`, or a task spawned through `traced::tokio`, pays at each poll);
//! - `capture`: `Context::current()` under the root, dropped (what `in_current_context` and
//!   `traced::tokio::spawn` pay once per future or task);
//! - `server`, `server-plain`: one `GET /users/7` with a sampled `traceparent`, `host` and
//!   `user-agent` through an axum router in process (tower's `oneshot`, the body read to its
//!   end, where the server span ends), behind traced's `ServerLayer` or not; with no root
//!   (the span's parent is the remote caller). The difference is what the layer costs a
//!   request, the span's hand-over to the counting processor included;
//! - `unsampled-server`: `server` with a `traceparent` whose caller did not sample (flags
//!   `00`), under a parent-based sampler: what the layer costs the requests a ratio sampler
//!   leaves out (against `server-plain`);
//! - `client`, `client-plain`: one `GET` through a service that answers at once, behind
//!   traced's `ClientLayer` or not, under the root (the client span is its child, its context
//!   injected into the request);
//! - `plain`: the function with no instrumentation.

#![allow(
    clippy::many_single_char_names,
    reason = "the measured functions' arguments are `a` to `f`, as in the benches' library"
)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use traced::traced;
use traced_benches::{A, B, sinks};

const C: &str = "customer-77";

fn body(a: u64, b: &str) -> u64 {
    a.wrapping_mul(31) ^ b.len() as u64
}

#[inline(never)]
fn plain(a: u64, b: &str) -> u64 {
    body(a, b)
}

#[traced(kind = "client")]
fn child(a: u64, b: &str) -> u64 {
    body(a, b)
}

#[traced(kind = "client")]
fn child6(id: u64, note: &str, qty: u64, customer: &str, total: u64, tenant: &str) -> u64 {
    body(id ^ qty ^ total, note) ^ customer.len() as u64 ^ tenant.len() as u64
}

#[traced(kind = "client", attrs(order.id = a + 1, order.note = b))]
fn child3_attrs2(a: u64, b: &str, c: u64) -> u64 {
    body(a ^ c, b)
}

#[traced(kind = "client", attrs(order.id = id + 1, order.note = note))]
fn child8(id: u64, note: &str, qty: u64, customer: &str, total: u64, tenant: &str) -> u64 {
    body(id ^ qty ^ total, note) ^ customer.len() as u64 ^ tenant.len() as u64
}

#[allow(
    clippy::unused_async,
    reason = "nothing to await on purpose: the case measures the span's wrapper around a \
              future; under traced's `off` feature (`--all-features`) the function is left as \
              written, and clippy sees it"
)]
#[traced(kind = "client")]
async fn child_async(a: u64, b: &str) -> u64 {
    body(a, b)
}

#[inline(never)]
fn call_plain() -> u64 {
    plain(black_box(A), black_box(B))
}
#[inline(never)]
fn call_child() -> u64 {
    child(black_box(A), black_box(B))
}
#[inline(never)]
fn call_child6() -> u64 {
    child6(
        black_box(A),
        black_box(B),
        black_box(A + 1),
        black_box(C),
        black_box(A + 2),
        black_box(B),
    )
}
#[inline(never)]
fn call_child3_attrs2() -> u64 {
    child3_attrs2(black_box(A), black_box(B), black_box(A + 1))
}
#[inline(never)]
fn call_child8() -> u64 {
    child8(
        black_box(A),
        black_box(B),
        black_box(A + 1),
        black_box(C),
        black_box(A + 2),
        black_box(B),
    )
}
#[inline(never)]
fn call_async() -> u64 {
    let mut fut = pin!(child_async(black_box(A), black_box(B)));
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[inline(never)]
fn call_span() -> u64 {
    traced::span(black_box("step")).start().end();
    0
}
#[inline(never)]
fn call_remote() -> u64 {
    traced::span(black_box("GET /users/{id}"))
        .kind(traced::SpanKind::Server)
        .parent(black_box(remote()))
        .start()
        .end();
    0
}

#[inline(never)]
fn call_attach() -> u64 {
    let _guard = black_box(captured()).attach();
    0
}

#[inline(never)]
fn call_capture() -> u64 {
    drop(black_box(traced::context::Context::current()));
    0
}

/// One request through an axum router (`GET /users/{id}`), its response body read to the
/// end (where the server span ends), behind traced's `ServerLayer` or not.
fn request(router: &axum::Router, sampled: bool) -> u64 {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let request = axum::http::Request::builder()
        .uri("/users/7")
        .header("host", "127.0.0.1:3000")
        .header("user-agent", "bench/1.0")
        .header(
            "traceparent",
            if sampled {
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            } else {
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
            },
        )
        .body(axum::body::Body::empty())
        .expect("a request");
    futures::executor::block_on(async {
        let response = router.clone().oneshot(request).await.expect("a response");
        let body = response.into_body().collect().await.expect("a body");
        body.to_bytes().len() as u64
    })
}

fn router(traced: bool) -> &'static axum::Router {
    static PLAIN: std::sync::OnceLock<axum::Router> = std::sync::OnceLock::new();
    static TRACED: std::sync::OnceLock<axum::Router> = std::sync::OnceLock::new();
    let make =
        || axum::Router::new().route("/users/{id}", axum::routing::get(|| async { "user-7" }));
    if traced {
        TRACED.get_or_init(|| make().layer(traced::tower::ServerLayer::new()))
    } else {
        PLAIN.get_or_init(make)
    }
}

/// One `GET http://127.0.0.1:3000/users/7` through a service that answers at once, behind
/// traced's `ClientLayer` or not, the response body read to its end.
fn client_request(traced: bool) -> u64 {
    use tower::Layer as _;
    let answer = tower::service_fn(|_request: axum::http::Request<String>| async {
        Ok::<_, std::convert::Infallible>(axum::http::Response::new(http_body_util::Full::new(
            &b"user-7"[..],
        )))
    });
    let request = axum::http::Request::builder()
        .uri("http://127.0.0.1:3000/users/7")
        .body(String::new())
        .expect("a request");
    if traced {
        respond(traced::tower::ClientLayer::new().layer(answer), request)
    } else {
        respond(answer, request)
    }
}

/// The length of the body `service` answers `request` with, read to its end.
fn respond<S, B>(service: S, request: axum::http::Request<String>) -> u64
where
    S: tower::Service<axum::http::Request<String>, Response = axum::http::Response<B>>,
    S::Error: std::fmt::Debug,
    B: axum::body::HttpBody,
    B::Error: std::fmt::Debug,
{
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    futures::executor::block_on(async {
        let response = service.oneshot(request).await.expect("a response");
        let body = response.into_body().collect().await.expect("a body");
        body.to_bytes().len() as u64
    })
}

#[inline(never)]
fn call_client() -> u64 {
    client_request(true)
}

#[inline(never)]
fn call_client_plain() -> u64 {
    client_request(false)
}

#[inline(never)]
fn call_server() -> u64 {
    request(router(true), true)
}

#[inline(never)]
fn call_unsampled_server() -> u64 {
    request(router(true), false)
}

#[inline(never)]
fn call_server_plain() -> u64 {
    request(router(false), true)
}

/// The context captured under the root, once (its span is the root, still open).
fn captured() -> &'static traced::context::Context {
    static CAPTURED: std::sync::OnceLock<traced::context::Context> = std::sync::OnceLock::new();
    CAPTURED.get_or_init(traced::context::Context::current)
}

/// A sampled remote context, as extracted from a `traceparent` (parsed once).
fn remote() -> traced::SpanContext {
    static REMOTE: std::sync::OnceLock<traced::SpanContext> = std::sync::OnceLock::new();
    REMOTE
        .get_or_init(|| {
            traced::SpanContext::new(
                traced::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("trace id"),
                traced::SpanId::from_hex("00f067aa0ba902b7").expect("span id"),
                traced::model::TraceFlags::SAMPLED,
                true,
                traced::model::TraceState::default(),
            )
        })
        .clone()
}

/// Calls made before the measured ones in the `-batch` cases (see `main`).
const WARM_UP: u64 = 16 * FLUSH_EVERY;
/// Calls between two drains of the batch processor's queue in the `-batch` cases: a
/// quarter of its default size, where the worker would be woken.
const FLUSH_EVERY: u64 = 2048;

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().expect("usage: instr <case> <n>");
    let n: u64 = args.next().expect("n").parse().expect("n: a number");
    let otlp = case.ends_with("-otlp");
    let batch = otlp || case.ends_with("-batch");
    let sampler = if case.starts_with("unsampled") {
        traced::Sampler::parent_based(traced::Sampler::AlwaysOff)
    } else {
        traced::Sampler::AlwaysOn
    };
    let builder = traced::pipeline::Pipeline::builder().with_sampler(sampler);
    let builder = if otlp {
        builder.with_batch_exporter(sinks::TracedOtlpEncodingExporter::default())
    } else if batch {
        builder.with_batch_exporter(sinks::TracedCountingExporter)
    } else {
        builder.with_processor(sinks::TracedCountingProcessor)
    };
    let guard = builder.install();
    let (call, rooted): (fn() -> u64, bool) =
        match case.trim_end_matches("-batch").trim_end_matches("-otlp") {
            "plain" => (call_plain, true),
            // (The sampler tells `unsampled` from `child`, and `unsampled-root` from `root`.)
            "child" | "unsampled" => (call_child, true),
            "child6" => (call_child6, true),
            "child3-attrs2" => (call_child3_attrs2, true),
            "child8" => (call_child8, true),
            "async" => (call_async, true),
            "root" | "unsampled-root" => (call_child, false),
            "span" => (call_span, true),
            "remote" => (call_remote, true),
            "attach" => (call_attach, true),
            "capture" => (call_capture, true),
            "server" => (call_server, false),
            "server-plain" => (call_server_plain, false),
            // (The caller did not sample, and the sampler follows it.)
            "unsampled-server" => (call_unsampled_server, false),
            // (Under a root: the client span is the child of the span making the call.)
            "client" => (call_client, true),
            "client-plain" => (call_client_plain, true),
            other => panic!("unknown case {other}"),
        };
    let mut acc = 0;
    // The batch processor's steady state: the worker has put its reserve of boxes and
    // batches aside, and the queue is drained every `FLUSH_EVERY` calls (outside `call_*`),
    // so that no call allocates a box while the worker is still building the reserve and
    // none is shed because the worker, under valgrind, ran too rarely to drain the queue.
    // Without this, the count mixed a first run's allocations with cheap shed calls.
    let flush = || {
        if batch {
            traced::pipeline::force_flush(std::time::Duration::from_secs(60)).ok();
        }
    };
    if batch {
        for _ in 0..WARM_UP / FLUSH_EVERY {
            for _ in 0..FLUSH_EVERY / 256 {
                let mut root = traced::span("root").start();
                let _e = root.enter();
                for _ in 0..256 {
                    acc ^= call();
                }
            }
            flush();
        }
    }
    if rooted {
        // Roots of 256 calls, as in the criterion benches; started outside `call_*`.
        let mut done = 0;
        let mut first = true;
        while first || done < n {
            let mut root = traced::span("root").start();
            let entered = root.enter();
            let chunk = if first { 1 } else { 256.min(n - done) };
            for _ in 0..chunk {
                acc ^= call();
            }
            if !first {
                done += chunk;
            }
            first = false;
            drop(entered);
            root.end();
            if done % FLUSH_EVERY == 0 {
                flush();
            }
        }
    } else {
        acc ^= call();
        for i in 0..n {
            acc ^= call();
            if (i + 1) % FLUSH_EVERY == 0 {
                flush();
            }
        }
    }
    black_box(acc);
    drop(guard);
}
