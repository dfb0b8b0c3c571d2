//! Formatting values from user code, safely: a `Debug` or `Display` that panics or fails never
//! reaches the traced call, and no formatting costs more than the value length limit.
//!
//! Every value traced formats for a span (an argument or return value recorded with `Debug`,
//! an error's `Display` or `Debug`, [`Value::debug`] and [`Value::display`]) goes through
//! [`format_bounded`]:
//!
//! - The text is written into a buffer that stops at the limit: the formatter is told to stop
//!   (a `fmt::Error`, which derived and well-behaved impls pass on at once), so a 50 MB `Debug`
//!   costs what its first kilobytes cost. The value is cut on a char boundary and ends with
//!   [`CUT_MARK`] (`…`), the whole within the limit.
//! - A formatter that panics records `<Debug panicked>` (or `<Display panicked>`); one that
//!   returns `fmt::Error` on its own records `<Debug failed>`. Either is counted
//!   ([`formatting_failures`], also in [`ProcessorStats::formatting_failures`]), and the panic
//!   is caught: the call goes on exactly as it would untraced. traced's panic hook keeps such a
//!   caught panic quiet (no "panicked at" line on standard error); a panic hook installed
//!   after traced's still sees it. Under `panic = "abort"` nothing can catch it.
//!
//! The limit is the smaller of [`SpanLimits::max_attribute_value_length`] and, for `Debug`
//! text, [`SpanLimits::max_debug_value_length`] (4 KiB by default, so a stray `Debug` of a
//! large buffer does not ship megabytes per span).
//!
//! [`ProcessorStats::formatting_failures`]: crate::pipeline::ProcessorStats::formatting_failures
//! [`SpanLimits::max_attribute_value_length`]: crate::model::SpanLimits::max_attribute_value_length
//! [`SpanLimits::max_debug_value_length`]: crate::model::SpanLimits::max_debug_value_length

use crate::model::{SpanLimits, StringValue, Value};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

/// What ends a value cut at the limit.
pub const CUT_MARK: &str = "…";

/// Formatters that panicked or failed, in this process.
static FAILURES: AtomicU64 = AtomicU64::new(0);

/// How many `Debug` / `Display` calls on values from user code panicked or returned
/// `fmt::Error` while traced formatted them, in this process.
///
/// Every value traced formats for a span (an argument or result recorded with `Debug`, an
/// error's `Display` or `Debug`, [`Value::debug`], [`Value::display`]) is formatted safely:
///
/// - A formatter that panics records `<Debug panicked>` (or `<Display panicked>`), one that
///   returns `fmt::Error` on its own records `<Debug failed>` (`<Display failed>`); it is
///   counted here (and in [`ProcessorStats::formatting_failures`]) and the call goes on as it
///   would untraced. traced's panic hook keeps such a caught panic quiet; a hook installed
///   after traced's still sees it, and under `panic = "abort"` nothing can catch it.
/// - The text is written into a buffer that stops at the limit, the smaller of
///   [`SpanLimits::max_attribute_value_length`] and, for `Debug` text,
///   [`SpanLimits::max_debug_value_length`] (4 KiB by default): a 50 MB `Debug` costs what
///   its first kilobytes cost. A cut value is cut on a char boundary and ends with
///   [`CUT_MARK`] (`…`), the whole within the limit.
///
/// [`ProcessorStats::formatting_failures`]: crate::pipeline::ProcessorStats::formatting_failures
/// [`SpanLimits::max_attribute_value_length`]: crate::model::SpanLimits::max_attribute_value_length
/// [`SpanLimits::max_debug_value_length`]: crate::model::SpanLimits::max_debug_value_length
pub fn formatting_failures() -> u64 {
    FAILURES.load(Ordering::Relaxed)
}

/// Which trait formats the value: it names the placeholder, and `Debug` text has its own cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trait {
    Debug,
    Display,
}

impl Trait {
    fn placeholder(self, panicked: bool) -> &'static str {
        match (self, panicked) {
            (Trait::Debug, true) => "<Debug panicked>",
            (Trait::Debug, false) => "<Debug failed>",
            (Trait::Display, true) => "<Display panicked>",
            (Trait::Display, false) => "<Display failed>",
        }
    }

    /// The most bytes a value formatted with this trait may take, under `limits`.
    pub(crate) fn limit(self, limits: &SpanLimits) -> usize {
        let value = limits
            .max_attribute_value_length
            .map_or(usize::MAX, |n| n as usize);
        match self {
            Trait::Debug => value.min(
                limits
                    .max_debug_value_length
                    .map_or(usize::MAX, |n| n as usize),
            ),
            Trait::Display => value,
        }
    }
}

/// A `fmt::Write` that keeps at most `max` bytes, then refuses (cut on a char boundary).
struct Bounded {
    buf: String,
    max: usize,
    cut: bool,
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.cut {
            return Err(fmt::Error);
        }
        let room = self.max - self.buf.len();
        if s.len() <= room {
            self.buf.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.buf.push_str(&s[..end]);
        self.cut = true;
        Err(fmt::Error)
    }
}

