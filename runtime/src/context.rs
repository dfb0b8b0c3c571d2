//! The active span of each thread, and access to it from anywhere.
//!
//! The thread keeps a small `Copy` record of the active span's ids in a `Cell`; entering a
//! span swaps it in and the guard swaps the previous one back. No pointer to a span is ever
//! stored: changes made through [`current`] are queued per thread, tagged with the span id,
//! and moved into the span when it is exited. A trace state, rare in practice, lives in a
//! slot of its own so the common path never touches it.

use crate::data::{Event, Link, Status};
use crate::ids::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use crate::value::{Key, KeyValue, ToValue};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};

/// The ids of the thread's active span.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Active {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) flags: TraceFlags,
    pub(crate) is_remote: bool,
    /// A span of this process that records: changes through `current()` reach it.
    pub(crate) recording: bool,
    /// The trace state slot holds this context's state.
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

    pub(crate) fn is_valid(&self) -> bool {
        self.trace_id.is_valid()
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
            STATE.with(|s| s.borrow().clone())
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

thread_local! {
    static ACTIVE: Cell<Active> = const { Cell::new(Active::NONE) };
    static STATE: RefCell<TraceState> = const { RefCell::new(TraceState::NONE) };
    static PENDING: RefCell<Vec<(SpanId, Change)>> = const { RefCell::new(Vec::new()) };
}

#[inline]
pub(crate) fn active() -> Active {
    ACTIVE.with(Cell::get)
}

/// What entering replaced, to be put back on exit.
#[derive(Debug)]
pub(crate) struct Saved {
    prev: Active,
    prev_state: Option<TraceState>,
}

/// Makes `new` the thread's active context.
#[inline]
pub(crate) fn enter(new: Active, state: &TraceState) -> Saved {
    let prev_state = if new.has_state {
        Some(STATE.with(|s| s.replace(state.clone())))
    } else {
        None
    };
    let prev = ACTIVE.with(|a| a.replace(new));
    Saved { prev, prev_state }
}

/// Puts back what [`enter`] replaced.
#[inline]
pub(crate) fn exit(saved: Saved) {
    ACTIVE.with(|a| a.set(saved.prev));
    if let Some(state) = saved.prev_state {
        let _ = STATE.try_with(|s| *s.borrow_mut() = state);
    }
}

/// A change to a span made through [`current`], applied when the span is exited.
#[derive(Debug)]
pub(crate) enum Change {
    Attribute(KeyValue),
    Event(Event),
    Link(Link),
    Status(Status),
    Exception { kind: String, message: String },
    Name(Cow<'static, str>),
}

fn push(change: Change) {
    let a = active();
    if a.recording {
        let _ = PENDING.try_with(|p| p.borrow_mut().push((a.span_id, change)));
    }
}

/// Takes the queued changes for `span`, if any (one thread-local read when there are none).
#[inline]
pub(crate) fn take_changes(span: SpanId, mut apply: impl FnMut(Change)) {
    let _ = PENDING.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.is_empty() {
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
