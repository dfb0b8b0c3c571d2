//! The hot path: a span started (from a builder or the macro's callsite), entered, ended.
//! Where a span ends is in this file; [`future`] and [`stream`] carry a span (or a context)
//! across `.await`s, and [`callsite`] is what the macro's expansion hands in.
//!
//! Depends on the model, the context stack and the installed pipeline; never on an exporter.

pub(crate) mod callsite;
pub(crate) mod future;
pub(crate) mod stream;

use crate::context::{self, Active, Change, Context, Saved};
use crate::model::clock;
use crate::model::record::{PipelineRef, Record, Slot, bits, inline_room};
use crate::model::{CodeLocation, Event, InstrumentationScope, Link, SpanKind, Status};
use crate::model::{Key, KeyValue, StringValue, ToValue, Value};
use crate::model::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use crate::pipeline::SamplingDecision;
use crate::pipeline::{self, Pipeline};
use callsite::{Attrs, Callsite};
use std::borrow::Cow;
use std::fmt;
use std::mem::MaybeUninit;

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
    /// `None` when tracing is off, or for an unsampled child whose parent's context stays
    /// active. Otherwise the record, initialized, in a box from the thread's pool: the span
    /// itself is one pointer, so a traced function's frame stays small and moving a span
    /// (into a future, to another thread) copies eight bytes.
    rec: Option<Slot>,
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rec() {
            None => f.write_str("Span(off)"),
            Some(r) if !r.is_recording() => {
                write!(f, "Span(non-recording {}:{})", r.trace_id, r.span_id)
            }
            Some(r) => write!(f, "Span({:?} {})", r.name(), r.span_id),
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
/// The captured context's span becomes the parent; an empty context gives a root.
impl From<&Context> for Parent {
    fn from(cx: &Context) -> Self {
        if cx.has_active_span() {
            Parent::Context(cx.span_context())
        } else {
            Parent::Root
        }
    }
}

impl From<Context> for Parent {
    fn from(cx: Context) -> Self {
        Parent::from(&cx)
    }
}

impl From<&Span> for SpanContext {
    fn from(span: &Span) -> Self {
        span.span_context()
    }
}

/// Everything a span starts from besides its parent. The macro fills it from static data;
/// [`SpanBuilder`] at run time.
pub(crate) struct Start<'n> {
    pub(crate) name: StartName<'n>,
    pub(crate) kind: SpanKind,
    pub(crate) code: Option<&'static CodeLocation>,
    pub(crate) scope: &'static InstrumentationScope,
    pub(crate) at: Option<u64>,
}

/// A new span's name, as the sampler reads it and as the record keeps it.
pub(crate) enum StartName<'n> {
    /// Kept by reference.
    Static(&'static str),
    /// Moved into the record.
    Owned(String),
    /// Copied into the record if the span records; a span that does not keeps no name.
    /// A name built on the caller's stack (an HTTP server's `GET /users/{id}`) costs an
    /// allocation only for a span that is recorded.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))] // Lent by the tower layers.
    Lent(&'n str),
}

impl StartName<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            StartName::Static(name) | StartName::Lent(name) => name,
            StartName::Owned(name) => name,
        }
    }

    /// The name as the record keeps it (out of line: most names are static): a lent one of
    /// up to 24 bytes is copied inline, with no allocation.
    #[inline(never)]
    fn into_owned(self) -> StringValue {
        match self {
            StartName::Owned(name) => name.into(),
            StartName::Static(name) => StringValue::from_static(name),
            StartName::Lent(name) => name.into(),
        }
    }
}

impl From<Cow<'static, str>> for StartName<'_> {
    fn from(name: Cow<'static, str>) -> Self {
        match name {
            Cow::Borrowed(name) => StartName::Static(name),
            Cow::Owned(name) => StartName::Owned(name),
        }
    }
}

/// The parent of a new span, resolved: the active span's ids, or a given context's.
#[derive(Clone, Copy)]
struct ParentOf<'a> {
    /// The parent's ids ([`Active::NONE`] for none): kept whole rather than in an `Option`,
    /// whose copies (its tag a niche in the last field) go in odd-sized pieces read back
    /// wider than written (store-forwarding stalls). Read through [`ParentOf::ids`].
    active: Active,
    /// The trace state of a given parent context (`None` for the thread's active span, whose
    /// state is on the context stack).
    state: Option<&'a TraceState>,
    /// The parent is the thread's active span (`Parent::Current`).
    current: bool,
}

impl<'a> ParentOf<'a> {
    #[inline]
    fn resolve(parent: &'a Parent) -> Self {
        match parent {
            Parent::Current => Self::active(context::active()),
            Parent::Context(cx) if cx.is_valid() => ParentOf {
                active: Active::from_context(cx, false),
                state: Some(cx.trace_state()),
                current: false,
            },
            Parent::Root | Parent::Context(_) => ParentOf {
                active: Active::NONE,
                state: None,
                current: false,
            },
        }
    }

