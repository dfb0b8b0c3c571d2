//! traced: OpenTelemetry-native spans from one attribute.
pub use traced_macros::traced;
pub use traced_runtime::*;

#[doc(hidden)]
pub mod __private {
    pub use traced_runtime::__private::*;
}
