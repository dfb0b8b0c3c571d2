//! OTLP protobuf, encoded straight from the spans in a batch.
//!
//! [`to_request`](super::to_request) builds the official message types, which costs a dozen
//! allocations per span (ids, name, each key and string value) that the encoder then walks
//! again. This encoder writes the same bytes from the records in place: the field numbers and
//! the order in which prost writes the official messages (`opentelemetry-proto`'s generated
//! types: by field number), through prost's own encoding functions (the ones its generated
//! code calls), so the wire format is prost's. Tests compare its output
//! byte for byte with `to_request(..).encode_to_vec()` and decode it with the official types.
//!
//! Each nested message is preceded by its length, so a span's length is computed before it
//! is written (one pass over its attributes); the envelope (`ResourceSpans`, `ScopeSpans`),
//! whose length is known only once every span is written, goes into room kept in front of
//! the spans.

use super::transform::{to_request_resource, to_request_scope};
use crate::model::record::{SpanBatch, SpanView};
use crate::model::{Array, KeyValue, StringValue, Value};
use crate::model::{CodeLocation, InstrumentationScope};
use crate::model::{Event, Link, Resource, SpanKind, Status};
use crate::model::{TraceFlags, TraceState};
use crate::propagation::TraceStateExt as _;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};
use std::mem::MaybeUninit;
use std::ops::Range;

mod plain;

/// Encodes batches of spans as the body of an OTLP `ExportTraceServiceRequest` in protobuf
/// (what OTLP/HTTP posts and OTLP/gRPC sends), without building the message types.
///
/// The bytes are exactly those of [`to_request`](super::to_request) encoded by prost, at a
/// fraction of the cost: no allocation per span, the buffer reused from batch to batch.
/// For a transport of your own (a message queue, a file):
///
/// ```
/// use prost::Message as _;
/// use traced_runtime::export::otlp::Encoder;
/// use traced_runtime::export::otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
/// use traced_runtime::export::SpanBatch;
/// use traced_runtime::model::Resource;
///
/// let mut encoder = Encoder::new(&Resource::default());
/// let mut spans = SpanBatch::from(vec![traced_runtime::SpanData::new(Default::default(), "job")]);
/// let bytes = encoder.encode(&mut spans);
/// let request = ExportTraceServiceRequest::decode(bytes).unwrap();
/// assert_eq!(request.resource_spans[0].scope_spans[0].spans[0].name, "job");
/// ```
#[derive(Debug, Clone)]
pub struct Encoder {
    /// The `ResourceSpans.resource` field, tag and length included.
    resource: Vec<u8>,
    /// The instrumentation scopes met so far, each with its `ScopeSpans.scope` field (tag
    /// and length included), encoded once.
    scopes: Vec<(&'static InstrumentationScope, Vec<u8>)>,
    /// The index in `scopes` found last: spans of one batch mostly share a scope.
    last_scope: usize,
    buf: Vec<u8>,
    code: CodeCache,
    /// Where each span of the last [`Encoder::encode_spans`] ends in `buf`.
    ends: Vec<usize>,
    /// The scope (an index in `scopes`) of each span of the last [`Encoder::encode_spans`].
    span_scopes: Vec<usize>,
    /// The scopes of the last [`Encoder::encode`] (indices in `scopes`), in the order they
    /// first appear, each with the length of its spans.
    groups: Vec<(usize, usize)>,
    /// The spans of each scope but the first of a batch of several, by index in `scopes`
    /// (kept for their room).
    others: Vec<Vec<u8>>,
}

/// The most bytes the envelope's three lengths and tags take: tags 1 and 2 are one byte, a
/// length of up to 2^35 five.
const ENVELOPE_KEYS: usize = 3 * (1 + 5);

/// Scopes kept encoded between batches: past this many (a program with more crates than
/// that, or scopes made at run time), the list starts again.
const MAX_SCOPES: usize = 1024;

impl Encoder {
    /// An encoder that reports spans under `resource`, each in a `ScopeSpans` of its
    /// instrumentation scope.
    pub fn new(resource: &Resource) -> Self {
        let mut encoder = Encoder {
            resource: Vec::new(),
            scopes: Vec::new(),
            last_scope: 0,
            buf: Vec::new(),
            code: CodeCache::default(),
            ends: Vec::new(),
            span_scopes: Vec::new(),
            groups: Vec::new(),
            others: Vec::new(),
        };
        encoder.set_resource(resource);
        encoder
    }

    /// Reports later spans under `resource`.
    pub fn set_resource(&mut self, resource: &Resource) {
        self.resource.clear();
        prost::encoding::message::encode(1, &to_request_resource(resource), &mut self.resource);
    }

    /// The request for `spans`, encoded; empty for an empty batch (OTLP asks senders not to
    /// send empty envelopes). The bytes live in the encoder until its next call.
    ///
    /// One `ScopeSpans` per instrumentation scope, in the order the scopes first appear, the
    /// spans of each in batch order: the message [`to_request`](super::to_request) builds.
    pub fn encode(&mut self, spans: &mut SpanBatch) -> &[u8] {
        self.buf.clear();
        // Only the first span's scope is read here: a pass over the batch for its scopes
        // would load every record once more (from the core that ended it) before the pass
        // that encodes it.
        let Some(first) = batch_scopes(spans).next() else {
            return &self.buf;
        };
        if self.scopes.len() > MAX_SCOPES {
            self.scopes.clear();
            self.others.clear();
        }
        let scope = self.scope_index(first);
        self.groups.clear();
        self.groups.push((scope, 0));
        let head = ENVELOPE_KEYS + self.resource.len() + self.scopes[scope].1.len();
        self.buf.resize(head, 0);
        let spans_len = self.write_grouped(spans, scope, head);
        let mut envelope = Vec::with_capacity(head);
        let mut scope_spans = self.scope_spans_len(scope, spans_len);
        for &(s, len) in &self.groups[1..] {
            scope_spans += self.scope_spans_len(s, len);
        }
        self.put_resource_head(scope_spans, &mut envelope);
        self.put_scope_head(scope, spans_len, &mut envelope);
        let start = head - envelope.len();
        self.buf[start..head].copy_from_slice(&envelope);
        &self.buf[start..]
    }

