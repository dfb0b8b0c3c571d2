//! `Config::with_tracing(true)`: one line installs traced's pipeline and a `tracing`
//! subscriber with traced's layer (a process of its own: it sets the global default).

use traced::config::TracesExporter;

#[test]
fn with_tracing_installs_a_subscriber_with_the_layer() {
    let _guard = traced::Config::new()
        .with_exporter(TracesExporter::None)
        .with_tracing(true)
        .install();
    assert!(tracing::dispatcher::get_default(|d| {
        d.is::<traced::tracing::TracedLayer>()
    }));
    let mut span = traced::span("request").start();
    let trace_id = span.span_context().trace_id();
    let on_thread = span.in_scope(|| {
        let current = tracing::Span::current();
        assert!(!current.is_none());
        std::thread::spawn(move || current.in_scope(|| traced::current().trace_id()))
            .join()
            .unwrap()
    });
    span.end();
    assert_eq!(on_thread, trace_id);
}
