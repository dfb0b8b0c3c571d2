//! traced into `tracing`: while a traced span is active on a thread, a `tracing` span that
//! stands for it (its *mirror*) is the thread's current `tracing` span, so
//! `tracing::Span::current()` (what sqlx, `Instrument::in_current_span` and friends capture to
//! carry the context to another thread or task) leads back to it.
//!
//! With the layer on a plain `tracing_subscriber::Registry` (eager), the mirror is created
//! through the default dispatcher the first time a traced span is entered, then entered and
//! exited with the traced span (every `enter`, every poll of its future), and closed when the
//! traced span ends. Its extensions hold the traced span's context and an inbox: events
//! recorded under the mirror on another thread (a library's worker) go to the inbox and are
//! moved into the traced span when it ends, on its own thread. On a
//! [`TracedRegistry`](super::TracedRegistry) (lazy) mirrors are made on demand instead
//! (`lazy.rs`), and entered and left here.
//!
//! Without a layer nothing is checked on the `#[traced]` path (see `context::hook`).

use crate::context::Active;
use crate::context::hook::{self, Hooks};
use crate::model::record::Record;
use crate::model::{Event, SpanContext, SpanId, Status, TraceState};
use std::cell::{Cell, RefCell};
use std::num::NonZeroU64;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tracing_core::callsite::{Callsite, Identifier};
use tracing_core::field::FieldSet;
use tracing_core::span::{Attributes, Id};
use tracing_core::{Dispatch, Interest, Kind, Level, Metadata, Subscriber as _, dispatcher};
use tracing_subscriber::Registry;

/// Whether any dispatcher has the layer.
pub(crate) fn on() -> bool {
    hook::get().is_some()
}

/// Installs the bridge's hooks in the context and span layers (once a layer or a
/// `TracedRegistry` is part of a subscriber).
pub(super) fn turn_on() {
    hook::install(Hooks {
        span_entered: entered,
        context_attached: entered_context,
        exiting,
        span_ending,
    });
}

/// The layer is on a registry that cannot be asked for its current span (not a
/// [`TracedRegistry`](super::TracedRegistry)): mirrors are made when traced spans are
/// entered, every one of them from now on.
pub(super) fn turn_on_eager() {
    turn_on();
    if hook::want_every_enter() {
        // Pairs with the fence in `pipeline::install`: a pipeline installed meanwhile is
        // either found here or sees the flag there.
        std::sync::atomic::fence(Ordering::SeqCst);
        if let Some(pipeline) = crate::pipeline::get() {
            pipeline.slow_children();
        }
    }
}

/// A sampled span with a mirror ends: what other threads recorded under its stand-ins goes
/// into it.
fn span_ending(r: &mut Record) {
    if let Some(c) = &mut r.cold
        && let Some(mirror) = c.mirror.take()
        && let Ok(mirror) = mirror.downcast::<Mirror>()
    {
        mirror.finish(r);
    }
    super::lazy::finish(r);
}

/// The default dispatcher, if it has the layer on a registry that mirrors on enter (a
/// [`TracedRegistry`](super::TracedRegistry) mirrors on demand).
fn eager_dispatch() -> Option<Dispatch> {
    if !hook::every_enter() {
        return None;
    }
    dispatcher::get_default(|d| {
        (d.is::<super::TracedLayer>() && !d.is::<super::TracedRegistry>()).then(|| d.clone())
    })
}

/// The mirrors' metadata.
pub(super) fn metadata() -> &'static Metadata<'static> {
    &META
}

/// The callsite of every mirror span: name `traced`, target `traced`, level INFO, no fields.
struct MirrorCallsite;
static CALLSITE: MirrorCallsite = MirrorCallsite;
static META: Metadata<'static> = Metadata::new(
    "traced",
    "traced",
    Level::INFO,
    None,
    None,
    None,
    FieldSet::new(&[], Identifier(&CALLSITE)),
    Kind::SPAN,
);

