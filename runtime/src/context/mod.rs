//! The active span of each thread, and access to it from anywhere.
//!
//! Each thread keeps a stack of the contexts entered on it: entering a span pushes its ids
//! (and its trace state, rare in practice), the guard pops back to where it was. No pointer
//! to a span is ever stored: changes made through [`current`] are queued per thread, tagged
//! with the span id, and moved into the span when it is exited.
//!
//! A [`Context`] is a snapshot of that state (the active span's ids and trace state, and the
//! thread's [`Baggage`]) that can be carried to another thread, task or callback and
//! attached there, on the same stack: [`wrap`] and [`Context::wrap`] for closures,
//! [`crate::thread::spawn`] for threads, [`FutureExt::in_current_context`](crate::FutureExt::in_current_context)
//! for futures, and `traced::tokio::spawn` (feature `tokio`) for tasks.

#[cfg(feature = "tracing")]
pub(crate) mod hook;
pub(crate) mod panic;
pub(crate) mod thread;

use crate::model::{Event, Link, Status};
use crate::model::{Key, KeyValue, ToValue};
use crate::model::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use crate::propagation::Baggage;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::sync::Arc;

/// The ids of an entered span.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Active {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) flags: TraceFlags,
    pub(crate) is_remote: bool,
    /// A span of this process that records: changes through `current()` reach it.
    pub(crate) recording: bool,
    /// Its frame holds a non-empty trace state.
    pub(crate) has_state: bool,
}

impl Active {
    pub(crate) const NONE: Active = Active {
        trace_id: TraceId::INVALID,
        span_id: SpanId::INVALID,
        flags: TraceFlags::NOT_SAMPLED,
        is_remote: false,
        recording: false,
        has_state: false,
    };

    /// What a `start` given to [`start_and_enter`] returns to decline: the span is started
    /// and entered apart (an integration's hook must see it entered). Invalid, with a trace
    /// state: found on the branch a trace state takes anyway.
    #[cfg(feature = "tracing")]
    pub(crate) const DECLINED: Active = Active {
        has_state: true,
        ..Active::NONE
    };

    pub(crate) fn is_valid(&self) -> bool {
        self.trace_id.is_valid()
    }

    /// A valid, sampled span of this process with no trace state: the parent whose sampled
    /// children start on the fast paths, without the sampler.
    #[inline(always)]
    pub(crate) fn is_sampled_local_without_state(&self) -> bool {
        self.is_valid() && !self.is_remote && self.flags.is_sampled() && !self.has_state
    }

    pub(crate) fn from_context(cx: &SpanContext, recording: bool) -> Self {
        Active {
            trace_id: cx.trace_id(),
            span_id: cx.span_id(),
            flags: cx.trace_flags(),
            is_remote: cx.is_remote(),
            recording,
            has_state: !cx.trace_state().is_empty(),
        }
    }

    pub(crate) fn span_context(&self) -> SpanContext {
        let state = if self.has_state {
            state_of(self.span_id)
        } else {
            TraceState::NONE
        };
        SpanContext::new(
            self.trace_id,
            self.span_id,
            self.flags,
            self.is_remote,
            state,
        )
    }
}

struct Frame {
    active: Active,
    state: TraceState,
    /// `is_unsampled_local(&active)`, for `UNSAMPLED_LOCAL` when this frame is on top again.
    unsampled_local: bool,
}

thread_local! {
    static STACK: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
    static PENDING: RefCell<Vec<(SpanId, Change)>> = const { RefCell::new(Vec::new()) };
    /// Whether `PENDING` may hold changes: a plain load where there are none (the common
    /// case), without the registration check of a thread local that has a destructor.
    static ANY_PENDING: Cell<bool> = const { Cell::new(false) };
    /// Whether the top of `STACK` is an unsampled span of this process: kept by [`enter`] and
    /// [`exit`], so that starting a child of it (which a parent-based sampler drops) costs one
    /// plain thread-local load, without the borrow of `STACK`.
    static UNSAMPLED_LOCAL: Cell<bool> = const { Cell::new(false) };
}

