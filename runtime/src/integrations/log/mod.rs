//! `log` records in traced's traces, and the active span's ids in the user's logger
//! (feature `log`).
//!
//! Wrap the logger you have in a [`Logger`] and install it; every record is still handed to
//! it, with two more key-values, `trace_id` and `span_id`, while a span is active (also on
//! threads where work runs on that span's behalf, see [`traced::tracing`](crate::tracing)
//! when that feature is on), and becomes an event on the active span when that span records:
//!
//! ```
//! # struct MyLogger;
//! # impl log::Log for MyLogger {
//! #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
//! #     fn log(&self, _: &log::Record<'_>) {}
//! #     fn flush(&self) {}
//! # }
//! traced_runtime::log::Logger::new(MyLogger).install(log::LevelFilter::Info)?;
//! # Ok::<(), log::SetLoggerError>(())
//! ```
//!
//! | `log` record | span event |
//! |---|---|
//! | message (`args`) | event name |
//! | key-values (`log` feature `kv`) | event attributes (as their text; `[REDACTED]` for a key that looks secret, see [`secret`](crate::secret)) |
//! | level, target | attributes `level` (`INFO`...), `target` |
//! | level `Error` | the span's status `Error` with the message ([`Logger::with_errors_to_status`]) |

use crate::model::KeyValue;
use crate::model::redacted::TEXT as REDACTED;
use crate::model::secret::{looks_secret, scrub_url_value};
use ::log::kv::{self, Key, Source, VisitSource};
use ::log::{Level, LevelFilter, Log, Metadata, Record, SetLoggerError};

/// A `log::Log` that records each record as an event of the active span and hands it on to
/// the wrapped logger with the span's `trace_id` and `span_id`.
#[derive(Debug)]
pub struct Logger<L> {
    inner: L,
    events: bool,
    errors_to_status: bool,
}

impl<L: Log> Logger<L> {
    /// Wraps `inner`; records become span events, and ERROR records set the span's status.
    pub fn new(inner: L) -> Self {
        Logger {
            inner,
            events: true,
            errors_to_status: true,
        }
    }
    /// Whether records become events of the active span (default: on). Off, they only
    /// carry the ids.
    #[must_use]
    pub fn with_span_events(mut self, on: bool) -> Self {
        self.events = on;
        self
    }
    /// Whether a record at level `Error` sets the active span's status to `Error`, with the
    /// message as description (default: on).
    #[must_use]
    pub fn with_errors_to_status(mut self, on: bool) -> Self {
        self.errors_to_status = on;
        self
    }
    /// Installs it as the process's logger, with `max_level` as `log`'s level filter.
    pub fn install(self, max_level: LevelFilter) -> Result<(), SetLoggerError>
    where
        L: Send + Sync + 'static,
    {
        ::log::set_boxed_logger(Box::new(self))?;
        ::log::set_max_level(max_level);
        Ok(())
    }
}

/// A record's own key-values, then the ids.
struct WithIds<'a> {
    inner: &'a dyn Source,
    trace_id: String,
    span_id: String,
}

impl Source for WithIds<'_> {
    fn visit<'kvs>(&'kvs self, visitor: &mut dyn VisitSource<'kvs>) -> Result<(), kv::Error> {
        self.inner.visit(visitor)?;
        visitor.visit_pair(
            Key::from_str("trace_id"),
            kv::Value::from(self.trace_id.as_str()),
        )?;
        visitor.visit_pair(
            Key::from_str("span_id"),
            kv::Value::from(self.span_id.as_str()),
        )
    }
}

/// A record's key-values as event attributes.
struct Attributes(Vec<KeyValue>);

impl<'kvs> VisitSource<'kvs> for Attributes {
    fn visit_pair(&mut self, key: Key<'kvs>, value: kv::Value<'kvs>) -> Result<(), kv::Error> {
        let key = key.as_str();
        // Secrets stay out of the span, as for `#[traced]`'s arguments (see `secret`): the
        // value of a key that looks secret, and a URL's password.
        let value = if looks_secret(key) {
            REDACTED.to_owned()
        } else {
            scrubbed(value.to_string())
        };
        self.0.push(KeyValue::new(key.to_owned(), value));
        Ok(())
    }
}

/// `text` with the password of a URL in it replaced.
fn scrubbed(text: String) -> String {
    scrub_url_value(&text).unwrap_or(text)
}

impl<L: Log> Log for Logger<L> {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        let current = crate::context::current();
        if self.events && current.is_recording() {
            let mut attributes = Attributes(Vec::new());
            let _ = record.key_values().visit(&mut attributes);
            let mut attributes = attributes.0;
            attributes.push(KeyValue::new("level", record.level().as_str()));
            attributes.push(KeyValue::new("target", record.target().to_owned()));
            let message = scrubbed(record.args().to_string());
            if self.errors_to_status && record.level() == Level::Error {
                current.set_status(crate::model::Status::error(message.clone()));
            }
            current.add_event(message, attributes);
        }
        if !current.trace_id().is_valid() {
            self.inner.log(record);
            return;
        }
        let kvs = WithIds {
            inner: record.key_values(),
            trace_id: current.trace_id().to_string(),
            span_id: current.span_id().to_string(),
        };
        self.inner
            .log(&record.to_builder().key_values(&kvs).build());
    }

    fn flush(&self) {
        self.inner.flush();
    }
}
