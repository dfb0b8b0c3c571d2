//! Trace ids in `tracing-subscriber` fmt lines.

use super::layer::context_of;
use crate::model::SpanContext;
use std::fmt;
use tracing_core::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// A fmt event formatter that adds the `trace_id` and `span_id` of the event's span to each
/// line: `trace_id=… span_id=… ` before a text line, two more members in a JSON object.
/// Build it with [`with_trace_ids`]. The ids are those of the traced span the event belongs
/// to: the active `#[traced]` or bridged span, also on threads where a library runs work on
/// its behalf (through `tracing::Span::current()`); lines outside any span are unchanged.
#[derive(Debug, Clone, Default)]
pub struct WithTraceIds<F> {
    inner: F,
}

/// Wraps a fmt event formatter (`fmt::format()`, `fmt::format().json()`, `.compact()`, ...)
/// so its lines carry the ids of the active span:
///
/// ```
/// use tracing_subscriber::{fmt, prelude::*};
/// let subscriber = tracing_subscriber::registry()
///     .with(traced_runtime::tracing::layer())
///     .with(fmt::layer().event_format(traced_runtime::tracing::with_trace_ids(fmt::format())));
/// # drop(subscriber);
/// ```
pub fn with_trace_ids<F>(inner: F) -> WithTraceIds<F> {
    WithTraceIds { inner }
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let cx = event_context(ctx, event);
        if !cx.is_valid() {
            return self.inner.format_event(ctx, writer, event);
        }
        let (trace_id, span_id) = (cx.trace_id(), cx.span_id());
        if writer.has_ansi_escapes() {
            // A terminal: text, never JSON.
            write!(writer, "trace_id={trace_id} span_id={span_id} ")?;
            return self.inner.format_event(ctx, writer, event);
        }
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        if let Some(rest) = line.strip_prefix('{') {
            let sep = if rest.trim_start().starts_with('}') {
                ""
            } else {
                ","
            };
            write!(
                writer,
                "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\"{sep}{rest}"
            )
        } else {
            write!(writer, "trace_id={trace_id} span_id={span_id} {line}")
        }
    }
}

/// The traced context of an event: its explicit parent's, or the thread's active span.
fn event_context<S, N>(ctx: &FmtContext<'_, S, N>, event: &Event<'_>) -> SpanContext
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    if let Some(parent) = event.parent() {
        return ctx
            .span(parent)
            .and_then(|s| context_of(&s))
            .unwrap_or(SpanContext::NONE);
    }
    if event.is_root() {
        return SpanContext::NONE;
    }
    crate::context::current().span_context()
}
