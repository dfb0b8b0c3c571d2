//! The `traceparent` header: `version-traceid-parentid-flags`.

use super::PropagationError;
use crate::model::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

/// Length of a version `00` header, and of the prefix read from later versions.
const V00_LEN: usize = 55;
/// The flag bits this implementation knows (level 2: sampled and random); the others are
/// reserved, and the recommendation has vendors send them as zero.
const KNOWN_FLAGS: u8 = TraceFlags::SAMPLED.to_u8() | TraceFlags::RANDOM.to_u8();

/// Parses a `traceparent` header value into a remote span context with an empty trace
/// state.
///
/// Version `00` must be exactly 55 characters, `00-<32 hex>-<16 hex>-<2 hex>`, all hex
/// lowercase. A later version (`01` to `fe`) is read by the version `00` rules over its
/// first 55 characters, which must be followed by the end or by `-`; what follows is not
/// interpreted. Version `ff` and all-zero trace or parent ids are invalid.
///
/// The flags byte is kept whole: the sampled bit, the level 2 random bit, and bits not yet
/// defined (which [`format_traceparent`] does not send on).
///
/// The value is taken as is: strip surrounding `OWS` first if the carrier keeps it
/// ([`TraceContextPropagator`](super::TraceContextPropagator) does).
///
/// ```
/// use traced_runtime::propagation::parse_traceparent;
/// use traced_runtime::model::TraceFlags;
///
/// let cx = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")?;
/// assert_eq!(cx.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(cx.span_id().to_string(), "00f067aa0ba902b7");
/// assert_eq!(cx.trace_flags(), TraceFlags::new(0x03));
/// assert!(cx.is_remote());
///
/// // A future version with an extra field.
/// assert!(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").is_ok());
/// // Uppercase hex, version ff, an all-zero id.
/// assert!(parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").is_err());
/// assert!(parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").is_err());
/// assert!(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01").is_err());
/// # Ok::<(), traced_runtime::propagation::PropagationError>(())
/// ```
pub fn parse_traceparent(value: &str) -> Result<SpanContext, PropagationError> {
    const ERR: PropagationError = PropagationError::InvalidTraceParent;
    let (head, rest) = value.as_bytes().split_first_chunk::<V00_LEN>().ok_or(ERR)?;
    let version = hex_u8(head[0], head[1]).ok_or(ERR)?;
    let well_terminated = match version {
        0xff => false,
        0x00 => rest.is_empty(),
        _ => rest.first().is_none_or(|&b| b == b'-'),
    };
    if !well_terminated || head[2] != b'-' || head[35] != b'-' || head[52] != b'-' {
        return Err(ERR);
    }
    let (high, low) = (hex_u64(&head[3..19]), hex_u64(&head[19..35]));
    let trace_id = high
        .zip(low)
        .map(|(high, low)| TraceId::from_u128((u128::from(high) << 64) | u128::from(low)))
        .ok_or(ERR)?;
    let span_id = hex_u64(&head[36..52]).map(SpanId::from_u64).ok_or(ERR)?;
    let flags = hex_u8(head[53], head[54]).map(TraceFlags::new).ok_or(ERR)?;
    if !trace_id.is_valid() || !span_id.is_valid() {
        return Err(ERR);
    }
    Ok(SpanContext::new(
        trace_id,
        span_id,
        flags,
        true,
        TraceState::NONE,
    ))
}

/// Formats the `traceparent` value of a span context: always version `00`, lowercase.
///
/// The sampled and random flags are written; flag bits not yet defined are cleared, as the
/// recommendation requires. The context is not checked for validity:
/// [`TraceContextPropagator::inject`](super::TraceContextPropagator::inject) only formats
/// valid ones.
///
/// ```
/// use traced_runtime::propagation::format_traceparent;
/// use traced_runtime::{SpanContext, SpanId, TraceId};
/// use traced_runtime::model::{TraceFlags, TraceState};
///
/// let cx = SpanContext::new(
///     TraceId::from_u128(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
///     SpanId::from_u64(0x00f0_67aa_0ba9_02b7),
///     TraceFlags::new(0xff),
///     false,
///     TraceState::NONE,
/// );
/// assert_eq!(
///     format_traceparent(&cx),
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
/// );
/// ```
pub fn format_traceparent(cx: &SpanContext) -> String {
    // Digit by digit into the 55 bytes it takes: `format!` with `{:032x}` went through the
    // formatting machinery and grew its string twice (about 1 500 instructions a request,
    // `instr client`).
    let mut out = [0; V00_LEN];
    out[..3].copy_from_slice(b"00-");
    put_hex(&mut out[3..35], &cx.trace_id().to_bytes());
    out[35] = b'-';
    put_hex(&mut out[36..52], &cx.span_id().to_bytes());
    out[52] = b'-';
    put_hex(&mut out[53..], &[cx.trace_flags().to_u8() & KNOWN_FLAGS]);
    // Every byte written is ASCII.
    std::str::from_utf8(&out).map_or_else(|_| String::new(), str::to_owned)
}

