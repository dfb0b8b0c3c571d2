//! `tracing` field values into traced attributes, keeping their types.

use super::callsite::{Role, SpanCallsite};
use crate::model::redacted::TEXT as REDACTED;
use crate::model::secret::{scrub_debug, scrub_url_value};
use crate::model::{KeyValue, StringValue, ToValue, Value};
use crate::model::{SpanKind, Status};
use crate::span::Span;
use std::fmt;
use tracing_core::field::{Field, Visit};

/// An attribute read from a field: key, value, and whether the key is one the layer sets
/// itself ([`Role::Ours`]: it replaces the layer's).
type FieldAttribute = (&'static str, Value, bool);

/// Attributes read from fields, in order: the first [`FieldAttributes::INLINE`] in place (no
/// allocation for a callsite's usual handful), the rest in a vector.
#[derive(Debug, Default)]
pub(super) struct FieldAttributes {
    inline: [Option<FieldAttribute>; FieldAttributes::INLINE],
    len: usize,
    more: Vec<FieldAttribute>,
}

impl FieldAttributes {
    const INLINE: usize = 4;

    #[inline]
    fn push(&mut self, attribute: FieldAttribute) {
        if let Some(slot) = self.inline.get_mut(self.len) {
            *slot = Some(attribute);
            self.len += 1;
        } else {
            self.more.push(attribute);
        }
    }

    fn drain(&mut self) -> impl Iterator<Item = FieldAttribute> + '_ {
        self.inline[..self.len]
            .iter_mut()
            .filter_map(Option::take)
            .chain(self.more.drain(..))
    }
}

/// A span's fields: attributes, and the `otel.*` fields that set its name, kind and status.
/// Keys are `tracing` field names, static and distinct within a callsite, sorted by the
/// callsite's [`Role`]s. Attributes go straight into the span when it is started already
/// ([`SpanFields::into_span`]), or are kept until it is.
#[derive(Debug)]
pub(super) struct SpanFields<'s> {
    callsite: &'static SpanCallsite,
    /// Where the attributes go.
    into: Dest<'s>,
    pub(super) name: Option<String>,
    pub(super) kind: Option<SpanKind>,
    status_code: Option<StatusCode>,
    status_description: Option<String>,
}

/// Where a span's attributes go.
#[derive(Debug)]
enum Dest<'s> {
    /// Into the span, which was just started (`true`: it has none of the fields' keys yet,
    /// only the layer's own), or not.
    Span(&'s mut Span, bool),
    /// Kept until the span starts.
    Buffer(&'s mut FieldAttributes),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusCode {
    Unset,
    Ok,
    Error,
}

/// `s` in any case, as one of `names` (no allocation).
fn one_of<T: Copy>(s: &str, names: &[(&str, T)]) -> Option<T> {
    names
        .iter()
        .find(|(name, _)| name.len() == s.len() && name.eq_ignore_ascii_case(s))
        .map(|&(_, t)| t)
}

fn kind_from(s: &str) -> Option<SpanKind> {
    // Most often spelt as OpenTelemetry spells it.
    let exact = match s {
        "client" => Some(SpanKind::Client),
        "server" => Some(SpanKind::Server),
        "internal" => Some(SpanKind::Internal),
        _ => None,
    };
    if exact.is_some() {
        return exact;
    }
    one_of(
        s,
        &[
            ("client", SpanKind::Client),
            ("server", SpanKind::Server),
            ("producer", SpanKind::Producer),
            ("consumer", SpanKind::Consumer),
            ("internal", SpanKind::Internal),
        ],
    )
}

fn status_code_from(s: &str) -> Option<StatusCode> {
    one_of(
        s,
        &[
            ("ok", StatusCode::Ok),
            ("error", StatusCode::Error),
            ("unset", StatusCode::Unset),
        ],
    )
}

impl FieldSink for SpanFields<'_> {
    /// A value that is not text: always an attribute (`otel.*` fields are read as text).
    #[inline]
    fn value(&mut self, field: &Field, value: Value) {
        match self.callsite.role(field) {
            Role::Secret => self.attribute(field.name(), redacted(), false),
            role => self.attribute(field.name(), value, role == Role::Ours),
        }
    }

    /// A string-valued field: `otel.*` or an attribute.
    fn text(&mut self, field: &Field, text: &str) {
        let role = self.callsite.role(field);
        match role {
            Role::Secret => return self.attribute(field.name(), redacted(), false),
            Role::Attribute | Role::Ours => {}
            Role::Name => return self.name = Some(text.to_owned()),
            Role::Kind => {
                if let Some(kind) = kind_from(text) {
                    return self.kind = Some(kind);
                }
            }
            Role::StatusCode => {
                if let Some(code) = status_code_from(text) {
                    return self.status_code = Some(code);
                }
            }
            Role::StatusDescription => return self.status_description = Some(text.to_owned()),
        }
        let (key, ours) = (field.name(), role == Role::Ours);
        match &mut self.into {
            // A span just started scrubs its new text where it is exported, off this thread.
            Dest::Span(span, true) if !ours => span.push_new_text(key, Value::String(text.into())),
            _ => self.attribute(key, scrubbed(text), ours),
        }
    }
}

/// What a field whose name looks secret is recorded as.
fn redacted() -> Value {
    Value::String(StringValue::from_static(REDACTED))
}

/// `text` as an attribute value, with the password of a URL in it replaced (as in a string
/// argument of `#[traced]`, see [`secret`](crate::secret)).
#[inline]
fn scrubbed(text: &str) -> Value {
    match scrub_url_value(text) {
        Some(scrubbed) => Value::String(scrubbed.into()),
        None => Value::String(text.into()),
    }
}

