//! The common span, written straight from its record: ids, a static name, a kind, two clock
//! readings, inline attributes holding numbers or strings, and a `code.*` location, with
//! nothing rarer (no [`Cold`](crate::model::record::Cold) part). That is the span of almost every
//! `#[traced]` call, so this path is the encoder's cost per span.
//!
//! It reads the record in place (no [`SpanView`](crate::model::record::SpanView) is built) and
//! writes every field in one pass, through a raw pointer kept in a register: fixed-size
//! stores for ids, times and keys, and short copies done inline rather than through `memcpy`.
//! The span's own length, known only at the end, goes into three bytes kept in front (the
//! usual span is 128 to 16 383 bytes; another moves by a byte or more once written), rather
//! than being computed first in a pass of its own. The room it writes into is reserved up
//! front: the fixed parts by construction (every varint ≤ 10 bytes), the attributes up to
//! [`ATTRS_ROOM`], each checked against what is left of it as it is written; so no length
//! can make it write out of bounds, and a span with more than that takes the general path.
//! The checks that send a span there are made where each attribute is written, not in a pass
//! of their own: one that fails returns before the buffer's length moves. The bytes are those
//! of the general path and of prost (tests compare them).
//!
//! The record is read before it is scrubbed ([`Unscrubbed`]): as it writes a string still to
//! scrub, it checks that the scrub would leave it as it is (no `@` in it, within the length
//! limit, [`scrub_keeps_str`]), so the usual argument costs a look at two words rather than a
//! pass of its own; a record with one the scrub would change takes the general path,
//! scrubbed first. It writes nothing into the record: a line the
//! worker wrote would have to come back from its core before the thread that ended the span
//! could write its next span into the same box.

use super::{CodeCache, SCOPE_SPANS_SPANS, TAIL, any, flags, kind, span};
use crate::model::Value;
use crate::model::clock;
use crate::model::record::{Attr, Unscrubbed, scrub_keeps_str};
use prost::encoding::{WireType, encoded_len_varint};
use std::ptr;

/// A one-byte key (field numbers below 16).
const fn key(tag: u32, wire_type: WireType) -> u8 {
    ((tag << 3) | wire_type as u32) as u8
}

/// The length of a length-delimited field with a one-byte key holding `len` bytes.
#[inline(always)]
fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// `encoded_len_varint`, with one comparison for a value below 128 (most lengths here).
#[inline(always)]
fn varint_len(v: u64) -> usize {
    if v < 0x80 { 1 } else { encoded_len_varint(v) }
}

/// The most bytes a field with a one-byte key and a varint length takes besides its content.
const FIELD_HEAD_MAX: usize = 11;

/// Room kept in front of a span for its key and length: one byte of key and two of length,
/// what a span of 128 to 16 383 bytes takes (a shorter one moves its bytes one to the left,
/// a longer one to the right).
const HEAD_ROOM: usize = 3;

/// Room kept for a span's inline attributes: each takes at most `4 * FIELD_HEAD_MAX` bytes
/// besides its key and a string's bytes. A span whose attributes need more (eight of some
/// 200 bytes each, or one string of 2 KB) takes the general path, whose bytes are the same.
/// Every buffer the encoder writes spans into keeps this much spare (one per scope in a
/// batch, up to the encoder's limit on scopes), so it stays small.
pub(super) const ATTRS_ROOM: usize = 2048;

/// What an inline attribute may take of [`ATTRS_ROOM`]: its key and `text` (a string's
/// bytes, 0 for a number), and four heads (`KeyValue`, key, value, `AnyValue`'s own key and
/// varint or 8 bytes or length).
#[inline(always)]
pub(super) const fn attr_room(key: &str, text: usize) -> usize {
    4 * FIELD_HEAD_MAX + key.len() + text
}

