//! The scenarios of tests/tracing.rs with the lazy bridge: the layer on
//! `traced::tracing::registry()`, which creates a traced span's stand-in only when something
//! asks for the current `tracing` span.

/// `traced::tracing::registry()`: mirrors on demand.
const LAZY: bool = true;

include!("common/tracing_scenarios.rs");
