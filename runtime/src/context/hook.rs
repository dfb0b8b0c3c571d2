//! Where an integration follows contexts being entered and exited on a thread, and spans
//! ending (the `tracing` bridge keeps a `tracing` span current for the active traced span).
//!
//! A program that installs no integration pays nothing on the `#[traced]` path: no hook is
//! checked where a `#[traced]` span starts, exits or ends. Each hook rides on a branch that
//! path takes anyway:
//!
//! - **enter**: an integration that follows every enter ([`want_every_enter`]) turns off the
//!   pipeline's fast path for children (`Pipeline::follows_sampled_local_parent`); a span
//!   started by a `#[traced]` function outside that path is then started apart and entered
//!   through `Span::activate`, where the hook is checked ([`on_enter`], one relaxed load: spans
//!   entered by hand and futures at each poll check it there anyway);
//! - **exit**: a hook that wants to see its context exited marks the
//!   [`Saved`](super::Saved) it was given (`Saved::marked`): an exit with a marked one looks
//!   past the end of the stack, the branch a stale guard takes, and the hook runs there;
//! - **end**: a hook that has something to settle before a sampled span is exported moves the
//!   record's `SAMPLED` bit to `SETTLE` ([`settle_at_end`]): the span's end then takes the
//!   unsampled branch, which checks for it.

use super::Active;
use crate::model::TraceState;
use crate::model::record::{Record, bits};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// An integration's functions.
#[derive(Debug)]
pub(crate) struct Hooks {
    /// A span's record was entered at context stack depth `depth`; `true` to see the context
    /// exited (the caller marks its `Saved`).
    pub(crate) span_entered: fn(depth: u32, r: &mut Record) -> bool,
    /// A captured context was attached at depth `depth`; `true` to see it exited.
    pub(crate) context_attached: fn(depth: u32, active: Active, state: &TraceState) -> bool,
    /// The stack goes back to depth `depth`, from a context whose enter asked for it.
    pub(crate) exiting: fn(depth: u32),
    /// A sampled span marked with [`settle_at_end`] is about to end (its record still whole).
    pub(crate) span_ending: fn(r: &mut Record),
}

static HOOKS: OnceLock<Hooks> = OnceLock::new();
static ON: AtomicBool = AtomicBool::new(false);
/// The hooks want every span entered, from its start: see the module docs.
static EVERY_ENTER: AtomicBool = AtomicBool::new(false);

/// Installs `hooks` (the first installation wins).
pub(crate) fn install(hooks: Hooks) {
    if HOOKS.set(hooks).is_ok() {
        ON.store(true, Ordering::Release);
    }
}

/// From now on `span_entered` sees every span entered, `#[traced]` ones included (never
/// turned off). Returns whether it was off; the caller then turns the installed pipeline's
/// fast path for children off (pipelines built later read [`every_enter`]).
pub(crate) fn want_every_enter() -> bool {
    !EVERY_ENTER.swap(true, Ordering::AcqRel)
}

/// The installed hooks, if any.
#[inline(always)]
pub(crate) fn get() -> Option<&'static Hooks> {
    if ON.load(Ordering::Relaxed) {
        HOOKS.get()
    } else {
        None
    }
}

/// The installed hooks, if they want to see spans entered and contexts attached (only then):
/// one relaxed load otherwise. Checked where a span is entered by hand or at a poll, and
/// where a context is attached: not on the `#[traced]` path.
#[inline(always)]
pub(crate) fn on_enter() -> Option<&'static Hooks> {
    if EVERY_ENTER.load(Ordering::Relaxed) {
        HOOKS.get()
    } else {
        None
    }
}

/// Whether the hooks want every span entered (checked where a span starts outside the fast
/// path for children, and where a pipeline is built).
#[inline]
pub(crate) fn every_enter() -> bool {
    EVERY_ENTER.load(Ordering::Relaxed)
}

/// Has `span_ending` called before the span is exported (a sampled span; no-op otherwise).
pub(crate) fn settle_at_end(r: &mut Record) {
    if r.bits & bits::SAMPLED != 0 {
        r.bits = (r.bits & !bits::SAMPLED) | bits::SETTLE;
    }
}

/// A span marked with [`settle_at_end`] ends: the hook, then the record is sampled again.
#[cold]
pub(crate) fn settle(r: &mut Record) {
    if let Some(hooks) = HOOKS.get() {
        (hooks.span_ending)(r);
    }
    r.bits = (r.bits & !bits::SETTLE) | bits::SAMPLED;
}