impl<'s> SpanFields<'s> {
    /// How many attributes were kept (none when they go straight into the span).
    pub(super) fn kept(&self) -> usize {
        match &self.into {
            Dest::Span(..) => 0,
            Dest::Buffer(a) => a.len + a.more.len(),
        }
    }

    /// Nothing read yet, for a span of `callsite` not started yet: attributes are kept in
    /// `kept` (the caller's, so that this stays small to move).
    pub(super) fn new(callsite: &'static SpanCallsite, kept: &'s mut FieldAttributes) -> Self {
        SpanFields {
            callsite,
            into: Dest::Buffer(kept),
            name: None,
            kind: None,
            status_code: None,
            status_description: None,
        }
    }

    /// Nothing read yet, for `span` (of `callsite`), which takes the attributes as they are
    /// read; `fresh`: it was just started. [`finish`](Self::finish) sets the rest.
    pub(super) fn into_span(
        callsite: &'static SpanCallsite,
        span: &'s mut Span,
        fresh: bool,
    ) -> Self {
        SpanFields {
            callsite,
            into: Dest::Span(span, fresh),
            name: None,
            kind: None,
            status_code: None,
            status_description: None,
        }
    }

    #[inline(always)]
    fn attribute(&mut self, key: &'static str, value: Value, ours: bool) {
        match &mut self.into {
            // A field named like one of the layer's own attributes replaces it.
            Dest::Span(span, true) if !ours => span.push_new_attribute(key, value),
            Dest::Span(span, _) => span.set_attribute(key, value),
            Dest::Buffer(attributes) => attributes.push((key, value, ours)),
        }
    }

    /// For [`into_span`](Self::into_span): sets the name, the status and, on a span just
    /// started, the kind.
    pub(super) fn finish(self) {
        let Dest::Span(span, fresh) = self.into else {
            return;
        };
        if let Some(name) = self.name {
            span.update_name(name);
        }
        if fresh && let Some(kind) = self.kind {
            span.set_kind(kind);
        }
        set_status(span, self.status_code, self.status_description);
    }

    /// For [`new`](Self::new): sets what was read on the span just started (the name and
    /// kind are the caller's business).
    pub(super) fn apply(self, span: &mut Span) {
        let Dest::Buffer(attributes) = self.into else {
            return;
        };
        for (key, value, ours) in attributes.drain() {
            // A field named like one of the layer's own attributes replaces it.
            if ours {
                span.set_attribute(key, value);
            } else {
                span.push_new_attribute(key, value);
            }
        }
        set_status(span, self.status_code, self.status_description);
    }
}

fn set_status(span: &mut Span, code: Option<StatusCode>, description: Option<String>) {
    match code {
        Some(StatusCode::Ok) => span.set_status(Status::Ok),
        Some(StatusCode::Error) => {
            span.set_status(Status::error(description.unwrap_or_default()));
        }
        Some(StatusCode::Unset) | None => {}
    }
}

/// An event's fields: its message, its `error`, the rest as attributes.
#[derive(Debug)]
pub(super) struct EventFields {
    /// The event's callsite, for its fields' roles.
    callsite: &'static SpanCallsite,
    pub(super) message: Option<String>,
    pub(super) error: Option<String>,
    pub(super) attributes: Vec<KeyValue>,
    /// `log.target` of a record bridged by tracing-log: the record's own target.
    pub(super) log_target: Option<String>,
}

impl EventFields {
    /// Nothing read yet, for an event of `callsite`.
    pub(super) fn new(callsite: &'static SpanCallsite) -> Self {
        EventFields {
            callsite,
            message: None,
            error: None,
            attributes: Vec::new(),
            log_target: None,
        }
    }
}

impl FieldSink for EventFields {
    fn text(&mut self, field: &Field, text: &str) {
        let owned = || scrub_url_value(text).unwrap_or_else(|| text.to_owned());
        match field.name() {
            "message" => self.message = Some(owned()),
            "error" => self.error = Some(owned()),
            "log.target" => self.log_target = Some(text.to_owned()),
            // The rest of tracing-log's record metadata: the event's own metadata says it.
            "log.module_path" | "log.file" | "log.line" => {}
            name if self.callsite.role(field) == Role::Secret => {
                self.attributes.push(KeyValue::new(name, redacted()));
            }
            name => self.attributes.push(KeyValue::new(name, scrubbed(text))),
        }
    }
    fn value(&mut self, field: &Field, value: Value) {
        match field.name() {
            "message" => self.message = Some(value.to_string()),
            "error" => self.error = Some(value.to_string()),
            "log.line" => {}
            name if self.callsite.role(field) == Role::Secret => {
                self.attributes.push(KeyValue::new(name, redacted()));
            }
            name => self.attributes.push(KeyValue::new(name, value)),
        }
    }
}

/// Where a visitor puts what it reads: values that keep their type, and text.
pub(super) trait FieldSink {
    fn value(&mut self, field: &Field, value: Value);
    fn text(&mut self, field: &Field, text: &str);
}

/// The `tracing` visitor over a [`FieldSink`]: each value with its type.
pub(super) struct Visitor<'a, T>(pub(super) &'a mut T);

impl<T: FieldSink> Visit for Visitor<'_, T> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.value(field, Value::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.value(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.value(field, value.to_value());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.value(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.text(field, value);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.text(field, &value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // Secret-looking fields inside `Debug` text are scrubbed, as for `#[traced]`'s
        // arguments (a `Display` value, `%x`, comes here too: text with no `:` costs a scan).
        self.0.text(field, &scrub_debug(format!("{value:?}")));
    }
}
