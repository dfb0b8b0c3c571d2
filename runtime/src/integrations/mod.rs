//! Integrations with other crates, each behind a cargo feature named after the crate and
//! re-exported at the crate root (`traced::tracing`, `traced::log`).

#[cfg(feature = "log")]
pub mod log;
#[cfg(feature = "tracing")]
pub mod tracing;
