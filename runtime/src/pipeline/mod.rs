//! Where finished spans go before an exporter: the [`Sampler`] that decides at each start,
//! the [`SpanProcessor`]s (simple: export on the ending thread; batch: queue and export from a
//! background thread), and the installed [`Pipeline`] that holds them with the resource and
//! limits, plus each thread's buffer of ended spans.
//!
//! Read this module to write a processor or a sampler, or to build a pipeline by hand; an
//! application usually calls [`crate::init`] instead.

mod batch;
pub(crate) mod formatting;
mod installed;
mod processor;
mod sampler;

pub use batch::{BatchConfig, BatchSpanProcessor};
pub use formatting::{CUT_MARK, formatting_failures};
pub use installed::{
    DEFAULT_SHUTDOWN_TIMEOUT, LOCAL_BATCH, Pipeline, PipelineBuilder, PipelineGuard, flush_thread,
    force_flush, install, installed, shutdown,
};
pub(crate) use installed::{
    POOL_MAX, finish, get, off, recycle_slot, shed_one, take_recording_slot, take_slot,
};
pub(crate) use processor::Counters;
#[doc(hidden)]
pub use processor::Parked;
pub use processor::{ProcessorStats, SimpleSpanProcessor, SpanProcessor};
pub use sampler::{ParentBased, Sampler, SamplingDecision, ShouldSample};
