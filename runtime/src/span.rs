//! The span: started, entered, ended. Where a span ends is in this file.

use crate::clock;
use crate::context::{self, Active, Change, Saved};
use crate::data::{Event, Link, SpanData, SpanKind, Status};
use crate::ids::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use crate::pipeline::{self, Pipeline};
use crate::sampling::SamplingDecision;
use crate::value::{Key, KeyValue, ToValue, Value};
use std::borrow::Cow;
use std::fmt;

/// Where a span's code lives: the OpenTelemetry `code.*` attributes, as static strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeLocation {
    /// The module path, e.g. `shop::payments`.
    pub module_path: &'static str,
    /// The function's name, e.g. `charge`.
    pub function: &'static str,
    /// The source file.
    pub file: &'static str,
    /// The line of the function.
    pub line: u32,
}

/// A span being recorded, or a placeholder when tracing is off or the span is unsampled.
///
/// A span ends exactly once: when [`Span::end`] is called, or when it is dropped.
///
/// ```
/// use traced_runtime::{span, SpanKind};
/// let mut s = span("load-config").kind(SpanKind::Internal).attribute("path", "/etc/app").start();
/// s.set_attribute("entries", 12);
/// s.end();
/// ```
#[must_use = "a span ends when dropped: bind it to a variable"]
pub struct Span {
    state: State,
}

// A recording span is large by design: it lives on the caller's stack (or in its future)
// so that starting one never allocates.
#[allow(clippy::large_enum_variant)]
enum State {
    /// Tracing off, or an unsampled child whose parent's context stays active.
    Off,
    /// Unsampled, but with ids of its own to propagate.
    NonRecording(Active, TraceState),
    /// Recording.
    Recording(Record),
}

struct Record {
    data: SpanData,
    pipeline: &'static Pipeline,
    /// Recorded (possibly `RecordOnly`): exported only when sampled.
    sampled: bool,
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            State::Off => f.write_str("Span(off)"),
            State::NonRecording(a, _) => {
                write!(f, "Span(non-recording {}:{})", a.trace_id, a.span_id)
            }
            State::Recording(r) => write!(
                f,
                "Span({:?} {})",
                r.data.name,
                r.data.span_context.span_id()
            ),
        }
    }
}

/// The parent a new span takes.
#[derive(Debug, Clone, Default)]
pub enum Parent {
    /// The thread's active span, if any (the default).
    #[default]
    Current,
    /// None: a new trace.
    Root,
    /// This context, local or remote (e.g. extracted from request headers).
    Context(SpanContext),
}

impl From<SpanContext> for Parent {
    fn from(cx: SpanContext) -> Self {
        Parent::Context(cx)
    }
}
impl From<Option<SpanContext>> for Parent {
    fn from(cx: Option<SpanContext>) -> Self {
        cx.map_or(Parent::Root, Parent::Context)
    }
}
impl From<&SpanContext> for Parent {
    fn from(cx: &SpanContext) -> Self {
        Parent::Context(cx.clone())
    }
}
/// This span is the parent (a span that is off gives a root).
impl From<&Span> for Parent {
    fn from(span: &Span) -> Self {
        Parent::Context(span.span_context())
    }
}
impl From<&Span> for SpanContext {
    fn from(span: &Span) -> Self {
        span.span_context()
    }
}

/// Everything a span starts from. The macro fills it from static data; [`SpanBuilder`] at run
/// time.
struct Start<'a> {
    name: Cow<'static, str>,
    kind: SpanKind,
    parent: &'a Parent,
    code: Option<&'static CodeLocation>,
    at: Option<u64>,
}

impl Span {
    /// A span that records nothing.
    pub const fn none() -> Span {
        Span { state: State::Off }
    }