    /// The spans of the first scope (`first`, an index in `scopes`) written in `buf` after
    /// `head` bytes kept for the envelope; each other scope's spans (usually none, or a few:
    /// a server's spans beside a crate's) in a buffer of its own, then appended after their
    /// `ScopeSpans` head, so that only they are copied. Returns the length of the first scope's spans; `groups[1..]`
    /// holds the others, in the order they first appear.
    fn write_grouped(&mut self, spans: &mut SpanBatch, first: usize, head: usize) -> usize {
        // The last scope met and its index: spans of a batch come in runs of one scope.
        let mut last: Option<(&'static InstrumentationScope, usize)> = None;
        let mut target = |encoder: &mut Encoder, scope: &'static InstrumentationScope| {
            let i = match last {
                Some((s, i)) if std::ptr::eq(s, scope) => i,
                _ => {
                    let i = encoder.scope_index(scope);
                    last = Some((scope, i));
                    i
                }
            };
            if i != first && !encoder.groups.iter().any(|&(s, _)| s == i) {
                encoder.groups.push((i, 0));
                if encoder.others.len() <= i {
                    encoder.others.resize_with(i + 1, Vec::new);
                }
                encoder.others[i].clear();
            }
            i
        };
        for mut r in spans.records_unscrubbed() {
            let i = target(self, r.peek().scope);
            let buf = if i == first {
                &mut self.buf
            } else {
                &mut self.others[i]
            };
            if !plain::encode(&mut r, &mut self.code, buf) {
                encode_span(&r.scrubbed().view(), buf, &mut self.code);
            }
        }
        for data in spans.data() {
            let i = target(self, data.scope);
            let buf = if i == first {
                &mut self.buf
            } else {
                &mut self.others[i]
            };
            encode_span(&data.view(), buf, &mut self.code);
        }
        let first_len = self.buf.len() - head;
        let extra: usize = self.groups[1..]
            .iter()
            .map(|&(s, _)| delimited_len(2, self.scopes[s].1.len() + self.others[s].len()))
            .sum();
        let mut buf = std::mem::take(&mut self.buf);
        buf.reserve(extra);
        for g in 1..self.groups.len() {
            let s = self.groups[g].0;
            let len = self.others[s].len();
            self.groups[g].1 = len;
            self.put_scope_head(s, len, &mut buf);
            buf.extend_from_slice(&self.others[s]);
        }
        self.buf = buf;
        first_len
    }

    /// Encodes each span of `spans` one after the other, with no envelope, noting where
    /// each ends and its scope; returns how many there are. [`Encoder::request`] makes
    /// requests of runs of them.
    pub(super) fn encode_spans(&mut self, spans: &mut SpanBatch) -> usize {
        self.buf.clear();
        self.ends.clear();
        self.span_scopes.clear();
        if self.scopes.len() > MAX_SCOPES {
            self.scopes.clear();
        }
        for scope in batch_scopes(spans) {
            let i = self.scope_index(scope);
            self.span_scopes.push(i);
        }
        self.write_spans(spans, true);
        self.ends.len()
    }

    /// The request holding `spans`, a run of the spans of the last
    /// [`Encoder::encode_spans`], written to `out`.
    pub(super) fn request(&self, spans: Range<usize>, out: &mut Vec<u8>) {
        out.clear();
        let mut size = RequestSize::default();
        for i in spans.clone() {
            size.add(self, i);
        }
        out.reserve(size.len(self));
        let scope_spans: usize = size
            .groups
            .iter()
            .map(|&(s, len)| self.scope_spans_len(s, len))
            .sum();
        self.put_resource_head(scope_spans, out);
        for &(scope, len) in &size.groups {
            self.put_scope_head(scope, len, out);
            for i in spans.clone().filter(|&i| self.span_scopes[i] == scope) {
                out.extend_from_slice(&self.buf[self.span_start(i)..self.ends[i]]);
            }
        }
    }

    /// Where span `i` of the last [`Encoder::encode_spans`] starts in `buf`.
    fn span_start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.ends[i - 1] }
    }

    /// The index of `scope` in `scopes`, added (and encoded) if new.
    fn scope_index(&mut self, scope: &'static InstrumentationScope) -> usize {
        if let Some((s, _)) = self.scopes.get(self.last_scope)
            && s.same(scope)
        {
            return self.last_scope;
        }
        let i = if let Some(i) = self.scopes.iter().position(|(s, _)| s.same(scope)) {
            i
        } else {
            let mut field = Vec::new();
            prost::encoding::message::encode(1, &to_request_scope(scope), &mut field);
            self.scopes.push((scope, field));
            self.scopes.len() - 1
        };
        self.last_scope = i;
        i
    }

    /// The length of a whole `ResourceSpans.scope_spans` field: scope `scope`, `spans_len`
    /// bytes of spans.
    fn scope_spans_len(&self, scope: usize, spans_len: usize) -> usize {
        delimited_len(2, self.scopes[scope].1.len() + spans_len)
    }

    /// `ExportTraceServiceRequest { 1: ResourceSpans { 1: resource, ` before
    /// `scope_spans` bytes of `ScopeSpans` fields.
    fn put_resource_head(&self, scope_spans: usize, out: &mut Vec<u8>) {
        encode_key(1, WireType::LengthDelimited, out);
        encode_varint((self.resource.len() + scope_spans) as u64, out);
        out.extend_from_slice(&self.resource);
    }

    /// `2: ScopeSpans { 1: scope, ` before `spans_len` bytes of spans.
    fn put_scope_head(&self, scope: usize, spans_len: usize, out: &mut Vec<u8>) {
        let field = &self.scopes[scope].1;
        encode_key(2, WireType::LengthDelimited, out);
        encode_varint((field.len() + spans_len) as u64, out);
        out.extend_from_slice(field);
    }

    fn write_spans(&mut self, spans: &mut SpanBatch, mark_ends: bool) {
        for mut r in spans.records_unscrubbed() {
            if !plain::encode(&mut r, &mut self.code, &mut self.buf) {
                encode_span(&r.scrubbed().view(), &mut self.buf, &mut self.code);
            }
            if mark_ends {
                self.ends.push(self.buf.len());
            }
        }
        for data in spans.data() {
            encode_span(&data.view(), &mut self.buf, &mut self.code);
            if mark_ends {
                self.ends.push(self.buf.len());
            }
        }
    }
}

/// The scope of each span of `spans`, in the order [`Encoder::write_spans`] writes them.
fn batch_scopes(spans: &SpanBatch) -> impl Iterator<Item = &'static InstrumentationScope> {
    spans.scopes()
}

/// The length of a request as spans of the last [`Encoder::encode_spans`] are added to it.
#[derive(Debug, Default)]
pub(super) struct RequestSize {
    /// Each scope in the order it first came, with the bytes of its spans.
    groups: Vec<(usize, usize)>,
}

impl RequestSize {
    /// Adds span `i`.
    pub(super) fn add(&mut self, encoder: &Encoder, i: usize) {
        let scope = encoder.span_scopes[i];
        let len = encoder.ends[i] - encoder.span_start(i);
        match self.groups.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, total)) => *total += len,
            None => self.groups.push((scope, len)),
        }
    }

    /// The request's length.
    pub(super) fn len(&self, encoder: &Encoder) -> usize {
        let scope_spans: usize = self
            .groups
            .iter()
            .map(|&(s, len)| encoder.scope_spans_len(s, len))
            .sum();
        delimited_len(1, encoder.resource.len() + scope_spans)
    }

    pub(super) fn clear(&mut self) {
        self.groups.clear();
    }
}

// ---- lengths and writers for the scalar fields (proto3: a default value is not written) ----

/// Where a span is written: room reserved for exactly its length, filled front to back with
/// no check for growth (a write past the end panics: the length computed first and the
/// bytes written disagree, a bug the tests would show).
struct Out<'a> {
    room: &'a mut [MaybeUninit<u8>],
    at: usize,
}

