//! The finished-span record and its parts: what exporters receive.

use crate::model::{Key, KeyValue, StringValue, ToValue, Value};
use crate::model::{SpanContext, SpanId};
use smallvec::SmallVec;
use std::borrow::Cow;

/// The role of a span in a trace, as OpenTelemetry defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SpanKind {
    /// Handles a synchronous request from a remote client.
    Server,
    /// Makes a synchronous request to a remote server.
    Client,
    /// Hands a message to a broker or queue, not waiting for its processing.
    Producer,
    /// Processes a message that a producer sent.
    Consumer,
    /// An operation inside the process: the default.
    #[default]
    Internal,
}

impl SpanKind {
    /// The lowercase name used in `#[traced(kind = "...")]` and the console.
    pub const fn as_str(self) -> &'static str {
        match self {
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
            SpanKind::Internal => "internal",
        }
    }
}

/// The outcome of a span's operation.
///
/// Precedence follows OpenTelemetry: `Ok` is final, `Error` replaces `Unset`, and setting
/// `Unset` changes nothing.
///
/// ```
/// use traced_runtime::Status;
/// let mut s = Status::Unset;
/// s.update(Status::error("card declined"));
/// assert_eq!(s, Status::Error { description: "card declined".into() });
/// s.update(Status::Ok);
/// assert_eq!(s, Status::Ok);
/// s.update(Status::error("ignored"));
/// assert_eq!(s, Status::Ok);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Status {
    /// No status set: the default.
    #[default]
    Unset,
    /// The operation failed.
    Error {
        /// Why, in words.
        description: Cow<'static, str>,
    },
    /// Explicitly marked successful; no later update changes it.
    Ok,
}

impl Status {
    /// An error status with a description.
    pub fn error(description: impl Into<Cow<'static, str>>) -> Self {
        Status::Error {
            description: description.into(),
        }
    }
    /// Applies `new` with OpenTelemetry's precedence rules.
    pub fn update(&mut self, new: Status) {
        match (&*self, &new) {
            (Status::Ok, _) | (_, Status::Unset) => {}
            _ => *self = new,
        }
    }
    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        matches!(self, Status::Error { .. })
    }
}

/// A timestamped annotation on a span.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The event's name, e.g. `exception`.
    pub name: Cow<'static, str>,
    /// When it happened, in nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// Its attributes.
    pub attributes: Vec<KeyValue>,
    /// Attributes dropped by the span limits.
    pub dropped_attributes_count: u32,
}

impl Event {
    /// The attribute with this key, if recorded.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .map(|kv| &kv.value)
    }

    /// An event at the current time.
    pub fn new(name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) -> Self {
        Event {
            name: name.into(),
            time_unix_nano: crate::model::clock::now_unix_nanos(),
            attributes,
            dropped_attributes_count: 0,
        }
    }
}

/// A link from a span to another span, in this trace or another one.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// The linked span.
    pub span_context: SpanContext,
    /// Attributes describing the link.
    pub attributes: Vec<KeyValue>,
    /// Attributes dropped by the span limits.
    pub dropped_attributes_count: u32,
}

impl Link {
    /// A link to `span_context` with attributes.
    pub fn new(span_context: SpanContext, attributes: Vec<KeyValue>) -> Self {
        Link {
            span_context,
            attributes,
            dropped_attributes_count: 0,
        }
    }
}

/// Attribute storage: the first few live inline, so typical spans do not allocate.
pub type Attributes = SmallVec<[KeyValue; 4]>;