    /// The parent's ids, if it has any.
    #[inline(always)]
    fn ids(&self) -> Option<Active> {
        self.active.is_valid().then_some(self.active)
    }

    #[inline]
    fn active(a: Active) -> Self {
        ParentOf {
            active: a,
            state: None,
            current: true,
        }
    }

    /// The thread's active span, its trace state at hand.
    #[inline]
    fn active_with_state(a: Active, state: &'a TraceState) -> Self {
        ParentOf {
            active: a,
            state: Some(state),
            current: true,
        }
    }
}

impl Span {
    /// A span that records nothing.
    pub const fn none() -> Span {
        Span { rec: None }
    }

    /// The record, if the span has one.
    #[inline]
    fn rec(&self) -> Option<&Record> {
        // SAFETY: a span only ever holds an initialized record (written in `start_inner`,
        // taken out before it is moved from or dropped in `end_in_place`).
        self.rec
            .as_ref()
            .map(|slot| unsafe { slot.assume_init_ref() })
    }

    /// The record, if the span has one.
    #[inline]
    fn rec_mut(&mut self) -> Option<&mut Record> {
        // SAFETY: as in `rec`.
        self.rec
            .as_mut()
            .map(|slot| unsafe { slot.assume_init_mut() })
    }

    /// The record, if the span is recording.
    #[inline]
    fn recording(&mut self) -> Option<&mut Record> {
        // SAFETY: as in `rec`.
        self.rec
            .as_mut()
            .map(|slot| unsafe { slot.assume_init_mut() })
            .filter(|r| r.is_recording())
    }