    #[inline]
    fn start_inner(start: Start<'_>) -> Span {
        let Some(pipeline) = pipeline::get() else {
            return Span::none();
        };
        let (parent, parent_state) = match start.parent {
            Parent::Current => {
                let a = context::active();
                (a.is_valid().then_some(a), None)
            }
            Parent::Context(cx) if cx.is_valid() => (
                Some(Active::from_context(cx, false)),
                Some(cx.trace_state()),
            ),
            Parent::Root | Parent::Context(_) => (None, None),
        };
        let trace_id = match parent {
            Some(p) => p.trace_id,
            None => TraceId::random(),
        };
        let decision = match parent {
            Some(p) => {
                let cx = SpanContext::new(
                    p.trace_id,
                    p.span_id,
                    p.flags,
                    p.is_remote,
                    TraceState::NONE,
                );
                pipeline
                    .sampler
                    .should_sample(Some(&cx), trace_id, &start.name, start.kind)
            }
            None => pipeline
                .sampler
                .should_sample(None, trace_id, &start.name, start.kind),
        };
        let parent_flags = parent.map_or(TraceFlags::NOT_SAMPLED, |p| p.flags);
        let trace_state = || match (parent, parent_state) {
            (_, Some(s)) => s.clone(),
            (Some(p), None) if p.has_state => p.span_context().trace_state().clone(),
            _ => TraceState::NONE,
        };
        if decision == SamplingDecision::Drop {
            // An unsampled child of a span active here: the parent's context stays current
            // and goes on propagating; nothing else to do.
            if matches!(start.parent, Parent::Current) && parent.is_some() {
                return Span::none();
            }
            let a = Active {
                trace_id,
                span_id: SpanId::random(),
                flags: parent_flags.with_sampled(false),
                is_remote: false,
                recording: false,
                has_state: parent.is_some_and(|p| p.has_state)
                    || parent_state.is_some_and(|s| !s.is_empty()),
            };
            return Span {
                state: State::NonRecording(a, trace_state()),
            };
        }
        let sampled = decision == SamplingDecision::RecordAndSample;
        let span_context = SpanContext::new(
            trace_id,
            SpanId::random(),
            parent_flags.with_sampled(sampled),
            false,
            trace_state(),
        );
        let start_time = match start.at {
            Some(t) => t,
            None => clock::to_unix_nanos(clock::now()),
        };
        Span {
            state: State::Recording(Record {
                data: SpanData {
                    span_context,
                    parent_span_id: parent.map_or(SpanId::INVALID, |p| p.span_id),
                    parent_is_remote: parent.is_some_and(|p| p.is_remote),
                    name: start.name,
                    kind: start.kind,
                    start_time_unix_nano: start_time,
                    end_time_unix_nano: 0,
                    attributes: crate::data::Attributes::new(),
                    dropped_attributes_count: 0,
                    events: Vec::new(),
                    dropped_events_count: 0,
                    links: Vec::new(),
                    dropped_links_count: 0,
                    status: Status::Unset,
                    code: start.code,
                },
                pipeline,
                sampled,
            }),
        }
    }

    /// Starts the span of a `#[traced]` function.
    #[doc(hidden)]
    #[inline]
    pub fn start_callsite(cs: &'static crate::private::Callsite) -> Span {
        // Tracing off costs this one atomic load and a branch.
        if pipeline::get().is_none() {
            return Span::none();
        }
        Span::start_callsite_slow(cs)
    }

    /// Starts the span of a `#[traced(parent = ..)]` function: `parent` instead of the
    /// thread's active span (anything `Into<Parent>`: a `SpanContext`, an
    /// `Option<SpanContext>` from `propagation::extract`, a `&Span`, a `Context`).
    #[doc(hidden)]
    #[inline]
    pub fn start_callsite_with_parent(
        cs: &'static crate::private::Callsite,
        parent: &Parent,
    ) -> Span {
        if pipeline::get().is_none() {
            return Span::none();
        }
        Span::start_inner(Start {
            name: Cow::Borrowed(cs.name),
            kind: cs.kind,
            parent,
            code: cs.code(),
            at: None,
        })
    }

    #[inline(never)]
    fn start_callsite_slow(cs: &'static crate::private::Callsite) -> Span {
        // The common unsampled case: a child of an unsampled span of this process, under a
        // sampler that follows local parents. The parent's context stays active; nothing to do.
        if let Some(pipeline) = pipeline::get()
            && pipeline.follows_local_parent
        {
            let parent = context::active();
            if parent.is_valid() && !parent.is_remote && !parent.flags.is_sampled() {
                return Span::none();
            }
        }
        Span::start_inner(Start {
            name: Cow::Borrowed(cs.name),
            kind: cs.kind,
            parent: &Parent::Current,
            code: cs.code(),
            at: None,
        })
    }

    /// Whether attributes and events set on this span are kept.
    #[inline]
    pub fn is_recording(&self) -> bool {
        matches!(self.state, State::Recording(_))
    }

    /// The span's context (invalid for a span that is off).
    pub fn span_context(&self) -> SpanContext {
        match &self.state {
            State::Off => SpanContext::NONE,
            State::NonRecording(a, state) => {
                SpanContext::new(a.trace_id, a.span_id, a.flags, false, state.clone())
            }
            State::Recording(r) => r.data.span_context.clone(),
        }
    }

    /// Sets an attribute; a key set twice keeps the last value.
    pub fn set_attribute(&mut self, key: impl Into<Key>, value: impl ToValue) {
        if let State::Recording(r) = &mut self.state {
            r.data
                .set_attribute(KeyValue::new(key, value), &r.pipeline.limits);
        }
    }