impl Callsite for MirrorCallsite {
    fn set_interest(&self, _: Interest) {}
    fn metadata(&self) -> &Metadata<'_> {
        &META
    }
}

/// Whether `meta` is the mirror callsite's.
pub(super) fn is_mirror(meta: &Metadata<'_>) -> bool {
    std::ptr::eq(meta, &raw const META)
}

/// Registers the callsite with `tracing-core`, so subscribers' interest caches know it.
pub(super) fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| tracing_core::callsite::register(&CALLSITE));
}

/// Events recorded under a mirror on a thread that does not own the traced span.
#[derive(Debug, Default)]
pub(super) struct Inbox {
    state: Mutex<InboxState>,
}

#[derive(Debug, Default)]
struct InboxState {
    changes: Vec<(Event, Option<Status>)>,
    /// Set when the traced span ended: `Some(whether it recorded)`.
    closed: Option<bool>,
}

/// Events that reached a stand-in's inbox after its (recording) traced span had ended.
static LATE_EVENTS: AtomicU64 = AtomicU64::new(0);

/// Events recorded under the `tracing` stand-in of a traced span (on another thread, through
/// a captured `tracing::Span::current()`) after that traced span had ended: the span is
/// already on its way to export, so they are dropped, and counted here. Process-wide, since
/// the start; events under an unsampled span are not counted (nothing would have recorded
/// them).
#[must_use]
pub fn late_events_dropped() -> u64 {
    LATE_EVENTS.load(Ordering::Relaxed)
}

impl Inbox {
    pub(super) fn push(&self, event: Event, status: Option<Status>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.closed {
            None => state.changes.push((event, status)),
            Some(true) => {
                LATE_EVENTS.fetch_add(1, Ordering::Relaxed);
            }
            Some(false) => {}
        }
    }
}

/// What the layer keeps in a mirror's extensions.
#[derive(Debug)]
pub(super) struct MirrorData {
    /// The traced span the mirror stands for.
    pub(super) cx: SpanContext,
    /// Where events from other threads go; `None` for a re-entered captured context.
    pub(super) inbox: Option<Arc<Inbox>>,
}

thread_local! {
    /// What the next mirror created on this thread stands for: read by the layer's
    /// `on_new_span`.
    static PENDING: RefCell<Option<MirrorData>> = const { RefCell::new(None) };
    /// Set while the bridge itself enters or exits a mirror: the layer has nothing to do.
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
    /// The mirrors entered on this thread: context stack depth, span, dispatcher, and whether
    /// the entry owns the span's reference (a captured context's mirror: closed on exit).
    static ENTERED: RefCell<Vec<Entered>> = const { RefCell::new(Vec::new()) };
}

pub(super) fn take_pending() -> Option<MirrorData> {
    PENDING.with(|p| p.borrow_mut().take())
}

pub(super) fn in_hook() -> bool {
    IN_HOOK.get()
}

/// A mirror entered on this thread.
struct Entered {
    depth: u32,
    /// The traced span it stands for, at `depth` on the context stack.
    span: SpanId,
    id: Id,
    target: Target,
    owned: bool,
}

/// A traced span's mirror, kept in the span's record.
#[derive(Debug)]
pub(crate) struct Mirror {
    id: Id,
    target: Target,
    /// For a sampled span: what other threads record under the mirror.
    inbox: Option<Arc<Inbox>>,
}

impl Mirror {
    /// Closes the mirror, and applies what other threads recorded under it to the span.
    pub(crate) fn finish(mut self, r: &mut Record) {
        let inbox = self.inbox.take();
        // Closed first: unless a library kept a handle on it, its extensions (with the
        // inbox's other reference) go with it, and the inbox is read without a lock.
        drop(self);
        let Some(mut inbox) = inbox else { return };
        match Arc::get_mut(&mut inbox) {
            Some(only) => {
                let changes = std::mem::take(
                    &mut only
                        .state
                        .get_mut()
                        .unwrap_or_else(PoisonError::into_inner)
                        .changes,
                );
                apply(changes, r);
            }
            None => drain(&inbox, r),
        }
    }
}