/// Encodes `record` as an element of `ScopeSpans.spans` at the end of `buf`, if it is plain
/// (see the module documentation); otherwise returns `false` and leaves `buf` as it was.
///
/// One pass: each inline attribute is checked where it is written, into room reserved for
/// the span's fixed parts and [`ATTRS_ROOM`]. A check that fails returns before `buf`'s
/// length moves, so what was written past it is not part of `buf`.
#[inline]
pub(super) fn encode(
    record: &mut Unscrubbed<'_>,
    cache: &mut CodeCache,
    buf: &mut Vec<u8>,
) -> bool {
    // Read unscrubbed: each string still to scrub is checked below (module documentation).
    let r = record.peek();
    if r.cold.is_some() || r.name.is_empty() {
        return false;
    }
    let (start, end) = clock::to_unix_nanos_pair(r.start, r.end);
    if start == 0 || end == 0 {
        return false;
    }
    let inline = r.inline();
    let pending = r.pending();
    let max_len = if pending == 0 {
        None
    } else {
        r.pipeline.limits().max_attribute_value_length
    };
    let code: &[u8] = match r.code {
        Some(c) => cache.get(c),
        None => &[],
    };
    let parent = r.parent_span_id.is_valid();
    // The span's own head may need up to `FIELD_HEAD_MAX` bytes, of which `HEAD_ROOM` are
    // kept in front: the rest is room to move the span to the right.
    let bound = FIELD_HEAD_MAX
        + 38
        + FIELD_HEAD_MAX
        + r.name.len()
        + 2
        + 18
        + ATTRS_ROOM
        + code.len()
        + TAIL.len();
    buf.reserve(bound);
    // SAFETY: `bound` bytes are reserved past the end of `buf`. The span's fields are
    // written from `HEAD_ROOM` bytes in, and every write stays within its term of `bound`
    // (heads ≤ FIELD_HEAD_MAX, fixed parts as counted, copies of exactly their source, and
    // the attributes within `ATTRS_ROOM`, each checked against what is left of it before it
    // is written), so the fields end at most `bound - (FIELD_HEAD_MAX - HEAD_ROOM)` bytes
    // in: the span then moves by at most `FIELD_HEAD_MAX - HEAD_ROOM` bytes either way and
    // stays inside. The first `whole` bytes are initialized, front to back.
    unsafe {
        let base = buf.as_mut_ptr().add(buf.len());
        let fields = base.add(HEAD_ROOM);
        let mut p = fields;
        p = put_byte(p, key(span::TRACE_ID, WireType::LengthDelimited));
        p = put_byte(p, 16);
        p = put_array(p, r.trace_id.to_bytes());
        p = put_byte(p, key(span::SPAN_ID, WireType::LengthDelimited));
        p = put_byte(p, 8);
        p = put_array(p, r.span_id.to_bytes());
        if parent {
            p = put_byte(p, key(span::PARENT_SPAN_ID, WireType::LengthDelimited));
            p = put_byte(p, 8);
            p = put_array(p, r.parent_span_id.to_bytes());
        }
        p = put_byte(p, key(span::NAME, WireType::LengthDelimited));
        p = put_varint(p, r.name.len() as u64);
        p = put_slice(p, r.name.as_bytes());
        p = put_byte(p, key(span::KIND, WireType::Varint));
        p = put_byte(p, kind(r.kind) as u8);
        p = put_byte(p, key(span::START, WireType::SixtyFourBit));
        p = put_array(p, start.to_le_bytes());
        p = put_byte(p, key(span::END, WireType::SixtyFourBit));
        p = put_array(p, end.to_le_bytes());
        let mut room = ATTRS_ROOM;
        for (i, a) in inline.iter().enumerate() {
            let to_scrub = pending & (1 << i) != 0;
            match put_attribute(p, a, r.code.is_some(), to_scrub, max_len, &mut room) {
                Some(next) => p = next,
                None => return false,
            }
        }
        p = put_slice(p, code);
        let mut tail = TAIL;
        tail[4..].copy_from_slice(
            &flags(
                r.flags,
                r.bits & crate::model::record::bits::PARENT_REMOTE != 0,
            )
            .to_le_bytes(),
        );
        p = put_array(p, tail);
        let len = p.offset_from(fields) as usize;
        let head = put_span_head(base, len);
        let whole = head + len;
        assert!(whole <= bound, "a plain span past its bound");
        buf.set_len(buf.len() + whole);
    }
    true
}