    /// Adds a static-keyed attribute that may be absent: the arguments of a `#[traced]`
    /// function, right after the start. The expansion guarantees the keys are distinct, so
    /// there is no search for an earlier value with the same key.
    #[doc(hidden)]
    #[inline(always)]
    pub fn attr<V: crate::private::AttrArg>(&mut self, key: &'static str, value: V) {
        if let (State::Recording(r), Some(value)) = (&mut self.state, value.into_attr()) {
            r.data.push_attribute(
                KeyValue {
                    key: Cow::Borrowed(key),
                    value,
                },
                &r.pipeline.limits,
            );
        }
    }

    /// Adds an event at the current time.
    pub fn add_event(&mut self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        if let State::Recording(r) = &mut self.state {
            r.data
                .add_event(Event::new(name, attributes), &r.pipeline.limits);
        }
    }

    /// Adds a link to another span.
    pub fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        if let State::Recording(r) = &mut self.state {
            r.data
                .add_link(Link::new(span_context, attributes), &r.pipeline.limits);
        }
    }

    /// Sets the status, with OpenTelemetry's precedence rules.
    pub fn set_status(&mut self, status: Status) {
        if let State::Recording(r) = &mut self.state {
            r.data.status.update(status);
        }
    }

    /// Renames the span.
    pub fn update_name(&mut self, name: impl Into<Cow<'static, str>>) {
        if let State::Recording(r) = &mut self.state {
            r.data.name = name.into();
        }
    }

    /// Records an error: status `Error` with the error's message, and an `exception` event
    /// with `exception.type` and `exception.message`.
    pub fn record_error<E: std::error::Error + ?Sized>(&mut self, error: &E) {
        self.record_exception(std::any::type_name::<E>(), error.to_string());
    }

    /// Records an exception from its type name and message.
    pub fn record_exception(&mut self, exception_type: &str, message: String) {
        if let State::Recording(r) = &mut self.state {
            r.data
                .record_exception(exception_type, message, &r.pipeline.limits);
        }
    }

    /// Makes this span the thread's active span until the guard is dropped. Spans started
    /// meanwhile are its children. Dropping the guard does not end the span.
    pub fn enter(&mut self) -> Entered<'_> {
        let saved = self.activate();
        Entered {
            span: self,
            saved,
            was_panicking: std::thread::panicking(),
            ends_span: false,
        }
    }

    /// Enters the span for the guard's lifetime and ends it when the guard drops, recording a
    /// panic that unwinds through it. This is what `#[traced]` functions use.
    #[doc(hidden)]
    #[inline]
    pub fn enter_until_end(&mut self) -> Entered<'_> {
        if let State::Off = self.state {
            // Nothing to activate or end: the guard does nothing.
            return Entered {
                span: self,
                saved: None,
                was_panicking: false,
                ends_span: false,
            };
        }
        let saved = self.activate();
        Entered {
            span: self,
            saved,
            was_panicking: std::thread::panicking(),
            ends_span: true,
        }
    }

    /// Runs `f` with this span active.
    pub fn in_scope<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let _guard = self.enter();
        f()
    }

    #[inline]
    pub(crate) fn activate(&mut self) -> Option<Saved> {
        match &self.state {
            State::Off => None,
            State::NonRecording(a, state) => context::enter(*a, state),
            State::Recording(r) => {
                let cx = &r.data.span_context;
                let a = Active::from_context(cx, true);
                context::enter(a, cx.trace_state())
            }
        }
    }

    /// Puts back the previous context and applies what was set through `current()`.
    #[inline]
    pub(crate) fn deactivate(&mut self, saved: Option<Saved>) {
        if let Some(saved) = saved {
            context::exit(saved);
            if let State::Recording(r) = &mut self.state {
                let limits = &r.pipeline.limits;
                let data = &mut r.data;
                context::take_changes(data.span_context.span_id(), |c| match c {
                    Change::Attribute(kv) => data.set_attribute(kv, limits),
                    Change::Event(e) => data.add_event(e, limits),
                    Change::Link(l) => data.add_link(l, limits),
                    Change::Status(s) => data.status.update(s),
                    Change::Exception { kind, message } => {
                        data.record_exception(&kind, message, limits);
                    }
                    Change::Name(n) => data.name = n,
                });
            }
        }
    }

    /// Records the panic unwinding the thread, if any.
    pub(crate) fn record_panic(&mut self) {
        if self.is_recording() {
            self.record_exception("panic", crate::panic::message());
        }
    }

    /// Marks a future dropped before completion.
    pub(crate) fn record_cancelled(&mut self) {
        if let State::Recording(r) = &mut self.state {
            r.data
                .set_attribute(KeyValue::new("traced.cancelled", true), &r.pipeline.limits);
        }
    }

    /// Ends the span now.
    pub fn end(mut self) {
        self.end_in_place(None);
    }

    /// Ends the span at the given time (nanoseconds since the Unix epoch).
    pub fn end_with_timestamp(mut self, end_unix_nanos: u64) {
        self.end_in_place(Some(end_unix_nanos));
    }

    #[inline(never)]
    pub(crate) fn end_in_place(&mut self, at: Option<u64>) {
        match &mut self.state {
            State::Off => {}
            State::NonRecording(..) => self.state = State::Off,
            State::Recording(r) => {
                r.data.end_time_unix_nano =
                    at.unwrap_or_else(|| clock::to_unix_nanos(clock::now()));
                if r.sampled {
                    let pipeline = r.pipeline;
                    let data: *const SpanData = &raw const r.data;
                    // SAFETY: `finish` moves the record out of `data` exactly once (it reserves
                    // room first, so nothing can panic after the move), and the state is then
                    // overwritten without being dropped, so the record is never dropped twice.
                    // The other fields of `Record` have no destructor.
                    unsafe {
                        pipeline::finish(pipeline, data);
                        std::ptr::write(&raw mut self.state, State::Off);
                    }
                } else {
                    self.state = State::Off;
                }
            }
        }
    }
}

