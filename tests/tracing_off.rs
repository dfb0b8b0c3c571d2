//! The `tracing` feature compiled in, the layer never installed: `tracing` calls are ignored
//! by traced (nothing recorded, nothing panics) and traced spans are exactly as without it.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]

use traced::{testing, traced};

#[tracing::instrument]
fn instrumented(n: u64) -> u64 {
    tracing::info!(n, "inside");
    let span = tracing::Span::current();
    std::thread::spawn(move || span.in_scope(|| traced_child(n)))
        .join()
        .unwrap()
}

#[traced]
fn traced_child(n: u64) -> u64 {
    n + 1
}

#[traced]
fn traced_parent() -> u64 {
    tracing::info!("ignored");
    log::info!("ignored too");
    instrumented(1)
}

#[test]
fn tracing_calls_are_ignored_without_the_layer() {
    let (n, spans) = testing::capture(traced_parent);
    assert_eq!(n, 2);
    // The `tracing` span is not ours, and no subscriber carried the context to the thread:
    // the child there is a root of its own.
    assert_eq!(spans.len(), 2, "{}", traced::export::render_tree(&spans));
    let parent = testing::one(&spans, "traced_parent");
    assert!(parent.events.is_empty());
    assert!(testing::one(&spans, "traced_child").is_root());
}

#[test]
fn a_subscriber_without_the_layer_sees_no_stand_in_spans() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tracing_subscriber::prelude::*;

    /// Counts the stand-ins (spans of target `traced`) the user's own layer sees. (Not all
    /// spans: the other test calls the same `#[instrument]` function with no subscriber, and
    /// tracing's callsite interest cache may then hide it from this one.)
    struct Count(Arc<AtomicUsize>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if attrs.metadata().target() == "traced" {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let seen = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(Count(seen.clone()));
    let (n, spans) =
        tracing::subscriber::with_default(subscriber, || testing::capture(traced_parent));
    assert_eq!(n, 2);
    assert_eq!(spans.len(), 2);
    // No span stands for the traced ones.
    assert_eq!(seen.load(Ordering::Relaxed), 0);
}
