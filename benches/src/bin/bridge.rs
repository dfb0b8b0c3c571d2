//! Instruction counts of the `tracing` bridge, for callgrind: `bridge <case> <n>` runs `n`
//! calls of one case after one warm-up call; run it twice (`n` and `0`) under
//! `valgrind --tool=callgrind` and divide the difference by `n`. Collect only the measured
//! function: `--toggle-collect='bridge::work'` for the `traced` cases,
//! `--toggle-collect='bridge::tracing_work'` for the `tracing` ones. Build it with and
//! without `--features bridge`: the `traced` case of both shows what compiling the feature
//! costs a program that installs no layer. The figures are in the docs of
//! `traced::tracing` ("Sampling and cost").
//!
//! Cases (all through traced's counting processor, sampler always on):
//! - `traced`: a `#[traced]` child under a root, no `tracing` subscriber;
//! - `traced-layer`: the same with `registry().with(traced::tracing::layer())` installed
//!   (needs the `bridge` feature): what the bridge adds per `#[traced]` span;
//! - `traced-lazy`: the same with `traced::tracing::registry().with(traced::tracing::layer())`
//!   (the lazy bridge: stand-ins only on demand);
//! - `tracing-bridge`: a `tracing` span (`info_span!` with both arguments, entered, exited,
//!   closed) under a traced root, through the registry and traced's layer;
//! - `tracing-lazy`: the same span through the lazy bridge;
//! - `tracing-otel`: the same span through the registry and tracing-opentelemetry (SDK tracer,
//!   counting processor);
//! - `tracing-counting`: the same span through the registry and a counting layer: what
//!   `tracing` itself costs.

use std::hint::black_box;
use traced::traced;
use traced_benches::{A, B, sinks};
use tracing_subscriber::prelude::*;

#[traced(kind = "client")]
fn work(a: u64, b: &str) -> u64 {
    a.wrapping_mul(31) ^ b.len() as u64
}

fn tracing_work(a: u64, b: &str) -> u64 {
    let span = tracing::info_span!("work", otel.kind = "client", a, b);
    let _e = span.enter();
    a.wrapping_mul(31) ^ b.len() as u64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().expect("case");
    let n: u64 = args.next().expect("n").parse().expect("n");
    let _guard = traced::pipeline::Pipeline::builder()
        .with_processor(sinks::TracedCountingProcessor)
        .with_sampler(traced::Sampler::AlwaysOn)
        .install();
    let call: fn(u64, &str) -> u64 = match case.as_str() {
        "traced" => work,
        #[cfg(feature = "bridge")]
        "traced-layer" => {
            tracing_subscriber::registry()
                .with(traced::tracing::layer())
                .init();
            work
        }
        #[cfg(feature = "bridge")]
        "traced-lazy" => {
            traced::tracing::registry()
                .with(traced::tracing::layer())
                .init();
            work
        }
        #[cfg(feature = "bridge")]
        "tracing-lazy" => {
            traced::tracing::registry()
                .with(traced::tracing::layer())
                .init();
            tracing_work
        }
        #[cfg(feature = "bridge")]
        "tracing-bridge" => {
            tracing_subscriber::registry()
                .with(traced::tracing::layer())
                .init();
            tracing_work
        }
        "tracing-otel" => {
            use opentelemetry::trace::TracerProvider as _;
            let provider = sinks::otel_provider(true);
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
            tracing_subscriber::registry().with(layer).init();
            std::mem::forget(provider);
            tracing_work
        }
        "tracing-counting" => {
            tracing_subscriber::registry()
                .with(sinks::CountingLayer)
                .init();
            tracing_work
        }
        other => panic!("unknown case {other}"),
    };
    let root_span = tracing::info_span!("root");
    let _root_tracing = root_span.enter();
    let mut root = traced::span("root").start();
    let _entered = root.enter();
    let mut acc = call(black_box(A), black_box(B));
    for _ in 0..n {
        acc ^= call(black_box(A), black_box(B));
    }
    black_box(acc);
}