impl Drop for Span {
    #[inline]
    fn drop(&mut self) {
        if !matches!(self.state, State::Off) {
            self.end_in_place(None);
        }
    }
}

/// The guard of an entered span: the previous context comes back when it drops.
#[must_use = "the span is active only while the guard lives"]
pub struct Entered<'a> {
    span: &'a mut Span,
    saved: Option<Saved>,
    was_panicking: bool,
    ends_span: bool,
}

impl fmt::Debug for Entered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Entered").field(&self.span).finish()
    }
}

impl std::ops::Deref for Entered<'_> {
    type Target = Span;
    fn deref(&self) -> &Span {
        self.span
    }
}
impl std::ops::DerefMut for Entered<'_> {
    fn deref_mut(&mut self) -> &mut Span {
        self.span
    }
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.saved.is_some() {
            self.span.deactivate(self.saved.take());
        }
        if self.ends_span {
            if !self.was_panicking && std::thread::panicking() {
                self.span.record_panic();
            }
            self.span.end_in_place(None);
        }
    }
}

/// Starts a span by hand, for code the macro does not cover.
///
/// ```
/// use traced_runtime::{span, SpanKind, KeyValue};
/// let mut s = span("poll-queue")
///     .kind(SpanKind::Consumer)
///     .attribute("messaging.system", "kafka")
///     .start();
/// s.in_scope(|| { /* work: spans started here are children */ });
/// ```
pub fn span(name: impl Into<Cow<'static, str>>) -> SpanBuilder {
    SpanBuilder {
        name: name.into(),
        kind: SpanKind::Internal,
        parent: Parent::Current,
        attributes: Vec::new(),
        links: Vec::new(),
        start: None,
    }
}

/// A span about to start: name, kind, parent, attributes, links, start time.
#[derive(Debug, Clone)]
#[must_use = "call .start() to start the span"]
pub struct SpanBuilder {
    name: Cow<'static, str>,
    kind: SpanKind,
    parent: Parent,
    attributes: Vec<KeyValue>,
    links: Vec<Link>,
    start: Option<u64>,
}

impl SpanBuilder {
    /// The span's kind (default: internal).
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }
    /// The parent (default: the active span).
    pub fn parent(mut self, parent: impl Into<Parent>) -> Self {
        self.parent = parent.into();
        self
    }
    /// Starts a new trace, whatever span is active.
    pub fn root(mut self) -> Self {
        self.parent = Parent::Root;
        self
    }
    /// An attribute.
    pub fn attribute(mut self, key: impl Into<Key>, value: impl ToValue) -> Self {
        self.attributes.push(KeyValue::new(key, value));
        self
    }
    /// A link to another span.
    pub fn link(mut self, span_context: SpanContext, attributes: Vec<KeyValue>) -> Self {
        self.links.push(Link::new(span_context, attributes));
        self
    }
    /// An explicit start time, in nanoseconds since the Unix epoch.
    pub fn start_time(mut self, unix_nanos: u64) -> Self {
        self.start = Some(unix_nanos);
        self
    }
    /// Starts the span.
    pub fn start(self) -> Span {
        let mut span = Span::start_inner(Start {
            name: self.name,
            kind: self.kind,
            parent: &self.parent,
            code: None,
            at: self.start,
        });
        if let State::Recording(r) = &mut span.state {
            for kv in self.attributes {
                r.data.set_attribute(kv, &r.pipeline.limits);
            }
            for l in self.links {
                r.data.add_link(l, &r.pipeline.limits);
            }
        }
        span
    }
}

#[allow(dead_code)]
fn _assert_send() {
    fn is<T: Send + Sync>() {}
    is::<Span>();
    let _: Option<Value> = None;
}