impl Out<'_> {
    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.room[self.at].write(b);
        self.at += 1;
    }

    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) {
        let end = self.at + b.len();
        // SAFETY: `[u8]` and `[MaybeUninit<u8>]` have the same layout; this only writes.
        let src: &[MaybeUninit<u8>] =
            unsafe { &*(std::ptr::from_ref(b) as *const [MaybeUninit<u8>]) };
        self.room[self.at..end].copy_from_slice(src);
        self.at = end;
    }
}

/// Writes one span's bytes (`len` of them) at the end of `buf` with `write`.
#[inline(always)]
fn write_at_end(buf: &mut Vec<u8>, len: usize, write: impl FnOnce(&mut Out<'_>)) {
    buf.reserve(len);
    let mut out = Out {
        room: buf.spare_capacity_mut(),
        at: 0,
    };
    write(&mut out);
    let written = out.at;
    debug_assert_eq!(written, len, "span length");
    // SAFETY: `Out` writes its bytes front to back with no gap: the first `written` bytes
    // after the end are initialized.
    unsafe { buf.set_len(buf.len() + written) };
}

/// A field's key. Every field here but `Span.flags` (16) has a number below 16, whose key is
/// one byte: written directly (the compiler folds it to a constant), the same byte prost's
/// `encode_key` writes (a test compares them). Others go through prost.
#[inline(always)]
fn put_key(tag: u32, wire_type: WireType, o: &mut Out<'_>) {
    if tag < 16 {
        o.byte(((tag << 3) | wire_type as u32) as u8);
    } else {
        let mut key = [0_u8; 5];
        let mut rest = &mut key[..];
        encode_key(tag, wire_type, &mut rest);
        let n = 5 - rest.len();
        o.bytes(&key[..n]);
    }
}

/// A varint: one byte below 128 (most lengths here), prost's `encode_varint` otherwise.
#[inline(always)]
fn put_varint_raw(v: u64, o: &mut Out<'_>) {
    if v < 0x80 {
        o.byte(v as u8);
    } else {
        let mut bytes = [0_u8; 10];
        let mut rest = &mut bytes[..];
        encode_varint(v, &mut rest);
        let n = 10 - rest.len();
        o.bytes(&bytes[..n]);
    }
}

/// A length-delimited field of `len` bytes, whole.
#[inline]
fn delimited_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

#[inline]
fn put_delimited_head(tag: u32, len: usize, o: &mut Out<'_>) {
    put_key(tag, WireType::LengthDelimited, o);
    put_varint_raw(len as u64, o);
}

#[inline]
fn str_len(tag: u32, s: &str) -> usize {
    bytes_len(tag, s.as_bytes())
}

#[inline]
fn put_str(tag: u32, s: &str, o: &mut Out<'_>) {
    put_bytes(tag, s.as_bytes(), o);
}

#[inline]
fn bytes_len(tag: u32, b: &[u8]) -> usize {
    if b.is_empty() {
        0
    } else {
        delimited_len(tag, b.len())
    }
}

#[inline]
fn put_bytes(tag: u32, b: &[u8], o: &mut Out<'_>) {
    if !b.is_empty() {
        put_delimited_head(tag, b.len(), o);
        o.bytes(b);
    }
}

#[inline]
fn fixed64_len(tag: u32, v: u64) -> usize {
    if v == 0 { 0 } else { key_len(tag) + 8 }
}

#[inline]
fn put_fixed64(tag: u32, v: u64, o: &mut Out<'_>) {
    if v != 0 {
        put_key(tag, WireType::SixtyFourBit, o);
        o.bytes(&v.to_le_bytes());
    }
}

#[inline]
fn fixed32_len(tag: u32, v: u32) -> usize {
    if v == 0 { 0 } else { key_len(tag) + 4 }
}

#[inline]
fn put_fixed32(tag: u32, v: u32, o: &mut Out<'_>) {
    if v != 0 {
        put_key(tag, WireType::ThirtyTwoBit, o);
        o.bytes(&v.to_le_bytes());
    }
}

#[inline]
fn varint_len(tag: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(v)
    }
}

#[inline]
fn put_varint(tag: u32, v: u64, o: &mut Out<'_>) {
    if v != 0 {
        put_key(tag, WireType::Varint, o);
        put_varint_raw(v, o);
    }
}

// ---- AnyValue, KeyValue ----

/// `AnyValue`'s fields. A oneof member is written even when it holds its default.
mod any {
    pub(super) const STRING: u32 = 1;
    pub(super) const BOOL: u32 = 2;
    pub(super) const INT: u32 = 3;
    pub(super) const DOUBLE: u32 = 4;
    pub(super) const ARRAY: u32 = 5;
}

/// The length of an `AnyValue` holding `value`.
fn any_value_len(value: &Value) -> usize {
    match value {
        Value::Bool(_) => key_len(any::BOOL) + 1,
        Value::I64(v) => key_len(any::INT) + encoded_len_varint(*v as u64),
        Value::F64(_) => key_len(any::DOUBLE) + 8,
        Value::String(s) => delimited_len(any::STRING, s.as_str().len()),
        Value::Array(a) => delimited_len(any::ARRAY, array_len(a)),
    }
}

/// The length of an `ArrayValue`: `1: repeated AnyValue values`.
fn array_len(a: &Array) -> usize {
    fn each<T>(items: &[T], len: impl Fn(&T) -> usize) -> usize {
        items.iter().map(|x| delimited_len(1, len(x))).sum()
    }
    match a {
        Array::Bool(v) => each(v, |_| key_len(any::BOOL) + 1),
        Array::I64(v) => each(v, |x| key_len(any::INT) + encoded_len_varint(*x as u64)),
        Array::F64(v) => each(v, |_| key_len(any::DOUBLE) + 8),
        Array::String(v) => each(v, |s: &StringValue| {
            delimited_len(any::STRING, s.as_str().len())
        }),
    }
}

fn put_any_value(value: &Value, o: &mut Out<'_>) {
    match value {
        Value::Bool(v) => {
            put_key(any::BOOL, WireType::Varint, o);
            put_varint_raw(u64::from(*v), o);
        }
        Value::I64(v) => {
            put_key(any::INT, WireType::Varint, o);
            put_varint_raw(*v as u64, o);
        }
        Value::F64(v) => {
            put_key(any::DOUBLE, WireType::SixtyFourBit, o);
            o.bytes(&v.to_bits().to_le_bytes());
        }
        Value::String(s) => {
            put_delimited_head(any::STRING, s.as_str().len(), o);
            o.bytes(s.as_str().as_bytes());
        }
        Value::Array(a) => put_array(a, o),
    }
}

#[cold]
fn put_array(a: &Array, o: &mut Out<'_>) {
    fn each<T>(items: &[T], o: &mut Out<'_>, value: impl Fn(&T) -> Value) {
        for x in items {
            let v = value(x);
            put_delimited_head(1, any_value_len(&v), o);
            put_any_value(&v, o);
        }
    }
    put_delimited_head(any::ARRAY, array_len(a), o);
    match a {
        Array::Bool(v) => each(v, o, |x| Value::Bool(*x)),
        Array::I64(v) => each(v, o, |x| Value::I64(*x)),
        Array::F64(v) => each(v, o, |x| Value::F64(*x)),
        Array::String(v) => {
            for s in v {
                let len = delimited_len(any::STRING, s.as_str().len());
                put_delimited_head(1, len, o);
                put_delimited_head(any::STRING, s.as_str().len(), o);
                o.bytes(s.as_str().as_bytes());
            }
        }
    }
}

