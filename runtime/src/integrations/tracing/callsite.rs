//! What the layer works out once per `tracing` span callsite and keeps: the instrumentation
//! scope, the attributes every span of the callsite carries (`code.*`, `target`, `level`),
//! built once, and what each field is for (an attribute, a secret, or one of the `otel.*`
//! fields), so that a span's fields are sorted by index rather than by comparing their names.
//! Event callsites are kept the same way, for their fields' roles.
//!
//! Callsites are the program's static metadata: their number is bounded by the program, so
//! what is made for one is kept for the rest of the process (leaked, like the scopes).

use crate::model::secret::looks_secret;
use crate::model::{InstrumentationScope, StringValue, Value};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLock};
use tracing_core::Metadata;
use tracing_core::field::Field;

/// What a span field is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// An attribute.
    Attribute,
    /// An attribute named like one the layer sets itself (`target`, `level`, `code.*`): it
    /// replaces the layer's.
    Ours,
    /// `otel.name`.
    Name,
    /// `otel.kind`.
    Kind,
    /// `otel.status_code`.
    StatusCode,
    /// `otel.status_description` or `otel.status_message`.
    StatusDescription,
    /// An attribute whose name looks secret by the rules of [`secret`](crate::secret)
    /// (`password`, `api_key`, `authorization`, `session_id`...): recorded as `[REDACTED]`,
    /// as `#[traced]` records such a parameter.
    Secret,
}

impl Role {
    fn of(name: &str) -> Role {
        match name {
            "otel.name" => Role::Name,
            "otel.kind" => Role::Kind,
            "otel.status_code" => Role::StatusCode,
            "otel.status_description" | "otel.status_message" => Role::StatusDescription,
            "target" | "level" | "code.file.path" | "code.line.number" | "code.module.name" => {
                Role::Ours
            }
            name if looks_secret(name) => Role::Secret,
            _ => Role::Attribute,
        }
    }
}

/// A span callsite, as the layer sees it.
#[derive(Debug)]
pub(super) struct SpanCallsite {
    /// The crate its target names.
    pub(super) scope: &'static InstrumentationScope,
    /// `code.*` (those the metadata has, the first [`SpanCallsite::location`]), `target`
    /// and `level`, with their values.
    statics: Box<[(&'static str, Value)]>,
    location: usize,
    /// The role of each field, by index, with the field's name (to check that a field is
    /// this callsite's).
    roles: Box<[(&'static str, Role)]>,
    /// Fields that are attributes (not `otel.*`).
    pub(super) attribute_fields: usize,
}

impl SpanCallsite {
    fn new(meta: &'static Metadata<'static>) -> Self {
        // Static strings, borrowed: no copy.
        let text = |s: &'static str| Value::String(StringValue::from_static(s));
        let mut statics = Vec::with_capacity(5);
        if let Some(file) = meta.file() {
            statics.push(("code.file.path", text(file)));
        }
        if let Some(line) = meta.line() {
            statics.push(("code.line.number", Value::I64(i64::from(line))));
        }
        if let Some(module) = meta.module_path() {
            statics.push(("code.module.name", text(module)));
        }
        let location = statics.len();
        let roles: Box<[(&'static str, Role)]> = meta
            .fields()
            .iter()
            .map(|f| (f.name(), Role::of(f.name())))
            .collect();
        statics.push(("target", text(meta.target())));
        statics.push(("level", text(meta.level().as_str())));
        SpanCallsite {
            scope: scope_of(meta.target()),
            statics: statics.into_boxed_slice(),
            location,
            attribute_fields: roles
                .iter()
                .filter(|(_, r)| matches!(r, Role::Attribute | Role::Ours | Role::Secret))
                .count(),
            roles,
        }
    }

    /// The attributes every span of the callsite carries: with `location`, `code.*` first.
    pub(super) fn statics(&self, location: bool) -> &[(&'static str, Value)] {
        let from = if location { 0 } else { self.location };
        self.statics.get(from..).unwrap_or_default()
    }

    /// What `field` is for.
    #[inline]
    pub(super) fn role(&self, field: &Field) -> Role {
        match self.roles.get(field.index()) {
            Some(&(name, role)) if std::ptr::eq(name, field.name()) => role,
            // Not this callsite's field (a value set built by hand): by its name.
            _ => Role::of(field.name()),
        }
    }
}

/// The callsite of `meta`, made at its first span and kept.
#[inline]
pub(super) fn span_callsite(meta: &'static Metadata<'static>) -> &'static SpanCallsite {
    thread_local! {
        /// The last callsite seen on this thread: spans come in runs from one place.
        static LAST: Cell<Option<(usize, &'static SpanCallsite)>> = const { Cell::new(None) };
    }
    callsite(&LAST, meta)
}

/// The callsite of an event's `meta`, for its fields' roles: made at its first event and
/// kept. Cached apart from spans', so that events between spans do not evict theirs.
#[inline]
pub(super) fn event_callsite(meta: &'static Metadata<'static>) -> &'static SpanCallsite {
    thread_local! {
        /// The last event callsite seen on this thread.
        static LAST: Cell<Option<(usize, &'static SpanCallsite)>> = const { Cell::new(None) };
    }
    callsite(&LAST, meta)
}

#[inline(always)]
fn callsite(
    last: &'static std::thread::LocalKey<Cell<Option<(usize, &'static SpanCallsite)>>>,
    meta: &'static Metadata<'static>,
) -> &'static SpanCallsite {
    let key = std::ptr::from_ref(meta) as usize;
    if let Ok(Some((k, cs))) = last.try_with(Cell::get)
        && k == key
    {
        return cs;
    }
    let cs = span_callsite_slow(meta, key);
    let _ = last.try_with(|l| l.set(Some((key, cs))));
    cs
}

#[inline(never)]
fn span_callsite_slow(meta: &'static Metadata<'static>, key: usize) -> &'static SpanCallsite {
    static CALLSITES: RwLock<Option<HashMap<usize, &'static SpanCallsite>>> = RwLock::new(None);
    if let Some(cs) = CALLSITES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|m| m.get(&key))
    {
        return cs;
    }
    CALLSITES
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(HashMap::new)
        .entry(key)
        .or_insert_with(|| Box::leak(Box::new(SpanCallsite::new(meta))))
}

/// The instrumentation scope of a `tracing` span: the crate its target names (the first `::`
/// segment, `sqlx` for `sqlx::query`, as the module path spells it), with no version (a target
/// carries none). One scope per crate name, made at its first span and kept.
fn scope_of(target: &'static str) -> &'static InstrumentationScope {
    static SCOPES: RwLock<BTreeMap<&'static str, &'static InstrumentationScope>> =
        RwLock::new(BTreeMap::new());
    let krate = target.split("::").next().unwrap_or(target);
    if let Some(scope) = SCOPES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(krate)
    {
        return scope;
    }
    SCOPES
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(krate)
        .or_insert_with(|| Box::leak(Box::new(InstrumentationScope::new(krate, ""))))
}
