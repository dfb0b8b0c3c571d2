//! `tracing` field values into traced attributes, keeping their types.

use crate::model::{KeyValue, ToValue, Value};
use crate::model::{SpanKind, Status};
use crate::span::Span;
use std::fmt;
use tracing_core::field::{Field, Visit};

/// Attributes read from fields, in order: the first [`FieldAttributes::INLINE`] in place (no
/// allocation for a callsite's usual handful), the rest in a vector.
#[derive(Debug, Default)]
pub(super) struct FieldAttributes {
    inline: [Option<(&'static str, Value)>; FieldAttributes::INLINE],
    len: usize,
    more: Vec<(&'static str, Value)>,
}

impl FieldAttributes {
    const INLINE: usize = 4;

    fn push(&mut self, key: &'static str, value: Value) {
        if let Some(slot) = self.inline.get_mut(self.len) {
            *slot = Some((key, value));
            self.len += 1;
        } else {
            self.more.push((key, value));
        }
    }

    /// How many there are.
    pub(super) fn len(&self) -> usize {
        self.len + self.more.len()
    }

    fn drain(&mut self) -> impl Iterator<Item = (&'static str, Value)> + '_ {
        self.inline[..self.len]
            .iter_mut()
            .filter_map(Option::take)
            .chain(self.more.drain(..))
    }
}

/// A span's fields: attributes, and the `otel.*` fields that set its name, kind and status.
/// Keys are `tracing` field names, static and distinct within a callsite.
#[derive(Debug, Default)]
pub(super) struct SpanFields {
    pub(super) attributes: FieldAttributes,
    pub(super) name: Option<String>,
    pub(super) kind: Option<SpanKind>,
    status_code: Option<StatusCode>,
    status_description: Option<String>,
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

impl FieldSink for SpanFields {
    fn value(&mut self, field: &Field, value: Value) {
        self.attributes.push(field.name(), value);
    }

    /// A string-valued field: `otel.*` or an attribute.
    fn text(&mut self, field: &Field, text: &str) {
        let name = field.name();
        if !name.starts_with("otel.") {
            return self.value(field, Value::String(text.into()));
        }
        match name {
            "otel.name" => self.name = Some(text.to_owned()),
            "otel.kind" => match kind_from(text) {
                Some(kind) => self.kind = Some(kind),
                None => self.value(field, Value::String(text.into())),
            },
            "otel.status_code" => match status_code_from(text) {
                Some(code) => self.status_code = Some(code),
                None => self.value(field, Value::String(text.into())),
            },
            "otel.status_description" | "otel.status_message" => {
                self.status_description = Some(text.to_owned());
            }
            _ => self.value(field, Value::String(text.into())),
        }
    }
}

impl SpanFields {
    /// Sets what was read on the span (the name is the caller's business). `fresh`: the
    /// span was just started and has none of these keys yet.
    pub(super) fn apply(mut self, span: &mut Span, fresh: bool) {
        for (key, value) in self.attributes.drain() {
            // A field named like one of the layer's own attributes replaces it.
            let ours = matches!(
                key,
                "target" | "level" | "code.file.path" | "code.line.number" | "code.module.name"
            );
            if fresh && !ours {
                span.push_new_attribute(key, value);
            } else {
                span.set_attribute(key, value);
            }
        }
        match self.status_code {
            Some(StatusCode::Ok) => span.set_status(Status::Ok),
            Some(StatusCode::Error) => {
                span.set_status(Status::error(self.status_description.unwrap_or_default()));
            }
            Some(StatusCode::Unset) | None => {}
        }
    }
}

/// An event's fields: its message, its `error`, the rest as attributes.
#[derive(Debug, Default)]
pub(super) struct EventFields {
    pub(super) message: Option<String>,
    pub(super) error: Option<String>,
    pub(super) attributes: Vec<KeyValue>,
    /// `log.target` of a record bridged by tracing-log: the record's own target.
    pub(super) log_target: Option<String>,
}

impl FieldSink for EventFields {
    fn text(&mut self, field: &Field, text: &str) {
        match field.name() {
            "message" => self.message = Some(text.to_owned()),
            "error" => self.error = Some(text.to_owned()),
            "log.target" => self.log_target = Some(text.to_owned()),
            // The rest of tracing-log's record metadata: the event's own metadata says it.
            "log.module_path" | "log.file" | "log.line" => {}
            name => self
                .attributes
                .push(KeyValue::new(name, Value::String(text.into()))),
        }
    }
    fn value(&mut self, field: &Field, value: Value) {
        match field.name() {
            "message" => self.message = Some(value.to_string()),
            "error" => self.error = Some(value.to_string()),
            "log.line" => {}
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
        self.0.text(field, &format!("{value:?}"));
    }
}