/// Whether the thread's active context is a valid, unsampled span of this process.
#[inline(always)]
pub(crate) fn unsampled_local_active() -> bool {
    UNSAMPLED_LOCAL.get()
}

fn is_unsampled_local(a: &Active) -> bool {
    a.is_valid() && !a.is_remote && !a.flags.is_sampled()
}

/// The thread's active context.
#[inline]
pub(crate) fn active() -> Active {
    // Copied once, whole, from the frame: through `Option`s (whose tag is a niche in the
    // last field), the copies went in odd-sized pieces read back wider than written, each a
    // store-forwarding stall.
    let mut active = Active::NONE;
    let _ = STACK.try_with(|s| {
        if let Ok(s) = s.try_borrow()
            && let Some(top) = s.last()
        {
            active = top.active;
        }
    });
    active
}

/// The thread's active context when it is a valid, sampled span of this process with no
/// trace state (the parent of a sampled child's fast path), else `None`. A shared borrow, and
/// only the checks that path needs.
#[inline]
pub(crate) fn sampled_local_active() -> Option<Active> {
    STACK
        .try_with(|s| {
            let s = s.try_borrow().ok()?;
            let a = s.last()?.active;
            a.is_sampled_local_without_state().then_some(a)
        })
        .ok()
        .flatten()
}

/// The thread's active context, its trace state, and its place on the stack.
#[cfg(feature = "tracing")]
pub(crate) fn active_frame() -> Option<(Active, TraceState, u32)> {
    STACK
        .try_with(|s| {
            let s = s.try_borrow().ok()?;
            let top = s.last()?;
            Some((top.active, top.state.clone(), (s.len() - 1) as u32))
        })
        .ok()
        .flatten()
}

/// The span at depth `depth` of the thread's context stack, if the stack is that deep.
#[cfg(feature = "tracing")]
pub(crate) fn span_at(depth: u32) -> Option<SpanId> {
    STACK
        .try_with(|s| {
            s.try_borrow()
                .ok()
                .and_then(|s| s.get(depth as usize).map(|f| f.active.span_id))
        })
        .ok()
        .flatten()
}