/// Writes the head of a span whose `len` bytes of fields were written `HEAD_ROOM` bytes past
/// `base`, moving them next to it unless it takes `HEAD_ROOM` bytes; returns its length.
///
/// # Safety
/// `base` must be valid for `FIELD_HEAD_MAX + len` bytes of writes, and the first
/// `HEAD_ROOM + len` initialized.
#[inline(always)]
unsafe fn put_span_head(base: *mut u8, len: usize) -> usize {
    // SAFETY: the caller's: the head takes at most `FIELD_HEAD_MAX` bytes, the fields
    // `len` after it.
    unsafe {
        if (0x80..0x4000).contains(&len) {
            // The usual span: its two-byte length fills the room kept, written directly.
            put_array(
                base,
                [
                    key(SCOPE_SPANS_SPANS, WireType::LengthDelimited),
                    len as u8 | 0x80,
                    (len >> 7) as u8,
                ],
            );
            return HEAD_ROOM;
        }
        // Below 128 bytes or past 16 383: the fields move next to their head.
        let head = 1 + encoded_len_varint(len as u64);
        ptr::copy(base.add(HEAD_ROOM), base.add(head), len);
        let mut h = put_byte(base, key(SCOPE_SPANS_SPANS, WireType::LengthDelimited));
        h = put_varint(h, len as u64);
        debug_assert_eq!(h, base.add(head));
        head
    }
}

/// Writes an inline attribute as a `Span.attributes` field, `KeyValue { 1: key, 2: value }`,
/// if the plain path can: returns the next position, or `None` (having written nothing
/// that counts) for an empty key, a `code.*` key beside a location (`code`), an array, a
/// string that the scrub would change (`to_scrub`: the attribute is still to scrub, with
/// `max_len` the length limit; see [`scrub_keeps_str`]), or more than what is left of
/// `room`, which it takes its share of. One match on the value, whose arm checks, computes
/// the lengths and writes: each length is known before the bytes it covers (a check before
/// the match, on the value's kind, cost 14 instructions a span more: 507 against 493).
///
/// # Safety
/// `p` must be valid for `room` bytes of writes.
#[inline(always)]
unsafe fn put_attribute(
    p: *mut u8,
    a: &Attr,
    code: bool,
    to_scrub: bool,
    max_len: Option<u32>,
    room: &mut usize,
) -> Option<*mut u8> {
    if a.key.is_empty() || (code && a.key.starts_with("code.")) {
        return None;
    }
    let name = a.key.as_bytes();
    let key_field = field_len(name.len());
    // Takes the attribute's bound from `room`, or `None` where it does not fit.
    let mut take = |text: usize| {
        *room = room.checked_sub(attr_room(a.key, text))?;
        Some(())
    };
    // SAFETY: the caller's; each arm takes its bound from `room` first. `put_key_value`
    // writes the field's head, the key and the `AnyValue` head, and the arm then its
    // content.
    unsafe {
        match &a.value {
            Value::I64(v) => {
                take(0)?;
                let v = *v as u64;
                let p = put_key_value(p, name, key_field, 1 + varint_len(v));
                let p = put_byte(p, key(any::INT, WireType::Varint));
                Some(put_varint(p, v))
            }
            Value::String(s) => {
                // Numbers are final as written; a string still to scrub is checked here.
                let s = s.as_str().as_bytes();
                if to_scrub && !scrub_keeps_str(s, max_len) {
                    return None;
                }
                take(s.len())?;
                let p = put_key_value(p, name, key_field, field_len(s.len()));
                let p = put_byte(p, key(any::STRING, WireType::LengthDelimited));
                let p = put_varint(p, s.len() as u64);
                Some(put_slice(p, s))
            }
            Value::Bool(v) => {
                take(0)?;
                let p = put_key_value(p, name, key_field, 2);
                let p = put_byte(p, key(any::BOOL, WireType::Varint));
                Some(put_byte(p, u8::from(*v)))
            }
            Value::F64(v) => {
                take(0)?;
                let p = put_key_value(p, name, key_field, 9);
                let p = put_byte(p, key(any::DOUBLE, WireType::SixtyFourBit));
                Some(put_array(p, v.to_bits().to_le_bytes()))
            }
            Value::Array(_) => None,
        }
    }
}