/// Limits on what one span may hold; what goes over is dropped and counted.
///
/// The defaults are OpenTelemetry's: 128 attributes, events and links, 128 attributes per
/// event and link, no limit on value length; traced adds a cap on `Debug`-formatted values
/// ([`max_debug_value_length`](Self::max_debug_value_length), 4 KiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanLimits {
    /// Attributes per span.
    pub max_attributes_per_span: u32,
    /// Events per span.
    pub max_events_per_span: u32,
    /// Links per span.
    pub max_links_per_span: u32,
    /// Attributes per event.
    pub max_attributes_per_event: u32,
    /// Attributes per link.
    pub max_attributes_per_link: u32,
    /// Longest string value in bytes (cut on a char boundary); `None` for no limit.
    pub max_attribute_value_length: Option<u32>,
    /// Longest value formatted with `Debug` (an argument or result of a type that is not a
    /// typed value, an error recorded with `err(debug)`, [`Value::debug`](crate::model::Value::debug)),
    /// in bytes; `None` for no cap beyond `max_attribute_value_length`. Formatting stops at
    /// the cap, so a large `Debug` costs what its first bytes cost (see
    /// `traced::pipeline::formatting_failures` for the rest of the rules).
    /// Default 4096, from `TRACED_DEBUG_VALUE_LENGTH_LIMIT` (0: no cap).
    pub max_debug_value_length: Option<u32>,
}

/// The default of [`SpanLimits::max_debug_value_length`].
pub const DEFAULT_DEBUG_VALUE_LENGTH: u32 = 4096;

impl Default for SpanLimits {
    fn default() -> Self {
        SpanLimits {
            max_attributes_per_span: 128,
            max_events_per_span: 128,
            max_links_per_span: 128,
            max_attributes_per_event: 128,
            max_attributes_per_link: 128,
            max_attribute_value_length: None,
            max_debug_value_length: Some(DEFAULT_DEBUG_VALUE_LENGTH),
        }
    }
}

/// A finished span, as exporters receive it.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanData {
    /// The span's own context: trace id, span id, flags, trace state.
    pub span_context: SpanContext,
    /// The parent's span id, `SpanId::INVALID` for a root span.
    pub parent_span_id: SpanId,
    /// Whether the parent came from another process.
    pub parent_is_remote: bool,
    /// The span's name.
    pub name: Cow<'static, str>,
    /// The span's kind.
    pub kind: SpanKind,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// End, in nanoseconds since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// Attributes, in the order they were recorded; a key set twice keeps its last value.
    pub attributes: Attributes,
    /// Attributes dropped by the limits.
    pub dropped_attributes_count: u32,
    /// Events, oldest first.
    pub events: Vec<Event>,
    /// Events dropped by the limits.
    pub dropped_events_count: u32,
    /// Links.
    pub links: Vec<Link>,
    /// Links dropped by the limits.
    pub dropped_links_count: u32,
    /// The outcome.
    pub status: Status,
    /// Where the span's code lives (`code.*` attributes), for spans of `#[traced]` functions.
    pub code: Option<&'static crate::model::CodeLocation>,
    /// The instrumentation scope: for a `#[traced]` function, the crate that holds it.
    pub scope: &'static InstrumentationScope,
}

impl SpanData {
    /// A finished root span of kind internal with no attributes, events or links and zero
    /// times: a starting point for exporter tests, completed with struct update syntax.
    ///
    /// ```
    /// use traced_runtime::{SpanContext, SpanData, SpanKind};
    /// let span = SpanData { kind: SpanKind::Client, ..SpanData::new(SpanContext::NONE, "charge") };
    /// assert!(span.is_root() && span.attributes.is_empty());
    /// ```
    pub fn new(span_context: SpanContext, name: impl Into<Cow<'static, str>>) -> Self {
        SpanData {
            span_context,
            parent_span_id: SpanId::INVALID,
            parent_is_remote: false,
            name: name.into(),
            kind: SpanKind::Internal,
            start_time_unix_nano: 0,
            end_time_unix_nano: 0,
            attributes: Attributes::new(),
            dropped_attributes_count: 0,
            events: Vec::new(),
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status: Status::Unset,
            code: None,
            scope: InstrumentationScope::TRACED,
        }
    }

    /// The attribute with this key, if recorded.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .map(|kv| &kv.value)
    }
    /// The first event with this name, e.g. `exception`.
    pub fn event(&self, name: &str) -> Option<&Event> {
        self.events.iter().find(|e| e.name == name)
    }
    /// Duration in nanoseconds.
    pub fn duration_nanos(&self) -> u64 {
        self.end_time_unix_nano
            .saturating_sub(self.start_time_unix_nano)
    }
    /// Whether the span has no parent.
    pub fn is_root(&self) -> bool {
        !self.parent_span_id.is_valid()
    }
}