/// The length of a `KeyValue { 1: key, 2: value }` (the value always present).
#[inline]
fn key_value_len(key: &str, value: &Value) -> usize {
    str_len(1, key) + delimited_len(2, any_value_len(value))
}

/// A `KeyValue` as field `tag` of its parent, whole.
#[inline]
fn put_key_value(tag: u32, key: &str, value: &Value, o: &mut Out<'_>) {
    let value_len = any_value_len(value);
    put_delimited_head(tag, str_len(1, key) + delimited_len(2, value_len), o);
    put_str(1, key, o);
    put_delimited_head(2, value_len, o);
    put_any_value(value, o);
}

fn key_values_len(tag: u32, attributes: &[KeyValue]) -> usize {
    attributes
        .iter()
        .map(|kv| delimited_len(tag, key_value_len(&kv.key, &kv.value)))
        .sum()
}

fn put_key_values(tag: u32, attributes: &[KeyValue], o: &mut Out<'_>) {
    for kv in attributes {
        put_key_value(tag, &kv.key, &kv.value, o);
    }
}

// ---- Span ----

/// `Span`'s fields.
mod span {
    pub(super) const TRACE_ID: u32 = 1;
    pub(super) const SPAN_ID: u32 = 2;
    pub(super) const TRACE_STATE: u32 = 3;
    pub(super) const PARENT_SPAN_ID: u32 = 4;
    pub(super) const NAME: u32 = 5;
    pub(super) const KIND: u32 = 6;
    pub(super) const START: u32 = 7;
    pub(super) const END: u32 = 8;
    pub(super) const ATTRIBUTES: u32 = 9;
    pub(super) const DROPPED_ATTRIBUTES: u32 = 10;
    pub(super) const EVENTS: u32 = 11;
    pub(super) const DROPPED_EVENTS: u32 = 12;
    pub(super) const LINKS: u32 = 13;
    pub(super) const DROPPED_LINKS: u32 = 14;
    pub(super) const STATUS: u32 = 15;
    pub(super) const FLAGS: u32 = 16;
}

/// `ScopeSpans.spans`.
const SCOPE_SPANS_SPANS: u32 = 2;

/// The `code.*` attributes of a `#[traced]` function's span that it does not already have.
struct CodeAttributes {
    code: &'static CodeLocation,
    function: bool,
    file: bool,
    line: bool,
}

const CODE_FUNCTION: &str = "code.function.name";
const CODE_FILE: &str = "code.file.path";
const CODE_LINE: &str = "code.line.number";

impl CodeAttributes {
    fn of(span: &SpanView<'_>) -> Option<CodeAttributes> {
        let code = span.code?;
        Some(CodeAttributes {
            code,
            function: span.attribute(CODE_FUNCTION).is_none(),
            file: span.attribute(CODE_FILE).is_none(),
            line: span.attribute(CODE_LINE).is_none(),
        })
    }

    /// `module::path::function`'s length.
    fn function_len(&self) -> usize {
        self.code.module_path.len() + 2 + self.code.function.len()
    }

    fn len(&self) -> usize {
        let string_kv = |key: &str, len: usize| {
            delimited_len(
                span::ATTRIBUTES,
                str_len(1, key) + delimited_len(2, delimited_len(any::STRING, len)),
            )
        };
        let mut n = 0;
        if self.function {
            n += string_kv(CODE_FUNCTION, self.function_len());
        }
        if self.file {
            n += string_kv(CODE_FILE, self.code.file.len());
        }
        if self.line {
            let line = Value::I64(i64::from(self.code.line));
            n += delimited_len(span::ATTRIBUTES, key_value_len(CODE_LINE, &line));
        }
        n
    }

    fn put(&self, o: &mut Out<'_>) {
        let mut put_string = |key: &str, parts: &[&str]| {
            let len: usize = parts.iter().map(|p| p.len()).sum();
            let value_len = delimited_len(any::STRING, len);
            put_delimited_head(
                span::ATTRIBUTES,
                str_len(1, key) + delimited_len(2, value_len),
                o,
            );
            put_str(1, key, o);
            put_delimited_head(2, value_len, o);
            put_delimited_head(any::STRING, len, o);
            for p in parts {
                o.bytes(p.as_bytes());
            }
        };
        if self.function {
            put_string(
                CODE_FUNCTION,
                &[self.code.module_path, "::", self.code.function],
            );
        }
        if self.file {
            put_string(CODE_FILE, &[self.code.file]);
        }
        if self.line {
            put_key_value(
                span::ATTRIBUTES,
                CODE_LINE,
                &Value::I64(i64::from(self.code.line)),
                o,
            );
        }
    }
}

/// An empty `status` (15) and the `flags` (16, fixed32, a two-byte key).
const TAIL: [u8; 8] = [
    (span::STATUS << 3) as u8 | WireType::LengthDelimited as u8,
    0,
    ((span::FLAGS << 3) as u8 | WireType::ThirtyTwoBit as u8) | 0x80,
    (span::FLAGS >> 4) as u8,
    0,
    0,
    0,
    0,
];

/// Slots of [`CodeCache`].
const CODE_CACHE_SLOTS: usize = 64;

/// The encoded `code.*` attributes of the callsites seen last, by the address of their
/// (static) location: a table of [`CODE_CACHE_SLOTS`] slots, a callsite in the slot its
/// address picks, replacing whatever was there.
#[derive(Debug, Clone)]
struct CodeCache {
    /// `(address, bytes)`; address 0 for an empty slot.
    slots: Box<[(usize, Box<[u8]>); CODE_CACHE_SLOTS]>,
}

impl Default for CodeCache {
    fn default() -> Self {
        CodeCache {
            slots: Box::new(std::array::from_fn(|_| (0, Box::default()))),
        }
    }
}

impl CodeCache {
    /// The three `code.*` attributes of `code`'s callsite, as `Span.attributes` fields.
    #[inline]
    fn get(&mut self, code: &'static CodeLocation) -> &[u8] {
        let at = std::ptr::from_ref(code) as usize;
        let slot = &mut self.slots[(at / align_of::<CodeLocation>()) % CODE_CACHE_SLOTS];
        if slot.0 != at {
            Self::fill(slot, code);
        }
        &slot.1
    }

    #[cold]
    #[inline(never)]
    fn fill(slot: &mut (usize, Box<[u8]>), code: &'static CodeLocation) {
        let all = CodeAttributes {
            code,
            function: true,
            file: true,
            line: true,
        };
        let mut bytes = Vec::new();
        write_at_end(&mut bytes, all.len(), |o| all.put(o));
        *slot = (std::ptr::from_ref(code) as usize, bytes.into_boxed_slice());
    }
}

/// The OTLP `flags` of a span or link: the W3C trace flags in bits 0-7, and bits 8-9 saying
/// that whether the parent (or linked span) is remote is known, and whether it is.
#[inline]
fn flags(trace_flags: TraceFlags, remote: bool) -> u32 {
    const HAS_IS_REMOTE: u32 = 0x100;
    const IS_REMOTE: u32 = 0x200;
    u32::from(trace_flags.to_u8()) | HAS_IS_REMOTE | if remote { IS_REMOTE } else { 0 }
}