/// Writes the head of a `Span.attributes` field up to its `AnyValue`'s content: the
/// `KeyValue`'s key and length, its key field (`key_field` bytes whole), and the head of its
/// value field, whose content (`value_len` bytes) comes next.
///
/// # Safety
/// `p` must be valid for `3 * FIELD_HEAD_MAX + name.len()` bytes of writes.
#[inline(always)]
unsafe fn put_key_value(
    mut p: *mut u8,
    name: &[u8],
    key_field: usize,
    value_len: usize,
) -> *mut u8 {
    // SAFETY: the caller's: three heads and the key.
    unsafe {
        p = put_byte(p, key(span::ATTRIBUTES, WireType::LengthDelimited));
        p = put_varint(p, (key_field + field_len(value_len)) as u64);
        p = put_byte(p, key(1, WireType::LengthDelimited));
        p = put_varint(p, name.len() as u64);
        p = put_slice(p, name);
        p = put_byte(p, key(2, WireType::LengthDelimited));
        put_varint(p, value_len as u64)
    }
}

/// Writes `b` at `p`; returns the next position.
///
/// # Safety
/// `p` must be valid for one byte of writes.
#[inline(always)]
unsafe fn put_byte(p: *mut u8, b: u8) -> *mut u8 {
    // SAFETY: the caller's.
    unsafe {
        p.write(b);
        p.add(1)
    }
}

/// Writes `bytes` at `p`: a fixed-size copy, done with plain stores.
///
/// # Safety
/// `p` must be valid for `N` bytes of writes.
#[inline(always)]
unsafe fn put_array<const N: usize>(p: *mut u8, bytes: [u8; N]) -> *mut u8 {
    // SAFETY: the caller's; an array may be written unaligned.
    unsafe {
        p.cast::<[u8; N]>().write_unaligned(bytes);
        p.add(N)
    }
}

/// Writes `v` as a protobuf varint (the bytes prost's `encode_varint` writes).
///
/// # Safety
/// `p` must be valid for `encoded_len_varint(v)` bytes of writes (at most 10).
#[inline(always)]
unsafe fn put_varint(mut p: *mut u8, mut v: u64) -> *mut u8 {
    // SAFETY: the caller's; one byte per 7 bits of `v`.
    unsafe {
        while v >= 0x80 {
            p = put_byte(p, (v as u8) | 0x80);
            v >>= 7;
        }
        put_byte(p, v as u8)
    }
}

/// Copies `src` to `p`. Keys, names and short strings (up to 16 bytes) take two overlapping
/// unaligned loads and stores, with no call; longer ones go through `memcpy`.
///
/// # Safety
/// `p` must be valid for `src.len()` bytes of writes, and not overlap `src`.
#[inline(always)]
unsafe fn put_slice(p: *mut u8, src: &[u8]) -> *mut u8 {
    let n = src.len();
    let s = src.as_ptr();
    // SAFETY: each load reads inside `src` and each store writes inside `p..p + n` (the two
    // halves overlap when `n` is not twice the width).
    unsafe {
        if n > 16 {
            ptr::copy_nonoverlapping(s, p, n);
        } else if n >= 8 {
            let head = s.cast::<u64>().read_unaligned();
            let tail = s.add(n - 8).cast::<u64>().read_unaligned();
            p.cast::<u64>().write_unaligned(head);
            p.add(n - 8).cast::<u64>().write_unaligned(tail);
        } else if n >= 4 {
            let head = s.cast::<u32>().read_unaligned();
            let tail = s.add(n - 4).cast::<u32>().read_unaligned();
            p.cast::<u32>().write_unaligned(head);
            p.add(n - 4).cast::<u32>().write_unaligned(tail);
        } else if n > 0 {
            *p = *s;
            *p.add(n / 2) = *s.add(n / 2);
            *p.add(n - 1) = *s.add(n - 1);
        }
        p.add(n)
    }
}