/// Writes `bytes` as lowercase hex into `out`, two digits a byte (`out` is twice as long).
fn put_hex(out: &mut [u8], bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
}

/// The value of one lowercase hex digit (`HEXDIGLC`); uppercase is not a hex digit here.
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

fn hex_u8(hi: u8, lo: u8) -> Option<u8> {
    Some((hex_digit(hi)? << 4) | hex_digit(lo)?)
}

/// Sixteen lowercase hex digits (`None` for any other byte, or another length), eight at a
/// time in a word ([`hex_word`]). The ids of every request's `traceparent` went through a fold
/// that branched on each of their 48 digits (about 680 instructions a header, `instr
/// server`), then through a table look-up per digit (about 320).
fn hex_u64(digits: &[u8]) -> Option<u64> {
    let digits: &[u8; 16] = digits.try_into().ok()?;
    let (high, low) = digits.split_at(8);
    let high = hex_word(u64::from_be_bytes(high.try_into().ok()?))?;
    let low = hex_word(u64::from_be_bytes(low.try_into().ok()?))?;
    Some((u64::from(high) << 32) | u64::from(low))
}

/// Eight lowercase hex digits read as one word, the first digit in its most significant byte.
#[inline(always)]
fn hex_word(v: u64) -> Option<u32> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // For bytes below 0x80, adding `0x80 - x` to each sets its high bit exactly where the byte
    // is at least `x`, and carries out of none of them.
    let at_least = |x: u8| v.wrapping_add(ONES * u64::from(0x80 - x));
    let digit = at_least(b'0') & !at_least(b'9' + 1);
    let letter = at_least(b'a') & !at_least(b'f' + 1);
    if v & HIGH != 0 || (digit | letter) & HIGH != HIGH {
        return None;
    }
    // Each byte's value: its low four bits, plus 9 for a letter (the only ones with bit 6).
    let n = (v & (ONES * 0x0f)) + ((v >> 6) & ONES) * 9;
    // Two digits to a byte, two bytes to a half-word, two half-words to the word.
    let n = ((n >> 4) | n) & 0x00ff_00ff_00ff_00ff;
    let n = ((n >> 8) | n) & 0x0000_ffff_0000_ffff;
    Some((((n >> 16) | n) & 0xffff_ffff) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `hex_u64` digit by digit, as the grammar reads.
    fn hex_u64_by_digit(digits: &[u8]) -> Option<u64> {
        let digits: &[u8; 16] = digits.try_into().ok()?;
        digits
            .iter()
            .try_fold(0u64, |v, &b| Some((v << 4) | u64::from(hex_digit(b)?)))
    }

    #[test]
    fn hex_words_agree_with_the_grammar_on_every_byte_in_every_place() {
        let base = *b"0123456789abcdef";
        assert_eq!(hex_u64(&base), Some(0x0123_4567_89ab_cdef));
        assert_eq!(hex_u64(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(hex_u64(b"0000000000000000"), Some(0));
        for place in 0..16 {
            for b in 0..=255u8 {
                let mut digits = base;
                digits[place] = b;
                assert_eq!(
                    hex_u64(&digits),
                    hex_u64_by_digit(&digits),
                    "{b:#04x} at {place}"
                );
                // With a byte above 0x7f elsewhere (whose sum may carry into a neighbour).
                digits[(place + 1) % 16] = 0xff;
                assert_eq!(hex_u64(&digits), None, "{b:#04x} at {place}");
            }
        }
        assert_eq!(hex_u64(b"0123456789abcde"), None);
        assert_eq!(hex_u64(b"0123456789abcdef0"), None);
    }

    #[test]
    fn hex_words_agree_with_the_grammar_on_mixed_bytes() {
        // Mostly digits, with the bytes next to each range and the high ones.
        const ALPHABET: &[u8] = b"0123456789abcdef/:`gAF\x7f\x80\xb0\xe1\xff\x00";
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut accepted = 0;
        for _ in 0..200_000 {
            let mut digits = [0; 16];
            for d in &mut digits {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // One draw in eight from the whole alphabet, the others from the digits.
                let pool = if state.is_multiple_of(8) {
                    ALPHABET.len()
                } else {
                    16
                };
                *d = ALPHABET[(state >> 8) as usize % pool];
            }
            let want = hex_u64_by_digit(&digits);
            accepted += usize::from(want.is_some());
            assert_eq!(hex_u64(&digits), want, "{digits:?}");
        }
        // Both outcomes were drawn often.
        assert!((10_000..190_000).contains(&accepted), "{accepted}");
    }

    const TID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SID: &str = "00f067aa0ba902b7";

    fn ids(cx: &SpanContext) -> (String, String, u8) {
        (
            cx.trace_id().to_string(),
            cx.span_id().to_string(),
            cx.trace_flags().to_u8(),
        )
    }

    #[test]
    fn spec_examples() {
        for (header, flags) in [
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 1),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", 0),
        ] {
            let cx = parse_traceparent(header).unwrap();
            assert_eq!(ids(&cx), (TID.into(), SID.into(), flags));
            assert!(cx.is_remote() && cx.is_valid() && cx.trace_state().is_empty());
            assert_eq!(format_traceparent(&cx), header);
        }
        let cx =
            parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
        assert_eq!(
            cx.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(cx.span_id().to_string(), "b7ad6b7169203331");
    }

    #[rustfmt::skip]
    const VALID: &[(&str, u8)] = &[
        ("00-12345678901234567890123456789012-1234567890123456-01", 0x01),
        ("00-12345678901234567890123456789012-1234567890123456-02", 0x02), // level 2 random
        ("00-12345678901234567890123456789012-1234567890123456-03", 0x03),
        ("00-12345678901234567890123456789012-1234567890123456-09", 0x09), // unknown bit kept
        ("00-12345678901234567890123456789012-1234567890123456-ff", 0xff),
        ("00-00000000000000000000000000000001-0000000000000001-00", 0x00), // smallest ids
        ("00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-00", 0x00),
        // Future versions: v00 prefix, then end or `-`.
        ("01-12345678901234567890123456789012-1234567890123456-01", 0x01),
        ("cc-12345678901234567890123456789012-1234567890123456-01", 0x01),
        ("fe-12345678901234567890123456789012-1234567890123456-03", 0x03),
        ("cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like", 0x01),
        ("cc-12345678901234567890123456789012-1234567890123456-01-", 0x01),
        ("cc-12345678901234567890123456789012-1234567890123456-01-XYZ\u{e9}", 0x01),
    ];

    #[test]
    fn valid_table() {
        for &(header, flags) in VALID {
            let cx = parse_traceparent(header).unwrap_or_else(|e| panic!("{header}: {e}"));
            assert_eq!(
                ids(&cx),
                (header[3..35].into(), header[36..52].into(), flags),
                "{header}"
            );
        }
    }

    #[rustfmt::skip]
    const INVALID: &[(&str, &str)] = &[
        ("", "empty"),
        ("00", "version only"),
        ("00-12345678901234567890123456789012-1234567890123456", "missing flags"),
        ("00-12345678901234567890123456789012-1234567890123456-", "empty flags"),
        ("00-12345678901234567890123456789012-1234567890123456-01.", "v00 trailing character"),
        ("00-12345678901234567890123456789012-1234567890123456-01-", "v00 trailing dash"),
        ("00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like", "v00 extra field"),
        (" 00-12345678901234567890123456789012-1234567890123456-01", "leading space (the propagator trims OWS)"),
        ("00-12345678901234567890123456789012-1234567890123456-01 ", "trailing space"),
        ("ff-12345678901234567890123456789012-1234567890123456-01", "version ff"),
        ("FF-12345678901234567890123456789012-1234567890123456-01", "version FF"),
        (".0-12345678901234567890123456789012-1234567890123456-01", "version illegal char 1"),
        ("0.-12345678901234567890123456789012-1234567890123456-01", "version illegal char 2"),
        ("0A-12345678901234567890123456789012-1234567890123456-01", "version uppercase"),
        ("000-12345678901234567890123456789012-1234567890123456-01", "version too long"),
        ("0000-12345678901234567890123456789012-1234567890123456-01", "version 4 digits"),
        ("0-12345678901234567890123456789012-1234567890123456-01", "version too short"),
        ("00-00000000000000000000000000000000-1234567890123456-01", "trace id all zero"),
        ("00-.2345678901234567890123456789012-1234567890123456-01", "trace id illegal char first"),
        ("00-1234567890123456789012345678901.-1234567890123456-01", "trace id illegal char last"),
        ("00-123456789012345678901234567890123-1234567890123456-01", "trace id too long"),
        ("00-1234567890123456789012345678901-1234567890123456-01", "trace id too short"),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "trace id uppercase"),
        ("00-4bf92f3577b34da6a3ce929d0e0e473G-00f067aa0ba902b7-01", "trace id non-hex"),
        ("00-12345678901234567890123456789012-0000000000000000-01", "parent id all zero"),
        ("00-12345678901234567890123456789012-.234567890123456-01", "parent id illegal char first"),
        ("00-12345678901234567890123456789012-123456789012345.-01", "parent id illegal char last"),
        ("00-12345678901234567890123456789012-12345678901234567-01", "parent id too long"),
        ("00-12345678901234567890123456789012-123456789012345-01", "parent id too short"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", "parent id uppercase"),
        ("00-12345678901234567890123456789012-1234567890123456-.0", "flags illegal char 1"),
        ("00-12345678901234567890123456789012-1234567890123456-0.", "flags illegal char 2"),
        ("00-12345678901234567890123456789012-1234567890123456-0A", "flags uppercase"),
        ("00-12345678901234567890123456789012-1234567890123456-001", "flags too long"),
        ("00-12345678901234567890123456789012-1234567890123456-1", "flags too short"),
        ("00_12345678901234567890123456789012-1234567890123456-01", "wrong separator 1"),
        ("00-12345678901234567890123456789012_1234567890123456-01", "wrong separator 2"),
        ("00-12345678901234567890123456789012-1234567890123456_01", "wrong separator 3"),
        ("00-00000000000000000000000000000000-0000000000000000-01", "both ids zero"),
        ("00-+2345678901234567890123456789012-1234567890123456-01", "sign in trace id"),
        ("00-12345678901234567890123456789012-+234567890123456-01", "sign in parent id"),
        ("00-12345678901234567890123456789012-1234567890123456-+1", "sign in flags"),
        ("00-1234567890123456789012345678901\u{e9}-123456789012345-01", "non-ASCII, 55 bytes"),
        // Future versions.
        ("cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like", "future version, no dash after flags"),
        ("cc-12345678901234567890123456789012-1234567890123456-0", "future version too short"),
        ("cc-12345678901234567890123456789012-1234567890123456", "future version no flags"),
        ("cc-00000000000000000000000000000000-1234567890123456-01", "future version zero trace id"),
        ("cc-12345678901234567890123456789012-0000000000000000-01-x", "future version zero parent id"),
        ("cc-1234567890123456789012345678901-12345678901234567-01-x", "future version shifted fields"),
        ("cc-12345678901234567890123456789012-1234567890123456-0A", "future version uppercase flags"),
    ];

    #[test]
    fn invalid_table() {
        for &(header, why) in INVALID {
            assert_eq!(
                parse_traceparent(header),
                Err(PropagationError::InvalidTraceParent),
                "{why}: {header:?}"
            );
        }
    }

    #[test]
    fn output_is_version_00_lowercase() {
        let cx =
            parse_traceparent("cc-12345678901234567890123456789abc-123456789012def0-02-x").unwrap();
        assert_eq!(
            format_traceparent(&cx),
            "00-12345678901234567890123456789abc-123456789012def0-02"
        );
        // Undefined bits are cleared on the way out, sampled and random are kept.
        let cx =
            parse_traceparent("00-12345678901234567890123456789012-1234567890123456-fd").unwrap();
        assert_eq!(cx.trace_flags().to_u8(), 0xfd);
        assert!(format_traceparent(&cx).ends_with("-01"));
        let cx =
            parse_traceparent("00-12345678901234567890123456789012-1234567890123456-fe").unwrap();
        assert!(format_traceparent(&cx).ends_with("-02"));
    }
}
