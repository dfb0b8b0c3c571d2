//! What a span is made of: ids and span context, attribute values, events, links, status,
//! resource, limits, the finished [`SpanData`] an exporter reads, and the compact record the
//! hot path writes. The bottom layer: nothing here imports another part of the crate (a
//! record's pointer to the pipeline that started it is a `record::PipelineRef`, which only
//! the pipeline layer makes and reads as a pipeline).

pub(crate) mod clock;
mod ids;
pub(crate) mod record;
pub(crate) mod redacted;
pub mod secret;
pub mod semconv;
mod span_data;
mod value;

pub use clock::now_unix_nanos;
pub use ids::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
pub use redacted::Redacted;
pub use span_data::{
    Attributes, CodeLocation, DEFAULT_DEBUG_VALUE_LENGTH, Event, InstrumentationScope, Link,
    Resource, SpanData, SpanKind, SpanLimits, Status,
};
pub use value::{Array, Key, KeyValue, OptionalValue, StringValue, ToValue, Value};
