//! The lazy bridge: [`registry()`], a `tracing_subscriber::Registry` that creates a traced
//! span's mirror only when something asks for the current `tracing` span while that traced
//! span is active (`Span::current()`, an event looked up by a layer), instead of at every
//! enter. A `#[traced]` span that nothing asks about costs nothing more than without the
//! layer.

use super::layer::context_of;
use super::mirror::{self, Inbox, MirrorData};
use crate::context;
use crate::model::SpanContext;
use crate::model::record::Record;
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tracing_core::dispatcher::WeakDispatch;
use tracing_core::span::{self, Current, Id};
use tracing_core::subscriber::Interest;
use tracing_core::{Dispatch, Event, LevelFilter, Metadata, Subscriber};
use tracing_subscriber::Registry;
use tracing_subscriber::registry::LookupSpan;

/// A `tracing_subscriber::Registry` that answers "which `tracing` span is current?" with a
/// stand-in for the active traced span when that one is newer, created on demand. Use it in
/// place of `tracing_subscriber::registry()`:
///
/// ```
/// use tracing_subscriber::{fmt, prelude::*};
/// traced_runtime::tracing::registry()
///     .with(traced_runtime::tracing::layer())
///     .with(fmt::layer())
///     .init();
/// ```
///
/// With `tracing_subscriber::registry()` the layer mirrors every traced span as it is entered
/// (correct too, but a `tracing` span's cost, and more, for every traced span).
#[derive(Debug, Default)]
pub struct TracedRegistry {
    inner: Registry,
    dispatch: OnceLock<WeakDispatch>,
}

/// The lazy bridge's registry; see [`TracedRegistry`].
pub fn registry() -> TracedRegistry {
    TracedRegistry::default()
}

thread_local! {
    /// Set while [`TracedRegistry`] creates a mirror.
    static CATCHING_UP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Inboxes of lazily created mirrors, by the span id of the traced span they stand for:
/// drained into the span when it ends (on whichever thread that is).
static INBOXES: Mutex<Option<HashMap<crate::model::SpanId, Arc<Inbox>>>> = Mutex::new(None);
/// Entries in `INBOXES`: a span end looks there only when it is not zero.
static OUTSTANDING: AtomicUsize = AtomicUsize::new(0);

fn inboxes<R>(f: impl FnOnce(&mut HashMap<crate::model::SpanId, Arc<Inbox>>) -> R) -> R {
    f(INBOXES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(HashMap::new))
}

/// At the end of a span: what other threads recorded under its lazily created mirrors.
#[inline]
pub(crate) fn finish(r: &mut Record) {
    if OUTSTANDING.load(Ordering::Relaxed) == 0 {
        return;
    }
    let Some(inbox) = inboxes(|m| m.remove(&r.span_id)) else {
        return;
    };
    OUTSTANDING.fetch_sub(1, Ordering::Relaxed);
    mirror::drain(&inbox, r);
}

impl TracedRegistry {
    /// The stand-in for the active traced span, created and entered now, if the registry's
    /// current span is not already it (or a `tracing` span under it).
    fn catch_up(&self, current: &Current) -> Option<Current> {
        // Creating the mirror asks again (a layer may look up the current span): no mirror
        // for a mirror.
        if CATCHING_UP.get() {
            return None;
        }
        let (active, state, depth) = context::active_frame()?;
        if !active.is_valid() {
            return None;
        }
        if let Some(id) = current.id()
            && let Some(span) = self.inner.span(id)
            && context_of(&span).is_some_and(|cx| cx.span_id() == active.span_id)
        {
            return None;
        }
        let dispatch = self.dispatch.get()?.upgrade()?;
        let cx = SpanContext::new(
            active.trace_id,
            active.span_id,
            active.flags,
            active.is_remote,
            state,
        );
        // The span's own frame, and exported: events recorded under the mirror on other
        // threads are moved into it when it ends.
        let inbox =
            (active.recording && !active.is_remote && active.flags.is_sampled()).then(|| {
                inboxes(|m| {
                    m.entry(active.span_id)
                        .or_insert_with(|| {
                            OUTSTANDING.fetch_add(1, Ordering::Relaxed);
                            // Its end looks here (applied when it exits).
                            context::settle_active_at_end();
                            Arc::new(Inbox::default())
                        })
                        .clone()
                })
            });
        CATCHING_UP.set(true);
        let id = mirror::new_mirror(&dispatch, MirrorData { cx, inbox });
        CATCHING_UP.set(false);
        // Entered at the traced span's place on the stack: exited (and closed) when that
        // span is no longer there (`leave_stale`, before the registry answers again).
        self.inner.enter(&id);
        mirror::push_entered(
            depth,
            active.span_id,
            id.clone(),
            mirror::Target::new(dispatch),
            true,
        );
        Some(Current::new(id, mirror::metadata()))
    }
}

impl Subscriber for TracedRegistry {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
        mirror::turn_on();
        self.inner.on_register_dispatch(subscriber);
    }
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.inner.max_level_hint()
    }
    fn new_span(&self, attrs: &span::Attributes<'_>) -> Id {
        // No catching up here: the layer finds a new span's traced parent on traced's own
        // stack, and a `tracing` span needs no stand-in above it in the registry. But no
        // stale stand-in as its registry parent either.
        if attrs.is_contextual() {
            mirror::leave_stale();
        }
        self.inner.new_span(attrs)
    }
    fn record(&self, span: &Id, values: &span::Record<'_>) {
        self.inner.record(span, values);
    }
    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.inner.record_follows_from(span, follows);
    }
    fn event_enabled(&self, event: &Event<'_>) -> bool {
        self.inner.event_enabled(event)
    }
    fn event(&self, event: &Event<'_>) {
        self.inner.event(event);
    }
    fn enter(&self, span: &Id) {
        self.inner.enter(span);
    }
    fn exit(&self, span: &Id) {
        self.inner.exit(span);
    }
    fn clone_span(&self, id: &Id) -> Id {
        self.inner.clone_span(id)
    }
    fn try_close(&self, id: Id) -> bool {
        self.inner.try_close(id)
    }
    fn current_span(&self) -> Current {
        if !mirror::on() {
            return self.inner.current_span();
        }
        mirror::leave_stale();
        let current = self.inner.current_span();
        self.catch_up(&current).unwrap_or(current)
    }
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(std::ptr::from_ref(self).cast());
        }
        // SAFETY: the caller's contract, passed on: the inner registry answers for its own
        // type (and the markers tracing-subscriber asks it about).
        unsafe { self.inner.downcast_raw(id) }
    }
}

impl<'a> LookupSpan<'a> for TracedRegistry {
    type Data = <Registry as LookupSpan<'a>>::Data;
    fn span_data(&'a self, id: &Id) -> Option<Self::Data> {
        self.inner.span_data(id)
    }
    fn register_filter(&mut self) -> tracing_subscriber::filter::FilterId {
        self.inner.register_filter()
    }
}