fn state_of(span: SpanId) -> TraceState {
    STACK
        .try_with(|s| {
            let s = s.borrow();
            s.iter()
                .rev()
                .find(|f| f.active.span_id == span)
                .map(|f| f.state.clone())
        })
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Where the stack stood before an [`enter`]: [`exit`] pops back to it. Its depth plus one,
/// so that `Option<Saved>` is four bytes and a span's guard (in every traced frame) sixteen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Saved(std::num::NonZeroU32);

impl Saved {
    /// As a number, for a record to keep: 0 for none.
    #[inline]
    pub(crate) fn to_raw(saved: Option<Saved>) -> u32 {
        saved.map_or(0, |s| s.0.get())
    }

    /// What [`to_raw`](Saved::to_raw) gave.
    #[inline]
    pub(crate) fn from_raw(raw: u32) -> Option<Saved> {
        std::num::NonZeroU32::new(raw).map(Saved)
    }
}

#[cfg(feature = "tracing")]
impl Saved {
    /// Set in a saved depth whose exit runs the hooks' `exiting`: such a depth lies past
    /// any stack, so [`exit`] finds it on the branch it takes anyway for a stale guard.
    const MARK: u32 = 1 << 31;

    /// The stack's depth before the enter (what the `tracing` bridge's hooks key on).
    pub(crate) fn depth(self) -> u32 {
        (self.0.get() & !Self::MARK) - 1
    }

    /// This enter, with the hooks told of its exit (see `hook`).
    pub(crate) fn marked(self) -> Saved {
        Saved(self.0 | Self::MARK)
    }

    fn is_marked(self) -> bool {
        self.0.get() & Self::MARK != 0
    }
}

/// [`enter`], out of line: for a span with a trace state (rare), off the inlined path.
#[inline(never)]
pub(crate) fn enter_with_state(new: Active, state: &TraceState) -> Option<Saved> {
    enter(new, state)
}

/// Makes `new` the thread's active context.
#[inline]
pub(crate) fn enter(new: Active, state: &TraceState) -> Option<Saved> {
    STACK
        .try_with(|s| {
            let mut s = s.try_borrow_mut().ok()?;
            let state = if new.has_state {
                state.clone()
            } else {
                TraceState::NONE
            };
            Some(push_frame(&mut s, new, state))
        })
        .ok()
        .flatten()
}

/// Starts a span under the thread's active context and enters it, with one borrow of the
/// stack: `start` gets the active context and its trace state, and returns the new span and
/// the context to enter (`None`: nothing to enter; [`Active::DECLINED`]: start it another
/// way, `None` is returned). `None` when the stack is unavailable (the thread is exiting, or
/// a call from inside another stack access).
#[inline]
pub(crate) fn start_and_enter<S>(
    start: impl FnOnce(Active, &TraceState) -> (S, Option<Active>),
) -> Option<(S, Option<Saved>)> {
    STACK
        .try_with(|s| {
            let mut s = s.try_borrow_mut().ok()?;
            // One call of `start`, so that it is inlined here.
            let (parent, parent_state) = match s.last() {
                Some(top) => (top.active, &top.state),
                None => (Active::NONE, &TraceState::NONE),
            };
            let (started, new) = start(parent, parent_state);
            // A child keeps its parent's trace state (a root has none: there, only
            // `DECLINED` has the bit).
            let state = match new {
                Some(n) if n.has_state => {
                    // (Checked here, on the branch of the rare trace state.)
                    #[cfg(feature = "tracing")]
                    if !n.is_valid() {
                        return None;
                    }
                    parent_state.clone()
                }
                _ => TraceState::NONE,
            };
            let saved = new.map(|new| push_frame(&mut s, new, state));
            Some((started, saved))
        })
        .ok()
        .flatten()
}

/// [`start_and_enter`] for the most common spans, each on a path of its own: a child of
/// the thread's active span when that span is sampled, of this process, and has no trace
/// state (with `children`: the caller may start such children without its sampler); and a
/// root, when no span is active. `child` gets the parent's ids and returns the new span and
/// its span id (`None`: nothing to enter); its frame is known here field by field (the
/// parent's trace and flags, a recording span, no state), with none of the general path's
/// choices to carry through. `root` returns the new span and the context to enter, as
/// `start_and_enter`'s `start` does for a root. `Err(())` when the active span is anything
/// else, `root` declined ([`Active::DECLINED`]), or the stack is unavailable: start the span
/// the general way.
#[inline(always)]
pub(crate) fn start_and_enter_fast<S>(
    children: bool,
    child: impl FnOnce(Active) -> (S, Option<SpanId>),
    root: impl FnOnce() -> (S, Option<Active>),
) -> Result<(S, Option<Saved>), ()> {
    STACK
        .try_with(|s| {
            let mut s = s.try_borrow_mut().map_err(|_| ())?;
            let Some(top) = s.last() else {
                let (started, new) = root();
                return match new {
                    // A root has no trace state: only `DECLINED` has the bit.
                    Some(new) if new.has_state => Err(()),
                    new => Ok((
                        started,
                        new.map(|new| push_frame(&mut s, new, TraceState::NONE)),
                    )),
                };
            };
            let parent = top.active;
            let sampled_child = children && parent.is_sampled_local_without_state();
            if !sampled_child {
                return Err(());
            }
            let (started, span_id) = child(parent);
            let saved = span_id.map(|span_id| {
                let new = Active {
                    span_id,
                    recording: true,
                    ..parent
                };
                push_frame(&mut s, new, TraceState::NONE)
            });
            Ok((started, saved))
        })
        .unwrap_or(Err(()))
}

/// Pushes a frame and makes it the thread's active context.
#[inline(always)]
fn push_frame(s: &mut Vec<Frame>, new: Active, state: TraceState) -> Saved {
    let depth = s.len();
    if depth == s.capacity() {
        grow(s);
    }
    let unsampled_local = is_unsampled_local(&new);
    // SAFETY: `depth < capacity`: the slot is allocated and unused; it is written whole
    // before `set_len` covers it. Written in place rather than pushed, so the frame is
    // not first built on the stack and read back whole (a store-forwarding stall).
    unsafe {
        s.as_mut_ptr().add(depth).write(Frame {
            active: new,
            state,
            unsampled_local,
        });
        s.set_len(depth + 1);
    }
    // Through `with`: `LocalKey::set` goes through `initialize_with`, which LLVM may leave
    // out of line (a call and 20 instructions a span, `instr child`, when it did).
    UNSAMPLED_LOCAL.with(|u| u.set(unsampled_local));
    Saved(std::num::NonZeroU32::MIN.saturating_add(depth as u32))
}

#[cold]
fn grow(stack: &mut Vec<Frame>) {
    stack.reserve(16);
}

/// Pops back to where [`enter`] found the stack. Guards dropped out of order pop whatever
/// was entered after them too, so the stack never holds a context whose guard is gone.
/// Returns whether the context active now is a recording span.
#[inline]
pub(crate) fn exit(saved: Saved) -> bool {
    STACK
        .try_with(|s| {
            let Ok(mut s) = s.try_borrow_mut() else {
                return false;
            };
            let depth = saved.0.get() as usize - 1;
            if s.len() != depth + 1 {
                return exit_elsewhere(s, saved);
            }
            // The common case: the frame entered last goes. A frame with no trace state
            // owns nothing, and is forgotten without a call.
            if let Some(f) = s.pop()
                && !f.state.is_empty()
            {
                drop_frame(f);
            }
            now_active(&s)
        })
        .unwrap_or(false)
}

/// [`exit`] of a frame that is not the top one, out of line: the common case stays the
/// same size whether the `tracing` feature (which adds a check here) is built or not.
#[cold]
#[inline(never)]
fn exit_elsewhere(mut s: std::cell::RefMut<'_, Vec<Frame>>, saved: Saved) -> bool {
    let depth = saved.0.get() as usize - 1;
    // Past the end: a guard whose frame an outer guard already popped, or a marked enter
    // (no other check: it rides on this branch).
    #[cfg(feature = "tracing")]
    if depth > s.len() {
        drop(s);
        return exit_past_end(saved);
    }
    truncate(&mut s, depth);
    now_active(&s)
}

/// After an exit: notes whether the frame now on top is an unsampled span of this process,
/// and returns whether it records.
#[inline(always)]
fn now_active(s: &[Frame]) -> bool {
    let top = s.last();
    UNSAMPLED_LOCAL.set(top.is_some_and(|f| f.unsampled_local));
    top.is_some_and(|f| f.active.recording)
}

/// [`exit`] past the end of the stack: an enter whose exit the hooks asked to see, or a
/// stale guard.
#[cfg(feature = "tracing")]
#[cold]
#[inline(never)]
fn exit_past_end(saved: Saved) -> bool {
    if saved.is_marked()
        && let Some(hooks) = hook::get()
    {
        (hooks.exiting)(saved.depth());
    }
    STACK
        .try_with(|s| {
            let Ok(mut s) = s.try_borrow_mut() else {
                return false;
            };
            s.truncate(saved.depth() as usize);
            now_active(&s)
        })
        .unwrap_or(false)
}

#[cold]
#[inline(never)]
fn drop_frame(f: Frame) {
    drop(f);
}

/// Pops to `depth` frames: guards dropped out of order (see [`exit`]).
#[cold]
#[inline(never)]
fn truncate(stack: &mut Vec<Frame>, depth: usize) {
    stack.truncate(depth);
}

/// A change to a span made through [`current`], applied when the span is exited.
#[derive(Debug)]
pub(crate) enum Change {
    Attribute(KeyValue),
    Event(Event),
    Link(Link),
    Status(Status),
    Exception {
        kind: String,
        message: String,
    },
    Name(Cow<'static, str>),
    /// `hook::settle_at_end` on the span (the `tracing` bridge has events to move into it).
    #[cfg(feature = "tracing")]
    SettleAtEnd,
}

/// Has the thread's active span (if it records) settled by the hooks before it is exported:
/// applied when it exits.
#[cfg(feature = "tracing")]
pub(crate) fn settle_active_at_end() {
    push(Change::SettleAtEnd);
}

fn push(change: Change) {
    let a = active();
    if a.recording {
        let _ = PENDING.try_with(|p| p.borrow_mut().push((a.span_id, change)));
        ANY_PENDING.set(true);
    }
}

/// Whether changes made through [`current`] may be queued on this thread.
#[cfg(feature = "tracing")]
pub(crate) fn any_pending() -> bool {
    ANY_PENDING.get()
}

/// Takes the queued changes for `span`, if any (one thread-local read when there are none).
#[inline]
pub(crate) fn take_changes(span: SpanId, mut apply: impl FnMut(Change)) {
    if !ANY_PENDING.get() {
        return;
    }
    take_changes_slow(span, &mut apply);
}

#[inline(never)]
fn take_changes_slow(span: SpanId, apply: &mut dyn FnMut(Change)) {
    let _ = PENDING.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.is_empty() {
            ANY_PENDING.set(false);
            return;
        }
        let mut i = 0;
        while i < p.len() {
            if p[i].0 == span {
                apply(p.remove(i).1);
            } else {
                i += 1;
            }
        }
    });
}

