//! Where an integration follows contexts being entered and exited on a thread, and spans
//! ending (the `tracing` bridge keeps a `tracing` span current for the active traced span).
//! The integration installs its functions once; until then each check is one relaxed load.

use super::Active;
use crate::model::TraceState;
use crate::model::record::Record;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// An integration's functions.
#[derive(Debug)]
pub(crate) struct Hooks {
    /// A span's record was entered at context stack depth `depth`.
    pub(crate) span_entered: fn(depth: u32, r: &mut Record),
    /// A captured context was attached at depth `depth`.
    pub(crate) context_attached: fn(depth: u32, active: Active, state: &TraceState),
    /// The stack goes back to depth `depth`.
    pub(crate) exiting: fn(depth: u32),
    /// A span is about to end (its record still whole).
    pub(crate) span_ending: fn(r: &mut Record),
}

static HOOKS: OnceLock<Hooks> = OnceLock::new();
static ON: AtomicBool = AtomicBool::new(false);

/// Installs `hooks` (the first installation wins).
pub(crate) fn install(hooks: Hooks) {
    if HOOKS.set(hooks).is_ok() {
        ON.store(true, Ordering::Release);
    }
}

/// The installed hooks, if any: one relaxed load where there are none.
#[inline(always)]
pub(crate) fn get() -> Option<&'static Hooks> {
    if ON.load(Ordering::Relaxed) {
        HOOKS.get()
    } else {
        None
    }
}
