//! The `tracing_subscriber::Layer`: `tracing` spans and events into traced spans and span
//! events. Per-span state lives in the registry's span extensions, as tracing-opentelemetry
//! keeps it; the mapping is documented in the module above.

use super::callsite::{event_callsite, span_callsite};
use super::mirror::{self, Inbox, MirrorData};
use super::visit::{EventFields, FieldAttributes, SpanFields, Visitor};
use crate::context::{self, Active, Saved};
use crate::model::KeyValue;
use crate::model::{Event, SpanKind, Status};
use crate::model::{SpanContext, TraceState};
use crate::span::{BridgedParent, Parent, Span};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Dispatch, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

/// A `tracing_subscriber::Layer` that makes `tracing` spans and events part of traced's
/// traces, and traced's active span the current `tracing` span. Build it with
/// [`layer()`](fn@super::layer) and put it on [`registry()`](super::registry), where it costs a
/// `#[traced]` span nothing until something asks for the current `tracing` span; see the
/// [module docs](super) for the mapping and the costs.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // Four independent switches, as tracing-opentelemetry has them.
pub struct TracedLayer {
    pub(super) error_events_to_status: bool,
    pub(super) error_events_to_exceptions: bool,
    pub(super) error_fields_to_exceptions: bool,
    pub(super) location: bool,
}

impl Default for TracedLayer {
    fn default() -> Self {
        TracedLayer {
            error_events_to_status: true,
            error_events_to_exceptions: false,
            error_fields_to_exceptions: true,
            location: true,
        }
    }
}

impl TracedLayer {
    /// Whether an event at level ERROR sets the span's status to `Error`, with the event's
    /// message as description (default: on).
    #[must_use]
    pub fn with_error_events_to_status(mut self, on: bool) -> Self {
        self.error_events_to_status = on;
        self
    }
    /// Whether an event at level ERROR is recorded in the `exception` shape (event name
    /// `exception`, the message as `exception.message`) (default: off; an event with an
    /// `error` field always is, see [`with_error_fields_to_exceptions`](Self::with_error_fields_to_exceptions)).
    #[must_use]
    pub fn with_error_events_to_exceptions(mut self, on: bool) -> Self {
        self.error_events_to_exceptions = on;
        self
    }
    /// Whether an event with an `error` field becomes an `exception` event (with
    /// `exception.message`) and sets the span's status to `Error` (default: on).
    #[must_use]
    pub fn with_error_fields_to_exceptions(mut self, on: bool) -> Self {
        self.error_fields_to_exceptions = on;
        self
    }
    /// Whether spans carry `code.file.path`, `code.line.number` and `code.module.name` from
    /// their callsite (default: on).
    #[must_use]
    pub fn with_location(mut self, on: bool) -> Self {
        self.location = on;
        self
    }
}

/// What the layer keeps in a bridged span's extensions.
#[derive(Debug)]
pub(super) struct Bridged {
    /// The traced span (off when unsampled under an unsampled parent).
    pub(super) span: Span,
    /// For a span that is off: the context it was created in, which children and
    /// re-entries on other threads see (so that context still propagates). `NONE` for a
    /// span that started: they see its own ([`Bridged::context`]).
    cx: SpanContext,
    /// The thread that created it ([`thread_marker`]).
    thread: usize,
}

thread_local! {
    /// The spans the layer entered on this thread, with where the context stack stood.
    static ENTERED: RefCell<Vec<(Id, Saved)>> = const { RefCell::new(Vec::new()) };
}

impl Bridged {
    /// What children and re-entries on other threads see: the span's own context, or, for
    /// a span that is off, the context it was created in.
    pub(super) fn context(&self) -> SpanContext {
        if self.span.is_started() {
            self.span.span_context()
        } else {
            self.cx.clone()
        }
    }
}

/// The last bridged span created on a thread, and what entering it makes active: the enter
/// that usually follows a span's creation, on the same thread, needs no look-up in the
/// registry (the layer's own state is in the span's extensions, a look-up away).
///
/// It must not outlive the span: a registry reuses the ids of closed spans. A span closed on
/// the thread that created it clears it there; one closed on another thread counts in
/// [`MAYBE_STALE`], whose count each entry keeps: one that changed since means a
/// span created on some thread may have closed elsewhere, and the entry is not trusted (the
/// count is bumped before the registry frees the id, so a thread handed the id again sees
/// it). A layer registered with a new subscriber bumps it too.
#[derive(Clone, Copy)]
struct LastNew {
    /// The layer (ids are per registry, and so per layer).
    layer: *const TracedLayer,
    id: std::num::NonZeroU64,
    /// What entering it makes active (a frame with no trace state); `Active::NONE`: nothing.
    enters: Active,
    closes: u64,
}

