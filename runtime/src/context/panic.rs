//! The panic message, captured for the span that a panic unwinds through.
//!
//! A guard's `Drop` sees that the thread is panicking but not the message, and catching the
//! panic would need a closure around the user's body. So a panic hook, chained before the
//! one already installed, keeps the message of the thread's latest panic.

use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook once per process; the previous hook still runs after ours.
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "Box<dyn Any>".to_owned());
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
