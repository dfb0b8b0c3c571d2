//! The scenarios of tests/tracing.rs with the lazy bridge: the layer on
//! `traced::tracing::registry()`, which creates a traced span's stand-in only when something
//! asks for the current `tracing` span.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]

/// `traced::tracing::registry()`: mirrors on demand.
const LAZY: bool = true;

include!("common/tracing_scenarios.rs");