    #[inline]
    fn start_inner(pipeline: &'static Pipeline, start: Start<'_>, parent: ParentOf<'_>) -> Span {
        let ids = parent.ids();
        let trace_id = match ids {
            Some(p) => p.trace_id,
            None => TraceId::random(),
        };
        let decision = match ids {
            // The common case, without a call: a sampled parent of this process, under a
            // sampler that samples all of its children (OpenTelemetry's default).
            Some(p)
                if pipeline.samples_sampled_local_children()
                    && !p.is_remote
                    && p.flags.is_sampled() =>
            {
                SamplingDecision::RecordAndSample
            }
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
                    .should_sample(Some(&cx), trace_id, start.name.as_str(), start.kind)
            }
            None => pipeline
                .sampler
                .should_sample(None, trace_id, start.name.as_str(), start.kind),
        };
        // Shed by a thread whose spans the processor's full queue refused: not recorded,
        // counted as dropped (see `pipeline::take_recording_slot`). Only children of the span
        // active here: they vanish like an unsampled child, and what starts under them is
        // shed or recorded on its own, each counted. A root, or a child of a remote parent,
        // is always recorded: shed, it would leave everything under it unsampled, uncounted.
        let decision = if decision == SamplingDecision::RecordAndSample
            && parent.current
            && ids.is_some()
            && pipeline::shed_one()
        {
            SamplingDecision::Drop
        } else {
            decision
        };
        if decision == SamplingDecision::Drop && parent.current && ids.is_some() {
            // An unsampled child of a span active here: the parent's context stays current
            // and goes on propagating; nothing else to do.
            return Span::none();
        }
        // A new trace's id is random through all 16 bytes (`TraceId::random`), so it carries
        // the W3C Level 2 random flag; a continued trace keeps its parent's flags as they are.
        let parent_flags = ids.map_or(TraceFlags::RANDOM, |p| p.flags);
        let trace_state = match (ids, parent.state) {
            (_, Some(s)) if !s.is_empty() => Some(s.clone()),
            (Some(p), None) if p.has_state => Some(p.span_context().trace_state().clone()),
            _ => None,
        };
        // The box first, so that the record is built in it rather than moved there.
        let mut slot = pipeline::take_slot();
        let recording = decision != SamplingDecision::Drop;
        let sampled = decision == SamplingDecision::RecordAndSample;
        // A span that does not record keeps only what propagates (ids, flags, trace state):
        // its name and start time are never seen, so it takes no owned name and no cold
        // part for one (an unsampled request's span on an HTTP server costs no allocation).
        let (name, dynamic_name) = match start.name {
            StartName::Static(name) => (name, None),
            name if recording => ("", Some(name.into_owned())),
            _ => ("", None),
        };
        let at = start.at.filter(|_| recording);
        let mut flag_bits = 0;
        if ids.is_some_and(|p| p.is_remote) {
            flag_bits |= bits::PARENT_REMOTE;
        }
        if recording {
            flag_bits |= bits::RECORDING;
        }
        if sampled {
            flag_bits |= bits::SAMPLED;
        }
        let now = recording.then(clock::now).unwrap_or(clock::Instant::ZERO);
        let r = slot.write(Record {
            trace_id,
            span_id: SpanId::random(),
            parent_span_id: ids.map_or(SpanId::INVALID, |p| p.span_id),
            start: now,
            end: now,
            name,
            code: start.code,
            scope: start.scope,
            pipeline: PipelineRef::new(pipeline),
            cold: None,
            flags: parent_flags.with_sampled(sampled),
            bits: flag_bits,
            kind: start.kind,
            len: 0,
            room: inline_room(&pipeline.limits),
            raw: 0,
            owned: 0,
            settled: 0,
            entered: 0,
            attrs: [const { MaybeUninit::uninit() }; crate::model::record::INLINE_ATTRS],
        });
        if trace_state.is_some() || dynamic_name.is_some() || at.is_some() {
            let cold = r.cold();
            if let Some(state) = trace_state {
                cold.trace_state = state;
            }
            if let Some(name) = dynamic_name {
                cold.name = Some(name);
            }
            cold.start_unix_nanos = at;
        }
        Span { rec: Some(slot) }
    }

    /// Starts the span of a `#[traced]` function.
    #[doc(hidden)]
    #[inline]
    pub fn start_callsite(cs: &'static Callsite) -> Span {
        // Tracing off costs this one atomic load and a branch.
        match pipeline::get() {
            None => {
                pipeline::off();
                Span::none()
            }
            // The common unsampled case: a child of an unsampled span of this process, under a
            // sampler that follows local parents. The parent's context stays active; nothing
            // to do, and no call.
            Some(pipeline)
                if pipeline.follows_local_parent && context::unsampled_local_active() =>
            {
                Span::none()
            }
            Some(pipeline) => Span::start_callsite_slow(pipeline, cs),
        }
    }

    /// Starts the span of a `#[traced(parent = ..)]` function: `parent` instead of the
    /// thread's active span (anything `Into<Parent>`: a `SpanContext`, an
    /// `Option<SpanContext>` from `propagation::extract`, a `&Span`, a `Context`).
    #[doc(hidden)]
    #[inline]
    pub fn start_callsite_with_parent(cs: &'static Callsite, parent: &Parent) -> Span {
        let Some(pipeline) = pipeline::get() else {
            pipeline::off();
            return Span::none();
        };
        Span::start_inner(pipeline, cs.start(), ParentOf::resolve(parent))
    }

    #[inline(never)]
    fn start_callsite_slow(pipeline: &'static Pipeline, cs: &'static Callsite) -> Span {
        // The common case (an `async fn` called under a sampled span of this process) on a
        // path of its own, as `Guard::start_slow` has: `start_under`'s first branch without
        // the general path's copies of the parent.
        if pipeline.samples_sampled_local_children()
            && let Some(parent) = context::sampled_local_active()
        {
            return sampled_child(pipeline, cs, parent).map_or_else(Span::none, |(span, _)| span);
        }
        start_under::<false>(pipeline, cs, ParentOf::active(context::active())).0
    }

    /// Whether attributes and events set on this span are kept.
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.rec().is_some_and(Record::is_recording)
    }

    /// The span's context (invalid for a span that is off).
    pub fn span_context(&self) -> SpanContext {
        self.rec().map_or(SpanContext::NONE, Record::span_context)
    }

    /// The span has a record (sampled or not): a context of its own, which
    /// [`activate`](Span::activate) makes current.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) fn has_record(&self) -> bool {
        self.rec.is_some()
    }

    /// Sets an attribute; a key set twice keeps the last value.
    pub fn set_attribute(&mut self, key: impl Into<Key>, value: impl ToValue) {
        if let Some(r) = self.recording() {
            r.set_attribute(KeyValue::new(key, value));
        }
    }

    /// Sets an attribute whose key the span does not hold: an integration's own keys, each
    /// set once on a span it has just started (a span gets attributes only from its builder
    /// and from whoever holds it). No search for an earlier value: 731 instructions less a
    /// request for the server layer's dozen attributes (`instr server`).
    #[cfg_attr(not(any(feature = "tower", feature = "reqwest")), allow(dead_code))]
    pub(crate) fn set_new_attribute(&mut self, key: &'static str, value: impl ToValue) {
        if let Some(r) = self.recording() {
            r.set_new_attribute(key, value.to_value());
        }
    }

    /// [`set_new_attribute`](Span::set_new_attribute) of a string made for it: kept as it is
    /// (a value longer than fits inline keeps the string's own allocation), not copied.
    #[cfg_attr(not(any(feature = "tower", feature = "reqwest")), allow(dead_code))]
    pub(crate) fn set_new_string(&mut self, key: &'static str, value: String) {
        if let Some(r) = self.recording() {
            r.set_new_attribute(key, Value::String(value.into()));
        }
    }

    /// The writer of a `#[traced]` function's arguments and `attrs`, right after the start;
    /// `None` for a span with no record. The expansion asks for it only once
    /// [`is_recording`](Span::is_recording) said yes, so it does not ask again (on a span
    /// that does not record, the values would only be dropped with the record).
    #[inline(always)]
    pub(crate) fn attrs(&mut self) -> Option<Attrs<'_>> {
        self.rec_mut().map(Attrs::new)
    }

    /// Adds an event at the current time.
    pub fn add_event(&mut self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        if let Some(r) = self.recording() {
            r.add_event(Event::new(name, attributes));
        }
    }

    /// Adds a link to another span.
    pub fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        if let Some(r) = self.recording() {
            r.add_link(Link::new(span_context, attributes));
        }
    }

    /// Sets the status, with OpenTelemetry's precedence rules.
    pub fn set_status(&mut self, status: Status) {
        if let Some(r) = self.recording() {
            r.set_status(status);
        }
    }

    /// Renames the span.
    pub fn update_name(&mut self, name: impl Into<Cow<'static, str>>) {
        if let Some(r) = self.recording() {
            r.rename(name.into());
        }
    }

    /// Records an error: status `Error` with the error's message, and an `exception` event
    /// with `exception.type` and `exception.message`.
    pub fn record_error<E: std::error::Error + ?Sized>(&mut self, error: &E) {
        if self.is_recording() {
            // Formatted safely: a `Display` that panics or fails records a placeholder.
            let message = crate::pipeline::formatting::display_string(error);
            self.record_exception(std::any::type_name::<E>(), message);
        }
    }

    /// Records an exception from its type name and message.
    pub fn record_exception(&mut self, exception_type: &str, message: String) {
        if let Some(r) = self.recording() {
            r.record_exception(exception_type, message);
        }
    }

    /// Makes this span the thread's active span until the guard is dropped. Spans started
    /// meanwhile are its children. Dropping the guard does not end the span.
    pub fn enter(&mut self) -> Entered<'_> {
        let saved = self.activate();
        Entered { span: self, saved }
    }

    /// Out of line, so that a traced function's frame holds only the guard.
    #[inline(never)]
    fn enter_slow(&mut self) -> (Option<Saved>, bool) {
        (self.activate(), std::thread::panicking())
    }

    /// Runs `f` with this span active.
    pub fn in_scope<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let _guard = self.enter();
        f()
    }

    #[inline(always)]
    pub(crate) fn activate(&mut self) -> Option<Saved> {
        let r = self.rec()?;
        let saved = match &r.cold {
            // The common case, with no trace state to look at: a frame known field by field.
            None => context::enter(
                Active {
                    has_state: false,
                    ..active_of(r)
                },
                &TraceState::NONE,
            ),
            Some(c) => context::enter_with_state(active_of(r), &c.trace_state),
        };
        #[cfg(feature = "tracing")]
        let saved = self.mirror(saved);
        saved
    }

    /// With the `tracing` layer installed, makes the span's stand-in the current `tracing`
    /// span too (see `integrations::tracing::mirror`); the enter, marked if the hook wants
    /// to see its exit.
    #[cfg(feature = "tracing")]
    #[inline(always)]
    fn mirror(&mut self, saved: Option<Saved>) -> Option<Saved> {
        if let Some(s) = saved
            && let Some(hooks) = context::hook::on_enter()
            && let Some(slot) = self.rec.as_mut()
        {
            // SAFETY: as in `rec`.
            let r = unsafe { slot.assume_init_mut() };
            if (hooks.span_entered)(s.depth(), r) {
                return Some(s.marked());
            }
        }
        saved
    }

    /// Appends an attribute whose static key the span does not have yet (no search for an
    /// earlier value): what the `tracing` layer records on a span it just started.
    #[cfg(feature = "tracing")]
    pub(crate) fn push_new_attribute(&mut self, key: &'static str, value: Value) {
        if let Some(r) = self.recording() {
            r.push_attribute_with(key, |out| Some(out.write(value)));
        }
    }

    /// [`push_new_attribute`](Self::push_new_attribute) for a text value that may hold a
    /// URL with a password: replaced where the record is read for export, off this thread,
    /// as for a `#[traced]` function's string arguments ([`crate::secret`]).
    #[cfg(feature = "tracing")]
    pub(crate) fn push_new_text(&mut self, key: &'static str, value: Value) {
        if let Some(r) = self.recording() {
            r.push_attribute_marked(key, true, |out| Some(out.write(value)));
        }
    }

    /// [`push_new_attribute`](Self::push_new_attribute) for each of `attributes` (their
    /// values cloned: a `tracing` callsite's static attributes, built once).
    #[cfg(feature = "tracing")]
    pub(crate) fn push_new_attributes(&mut self, attributes: &[(&'static str, Value)]) {
        if let Some(r) = self.recording() {
            r.push_new_attributes(attributes);
        }
    }

    /// Whether the span started (it has ids: recording, or at least sampled), rather than
    /// being off.
    #[cfg(feature = "tracing")]
    #[inline]
    pub(crate) fn is_started(&self) -> bool {
        self.rec.is_some()
    }

    /// What entering the span makes active (`None` for a span that is off): the `tracing`
    /// layer keeps it to enter the span again without looking it up.
    #[cfg(feature = "tracing")]
    pub(crate) fn active(&self) -> Option<Active> {
        self.rec().map(active_of)
    }

    /// Sets the kind of a span just started (the `tracing` layer reads `otel.kind` after
    /// the start when the sampler does not need it, see [`BridgedParent::samples_regardless`]).
    #[cfg(feature = "tracing")]
    pub(crate) fn set_kind(&mut self, kind: SpanKind) {
        if let Some(r) = self.recording() {
            r.kind = kind;
        }
    }

    /// Starts a span for the `tracing` layer: what `span(name).kind(..).parent(..).scope(..)
    /// .start()` does, without the builder.
    #[cfg(feature = "tracing")]
    pub(crate) fn start_bridged(
        pipeline: &'static Pipeline,
        name: Cow<'static, str>,
        kind: SpanKind,
        scope: &'static InstrumentationScope,
        parent: BridgedParent<'_>,
    ) -> Span {
        let start = Start {
            name: name.into(),
            kind,
            code: None,
            scope,
            at: None,
        };
        Span::start_inner(pipeline, start, parent.0)
    }

    /// Makes room for `n` attributes (pushed next, by the `tracing` layer): past the ones the
    /// record holds itself, in one allocation.
    #[cfg(feature = "tracing")]
    #[inline]
    pub(crate) fn reserve_attributes(&mut self, n: usize) {
        if let Some(r) = self.recording() {
            r.reserve_attributes(n);
        }
    }

    /// Makes the span the thread's active span without a mirror: the `tracing` layer enters
    /// the spans it owns this way (they are `tracing` spans already).
    #[cfg(feature = "tracing")]
    pub(crate) fn enter_quiet(&self) -> Option<Saved> {
        let r = self.rec()?;
        context::enter(active_of(r), r.trace_state())
    }

    /// Puts back the previous context and applies what was set through `current()`.
    /// Returns, when it exited, whether the context now active is a recording span.
    /// Always inlined: with the `tracing` feature its changes have one more kind, and left
    /// to itself the compiler then kept it out of line, 20 instructions more on every
    /// `#[traced]` span's end, layer or not.
    #[inline(always)]
    pub(crate) fn deactivate(&mut self, saved: Option<Saved>) -> Option<bool> {
        let saved = saved?;
        let outer_recording = context::exit(saved);
        if let Some(r) = self.recording() {
            context::take_changes(r.span_id, |c| match c {
                Change::Attribute(kv) => r.set_attribute(kv),
                Change::Event(e) => r.add_event(e),
                Change::Link(l) => r.add_link(l),
                Change::Status(s) => r.set_status(s),
                Change::Exception { kind, message } => r.record_exception(&kind, message),
                Change::Name(n) => r.rename(n),
                #[cfg(feature = "tracing")]
                Change::SettleAtEnd => context::hook::settle_at_end(r),
            });
        }
        Some(outer_recording)
    }

    /// Records the panic unwinding the thread, if any. Its message is scrubbed as `Debug`
    /// text is (`expect` and `panic!` messages often format a value or a URL: see
    /// [`secret`](crate::secret)).
    pub(crate) fn record_panic(&mut self) {
        if self.is_recording() {
            let message = crate::model::secret::scrub_debug(crate::context::panic::message());
            self.record_exception("panic", message);
        }
    }

    /// Marks a future dropped before completion.
    pub(crate) fn record_cancelled(&mut self) {
        if let Some(r) = self.recording() {
            r.set_attribute(KeyValue::new("traced.cancelled", true));
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

    /// Ends the span right after it was exited: `outer_recording`, what
    /// [`deactivate`](Span::deactivate) returned, spares a look at the context.
    #[inline]
    pub(crate) fn end_exited(&mut self, outer_recording: Option<bool>) {
        if let Some(slot) = self.rec.take() {
            end_record(slot, None, outer_recording);
        }
    }

    #[inline]
    pub(crate) fn end_in_place(&mut self, at: Option<u64>) {
        if let Some(slot) = self.rec.take() {
            end_record(slot, at, None);
        }
    }
}

/// The parent of a span the `tracing` layer starts, resolved once.
#[cfg(feature = "tracing")]
#[derive(Clone, Copy)]
pub(crate) struct BridgedParent<'a>(ParentOf<'a>);

#[cfg(feature = "tracing")]
impl<'a> BridgedParent<'a> {
    #[inline]
    pub(crate) fn resolve(parent: &'a Parent) -> Self {
        BridgedParent(ParentOf::resolve(parent))
    }

    /// Whether a span started under this parent is sampled without asking the sampler, so
    /// its name and kind (which only the sampler reads before the start) may be set after
    /// it.
    #[inline]
    pub(crate) fn samples_regardless(self, pipeline: &'static Pipeline) -> bool {
        self.0.ids().is_some_and(|p| {
            pipeline.samples_sampled_local_children() && !p.is_remote && p.flags.is_sampled()
        })
    }
}

/// The context a span's record makes active.
#[inline(always)]
fn active_of(r: &Record) -> Active {
    Active {
        trace_id: r.trace_id,
        span_id: r.span_id,
        flags: r.flags,
        is_remote: false,
        recording: r.is_recording(),
        has_state: r.cold.as_ref().is_some_and(|c| !c.trace_state.is_empty()),
    }
}

/// The span of a `#[traced]` function, started and entered at once, ended when dropped
/// (recording a panic that unwinds through it). Derefs to the [`Span`].
#[doc(hidden)]
#[must_use = "the span ends when the guard drops"]
pub struct Guard {
    /// Where the context stack stood and whether the thread was panicking are kept in the
    /// record ([`Record::entered`], [`bits::WAS_PANICKING`]): a guard is one pointer, which
    /// keeps every traced frame small (tests/stack.rs).
    span: Span,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Guard").field(&self.span).finish()
    }
}

impl Guard {
    const OFF: Guard = Guard { span: Span::none() };

    /// Starts and enters the span of `cs` under the thread's active span.
    #[inline]
    pub fn start(cs: &'static Callsite) -> Guard {
        // Tracing off costs this one atomic load and a branch.
        match pipeline::get() {
            None => {
                pipeline::off();
                Guard::OFF
            }
            // The common unsampled case: a child of an unsampled span of this process, under a
            // sampler that follows local parents. The parent's context stays active; nothing
            // to do, and no call.
            Some(pipeline)
                if pipeline.follows_local_parent && context::unsampled_local_active() =>
            {
                Guard::OFF
            }
            Some(pipeline) => Guard::start_slow(pipeline, cs),
        }
    }

    /// One access to the context stack reads the parent and pushes the new span.
    #[inline(never)]
    fn start_slow(pipeline: &'static Pipeline, cs: &'static Callsite) -> Guard {
        // The common cases first, each on a path of its own: a sampled child
        // (`start_under`'s first branch), and a root.
        let started = context::start_and_enter_fast(
            pipeline.follows_sampled_local_parent(),
            |parent| match sampled_child(pipeline, cs, parent) {
                Some((span, span_id)) => (span, Some(span_id)),
                // Shed: as an unsampled child, the parent's context stays current.
                None => (Span::none(), None),
            },
            || start_root_entering(pipeline, cs),
        );
        // (Whether the thread is panicking is read once the span is started, rather than
        // kept live across the start: starting a span does not change it.)
        if let Ok((span, saved)) = started {
            return Guard::entered(span, saved, std::thread::panicking());
        }
        let was_panicking = std::thread::panicking();
        let started = context::start_and_enter(|parent, state| {
            start_under::<true>(pipeline, cs, ParentOf::active_with_state(parent, state))
        });
        match started {
            Some((span, saved)) => Guard::entered(span, saved, was_panicking),
            // Started and entered apart (through `activate`, where an integration's hook
            // sees it entered).
            None => Guard::enter(Span::start_callsite_slow(pipeline, cs)),
        }
    }

    /// Enters `span` until the guard drops, then ends it.
    #[inline]
    pub fn enter(mut span: Span) -> Guard {
        if span.rec.is_none() {
            return Guard::OFF;
        }
        let (saved, was_panicking) = span.enter_slow();
        Guard::entered(span, saved, was_panicking)
    }

    /// The guard of `span`, entered at `saved`.
    #[inline(always)]
    fn entered(mut span: Span, saved: Option<Saved>, was_panicking: bool) -> Guard {
        if let Some(slot) = span.rec.as_mut() {
            // SAFETY: as in `Span::rec`.
            let r = unsafe { slot.assume_init_mut() };
            r.entered = Saved::to_raw(saved);
            if was_panicking {
                r.bits |= bits::WAS_PANICKING;
            }
        }
        Guard { span }
    }
}

/// Starts the span of `cs` as a root, to be entered at once: `start_under` with no span
/// active.
#[inline(always)]
fn start_root_entering(
    pipeline: &'static Pipeline,
    cs: &'static Callsite,
) -> (Span, Option<Active>) {
    start_under::<true>(
        pipeline,
        cs,
        ParentOf::active_with_state(Active::NONE, &TraceState::NONE),
    )
}

/// Starts the span of `cs` under the thread's active span `parent`; returns it and the
/// context it makes active (`None`: nothing to enter). `ENTERING`: called to enter it at
/// once, from inside the context stack; then, when an integration must see every span
/// entered (`context::hook`), `Active::DECLINED` without starting it: the caller starts it
/// apart and enters it through `activate`.
#[inline(always)]
fn start_under<const ENTERING: bool>(
    pipeline: &'static Pipeline,
    cs: &'static Callsite,
    parent: ParentOf<'_>,
) -> (Span, Option<Active>) {
    if let Some(p) = parent.ids()
        && !p.is_remote
    {
        // An unsampled child of a span active here, under a sampler that follows local
        // parents: the parent's context stays current and goes on propagating.
        if !p.flags.is_sampled() && pipeline.follows_local_parent {
            return (Span::none(), None);
        }
        // Entered at once, the fast path is the one an integration may turn off.
        let fast = if ENTERING {
            pipeline.follows_sampled_local_parent()
        } else {
            pipeline.samples_sampled_local_children()
        };
        if p.flags.is_sampled() && fast && !p.has_state {
            return start_sampled_child(pipeline, cs, p);
        }
    }
    // (An integration that wants every enter turned the fast path above off, and declines
    // the rest here, the root's fast path included.)
    #[cfg(feature = "tracing")]
    if ENTERING && context::hook::every_enter() {
        return (Span::none(), Some(Active::DECLINED));
    }
    if parent.ids().is_none()
        && pipeline.samples_roots
        && parent.state.is_none_or(TraceState::is_empty)
    {
        return start_sampled_root(pipeline, cs);
    }
    let span = Span::start_inner(pipeline, cs.start(), parent);
    let active = span.rec().map(active_of);
    (span, active)
}

/// The most common span of all: a `#[traced]` function called under a sampled span of this
/// process, with no trace state. No sampler call and nothing generic: ids, one clock read,
/// the record written in place.
#[inline(always)]
fn start_sampled_child(
    pipeline: &'static Pipeline,
    cs: &'static Callsite,
    parent: Active,
) -> (Span, Option<Active>) {
    let Some((span, span_id)) = sampled_child(pipeline, cs, parent) else {
        // Shed: as an unsampled child, the parent's context stays current.
        return (Span::none(), None);
    };
    let active = Active {
        span_id,
        recording: true,
        has_state: false,
        ..parent
    };
    (span, Some(active))
}

/// The span of [`start_sampled_child`] and its id, or `None` when the thread sheds it.
#[inline(always)]
fn sampled_child(
    pipeline: &'static Pipeline,
    cs: &'static Callsite,
    parent: Active,
) -> Option<(Span, SpanId)> {
    let mut slot = pipeline::take_recording_slot()?;
    let span_id = SpanId::random();
    let now = clock::now();
    slot.write(sampled_record(
        pipeline,
        cs,
        (parent.trace_id, span_id, parent.span_id),
        parent.flags,
        now,
    ));
    Some((Span { rec: Some(slot) }, span_id))
}

/// The record of a sampled span of `cs` started at `now` on one of the fast paths above
/// (`ids`: trace, span and parent span), with no attribute yet.
#[inline(always)]
fn sampled_record(
    pipeline: &'static Pipeline,
    cs: &'static Callsite,
    (trace_id, span_id, parent_span_id): (TraceId, SpanId, SpanId),
    flags: TraceFlags,
    now: clock::Instant,
) -> Record {
    Record {
        trace_id,
        span_id,
        parent_span_id,
        start: now,
        end: now,
        name: cs.name,
        code: cs.code.as_ref(),
        scope: &cs.scope,
        pipeline: PipelineRef::new(pipeline),
        cold: None,
        flags,
        bits: bits::RECORDING | bits::SAMPLED,
        kind: cs.kind,
        len: 0,
        room: inline_room(&pipeline.limits),
        raw: 0,
        owned: 0,
        settled: 0,
        entered: 0,
        attrs: [const { MaybeUninit::uninit() }; crate::model::record::INLINE_ATTRS],
    }
}

/// A `#[traced]` function called with no span active, under a sampler that samples every
/// root (OpenTelemetry's default): a new trace, with no sampler call; both ids from one
/// access to the thread's generator, one clock read, the record written in place. Roots are
/// never shed (see `pipeline::take_recording_slot`).
#[inline(never)]
fn start_sampled_root(
    pipeline: &'static Pipeline,
    cs: &'static Callsite,
) -> (Span, Option<Active>) {
    let mut slot = pipeline::take_slot();
    let (trace_id, span_id) = SpanId::random_root();
    // Random through all 16 bytes: the W3C level 2 random flag.
    let flags = TraceFlags::RANDOM.with_sampled(true);
    let now = clock::now();
    slot.write(sampled_record(
        pipeline,
        cs,
        (trace_id, span_id, SpanId::INVALID),
        flags,
        now,
    ));
    let active = Active {
        trace_id,
        span_id,
        flags,
        is_remote: false,
        recording: true,
        has_state: false,
    };
    (Span { rec: Some(slot) }, Some(active))
}

impl std::ops::Deref for Guard {
    type Target = Span;
    #[inline]
    fn deref(&self) -> &Span {
        &self.span
    }
}
impl std::ops::DerefMut for Guard {
    #[inline]
    fn deref_mut(&mut self) -> &mut Span {
        &mut self.span
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        if self.span.rec.is_some() {
            end_entered(&mut self.span);
        }
    }
}

/// Ends a span: a sampled record goes to its pipeline, any other is dropped; the box goes
/// back to the thread's pool. `outer_recording`: whether the span now active on this thread
/// records, if the caller knows.
#[inline(never)]
fn end_record(slot: Slot, at: Option<u64>, outer_recording: Option<bool>) {
    end_record_inline(slot, at, outer_recording);
}

#[inline(always)]
fn end_record_inline(mut slot: Slot, at: Option<u64>, outer_recording: Option<bool>) {
    // SAFETY: the slot comes from a span, which only holds initialized records.
    let r = unsafe { slot.assume_init_mut() };
    if r.is_sampled() {
        r.end = clock::now();
        if at.is_some() {
            r.cold().end_unix_nanos = at;
        }
        // SAFETY: initialized, as above; `finish` moves the record out and never drops it.
        unsafe { pipeline::finish(slot, outer_recording) };
    } else {
        // Sampled, with something an integration settles first (`context::hook`).
        #[cfg(feature = "tracing")]
        if r.bits & bits::SETTLE != 0 {
            context::hook::settle(r);
            return end_record(slot, at, outer_recording);
        }
        // SAFETY: initialized, as above, and dropped once: the box is recycled empty.
        unsafe { slot.assume_init_drop() };
        pipeline::recycle_slot(slot);
    }
}

/// The end of a `#[traced]` function's span, out of line: exit, panic, end.
#[inline(never)]
fn end_entered(span: &mut Span) {
    let Some(r) = span.rec() else { return };
    let saved = Saved::from_raw(r.entered);
    let was_panicking = r.bits & bits::WAS_PANICKING != 0;
    let outer_recording = span.deactivate(saved);
    if !was_panicking && std::thread::panicking() {
        span.record_panic();
    }
    if let Some(slot) = span.rec.take() {
        end_record_inline(slot, None, outer_recording);
    }
}

impl Drop for Span {
    #[inline]
    fn drop(&mut self) {
        if let Some(slot) = self.rec.take() {
            end_record(slot, None, None);
        }
    }
}

/// The guard of an entered span: the previous context comes back when it drops.
#[must_use = "the span is active only while the guard lives"]
pub struct Entered<'a> {
    span: &'a mut Span,
    saved: Option<Saved>,
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
        scope: InstrumentationScope::TRACED,
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
    scope: &'static InstrumentationScope,
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
    /// The instrumentation scope (default: [`InstrumentationScope::TRACED`], as the calling
    /// crate cannot be known here). `scope!()` gives the calling crate's, as `#[traced]`
    /// functions have:
    ///
    /// ```
    /// use traced_runtime::span;
    /// let s = span("poll").scope(traced_runtime::scope!()).start();
    /// ```
    pub fn scope(mut self, scope: &'static InstrumentationScope) -> Self {
        self.scope = scope;
        self
    }
    /// Starts the span.
    pub fn start(mut self) -> Span {
        let name = std::mem::take(&mut self.name);
        self.start_named(name.into())
    }

    /// Starts the span under `name` instead of the builder's (for a name the caller builds
    /// on its stack, [`StartName::Lent`]).
    pub(crate) fn start_named(self, name: StartName<'_>) -> Span {
        let Some(pipeline) = pipeline::get() else {
            pipeline::off();
            return Span::none();
        };
        let start = Start {
            name,
            kind: self.kind,
            code: None,
            scope: self.scope,
            at: self.start,
        };
        let mut span = Span::start_inner(pipeline, start, ParentOf::resolve(&self.parent));
        if let Some(r) = span.recording() {
            for kv in self.attributes {
                r.set_attribute(kv);
            }
            for l in self.links {
                r.add_link(l);
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