/// Applies what other threads put in `inbox` to the span, and closes the inbox: what
/// arrives later is counted in [`late_events_dropped`].
pub(super) fn drain(inbox: &Inbox, r: &mut Record) {
    let recording = r.is_recording();
    let changes = {
        let mut state = inbox.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.closed = Some(recording);
        std::mem::take(&mut state.changes)
    };
    if recording {
        apply(changes, r);
    }
}

/// Adds events (and the statuses they set) to a span.
fn apply(changes: Vec<(Event, Option<Status>)>, r: &mut Record) {
    if changes.is_empty() || !r.is_recording() {
        return;
    }
    for (event, status) in changes {
        r.add_event(event);
        if let Some(status) = status {
            r.set_status(status);
        }
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        close(&self.target.dispatch, self.id.clone());
    }
}

thread_local! {
    /// The mirror the bridge is closing on this thread: the layer has nothing to do for it.
    static CLOSING: Cell<Option<NonZeroU64>> = const { Cell::new(None) };
}

/// Closes (drops the bridge's reference to) a mirror.
fn close(dispatch: &Dispatch, id: Id) {
    let previous = CLOSING.replace(Some(id.into_non_zero_u64()));
    dispatch.try_close(id);
    CLOSING.set(previous);
}

/// Whether `id` is a mirror the bridge is closing on this thread.
pub(super) fn closing(id: &Id) -> bool {
    CLOSING.get() == Some(id.into_non_zero_u64())
}

/// The registry under `dispatch`'s layers, if it is tracing-subscriber's `Registry` (what
/// `tracing_subscriber::registry()` builds).
fn registry(dispatch: &Dispatch) -> Option<&Registry> {
    dispatch.downcast_ref::<Registry>()
}

/// A dispatcher, and its `Registry` found once (entering and exiting a mirror go straight
/// to it: no layer has anything to do for them).
#[derive(Clone, Debug)]
pub(super) struct Target {
    dispatch: Dispatch,
    registry: Option<NonNull<Registry>>,
}

// SAFETY: `registry` points into the subscriber `dispatch` keeps alive, a `Registry`, which is
// `Send` and `Sync`; it is only read through a shared reference.
unsafe impl Send for Target {}
// SAFETY: as above.
unsafe impl Sync for Target {}

impl Target {
    pub(super) fn new(dispatch: Dispatch) -> Self {
        let registry = registry(&dispatch).map(NonNull::from);
        Target { dispatch, registry }
    }

    fn registry(&self) -> Option<&Registry> {
        // SAFETY: see the `Send` impl: the registry lives as long as `self.dispatch`.
        self.registry.map(|r| unsafe { r.as_ref() })
    }

    fn enter(&self, id: &Id) {
        if let Some(registry) = self.registry() {
            registry.enter(id);
        } else {
            IN_HOOK.set(true);
            self.dispatch.enter(id);
            IN_HOOK.set(false);
        }
    }

    fn exit(&self, id: &Id) {
        if let Some(registry) = self.registry() {
            registry.exit(id);
        } else {
            IN_HOOK.set(true);
            self.dispatch.exit(id);
            IN_HOOK.set(false);
        }
    }
}

/// Creates a mirror standing for `data.cx` in `dispatch`, through the whole stack: every
/// layer sees it created (a fmt layer expects its own state in every span it may print) and
/// closed. Entering and exiting it, the part repeated for every poll, goes straight to a
/// `Registry` when there is one: no layer has anything to do for it.
pub(super) fn new_mirror(dispatch: &Dispatch, data: MirrorData) -> Id {
    let values = META.fields().value_set::<[_; 0]>(&[]);
    PENDING.with(|p| *p.borrow_mut() = Some(data));
    let id = dispatch.new_span(&Attributes::new(&META, &values));
    // The layer took it, unless a filter kept the span from it.
    PENDING.with(|p| p.borrow_mut().take());
    id
}