thread_local! {
    static LAST_NEW: Cell<Option<LastNew>> = const { Cell::new(None) };
}

/// Bumped whenever an entry of [`LAST_NEW`] on some thread may have become stale: a bridged
/// span closed on another thread than the one that created it, or a layer registered with
/// a new subscriber (which could sit where a dropped one was, its ids starting over).
static MAYBE_STALE: AtomicU64 = AtomicU64::new(0);

/// This thread, as an address no other running thread has.
#[inline]
fn thread_marker() -> usize {
    LAST_NEW
        .try_with(|l| std::ptr::from_ref(l) as usize)
        .unwrap_or(0)
}

impl LastNew {
    #[inline]
    fn set(layer: &TracedLayer, id: &Id, enters: Active) {
        let last = LastNew {
            layer,
            id: id.into_non_zero_u64(),
            enters,
            closes: MAYBE_STALE.load(Ordering::Relaxed),
        };
        let _ = LAST_NEW.try_with(|l| l.set(Some(last)));
    }

    /// What entering `id` makes active, if it is the span last created here and still open
    /// (`Active::NONE`: nothing).
    #[inline]
    fn enters(layer: &TracedLayer, id: &Id) -> Option<Active> {
        let last = LAST_NEW.try_with(Cell::get).ok().flatten()?;
        (std::ptr::eq(last.layer, layer)
            && last.id == id.into_non_zero_u64()
            && last.closes == MAYBE_STALE.load(Ordering::Relaxed))
        .then_some(last.enters)
    }