/// Formats with `write` into at most `max` bytes (the cut marked with [`CUT_MARK`] within
/// them), catching a panic and a failure; see the module docs.
pub(crate) fn format_bounded(
    which: Trait,
    max: usize,
    write: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result,
) -> String {
    let mut out = Bounded {
        buf: String::new(),
        max,
        cut: false,
    };
    let result =
        crate::context::panic::quietly(|| catch_unwind(AssertUnwindSafe(|| write(&mut out))));
    match result {
        // Cut by us: the formatter passed our refusal on, or swallowed it (the flag tells).
        Ok(_) if out.cut => {
            // Room for the mark; a limit shorter than the mark is cut unmarked.
            if max > CUT_MARK.len() {
                let mut end = max - CUT_MARK.len();
                while !out.buf.is_char_boundary(end) {
                    end -= 1;
                }
                out.buf.truncate(end);
                out.buf.push_str(CUT_MARK);
            }
            out.buf
        }
        Ok(Ok(())) => out.buf,
        Ok(Err(_)) => fail(which, false),
        Err(payload) => {
            // A payload whose own drop panics would unwind from here: leak it instead.
            std::mem::forget(payload);
            fail(which, true)
        }
    }
}

#[cold]
fn fail(which: Trait, panicked: bool) -> String {
    FAILURES.fetch_add(1, Ordering::Relaxed);
    which.placeholder(panicked).to_owned()
}

/// The limits of the installed pipeline (OpenTelemetry's defaults, and traced's `Debug` cap,
/// when none is installed).
pub(crate) fn current_limits() -> SpanLimits {
    super::get().map_or_else(SpanLimits::default, |p| p.limits)
}

/// `value`'s `Debug` text, safely, within the installed pipeline's limits, and with `scrub`,
/// scrubbed of secrets ([`crate::secret`]).
pub(crate) fn debug_string<T: fmt::Debug + ?Sized>(value: &T, scrub: bool) -> String {
    let max = Trait::Debug.limit(&current_limits());
    let text = format_bounded(Trait::Debug, max, |w| write!(w, "{value:?}"));
    if scrub { scrubbed(text, max) } else { text }
}

/// `value`'s `Display` text, safely, within the installed pipeline's limits, scrubbed of
/// secrets ([`crate::secret`]: an error message may quote a URL or a `password: ..`).
pub(crate) fn display_string<T: fmt::Display + ?Sized>(value: &T) -> String {
    let max = Trait::Display.limit(&current_limits());
    scrubbed(
        format_bounded(Trait::Display, max, |w| write!(w, "{value}")),
        max,
    )
}

/// `text` scrubbed, cut again to `max` if `[REDACTED]` made it longer.
fn scrubbed(text: String, max: usize) -> String {
    let mut text = crate::model::secret::scrub_debug(text);
    if text.len() > max {
        let mark = if max > CUT_MARK.len() { CUT_MARK } else { "" };
        let mut end = max - mark.len();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(mark);
    }
    text
}

impl Value {
    /// A string value from `value`'s `Debug` text, formatted safely: a `Debug` that panics or
    /// fails gives `<Debug panicked>` / `<Debug failed>` (counted in
    /// [`formatting_failures`]) instead of unwinding into the caller, and the text stops at
    /// the installed pipeline's limits (cut on a char boundary, ending with `…`). The values
    /// of fields and map keys whose names look secret, and passwords in URLs, become
    /// `[REDACTED]` ([`secret`](crate::secret)). What `#[traced]` uses for arguments and
    /// results that are not typed values.
    ///
    /// ```
    /// use traced_runtime::Value;
    /// assert_eq!(Value::debug(&Some(3)), Value::String("Some(3)".into()));
    /// ```
    pub fn debug<T: fmt::Debug + ?Sized>(value: &T) -> Value {
        Value::String(StringValue::from(debug_string(value, true)))
    }

    /// A string value from `value`'s `Display` text, formatted safely and scrubbed as in
    /// [`Value::debug`] (`<Display panicked>`, `<Display failed>`; within the attribute value
    /// length limit).
    ///
    /// ```
    /// use traced_runtime::Value;
    /// assert_eq!(Value::display(&1.5), Value::String("1.5".into()));
    /// ```
    pub fn display<T: fmt::Display + ?Sized>(value: &T) -> Value {
        Value::String(StringValue::from(display_string(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ignores;
    /// Ignores every error of its writer, so it keeps writing after the cut.
    impl fmt::Debug for Ignores {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for _ in 0..1000 {
                let _ = f.write_str("abcdefgh");
            }
            Ok(())
        }
    }

    #[test]
    fn a_formatter_that_ignores_the_cut_is_cut_all_the_same() {
        let s = format_bounded(Trait::Debug, 20, |w| write!(w, "{Ignores:?}"));
        assert_eq!(s, "abcdefghabcdefgha…");
        assert_eq!(s.len(), 20);
    }

    #[test]
    fn a_limit_shorter_than_the_mark_cuts_unmarked() {
        assert_eq!(
            format_bounded(Trait::Debug, 2, |w| w.write_str("abcdef")),
            "ab"
        );
        assert_eq!(
            format_bounded(Trait::Debug, 0, |w| w.write_str("abcdef")),
            ""
        );
    }

    #[test]
    fn a_value_exactly_at_the_limit_is_kept_whole() {
        assert_eq!(
            format_bounded(Trait::Debug, 6, |w| w.write_str("abcdef")),
            "abcdef"
        );
    }

    #[test]
    fn the_cut_falls_on_a_char_boundary() {
        let s = format_bounded(Trait::Display, 8, |w| w.write_str("ééééé"));
        assert_eq!(s, "éé…");
    }
}
