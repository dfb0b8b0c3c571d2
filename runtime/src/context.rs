//! The active span of each thread, and access to it from anywhere.
//!
//! Each thread keeps a stack of the contexts entered on it: entering a span pushes its ids
//! (and its trace state, rare in practice), the guard pops back to where it was. No pointer
//! to a span is ever stored: changes made through [`current`] are queued per thread, tagged
//! with the span id, and moved into the span when it is exited.

use crate::data::{Event, Link, Status};
use crate::ids::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use crate::value::{Key, KeyValue, ToValue};
use std::borrow::Cow;
use std::cell::RefCell;

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
        let state = if self.has_state { state_of(self.span_id) } else { TraceState::NONE };
        SpanContext::new(self.trace_id, self.span_id, self.flags, self.is_remote, state)
    }
}

struct Frame {
    active: Active,
    state: TraceState,
}

thread_local! {
    static STACK: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
    static PENDING: RefCell<Vec<(SpanId, Change)>> = const { RefCell::new(Vec::new()) };
}

/// The thread's active context.
#[inline]
pub(crate) fn active() -> Active {
    STACK
        .try_with(|s| s.try_borrow().ok().and_then(|s| s.last().map(|f| f.active)))
        .ok()
        .flatten()
        .unwrap_or(Active::NONE)
}

fn state_of(span: SpanId) -> TraceState {
    STACK
        .try_with(|s| {
            let s = s.borrow();
            s.iter().rev().find(|f| f.active.span_id == span).map(|f| f.state.clone())
        })
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Where the stack stood before an [`enter`]: [`exit`] pops back to it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Saved(u32);

/// Makes `new` the thread's active context.
#[inline]
pub(crate) fn enter(new: Active, state: &TraceState) -> Option<Saved> {
    STACK
        .try_with(|s| {
            let mut s = s.try_borrow_mut().ok()?;
            let depth = s.len() as u32;
            let state = if new.has_state { state.clone() } else { TraceState::NONE };
            s.push(Frame { active: new, state });
            Some(Saved(depth))
        })
        .ok()
        .flatten()
}

/// Pops back to where [`enter`] found the stack. Guards dropped out of order pop whatever
/// was entered after them too, so the stack never holds a context whose guard is gone.
#[inline]
pub(crate) fn exit(saved: Saved) {
    let _ = STACK.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.truncate(saved.0 as usize);
        }
    });
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
