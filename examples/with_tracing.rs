//! A service that already logs with `tracing` (and has an old `log` dependency) adds traced:
//! one line in the subscriber, one wrapper around the logger. The library code below knows
//! only `tracing`; its spans and events land in the `#[traced]` handler's trace, a span it
//! hands to a worker thread included, and every line carries `trace_id` and `span_id`.
//!
//! ```text
//! cargo run --example with_tracing
//! ```

use tracing_subscriber::prelude::*;

/// A library instrumented with `tracing` only.
mod inventory {
    use tracing::{Span, info, instrument, warn};

    #[instrument(fields(otel.kind = "client", found = tracing::field::Empty))]
    pub(crate) fn reserve(sku: &str, quantity: u32) -> bool {
        info!(sku, "checking stock");
        // A worker thread doing the work on the caller's behalf, as sqlx's does.
        let span = Span::current();
        let found = std::thread::spawn(move || {
            span.in_scope(|| {
                info!("looked up on the worker thread");
                super::audit(quantity)
            })
        })
        .join()
        .unwrap();
        Span::current().record("found", found);
        if !found {
            warn!(quantity, "not enough stock");
        }
        found
    }
}

#[traced::traced]
fn audit(quantity: u32) -> bool {
    log::info!("audited {quantity} items");
    quantity < 5
}

#[traced::traced(kind = "server")]
fn handle_order(sku: &str, quantity: u32) -> Result<(), String> {
    tracing::info!("order received");
    if inventory::reserve(sku, quantity) {
        Ok(())
    } else {
        tracing::error!(error = "out of stock", sku, "order refused");
        Err("out of stock".into())
    }
}

fn main() {
    // The spans go to the terminal as trees (or to a collector: see the README).
    let _guard = traced::init();
    // The subscriber the service already had, plus one line (and traced's registry in place
    // of `tracing_subscriber::registry()`: stand-ins for traced spans only on demand).
    traced::tracing::registry()
        .with(traced::tracing::layer())
        .with(
            tracing_subscriber::fmt::layer().event_format(traced::tracing::with_trace_ids(
                tracing_subscriber::fmt::format(),
            )),
        )
        .init();
    // The logger it already had (here: one that prints), wrapped.
    traced::log::Logger::new(PrintLogger)
        .install(log::LevelFilter::Info)
        .unwrap();

    let _ = handle_order("sku-1", 2);
    let _ = handle_order("sku-2", 9);
}

/// Stands for whatever `log` backend a service has: prints the record and its key-values.
struct PrintLogger;

impl log::Log for PrintLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        struct Kvs(String);
        impl<'kvs> log::kv::VisitSource<'kvs> for Kvs {
            fn visit_pair(
                &mut self,
                key: log::kv::Key<'kvs>,
                value: log::kv::Value<'kvs>,
            ) -> Result<(), log::kv::Error> {
                use std::fmt::Write as _;
                let _ = write!(self.0, " {key}={value}");
                Ok(())
            }
        }
        let mut kvs = Kvs(String::new());
        let _ = record.key_values().visit(&mut kvs);
        eprintln!("[log {}] {}{}", record.level(), record.args(), kvs.0);
    }
    fn flush(&self) {}
}
