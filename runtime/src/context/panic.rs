//! The panic message, captured for the span that a panic unwinds through.
//!
//! A guard's `Drop` sees that the thread is panicking but not the message, and catching the
//! panic would need a closure around the user's body. So a panic hook, chained before the
//! one already installed, keeps the message of the thread's latest panic.

use std::cell::{Cell, RefCell};
use std::sync::Once;

thread_local! {
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
    /// traced is formatting a user value under `catch_unwind` on this thread: a panic there is
    /// caught and recorded as a placeholder, so the hook keeps it quiet.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (which catches its own panics) with the hook quiet on this thread: a panic inside
/// is neither printed by the previous hook nor taken for the span's panic message.
pub(crate) fn quietly<R>(f: impl FnOnce() -> R) -> R {
    let was = QUIET.try_with(|q| q.replace(true)).unwrap_or(false);
    let r = f();
    let _ = QUIET.try_with(|q| q.set(was));
    r
}

/// Installs the hook once per process; the previous hook still runs after ours.
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.try_with(Cell::get).unwrap_or(false) {
                return;
            }
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("Box<dyn Any>");
            // A huge message is copied only up to the default `Debug` cap.
            let msg = cut(msg, crate::model::DEFAULT_DEBUG_VALUE_LENGTH as usize).to_owned();
            let _ = LAST.try_with(|l| {
                if let Ok(mut l) = l.try_borrow_mut() {
                    *l = Some(msg);
                }
            });
            previous(info);
        }));
    });
}

/// The message of the panic unwinding this thread, if the hook saw it.
pub(crate) fn message() -> String {
    LAST.try_with(|l| l.try_borrow().ok().and_then(|l| l.clone()))
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            "panicked (message not captured: the panic hook was replaced)".to_owned()
        })
}

/// `s` cut to at most `max` bytes, on a char boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