    /// `id` closes on this thread, which created it (`here`) or not.
    fn closing(id: &Id, here: bool) {
        if !here {
            MAYBE_STALE.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let _ = LAST_NEW.try_with(|l| {
            if l.get()
                .is_some_and(|last| last.id == id.into_non_zero_u64())
            {
                l.set(None);
            }
        });
    }
}

/// The traced context a `tracing` span stands for: its own, a mirror's, or its nearest
/// ancestor's that has one.
pub(super) fn context_of<S>(span: &SpanRef<'_, S>) -> Option<SpanContext>
where
    S: for<'a> LookupSpan<'a>,
{
    span.scope().find_map(|s| {
        let ext = s.extensions();
        ext.get::<Bridged>()
            .map(Bridged::context)
            .or_else(|| ext.get::<MirrorData>().map(|m| m.cx.clone()))
    })
}

/// Where an event goes.
enum EventTarget<'a, S: for<'l> LookupSpan<'l>> {
    /// A bridged span that records (on any thread: its state is in the registry).
    Bridged(SpanRef<'a, S>),
    /// The thread's active traced span, through `traced::current()`.
    Current,
    /// A traced span owned by another thread: moved into it when it ends.
    Inbox(Arc<Inbox>),
}

impl<S> tracing_subscriber::Layer<S> for TracedLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        MAYBE_STALE.fetch_add(1, Ordering::Relaxed);
        mirror::register();
        if subscriber.is::<super::TracedRegistry>() {
            mirror::turn_on();
        } else {
            mirror::turn_on_eager();
        }
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        MAYBE_STALE.fetch_add(1, Ordering::Relaxed);
        mirror::register();
        // SAFETY: the pointer is only compared with null, never read.
        let lazy =
            unsafe { subscriber.downcast_raw(std::any::TypeId::of::<super::TracedRegistry>()) }
                .is_some();
        if lazy {
            mirror::turn_on();
        } else {
            mirror::turn_on_eager();
        }
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let meta = attrs.metadata();
        if mirror::is_mirror(meta) {
            if let Some(data) = mirror::take_pending() {
                span.extensions_mut().insert(data);
            }
            return;
        }
        let Some(pipeline) = crate::pipeline::get() else {
            return;
        };
        let parent = if let Some(p) = attrs.parent() {
            ctx.span(p)
                .and_then(|p| context_of(&p))
                .map_or(Parent::Root, Parent::Context)
        } else if attrs.is_root() {
            Parent::Root
        } else {
            Parent::Current
        };
        // An unsampled parent of this process, under a sampler that follows it: the span is
        // off, nothing is read or formatted; the parent's context goes on propagating.
        let contextual = matches!(parent, Parent::Current);
        if contextual && pipeline.follows_local_parent && context::unsampled_local_active() {
            span.extensions_mut().insert(Bridged {
                span: Span::none(),
                cx: crate::context::current().span_context(),
                thread: thread_marker(),
            });
            return;
        }
        let callsite = span_callsite(meta);
        let statics = callsite.statics(self.location);
        let resolved = BridgedParent::resolve(&parent);
        let traced = if resolved.samples_regardless(pipeline) {
            // The sampler will not read the name and kind: the fields go straight into
            // the span, read after it started.
            let mut traced = Span::start_bridged(
                pipeline,
                Cow::Borrowed(meta.name()),
                SpanKind::Internal,
                callsite.scope,
                resolved,
            );
            if traced.is_recording() {
                traced.reserve_attributes(statics.len() + callsite.attribute_fields);
                traced.push_new_attributes(statics);
                let mut fields = SpanFields::into_span(callsite, &mut traced, true);
                attrs.record(&mut Visitor(&mut fields));
                fields.finish();
            }
            traced
        } else {
            // The sampler reads `otel.name` and `otel.kind`: the fields first.
            let mut kept = FieldAttributes::default();
            let mut fields = SpanFields::new(callsite, &mut kept);
            attrs.record(&mut Visitor(&mut fields));
            let name = fields
                .name
                .take()
                .map_or(Cow::Borrowed(meta.name()), Cow::Owned);
            let mut traced = Span::start_bridged(
                pipeline,
                name,
                fields.kind.unwrap_or(SpanKind::Internal),
                callsite.scope,
                resolved,
            );
            if traced.is_recording() {
                // Room for them all at once (past the record's own).
                traced.reserve_attributes(statics.len() + fields.kept());
                traced.push_new_attributes(statics);
                fields.apply(&mut traced);
            }
            traced
        };
        // Not started (unsampled): its parent's context, which children see and propagate.
        let active = traced.active();
        let cx = match active {
            // Its own, read from it when asked.
            Some(_) => SpanContext::NONE,
            None => match parent {
                Parent::Current => crate::context::current().span_context(),
                Parent::Context(cx) => cx,
                Parent::Root => SpanContext::NONE,
            },
        };
        // What the enter that usually follows makes active, kept for it (see `LastNew`).
        let enters = match active {
            Some(a) => a,
            None if cx.is_valid() => Active::from_context(&cx, false),
            None => Active::NONE,
        };
        if !enters.has_state {
            LastNew::set(self, id, enters);
        }
        span.extensions_mut().insert(Bridged {
            span: traced,
            cx,
            thread: thread_marker(),
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        let Some(b) = ext.get_mut::<Bridged>() else {
            return;
        };
        if !b.span.is_recording() {
            return;
        }
        let mut fields = SpanFields::into_span(span_callsite(span.metadata()), &mut b.span, false);
        values.record(&mut Visitor(&mut fields));
        fields.finish();
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        let Some(target) = ctx.span(follows).and_then(|f| {
            let ext = f.extensions();
            ext.get::<Bridged>()
                .filter(|b| b.span.is_started())
                .map(Bridged::context)
                .or_else(|| ext.get::<MirrorData>().map(|m| m.cx.clone()))
        }) else {
            return;
        };
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(b) = ext.get_mut::<Bridged>() {
            b.span.add_link(target, Vec::new());
        }
    }

    fn on_event(&self, event: &tracing_core::Event<'_>, ctx: Context<'_, S>) {
        let span = if let Some(p) = event.parent() {
            ctx.span(p)
        } else if event.is_contextual() {
            ctx.lookup_current()
        } else {
            return;
        };
        let target = match span {
            Some(span) => {
                let ext = span.extensions();
                if let Some(b) = ext.get::<Bridged>() {
                    if !b.span.is_recording() {
                        return;
                    }
                    drop(ext);
                    EventTarget::Bridged(span)
                } else if let Some(m) = ext.get::<MirrorData>() {
                    let current = crate::context::current();
                    if current.is_recording() && current.span_id() == m.cx.span_id() {
                        EventTarget::Current
                    } else if let Some(inbox) = &m.inbox {
                        EventTarget::Inbox(inbox.clone())
                    } else {
                        return;
                    }
                } else {
                    return;
                }
            }
            None if event.is_contextual() && crate::context::current().is_recording() => {
                EventTarget::Current
            }
            None => return,
        };
        let (event, status) = self.build_event(event);
        match target {
            EventTarget::Bridged(span) => {
                let mut ext = span.extensions_mut();
                if let Some(b) = ext.get_mut::<Bridged>() {
                    let Event {
                        name, attributes, ..
                    } = event;
                    b.span.add_event(name, attributes);
                    if let Some(status) = status {
                        b.span.set_status(status);
                    }
                }
            }
            EventTarget::Current => {
                let current = crate::context::current();
                current.add_event(event.name, event.attributes);
                if let Some(status) = status {
                    current.set_status(status);
                }
            }
            EventTarget::Inbox(inbox) => inbox.push(event, status),
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if mirror::in_hook() {
            return;
        }
        let saved = match LastNew::enters(self, id) {
            Some(a) if a.is_valid() => context::enter(a, &TraceState::NONE),
            Some(_) => None,
            None => enter_looked_up(id, &ctx),
        };
        if let Some(saved) = saved {
            let _ = ENTERED.try_with(|e| e.borrow_mut().push((id.clone(), saved)));
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if mirror::in_hook() {
            return;
        }
        let saved = ENTERED
            .try_with(|e| {
                let mut e = e.borrow_mut();
                // Most often the last one entered.
                if e.last().is_some_and(|(entered, _)| entered == id) {
                    return e.pop().map(|(_, saved)| saved);
                }
                let i = e.iter().rposition(|(entered, _)| entered == id)?;
                Some(e.remove(i).1)
            })
            .ok()
            .flatten();
        let Some(saved) = saved else { return };
        // Nothing set through `traced::current()` on this thread: no span to look up.
        if !context::any_pending() {
            context::exit(saved);
            return;
        }
        let Some(span) = ctx.span(id) else {
            context::exit(saved);
            return;
        };
        let mut ext = span.extensions_mut();
        match ext.get_mut::<Bridged>() {
            // Applies what `traced::current()` set on it meanwhile.
            Some(b) if b.span.is_recording() => {
                b.span.deactivate(Some(saved));
            }
            _ => {
                context::exit(saved);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if mirror::closing(&id) {
            return;
        }
        let Some(span) = ctx.span(&id) else { return };
        // Taken out, not removed: the registry drops the extension anyway, without the
        // lookup a removal makes. Ended after the extensions are released.
        let traced = span.extensions_mut().get_mut::<Bridged>().map(|b| {
            // Before the registry frees the id (see `LastNew`).
            LastNew::closing(&id, b.thread == thread_marker());
            std::mem::replace(&mut b.span, Span::none())
        });
        if let Some(traced) = traced {
            traced.end();
        }
    }
}

/// Makes `cx` the thread's active context (not recording: the span lives elsewhere).
fn enter_context(cx: &SpanContext) -> Option<Saved> {
    if !cx.is_valid() {
        return None;
    }
    context::enter(Active::from_context(cx, false), cx.trace_state())
}

/// Enters the traced context of span `id`, found in its extensions.
fn enter_looked_up<S>(id: &Id, ctx: &Context<'_, S>) -> Option<Saved>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let span = ctx.span(id)?;
    let ext = span.extensions();
    if let Some(b) = ext.get::<Bridged>() {
        match b.span.enter_quiet() {
            Some(saved) => Some(saved),
            None => enter_context(&b.cx),
        }
    } else if let Some(m) = ext.get::<MirrorData>() {
        enter_context(&m.cx)
    } else {
        None
    }
}

impl TracedLayer {
    /// A `tracing` event as a span event, and the status it sets, if any.
    fn build_event(&self, event: &tracing_core::Event<'_>) -> (Event, Option<Status>) {
        let meta = event.metadata();
        let mut fields = EventFields::new(event_callsite(meta));
        event.record(&mut Visitor(&mut fields));
        let is_error_level = *meta.level() == tracing_core::Level::ERROR;
        let mut attributes = fields.attributes;
        attributes.push(KeyValue::new("level", meta.level().as_str()));
        attributes.push(KeyValue::new(
            "target",
            fields
                .log_target
                .unwrap_or_else(|| meta.target().to_owned()),
        ));
        let message = fields.message;
        let mut status = None;
        let name: Cow<'static, str> = match fields.error {
            Some(error) if self.error_fields_to_exceptions => {
                attributes.push(KeyValue::new("exception.message", error.as_str()));
                if let Some(message) = &message {
                    attributes.push(KeyValue::new("message", message.as_str()));
                }
                // Only an ERROR-level event marks the span, as in tracing-opentelemetry: a
                // handled error logged at WARN (a 404 answered, a retry) leaves it `Unset`.
                if is_error_level && self.error_events_to_status {
                    status = Some(Status::error(error));
                }
                Cow::Borrowed("exception")
            }
            error => {
                if let Some(error) = error {
                    attributes.push(KeyValue::new("error", error));
                }
                let text = message.clone();
                if is_error_level && self.error_events_to_status {
                    status = Some(Status::error(text.clone().unwrap_or_default()));
                }
                if is_error_level && self.error_events_to_exceptions {
                    attributes.push(KeyValue::new("exception.message", text.unwrap_or_default()));
                    Cow::Borrowed("exception")
                } else {
                    message.map_or(Cow::Borrowed(meta.name()), Cow::Owned)
                }
            }
        };
        (Event::new(name, attributes), status)
    }
}