fn enter_mirror(depth: u32, span: SpanId, id: Id, target: Target, owned: bool) {
    target.enter(&id);
    push_entered(depth, span, id, target, owned);
}

/// Notes a mirror of `span` entered at context stack depth `depth`: exited when the stack
/// goes back there, and closed then if `owned`.
pub(super) fn push_entered(depth: u32, span: SpanId, id: Id, target: Target, owned: bool) {
    let _ = ENTERED.try_with(|e| {
        e.borrow_mut().push(Entered {
            depth,
            span,
            id,
            target,
            owned,
        });
    });
}

/// A traced span was entered at context stack depth `depth`: with an eager layer, its
/// mirror (made the first time) is entered too, and exited with it (`true`).
#[inline(never)]
fn entered(depth: u32, r: &mut Record) -> bool {
    if !hook::every_enter() {
        return false;
    }
    let span = r.span_id;
    let mirror = if let Some(m) = r
        .cold
        .as_ref()
        .and_then(|c| c.mirror.as_ref())
        .and_then(|m| m.downcast_ref::<Mirror>())
    {
        m
    } else {
        let Some(dispatch) = eager_dispatch() else {
            return false;
        };
        // Only a span that is exported gets what other threads record under its mirror.
        let inbox = r.is_sampled().then(|| Arc::new(Inbox::default()));
        let data = MirrorData {
            cx: r.span_context(),
            inbox: inbox.clone(),
        };
        let id = new_mirror(&dispatch, data);
        if inbox.is_some() {
            hook::settle_at_end(r);
        }
        let mirror = r.cold().mirror.insert(Box::new(Mirror {
            id,
            target: Target::new(dispatch),
            inbox,
        }));
        match mirror.downcast_ref::<Mirror>() {
            Some(m) => m,
            None => return false,
        }
    };
    enter_mirror(depth, span, mirror.id.clone(), mirror.target.clone(), false);
    true
}

/// A captured context was attached at depth `depth`: with an eager layer, a mirror for the
/// time it is attached (`true`).
#[inline(never)]
fn entered_context(depth: u32, active: Active, state: &TraceState) -> bool {
    let Some(dispatch) = eager_dispatch() else {
        return false;
    };
    let cx = SpanContext::new(
        active.trace_id,
        active.span_id,
        active.flags,
        active.is_remote,
        state.clone(),
    );
    let id = new_mirror(&dispatch, MirrorData { cx, inbox: None });
    // Closed when the context is detached.
    enter_mirror(depth, active.span_id, id, Target::new(dispatch), true);
    true
}

/// Exits (and closes, if owned) a mirror taken off `ENTERED`.
fn leave(entered: Entered) {
    let Entered {
        id, target, owned, ..
    } = entered;
    target.exit(&id);
    if owned {
        close(&target.dispatch, id);
    }
}

/// The context stack goes back to depth `depth`: exits the mirrors entered above it.
#[inline(never)]
fn exiting(depth: u32) {
    while let Some(top) = pop_entered(|m| m.depth >= depth) {
        leave(top);
    }
}

/// The top of `ENTERED`, taken off if `stale`.
fn pop_entered(stale: impl Fn(&Entered) -> bool) -> Option<Entered> {
    ENTERED
        .try_with(|e| {
            let mut e = e.borrow_mut();
            if e.last().is_some_and(stale) {
                e.pop()
            } else {
                None
            }
        })
        .ok()
        .flatten()
}

/// Exits the mirrors whose traced span is no longer at their place on the context stack:
/// what the lazy registry does before it answers, instead of a check at every exit.
pub(super) fn leave_stale() {
    while let Some(top) = pop_entered(|m| crate::context::span_at(m.depth) != Some(m.span)) {
        leave(top);
    }
}