/// A handle on the thread's active span, from anywhere in the code it runs.
///
/// ```
/// use traced_runtime::{current, Status};
/// // With no active span every call is a cheap no-op.
/// current().set_attribute("cart.items", 3);
/// current().set_status(Status::error("out of stock"));
/// assert!(!current().span_context().is_valid());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CurrentSpan {
    active: Active,
}

/// The thread's active span.
pub fn current() -> CurrentSpan {
    CurrentSpan { active: active() }
}

impl CurrentSpan {
    /// The active span's context (invalid when no span is active).
    pub fn span_context(&self) -> SpanContext {
        self.active.span_context()
    }
    /// The trace id (invalid when no span is active).
    pub fn trace_id(&self) -> TraceId {
        self.active.trace_id
    }
    /// The span id (invalid when no span is active).
    pub fn span_id(&self) -> SpanId {
        self.active.span_id
    }
    /// Whether the active span records what is set on it.
    pub fn is_recording(&self) -> bool {
        self.active.recording
    }
    /// Sets an attribute on the active span.
    pub fn set_attribute(&self, key: impl Into<Key>, value: impl ToValue) {
        if self.active.recording {
            push(Change::Attribute(KeyValue::new(key, value)));
        }
    }
    /// Adds an event at the current time.
    pub fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        if self.active.recording {
            push(Change::Event(Event::new(name, attributes)));
        }
    }
    /// Adds a link to another span.
    pub fn add_link(&self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        if self.active.recording {
            push(Change::Link(Link::new(span_context, attributes)));
        }
    }
    /// Sets the status, with OpenTelemetry's precedence.
    pub fn set_status(&self, status: Status) {
        if self.active.recording {
            push(Change::Status(status));
        }
    }
    /// Records an error: status `Error` and an `exception` event.
    pub fn record_error<E: std::error::Error + ?Sized>(&self, error: &E) {
        if self.active.recording {
            push(Change::Exception {
                kind: std::any::type_name::<E>().to_owned(),
                message: error.to_string(),
            });
        }
    }
    /// Renames the active span.
    pub fn update_name(&self, name: impl Into<Cow<'static, str>>) {
        if self.active.recording {
            push(Change::Name(name.into()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Carrying the context across threads, tasks and closures.
// ---------------------------------------------------------------------------------------------

thread_local! {
    /// The thread's current baggage: set by [`Baggage::attach`] and [`Context::attach`].
    static BAGGAGE: RefCell<Option<Arc<Baggage>>> = const { RefCell::new(None) };
}

fn current_baggage() -> Option<Arc<Baggage>> {
    BAGGAGE
        .try_with(|b| b.try_borrow().ok().and_then(|b| b.clone()))
        .ok()
        .flatten()
}

/// What a guard puts back: the baggage it replaced, if it replaced one.
#[derive(Debug)]
enum Restore {
    /// Nothing replaced (the thread is exiting, or the guard never touched the baggage).
    Nothing,
    /// The thread's baggage before the guard.
    Baggage(Option<Arc<Baggage>>),
}

/// Sets the thread's baggage; what to put back.
fn replace_baggage(new: Option<Arc<Baggage>>) -> Restore {
    BAGGAGE
        .try_with(|b| {
            b.try_borrow_mut()
                .ok()
                .map(|mut b| std::mem::replace(&mut *b, new))
        })
        .ok()
        .flatten()
        .map_or(Restore::Nothing, Restore::Baggage)
}

/// Whether a recording frame for `span` is on this thread's stack: then changes queued for it
/// here are applied when that frame's span exits, and a re-entered copy may record.
fn recording_here(span: SpanId) -> bool {
    STACK
        .try_with(|s| {
            s.try_borrow().is_ok_and(|s| {
                s.iter()
                    .any(|f| f.active.span_id == span && f.active.recording)
            })
        })
        .unwrap_or(false)
}

/// A captured context: the active span's ids and trace state, and the baggage, as they were
/// where it was captured. Re-enter it elsewhere (another thread, a task, a callback run
/// later) so that spans started there are children of the span that was active here.
///
/// ```
/// use traced_runtime::context::Context;
/// use traced_runtime::{span, testing};
///
/// let spans = testing::spans(|| {
///     let mut parent = span("request").start();
///     let cx = parent.in_scope(Context::current);
///     std::thread::spawn(move || {
///         let _guard = cx.attach();
///         span("on-another-thread").start().end();
///     })
///     .join()
///     .unwrap();
///     parent.end();
/// });
/// assert_eq!(spans[0].name, "on-another-thread");
/// assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
/// ```
///
/// # What re-entering does, and does not do
///
/// Attaching a context pushes its span ids on the thread's stack of active contexts (the same
/// stack [`Span::enter`](crate::Span::enter) uses), so [`current`] and new spans see the
/// captured span as the active one, and sets the thread's baggage to the captured baggage.
/// The guard puts both back.
///
/// It does not hand the span itself to the other thread: a span records on the thread that
/// owns it. Changes made through [`current()`] reach the captured span only where that span
/// is entered (its own [`Span::enter`](crate::Span::enter), `in_scope`, or the poll of its
/// instrumented future, on this same thread, below the attached context). Everywhere else
/// the re-entered span is active but not recording: `current().set_attribute(..)` is a
/// no-op there, exactly as for a remote parent. To record on the span from another thread,
/// move the [`Span`](crate::Span) there (it is `Send`) or start a child span.
#[derive(Clone, Debug, Default)]
pub struct Context {
    span: Option<Captured>,
    baggage: Option<Arc<Baggage>>,
}

#[derive(Clone, Debug)]
struct Captured {
    active: Active,
    state: TraceState,
}

impl Context {
    /// The empty context: no active span, no baggage. Attached, it makes new spans roots.
    pub const fn new() -> Self {
        Context {
            span: None,
            baggage: None,
        }
    }

    /// The thread's context: its active span (if any) and its baggage (if any).
    pub fn current() -> Self {
        // The baggage first: with the span's part built last, it is written where the
        // context is returned. Built before the baggage's lookup, it was built apart, field by
        // field, and copied 16 bytes at a time (store-forwarding stalls: `instr capture`).
        let baggage = current_baggage();
        let active = active();
        let span = active.is_valid().then(|| Captured {
            active,
            state: if active.has_state {
                state_of(active.span_id)
            } else {
                TraceState::NONE
            },
        });
        Context { span, baggage }
    }

    /// A context whose active span is `span_context`, local or remote (as extracted from a
    /// request by [`propagation::extract`](crate::propagation::extract)). An invalid context
    /// gives an empty one. Changes through [`current`] are not recorded while it is attached.
    ///
    /// ```
    /// use traced_runtime::context::Context;
    /// use traced_runtime::{current, SpanContext, SpanId, TraceId};
    /// use traced_runtime::model::{TraceFlags, TraceState};
    ///
    /// let remote = SpanContext::new(
    ///     TraceId::from_u128(7), SpanId::from_u64(9), TraceFlags::SAMPLED, true, TraceState::NONE,
    /// );
    /// let cx = Context::from_span_context(&remote);
    /// cx.run(|| assert_eq!(current().span_context(), remote));
    /// ```
    pub fn from_span_context(span_context: &SpanContext) -> Self {
        let span = span_context.is_valid().then(|| Captured {
            active: Active::from_context(span_context, false),
            state: span_context.trace_state().clone(),
        });
        Context {
            span,
            baggage: None,
        }
    }

    /// This context with `baggage` (an empty baggage means none).
    #[must_use]
    pub fn with_baggage(mut self, baggage: Baggage) -> Self {
        self.baggage = (!baggage.is_empty()).then(|| Arc::new(baggage));
        self
    }

    /// The active span's context in this context (invalid when there is none).
    pub fn span_context(&self) -> SpanContext {
        self.span.as_ref().map_or(SpanContext::NONE, |c| {
            SpanContext::new(
                c.active.trace_id,
                c.active.span_id,
                c.active.flags,
                c.active.is_remote,
                c.state.clone(),
            )
        })
    }

    /// Whether this context has an active span.
    pub fn has_active_span(&self) -> bool {
        self.span.is_some()
    }

    /// The baggage in this context, if any.
    pub fn baggage(&self) -> Option<&Baggage> {
        self.baggage.as_deref()
    }

    /// Makes this context the thread's current one until the guard drops: its span (or
    /// none) is the active span and the parent of new spans, its baggage (or none) is the
    /// current baggage. See the type's docs for what is recorded where.
    pub fn attach(&self) -> ContextGuard {
        let (active, state) = match &self.span {
            Some(c) => {
                let mut active = c.active;
                // Recording only where the span's own frame is below us on this thread: that
                // frame's exit applies what `current()` queues here. Anywhere else the
                // queued changes would never be applied.
                active.recording = active.recording && recording_here(active.span_id);
                (active, &c.state)
            }
            None => (Active::NONE, &TraceState::NONE),
        };
        let saved = enter(active, state);
        // An integration that must see this enter's exit marks it (see `hook`).
        #[cfg(feature = "tracing")]
        let saved = saved.map(|s| match hook::on_enter() {
            Some(hooks)
                if active.is_valid() && (hooks.context_attached)(s.depth(), active, state) =>
            {
                s.marked()
            }
            _ => s,
        });
        ContextGuard {
            saved,
            baggage: replace_baggage(self.baggage.clone()),
            not_send: PhantomData,
        }
    }

    /// Runs `f` with this context attached.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.attach();
        f()
    }

    /// `f`, to run later (anywhere) with this context attached.
    ///
    /// ```
    /// use traced_runtime::context::Context;
    /// use traced_runtime::{span, testing};
    ///
    /// let spans = testing::spans(|| {
    ///     let mut parent = span("parent").start();
    ///     let callback = parent.in_scope(|| Context::current().wrap(|| span("child").start().end()));
    ///     callback(); // out of the parent's scope, still its child
    ///     parent.end();
    /// });
    /// assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
    /// ```
    pub fn wrap<F, R>(self, f: F) -> impl FnOnce() -> R
    where
        F: FnOnce() -> R,
    {
        move || self.run(f)
    }
}

/// `f` with the thread's current context: when it runs, on any thread, spans it starts are
/// children of the span active here. Shorthand for `Context::current().wrap(f)`.
///
/// ```
/// use traced_runtime::{context, span, testing};
///
/// let spans = testing::spans(|| {
///     let mut parent = span("parent").start();
///     let job = parent.in_scope(|| context::wrap(|| span("job").start().end()));
///     std::thread::Builder::new().name("worker".into()).spawn(job).unwrap().join().unwrap();
///     parent.end();
/// });
/// assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
/// ```
pub fn wrap<F, R>(f: F) -> impl FnOnce() -> R
where
    F: FnOnce() -> R,
{
    Context::current().wrap(f)
}

/// The guard of an attached [`Context`] or [`Baggage`]: the thread's previous context comes
/// back when it drops. Not `Send`: it restores a thread's state.
#[must_use = "the context is attached only while the guard lives"]
#[derive(Debug)]
pub struct ContextGuard {
    saved: Option<Saved>,
    /// The baggage to put back.
    baggage: Restore,
    not_send: PhantomData<*const ()>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take() {
            exit(saved);
        }
        if let Restore::Baggage(previous) = std::mem::replace(&mut self.baggage, Restore::Nothing) {
            replace_baggage(previous);
        }
    }
}

impl Baggage {
    /// Makes this baggage the thread's current baggage until the guard drops: what
    /// [`propagation::inject`](crate::propagation::inject) sends along, and what
    /// [`Context::current`] carries to other threads and tasks. The active span is unchanged.
    ///
    /// ```
    /// use traced_runtime::propagation::Baggage;
    ///
    /// let mut baggage = Baggage::new();
    /// baggage.insert("userId", "alice")?;
    /// {
    ///     let _guard = baggage.attach();
    ///     assert_eq!(Baggage::current().unwrap().get("userId"), Some("alice"));
    /// }
    /// assert!(Baggage::current().is_none());
    /// # Ok::<(), traced_runtime::propagation::PropagationError>(())
    /// ```
    pub fn attach(self) -> ContextGuard {
        let new = (!self.is_empty()).then(|| Arc::new(self));
        ContextGuard {
            saved: None,
            baggage: replace_baggage(new),
            not_send: PhantomData,
        }
    }

    /// The thread's current baggage, if any.
    pub fn current() -> Option<Arc<Baggage>> {
        current_baggage()
    }
}

impl From<&Context> for SpanContext {
    fn from(cx: &Context) -> Self {
        cx.span_context()
    }
}

#[cfg(test)]
mod exit_tests {
    use super::{Active, active, enter, exit};
    use crate::model::{SpanId, TraceFlags, TraceId, TraceState};

    fn ids(span: u64) -> Active {
        Active {
            trace_id: TraceId::from_u128(1),
            span_id: SpanId::from_u64(span),
            flags: TraceFlags::SAMPLED,
            is_remote: false,
            recording: true,
            has_state: false,
        }
    }

    #[test]
    fn guards_exited_in_and_out_of_order() {
        let outer = enter(ids(1), &TraceState::NONE).unwrap();
        let a = enter(ids(2), &TraceState::NONE).unwrap();
        let b = enter(ids(3), &TraceState::NONE).unwrap();
        assert_eq!(active().span_id, SpanId::from_u64(3));
        // Out of order: exiting `a` pops `b` with it.
        assert!(exit(a));
        assert_eq!(active().span_id, SpanId::from_u64(1));
        // `b` is gone already: nothing left to pop above `outer`.
        exit(b);
        assert_eq!(active().span_id, SpanId::from_u64(1));
        assert!(!exit(outer));
        assert!(!active().is_valid());
    }
}
