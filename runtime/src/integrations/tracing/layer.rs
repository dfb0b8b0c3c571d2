//! The `tracing_subscriber::Layer`: `tracing` spans and events into traced spans and span
//! events. Per-span state lives in the registry's span extensions, as tracing-opentelemetry
//! keeps it; the mapping is documented in the module above.

use super::mirror::{self, Inbox, MirrorData};
use super::visit::{EventFields, SpanFields, Visitor};
use crate::context::{self, Active, Saved};
use crate::model::{Event, SpanKind, Status};
use crate::model::{InstrumentationScope, SpanContext};
use crate::model::{KeyValue, StringValue, Value};
use crate::span::{Parent, Span};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Dispatch, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

/// A `tracing_subscriber::Layer` that makes `tracing` spans and events part of traced's
/// traces, and traced's active span the current `tracing` span. Build it with
/// [`layer()`](super::layer) and put it on [`registry()`](super::registry), where it costs a
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
    /// What children and re-entries on other threads see: the span's own context, or, for
    /// a span that is off, the context it was created in (so that context still propagates).
    pub(super) cx: SpanContext,
}

thread_local! {
    /// The spans the layer entered on this thread, with where the context stack stood.
    static ENTERED: RefCell<Vec<(Id, Saved)>> = const { RefCell::new(Vec::new()) };
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
            .map(|b| b.cx.clone())
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
        mirror::register();
        if subscriber.is::<super::TracedRegistry>() {
            mirror::turn_on();
        } else {
            mirror::turn_on_eager();
        }
    }

    fn on_layer(&mut self, subscriber: &mut S) {
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
            });
            return;
        }
        let mut fields = SpanFields::default();
        attrs.record(&mut Visitor(&mut fields));
        let name = fields
            .name
            .take()
            .map_or(Cow::Borrowed(meta.name()), Cow::Owned);
        let mut traced = Span::start_bridged(
            pipeline,
            name,
            fields.kind.unwrap_or(SpanKind::Internal),
            scope_of(meta.target()),
            &parent,
        );
        if traced.is_recording() {
            // Room for them all at once (past the record's own).
            let location = if self.location { 3 } else { 0 };
            traced.reserve_attributes(location + 2 + fields.attributes.len());
            // Static strings, borrowed: no copy.
            let text = |s: &'static str| Value::String(StringValue::from_static(s));
            if self.location {
                if let Some(file) = meta.file() {
                    traced.push_new_attribute("code.file.path", text(file));
                }
                if let Some(line) = meta.line() {
                    traced.push_new_attribute("code.line.number", Value::I64(i64::from(line)));
                }
                if let Some(module) = meta.module_path() {
                    traced.push_new_attribute("code.module.name", text(module));
                }
            }
            traced.push_new_attribute("target", text(meta.target()));
            traced.push_new_attribute("level", text(meta.level().as_str()));
            fields.apply(&mut traced, true);
        }
        let own = traced.span_context();
        // Not started (unsampled): its parent's context, which children see and propagate.
        let cx = if own.is_valid() {
            own
        } else {
            match parent {
                Parent::Current => crate::context::current().span_context(),
                Parent::Context(cx) => cx,
                Parent::Root => SpanContext::NONE,
            }
        };
        span.extensions_mut().insert(Bridged { span: traced, cx });
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
        let mut fields = SpanFields::default();
        values.record(&mut Visitor(&mut fields));
        if let Some(name) = fields.name.take() {
            b.span.update_name(name);
        }
        fields.apply(&mut b.span, false);
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        let Some(target) = ctx.span(follows).and_then(|f| {
            let ext = f.extensions();
            ext.get::<Bridged>()
                .filter(|b| b.span.span_context().is_valid())
                .map(|b| b.cx.clone())
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
        let Some(span) = ctx.span(id) else { return };
        let ext = span.extensions();
        let saved = if let Some(b) = ext.get::<Bridged>() {
            match b.span.enter_quiet() {
                Some(saved) => Some(saved),
                None => enter_context(&b.cx),
            }
        } else if let Some(m) = ext.get::<MirrorData>() {
            enter_context(&m.cx)
        } else {
            None
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
        let traced = span
            .extensions_mut()
            .get_mut::<Bridged>()
            .map(|b| std::mem::replace(&mut b.span, Span::none()));
        if let Some(traced) = traced {
            traced.end();
        }
    }
}

/// The instrumentation scope of a `tracing` span: the crate its target names (the first `::`
/// segment, `sqlx` for `sqlx::query`, as the module path spells it), with no version (a target
/// carries none). One scope per crate name, made at its first span and kept: targets are the
/// callsites' static strings, so their number is bounded by the program.
fn scope_of(target: &'static str) -> &'static InstrumentationScope {
    thread_local! {
        /// The last target seen on this thread and its scope: spans come in runs from one
        /// library.
        static LAST: Cell<Option<(&'static str, &'static InstrumentationScope)>> =
            const { Cell::new(None) };
    }
    let last = LAST.get();
    if let Some((t, scope)) = last
        && std::ptr::eq(t, target)
    {
        return scope;
    }
    let scope = scope_of_slow(target);
    LAST.set(Some((target, scope)));
    scope
}

#[inline(never)]
fn scope_of_slow(target: &'static str) -> &'static InstrumentationScope {
    static SCOPES: RwLock<BTreeMap<&'static str, &'static InstrumentationScope>> =
        RwLock::new(BTreeMap::new());
    let krate = target.split("::").next().unwrap_or(target);
    if let Some(scope) = SCOPES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(krate)
    {
        return scope;
    }
    SCOPES
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(krate)
        .or_insert_with(|| Box::leak(Box::new(InstrumentationScope::new(krate, ""))))
}

/// Makes `cx` the thread's active context (not recording: the span lives elsewhere).
fn enter_context(cx: &SpanContext) -> Option<Saved> {
    if !cx.is_valid() {
        return None;
    }
    context::enter(Active::from_context(cx, false), cx.trace_state())
}

impl TracedLayer {
    /// A `tracing` event as a span event, and the status it sets, if any.
    fn build_event(&self, event: &tracing_core::Event<'_>) -> (Event, Option<Status>) {
        let meta = event.metadata();
        let mut fields = EventFields::default();
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