/// The entity producing spans: `service.name`, `service.version`, `telemetry.sdk.*` and
/// anything the user adds.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    attributes: Vec<KeyValue>,
}

impl Resource {
    /// The default resource: `service.name` from the executable's name (as
    /// `unknown_service:<exe>`, OpenTelemetry's rule) and the `telemetry.sdk.*` attributes.
    pub fn default_for_process() -> Self {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let name = if exe.is_empty() {
            "unknown_service".to_owned()
        } else {
            format!("unknown_service:{exe}")
        };
        Resource {
            attributes: vec![
                KeyValue::new("service.name", name),
                KeyValue::new("telemetry.sdk.name", "traced"),
                KeyValue::new("telemetry.sdk.language", "rust"),
                KeyValue::new("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
            ],
        }
    }
    /// Sets an attribute, replacing one with the same key.
    pub fn set(&mut self, key: impl Into<Key>, value: impl ToValue) {
        let kv = KeyValue::new(key, value);
        match self.attributes.iter_mut().find(|e| e.key == kv.key) {
            Some(e) => e.value = kv.value,
            None => self.attributes.push(kv),
        }
    }
    /// This resource with an attribute set.
    #[must_use]
    pub fn with(mut self, key: impl Into<Key>, value: impl ToValue) -> Self {
        self.set(key, value);
        self
    }
    /// The attributes.
    pub fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
    /// The value of an attribute.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .map(|kv| &kv.value)
    }
    /// The `service.name`.
    pub fn service_name(&self) -> &str {
        self.get("service.name")
            .and_then(Value::as_str)
            .unwrap_or("unknown_service")
    }
}

impl Default for Resource {
    fn default() -> Self {
        Self::default_for_process()
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<SpanData>();
    is::<StringValue>();
}

/// Where a span's code lives: the OpenTelemetry `code.*` attributes, as static strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeLocation {
    /// The module path, e.g. `shop::payments`.
    pub module_path: &'static str,
    /// The function's name, e.g. `charge`.
    pub function: &'static str,
    /// The source file.
    pub file: &'static str,
    /// The line of the function.
    pub line: u32,
}

/// The instrumentation scope a span is reported under (OTLP's `InstrumentationScope`, one
/// `ScopeSpans` per scope): the library whose code made the span.
///
/// A `#[traced]` function's spans carry the crate that holds the function, read from its
/// `CARGO_PKG_NAME` and `CARGO_PKG_VERSION` where the macro expands. Spans started with
/// [`span`](fn@crate::span) carry [`InstrumentationScope::TRACED`] unless the builder is given
/// one: `span("x").scope(traced::scope!())` names the calling crate the same way.
///
/// Built in statics (each span points at one, nothing is copied), so the strings are
/// `&'static`; two scopes are the same scope when their name and version are equal.
///
/// ```
/// use traced_runtime::model::InstrumentationScope;
/// static SCOPE: InstrumentationScope = InstrumentationScope::new("shop", "1.2.0");
/// assert_eq!((SCOPE.name(), SCOPE.version()), ("shop", "1.2.0"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstrumentationScope {
    name: &'static str,
    version: &'static str,
}

impl InstrumentationScope {
    /// traced's own scope (`traced` and this crate's version): the scope of spans whose
    /// instrumenting code is not known.
    pub const TRACED: &'static InstrumentationScope =
        &InstrumentationScope::new("traced", env!("CARGO_PKG_VERSION"));

    /// A scope with a name and a version (empty when unknown: OTLP leaves it out).
    pub const fn new(name: &'static str, version: &'static str) -> Self {
        InstrumentationScope { name, version }
    }

    /// The name, e.g. the crate's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The version; empty when unknown.
    pub const fn version(&self) -> &'static str {
        self.version
    }

    /// Whether `self` and `other` are the same scope: the same static, or equal.
    // Only the OTLP encoders group spans by scope.
    #[cfg_attr(
        not(any(feature = "otlp-http", feature = "otlp-grpc")),
        allow(dead_code)
    )]
    #[inline]
    pub(crate) fn same(&self, other: &InstrumentationScope) -> bool {
        std::ptr::eq(self, other) || self == other
    }
}