fn kind(kind: SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// `Status { 2: message, 3: code }`: its code and message.
fn status_parts(status: &Status) -> (u64, &str) {
    match status {
        Status::Unset => (0, ""),
        Status::Ok => (1, ""),
        Status::Error { description } => (2, description),
    }
}

/// A trace state's header, when there is one (rare: it allocates).
fn trace_state_header(state: &TraceState) -> Option<String> {
    if state.is_empty() {
        None
    } else {
        Some(state.header())
    }
}

/// A whole `Span` as an element of `ScopeSpans.spans`, at the end of `buf`.
fn encode_span(s: &SpanView<'_>, buf: &mut Vec<u8>, cache: &mut CodeCache) {
    let trace_id = s.trace_id.to_bytes();
    let span_id = s.span_id.to_bytes();
    let parent = s
        .parent_span_id
        .is_valid()
        .then(|| s.parent_span_id.to_bytes());
    let trace_state = trace_state_header(s.trace_state);
    let trace_state = trace_state.as_deref().unwrap_or("");
    let code = CodeAttributes::of(s);
    // The usual case, all three to write: the same bytes every time for a callsite.
    let cached = code
        .as_ref()
        .filter(|c| c.function && c.file && c.line)
        .map(|c| cache.get(c.code));
    let (status_code, status_message) = status_parts(s.status);
    let status_len = str_len(2, status_message) + varint_len(3, status_code);
    let flags = flags(s.flags, s.parent_is_remote);
    let kind = kind(s.kind);

    let mut len = bytes_len(span::TRACE_ID, &trace_id)
        + bytes_len(span::SPAN_ID, &span_id)
        + str_len(span::TRACE_STATE, trace_state)
        + parent.map_or(0, |p| bytes_len(span::PARENT_SPAN_ID, &p))
        + fixed32_len(span::FLAGS, flags)
        + str_len(span::NAME, s.name)
        + varint_len(span::KIND, kind)
        + fixed64_len(span::START, s.start_time_unix_nano)
        + fixed64_len(span::END, s.end_time_unix_nano)
        + varint_len(
            span::DROPPED_ATTRIBUTES,
            u64::from(s.dropped_attributes_count),
        )
        + varint_len(span::DROPPED_EVENTS, u64::from(s.dropped_events_count))
        + varint_len(span::DROPPED_LINKS, u64::from(s.dropped_links_count))
        + delimited_len(span::STATUS, status_len);
    for a in s.inline {
        len += delimited_len(span::ATTRIBUTES, key_value_len(a.key, &a.value));
    }
    if !s.attributes.is_empty() {
        len += key_values_len(span::ATTRIBUTES, s.attributes);
    }
    match (&cached, &code) {
        (Some(bytes), _) => len += bytes.len(),
        (None, Some(code)) => len += code.len(),
        (None, None) => {}
    }
    if !s.events.is_empty() || !s.links.is_empty() {
        len += events_and_links_len(s.events, s.links);
    }

    let whole = delimited_len(SCOPE_SPANS_SPANS, len);
    write_at_end(buf, whole, |o| {
        put_delimited_head(SCOPE_SPANS_SPANS, len, o);
        put_bytes(span::TRACE_ID, &trace_id, o);
        put_bytes(span::SPAN_ID, &span_id, o);
        put_str(span::TRACE_STATE, trace_state, o);
        if let Some(p) = &parent {
            put_bytes(span::PARENT_SPAN_ID, p, o);
        }
        put_str(span::NAME, s.name, o);
        put_varint(span::KIND, kind, o);
        put_fixed64(span::START, s.start_time_unix_nano, o);
        put_fixed64(span::END, s.end_time_unix_nano, o);
        for a in s.inline {
            put_key_value(span::ATTRIBUTES, a.key, &a.value, o);
        }
        put_key_values(span::ATTRIBUTES, s.attributes, o);
        match (cached, &code) {
            (Some(bytes), _) => o.bytes(bytes),
            (None, Some(code)) => code.put(o),
            (None, None) => {}
        }
        put_varint(
            span::DROPPED_ATTRIBUTES,
            u64::from(s.dropped_attributes_count),
            o,
        );
        if !s.events.is_empty() || !s.links.is_empty() {
            put_events_and_links(s, o);
        } else {
            put_varint(span::DROPPED_EVENTS, u64::from(s.dropped_events_count), o);
            put_varint(span::DROPPED_LINKS, u64::from(s.dropped_links_count), o);
        }
        put_delimited_head(span::STATUS, status_len, o);
        put_str(2, status_message, o);
        put_varint(3, status_code, o);
        put_fixed32(span::FLAGS, flags, o);
    });
}

// ---- Event, Link (rare) ----

/// `Event { 1: time, 2: name, 3: attributes, 4: dropped }`'s length.
fn event_len(e: &Event) -> usize {
    fixed64_len(1, e.time_unix_nano)
        + str_len(2, &e.name)
        + key_values_len(3, &e.attributes)
        + varint_len(4, u64::from(e.dropped_attributes_count))
}

/// `Link { 1: trace_id, 2: span_id, 3: trace_state, 4: attributes, 5: dropped, 6: flags }`'s
/// length, given its trace state's header.
fn link_len(l: &Link, trace_state: &str) -> usize {
    let cx = &l.span_context;
    bytes_len(1, &cx.trace_id().to_bytes())
        + bytes_len(2, &cx.span_id().to_bytes())
        + str_len(3, trace_state)
        + key_values_len(4, &l.attributes)
        + varint_len(5, u64::from(l.dropped_attributes_count))
        + fixed32_len(6, flags(cx.trace_flags(), cx.is_remote()))
}

#[cold]
fn events_and_links_len(events: &[Event], links: &[Link]) -> usize {
    let events: usize = events
        .iter()
        .map(|e| delimited_len(span::EVENTS, event_len(e)))
        .sum();
    let links: usize = links
        .iter()
        .map(|l| {
            let ts = trace_state_header(l.span_context.trace_state());
            delimited_len(span::LINKS, link_len(l, ts.as_deref().unwrap_or("")))
        })
        .sum();
    events + links
}

/// Events, dropped events, links, dropped links: in the order of `Span`'s fields.
#[cold]
fn put_events_and_links(s: &SpanView<'_>, o: &mut Out<'_>) {
    for e in s.events {
        put_delimited_head(span::EVENTS, event_len(e), o);
        put_fixed64(1, e.time_unix_nano, o);
        put_str(2, &e.name, o);
        put_key_values(3, &e.attributes, o);
        put_varint(4, u64::from(e.dropped_attributes_count), o);
    }
    put_varint(span::DROPPED_EVENTS, u64::from(s.dropped_events_count), o);
    for l in s.links {
        let cx = &l.span_context;
        let ts = trace_state_header(cx.trace_state());
        let ts = ts.as_deref().unwrap_or("");
        put_delimited_head(span::LINKS, link_len(l, ts), o);
        put_bytes(1, &cx.trace_id().to_bytes(), o);
        put_bytes(2, &cx.span_id().to_bytes(), o);
        put_str(3, ts, o);
        put_key_values(4, &l.attributes, o);
        put_varint(5, u64::from(l.dropped_attributes_count), o);
        put_fixed32(6, flags(cx.trace_flags(), cx.is_remote()), o);
    }
    put_varint(span::DROPPED_LINKS, u64::from(s.dropped_links_count), o);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
    use crate::export::otlp::to_request;
    use crate::model::SpanData;
    use crate::model::record::tests::record;
    use crate::model::record::{Record, Slot, Unscrubbed};
    use crate::model::{Key, ToValue};
    use crate::model::{SpanContext, SpanId, TraceId};
    use proptest::prelude::*;
    use prost::Message as _;
    use std::sync::atomic::AtomicBool;

    use crate::export::otlp::transform::tests::CODE;

    fn resource() -> Resource {
        let mut r = Resource::default();
        r.set("service.name", "checkout");
        r.set("service.instance.id", 7);
        r
    }

    fn rec(slot: &mut Slot) -> &mut Record {
        // SAFETY: made by `record`.
        unsafe { slot.assume_init_mut() }
    }

    /// The encoder's bytes, and prost's for the same spans as `SpanData`.
    fn both(batch: &mut SpanBatch) -> (Vec<u8>, Vec<u8>) {
        let ours = Encoder::new(&resource()).encode(batch).to_vec();
        let official = to_request(&batch.to_vec(), &resource()).encode_to_vec();
        (ours, official)
    }

    /// A record of a `#[traced]` function with two arguments, as the hot path makes it.
    fn function_span(id: u64) -> Slot {
        let mut slot = record("charge", id);
        let r = rec(&mut slot);
        r.kind = SpanKind::Client;
        r.code = Some(&CODE);
        r.parent_span_id = SpanId::from_u64(99);
        r.push_attribute_with("a", |out| Some(out.write(Value::I64(-5))));
        r.push_attribute_with("b", |out| Some(out.write("hello world".to_value())));
        slot
    }

    #[test]
    fn a_function_span_encodes_as_prost_encodes_the_official_message() {
        let mut batch = SpanBatch::new();
        for id in 1..=3 {
            batch.push(function_span(id));
        }
        let (ours, official) = both(&mut batch);
        assert_eq!(ours, official);
        let request = ExportTraceServiceRequest::decode(&ours[..]).unwrap();
        let spans = &request.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 3);
        assert_eq!(spans[0].name, "charge");
        assert_eq!(spans[0].attributes.len(), 5);
    }

    #[test]
    fn keys_are_the_bytes_prost_writes() {
        use WireType::*;
        for tag in 1..=20 {
            for wire_type in [Varint, SixtyFourBit, LengthDelimited, ThirtyTwoBit] {
                let (mut ours, mut prost) = (Vec::new(), Vec::new());
                let len = key_len(tag);
                write_at_end(&mut ours, len, |o| put_key(tag, wire_type, o));
                encode_key(tag, wire_type, &mut prost);
                assert_eq!(ours, prost, "tag {tag} {wire_type:?}");
            }
        }
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let (mut ours, mut prost) = (Vec::new(), Vec::new());
            write_at_end(&mut ours, encoded_len_varint(v), |o| put_varint_raw(v, o));
            encode_varint(v, &mut prost);
            assert_eq!(ours, prost, "{v}");
        }
    }

    #[test]
    fn a_function_span_takes_the_plain_path_and_a_rare_part_does_not() {
        let mut slot = function_span(1);
        let mut cache = CodeCache::default();
        let mut buf = Vec::new();
        assert!(plain::encode(
            &mut Unscrubbed::new(rec(&mut slot), &AtomicBool::new(false)),
            &mut cache,
            &mut buf
        ));
        assert!(!buf.is_empty());
        rec(&mut slot).set_status(Status::Ok);
        let mut other = Vec::new();
        assert!(!plain::encode(
            &mut Unscrubbed::new(rec(&mut slot), &AtomicBool::new(false)),
            &mut cache,
            &mut other
        ));
        assert!(
            other.is_empty(),
            "nothing written when the plain path declines"
        );
        SpanBatch::one(slot).clear();
    }

    /// The plain path reads records before they are scrubbed: a marked URL with a password
    /// still leaves scrubbed, in both encoders' entry points, and the others stay plain.
    #[test]
    fn a_marked_url_password_never_reaches_the_bytes() {
        const URL: &str = "postgres://app:hunter2@db:5432/orders";
        let span = |url: &str| {
            let mut slot = function_span(1);
            let url = url.to_owned();
            rec(&mut slot)
                .push_attribute_marked("dsn", true, |out| Some(out.write(url.to_value())));
            slot
        };
        let leaks = |bytes: &[u8]| bytes.windows(7).any(|w| w == b"hunter2");
        let mut slot = span(URL);
        assert!(!plain::encode(
            &mut Unscrubbed::new(rec(&mut slot), &AtomicBool::new(false)),
            &mut CodeCache::default(),
            &mut Vec::new()
        ));
        let (ours, official) = both(&mut SpanBatch::one(slot));
        assert_eq!(ours, official);
        assert!(!leaks(&ours) && ours.windows(10).any(|w| w == b"[REDACTED]"));
        let mut encoder = Encoder::new(&resource());
        assert_eq!(encoder.encode_spans(&mut SpanBatch::one(span(URL))), 1);
        let mut out = Vec::new();
        encoder.request(0..1, &mut out);
        assert!(!leaks(&out));
        // An `@` with no password: a short text takes the plain path, a longer one the
        // general path (the check looks for an `@` only), both left as they are.
        for kept in ["user@example.com", "a@b"] {
            let mut slot = span(kept);
            assert!(
                plain::encode(
                    &mut Unscrubbed::new(rec(&mut slot), &AtomicBool::new(false)),
                    &mut CodeCache::default(),
                    &mut Vec::new()
                ) == (kept.len() < 9)
            );
            let (ours, official) = both(&mut SpanBatch::one(slot));
            assert_eq!(ours, official);
        }
    }

    #[test]
    fn plain_spans_of_every_head_size_encode_as_prost_encodes_them() {
        // Spans under 128 bytes (a one-byte length), the usual (two), past 16 383 (three)
        // and past 2 097 151 (four): the plain path moves each next to its head. A long
        // name makes the long spans (attributes that long take the general path, below).
        for text in [0, 10, 20_000, 2_200_000] {
            let name: &'static str = Box::leak("x".repeat(text.max(1)).into_boxed_str());
            let mut slot = record(name, 1);
            rec(&mut slot).push_attribute_with("t", |out| Some(out.write(7_i64.to_value())));
            assert!(plain::encode(
                &mut Unscrubbed::new(rec(&mut slot), &AtomicBool::new(false)),
                &mut CodeCache::default(),
                &mut Vec::new()
            ));
            let (ours, official) = both(&mut SpanBatch::one(slot));
            assert_eq!(ours, official, "{text}");
        }
    }

    #[test]
    fn attributes_past_the_plain_room_take_the_general_path_to_the_same_bytes() {
        // Up to `ATTRS_ROOM` (heads included) the plain path writes them; one byte more and
        // it declines, having moved nothing, and the general path writes the same message.
        let key = "t";
        let fits = plain::ATTRS_ROOM - plain::attr_room(key, 0);
        for (text, plain) in [(fits, true), (fits + 1, false), (2_200_000, false)] {
            let mut slot = record("s", 1);
            let value = "x".repeat(text);
            rec(&mut slot).push_attribute_with(key, |out| Some(out.write(value.to_value())));
            let mut buf = vec![1, 2, 3];
            assert_eq!(
                plain::encode(
                    &mut Unscrubbed::new(rec(&mut slot), &AtomicBool::new(false)),
                    &mut CodeCache::default(),
                    &mut buf
                ),
                plain,
                "{text}"
            );
            if !plain {
                assert_eq!(buf, [1, 2, 3]);
            }
            let (ours, official) = both(&mut SpanBatch::one(slot));
            assert_eq!(ours, official, "{text}");
        }
    }

    #[test]
    fn an_empty_batch_is_an_empty_request() {
        let mut encoder = Encoder::new(&resource());
        assert!(encoder.encode(&mut SpanBatch::new()).is_empty());
        assert_eq!(
            to_request(&[], &resource()).encode_to_vec(),
            Vec::<u8>::new()
        );
    }

    #[test]
    fn the_rare_parts_encode_as_prost_encodes_them() {
        let mut slot = function_span(1);
        let r = rec(&mut slot);
        r.bits |= crate::model::record::bits::PARENT_REMOTE;
        r.set_attribute(KeyValue::new(String::from("owned.key"), 1.5));
        r.set_attribute(KeyValue::new("code.file.path", "overridden.rs"));
        r.set_attribute(KeyValue::new("list", vec!["x", "", "ü"]));
        r.set_attribute(KeyValue::new("ints", vec![0_i64, -1, i64::MAX]));
        r.set_attribute(KeyValue::new("floats", vec![0.0, -2.5]));
        r.set_attribute(KeyValue::new("bools", vec![true, false]));
        r.set_attribute(KeyValue::new("empty", ""));
        r.set_attribute(KeyValue::new("zero", 0));
        r.set_attribute(KeyValue::new("no", false));
        r.record_exception("Declined", "card declined".to_owned());
        r.add_link(Link::new(
            SpanContext::new(
                TraceId::from_u128(5),
                SpanId::from_u64(6),
                crate::model::TraceFlags::SAMPLED,
                true,
                TraceState::from_entries([("k".to_owned(), "v".to_owned())]),
            ),
            vec![KeyValue::new("link.kind", "follows")],
        ));
        let cold = r.cold();
        cold.trace_state = TraceState::from_entries([("vendor".to_owned(), "x".to_owned())]);
        cold.name = Some("renamed".into());
        cold.dropped_attributes_count = 3;
        cold.dropped_events_count = 1;
        cold.dropped_links_count = 2;
        cold.start_unix_nanos = Some(1);
        let mut batch = SpanBatch::one(slot);
        let (ours, official) = both(&mut batch);
        assert_eq!(ours, official);
    }

    #[test]
    fn spans_given_as_span_data_encode_too() {
        let mut data = SpanData::new(SpanContext::NONE, "");
        data.status = Status::Ok;
        let mut batch = SpanBatch::from(vec![data, SpanData::new(SpanContext::NONE, "b")]);
        let (ours, official) = both(&mut batch);
        assert_eq!(ours, official);
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::I64),
            any::<f64>().prop_map(Value::F64),
            ".{0,40}".prop_map(|s| s.as_str().to_value()),
            proptest::collection::vec(any::<i64>(), 0..4).prop_map(|v| v.to_value()),
            proptest::collection::vec(".{0,5}", 0..4).prop_map(|v| v
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .to_value()),
        ]
    }

    fn key_values() -> impl Strategy<Value = Vec<(String, Value)>> {
        proptest::collection::vec(("[a-z.]{0,12}", value()), 0..6)
    }

    const KEYS: [&str; 6] = ["a", "b", "code.line.number", "c", "", "d"];

    prop_compose! {
        fn span()(
            name in ".{0,20}",
            kind in 0..5_u8,
            parent in any::<u64>(),
            remote in any::<bool>(),
            sampled in any::<bool>(),
            inline in proptest::collection::vec(value(), 0..6),
            extra in key_values(),
            events in proptest::collection::vec((".{0,8}", any::<u64>(), key_values()), 0..3),
            link in proptest::option::of((any::<u128>(), any::<u64>(), key_values())),
            status in 0..3_u8,
            code in any::<bool>(),
            times in proptest::option::of((any::<u64>(), any::<u64>())),
        ) -> Slot {
            let mut slot = record("s", 1);
            let r = rec(&mut slot);
            r.kind = [SpanKind::Internal, SpanKind::Server, SpanKind::Client, SpanKind::Producer, SpanKind::Consumer][usize::from(kind)];
            r.parent_span_id = SpanId::from_u64(parent);
            if remote {
                r.bits |= crate::model::record::bits::PARENT_REMOTE;
            }
            r.flags = crate::model::TraceFlags::default().with_sampled(sampled);
            for (key, v) in KEYS.iter().zip(inline) {
                r.push_attribute_with(key, |out| Some(out.write(v)));
            }
            for (k, v) in extra {
                r.set_attribute(KeyValue { key: Key::Owned(k), value: v });
            }
            for (name, time, attributes) in events {
                let mut e = Event::new(name, attributes.into_iter().map(|(k, v)| KeyValue { key: Key::Owned(k), value: v }).collect());
                e.time_unix_nano = time;
                r.add_event(e);
            }
            if let Some((t, s, attributes)) = link {
                r.add_link(Link::new(
                    SpanContext::new(TraceId::from_u128(t), SpanId::from_u64(s), crate::model::TraceFlags::SAMPLED, remote, TraceState::NONE),
                    attributes.into_iter().map(|(k, v)| KeyValue { key: Key::Owned(k), value: v }).collect(),
                ));
            }
            match status {
                1 => r.set_status(Status::Ok),
                2 => r.set_status(Status::error(name.clone())),
                _ => {}
            }
            if code {
                r.code = Some(&CODE);
            }
            if !name.is_empty() {
                r.cold().name = Some(name.into());
            }
            if let Some((start, end)) = times {
                r.cold().start_unix_nanos = Some(start);
                r.cold().end_unix_nanos = Some(end);
            }
            slot
        }
    }

    /// Names of every length class: one byte, short, past 16 bytes (a `memcpy`), past 127
    /// (a two-byte length).
    const NAMES: [&str; 4] = [
        "s",
        "charge",
        "charge-payment-with-card",
        "a name long enough that its length takes two bytes as a varint, which no name shorter than one hundred and twenty-eight bytes does",
    ];

    prop_compose! {
        /// Records as the hot path makes them, with nothing rare, unless an inline value is
        /// an array or a key is empty or `code.*`, or the strings are long enough to pass the
        /// plain path's room (it declines those).
        fn plain_span()(
            name in 0..NAMES.len(),
            kind in 0..5_u8,
            parent in proptest::option::of(1..=u64::MAX),
            trace in 1..=u128::MAX,
            span in 1..=u64::MAX,
            remote in any::<bool>(),
            sampled in any::<bool>(),
            inline in proptest::collection::vec((0..KEYS.len(), prop_oneof![
                4 => value(),
                1 => ".{100,300}".prop_map(|s| s.as_str().to_value()),
                1 => "[a-z]{1500,3000}".prop_map(|s| s.as_str().to_value()),
                // Left to scrub when marked: URLs with a password (scrubbed), `@`s elsewhere
                // (kept), around the two-word and the looped checks' lengths.
                2 => ("[a-z@:/]{0,6}", prop_oneof!["", "a://b:c@d", "postgres://app:hunter2@db:5432/orders"], "[a-z@]{0,30}")
                    .prop_map(|(a, b, c)| format!("{a}{b}{c}").as_str().to_value()),
            ], any::<bool>()), 0..=INLINE),
            code in any::<bool>(),
        ) -> Slot {
            let mut slot = record(NAMES[name], span);
            let r = rec(&mut slot);
            r.trace_id = TraceId::from_u128(trace);
            r.kind = [SpanKind::Internal, SpanKind::Server, SpanKind::Client, SpanKind::Producer, SpanKind::Consumer][usize::from(kind)];
            r.parent_span_id = parent.map_or(SpanId::INVALID, SpanId::from_u64);
            if remote {
                r.bits |= crate::model::record::bits::PARENT_REMOTE;
            }
            r.flags = crate::model::TraceFlags::default().with_sampled(sampled);
            for (key, v, marked) in inline {
                r.push_attribute_marked(KEYS[key], marked, |out| Some(out.write(v)));
            }
            if code {
                r.code = Some(&CODE);
            }
            slot
        }
    }

    const INLINE: usize = crate::model::record::INLINE_ATTRS;

    static SHOP: InstrumentationScope = InstrumentationScope::new("shop", "1.0.0");
    static LIB: InstrumentationScope = InstrumentationScope::new("lib", "");
    /// Equal to `SHOP`, another static: the same scope.
    static SHOP_AGAIN: InstrumentationScope = InstrumentationScope::new("shop", "1.0.0");

    /// Records of four scopes, interleaved, and spans given as `SpanData` after them.
    fn scoped_batch() -> SpanBatch {
        let scopes = [&SHOP, &LIB, &SHOP_AGAIN, InstrumentationScope::TRACED, &LIB];
        let mut batch = SpanBatch::new();
        for (i, scope) in scopes.into_iter().enumerate() {
            let mut slot = function_span(i as u64 + 1);
            rec(&mut slot).scope = scope;
            batch.push(slot);
        }
        let mut data = Vec::new();
        for (i, scope) in [&LIB, InstrumentationScope::TRACED].into_iter().enumerate() {
            data.push(SpanData {
                scope,
                ..SpanData::new(SpanContext::NONE, format!("data-{i}"))
            });
        }
        batch.append(&mut SpanBatch::from(data));
        batch
    }

    #[test]
    fn spans_of_several_scopes_encode_as_prost_encodes_the_official_message() {
        let mut batch = scoped_batch();
        let (ours, official) = both(&mut batch);
        assert_eq!(ours, official);
        let request = ExportTraceServiceRequest::decode(&ours[..]).unwrap();
        let got: Vec<(&str, usize)> = request.resource_spans[0]
            .scope_spans
            .iter()
            .map(|ss| (ss.scope.as_ref().unwrap().name.as_str(), ss.spans.len()))
            .collect();
        assert_eq!(got, [("shop", 2), ("lib", 3), ("traced", 2)]);
    }

    #[test]
    fn every_run_of_split_spans_is_the_official_request_of_that_run() {
        let mut batch = scoped_batch();
        let mut encoder = Encoder::new(&resource());
        let n = encoder.encode_spans(&mut batch);
        let all = batch.to_vec();
        assert_eq!(n, all.len());
        let mut out = Vec::new();
        for start in 0..n {
            let mut size = RequestSize::default();
            for end in start + 1..=n {
                size.add(&encoder, end - 1);
                encoder.request(start..end, &mut out);
                let official = to_request(&all[start..end], &resource()).encode_to_vec();
                assert_eq!(out, official, "{start}..{end}");
                assert_eq!(size.len(&encoder), out.len(), "{start}..{end}");
            }
        }
    }

    fn batch_of(spans: Vec<Slot>) -> SpanBatch {
        let mut batch = SpanBatch::new();
        for s in spans {
            batch.push(s);
        }
        batch
    }

    proptest! {
        #[test]
        fn plain_records_encode_as_prost_encodes_the_official_message(
            spans in proptest::collection::vec(plain_span(), 1..5)
        ) {
            let mut batch = batch_of(spans);
            // The plain path is taken unless the record has an array, an empty key, or a
            // `code.*` key beside a location.
            let mut cache = CodeCache::default();
            for mut r in batch.records_unscrubbed() {
                let rec = r.peek();
                let pending = rec.pending();
                let room: usize = rec
                    .inline()
                    .iter()
                    .map(|a| plain::attr_room(a.key, a.value.as_str().map_or(0, str::len)))
                    .sum();
                let declines = room > plain::ATTRS_ROOM
                    || rec.inline().iter().enumerate().any(|(i, a)| {
                        a.key.is_empty()
                            || matches!(a.value, Value::Array(_))
                            || (rec.code.is_some() && a.key.starts_with("code."))
                            || (pending & (1 << i) != 0
                                && a.value.as_str().is_some_and(|s| s.len() >= 9 && s.contains('@')))
                    });
                prop_assert_eq!(plain::encode(&mut r, &mut cache, &mut Vec::new()), !declines);
            }
            let (ours, official) = both(&mut batch);
            prop_assert_eq!(ours, official);
        }

        #[test]
        fn spans_of_scopes_in_any_order_encode_as_prost_encodes_the_official_message(
            spans in proptest::collection::vec((plain_span(), 0..4_usize), 1..12),
            data in proptest::collection::vec(0..4_usize, 0..3),
        ) {
            let scopes = [&SHOP, &LIB, &SHOP_AGAIN, InstrumentationScope::TRACED];
            let mut batch = SpanBatch::new();
            for (mut slot, scope) in spans {
                rec(&mut slot).scope = scopes[scope];
                batch.push(slot);
            }
            let data: Vec<SpanData> = data
                .into_iter()
                .map(|scope| SpanData {
                    scope: scopes[scope],
                    ..SpanData::new(SpanContext::NONE, "data")
                })
                .collect();
            batch.append(&mut SpanBatch::from(data));
            // An encoder that has encoded a batch of several scopes before: what it keeps
            // from one batch must not leak into the next.
            let mut encoder = Encoder::new(&resource());
            encoder.encode(&mut scoped_batch());
            let ours = encoder.encode(&mut batch).to_vec();
            let official = to_request(&batch.to_vec(), &resource()).encode_to_vec();
            prop_assert_eq!(ours, official);
        }

        #[test]
        fn any_batch_encodes_as_prost_encodes_the_official_message(
            spans in proptest::collection::vec(span(), 0..5)
        ) {
            let (ours, official) = both(&mut batch_of(spans));
            prop_assert_eq!(ours, official);
        }
    }
}
