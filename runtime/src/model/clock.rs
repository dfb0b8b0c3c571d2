//! Time: a raw TSC read through `quanta` on the hot path, turned into Unix nanoseconds off it,
//! against an anchor taken once.
//!
//! The clock calibrates itself (about 1 ms) the first time it is used, which
//! [`PipelineBuilder::install`](crate::pipeline::PipelineBuilder::install) does, so that no span start
//! pays for it; a program that never installs a pipeline never calibrates. Where the TSC is
//! not usable (no invariant TSC, other architectures without a counter), `quanta` reads the
//! monotonic clock instead, and everything here works the same.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The clock, and a reading of it taken together with the wall clock.
struct Anchored {
    clock: quanta::Clock,
    raw: u64,
    unix_nanos: u64,
    /// Nanoseconds in `2^SCALE_SHIFT` ticks, as the clock converts them: a tick count then
    /// converts with one multiplication and a shift by a constant, without the look at the
    /// clock's kind and the shift by a variable that each of `quanta`'s conversions makes.
    /// The result is `quanta`'s to the nanosecond: it converts with `ticks * factor >> shift`,
    /// `shift` being the log2 of its calibration window in ticks (about 2^22 to 2^26, at most
    /// `SCALE_SHIFT`), so this is `factor << (SCALE_SHIFT - shift)`, exact; with the
    /// monotonic clock (ticks are nanoseconds), `2^SCALE_SHIFT`. With a counter of 1 GHz or
    /// more it is below 2^53, so its product with any 64-bit count fits in 128 bits. It fits
    /// in 64 bits for any counter faster than about 250 kHz: `quanta` reads a counter only on
    /// x86-64 (the TSC, GHz) and aarch64 (the generic timer, 1 MHz and up), and the
    /// monotonic clock elsewhere. (A fallback to `quanta`'s conversion for a slower counter,
    /// behind one branch, cost the batch worker 15 to 25 instructions a span in the encoder's
    /// registers: not kept.)
    ns_per_scale: u64,
}

/// See [`Anchored::ns_per_scale`].
const SCALE_SHIFT: u32 = 52;

static CLOCK: OnceLock<Anchored> = OnceLock::new();

#[cold]
fn anchored() -> &'static Anchored {
    CLOCK.get_or_init(|| {
        let clock = quanta::Clock::new();
        let unix_nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let raw = clock.raw();
        let ns_per_scale = clock.delta_as_nanos(0, 1 << SCALE_SHIFT);
        let anchored = Anchored {
            clock,
            raw,
            unix_nanos,
            ns_per_scale,
        };
        debug_assert!(
            [1, 1_000_003, 1 << 32, 3 << 40, 1 << 56]
                .into_iter()
                .all(|ticks| {
                    ticks_to_nanos(&anchored, ticks) == anchored.clock.delta_as_nanos(0, ticks)
                }),
            "the clock's conversion is quanta's"
        );
        anchored
    })
}

#[inline]
fn get() -> &'static Anchored {
    match CLOCK.get() {
        Some(a) => a,
        None => anchored(),
    }
}

/// Calibrates the clock now, if it is not yet: called when a pipeline is installed.
pub(crate) fn init() {
    let _ = get();
}

/// A raw clock reading: cheap to take, converted to wall time with [`to_unix_nanos`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant(u64);

impl Instant {
    /// A reading for spans that keep no time (not recording).
    pub(crate) const ZERO: Instant = Instant(0);
}

/// Reads the clock (about 10 ns with a TSC: one `rdtsc`).
#[inline]
pub(crate) fn now() -> Instant {
    Instant(get().clock.raw())
}

/// Converts a reading to nanoseconds since the Unix epoch.
#[inline]
pub(crate) fn to_unix_nanos(t: Instant) -> u64 {
    convert(get(), t)
}

#[inline]
fn convert(a: &Anchored, t: Instant) -> u64 {
    // Every reading is taken after the anchor (it is taken when the clock is first used), and
    // the counter is invariant across cores; a reading from before it still converts.
    if t.0 >= a.raw {
        a.unix_nanos.saturating_add(ticks_to_nanos(a, t.0 - a.raw))
    } else {
        a.unix_nanos.saturating_sub(ticks_to_nanos(a, a.raw - t.0))
    }
}

/// Nanoseconds in `ticks` of the clock.
#[inline(always)]
fn ticks_to_nanos(a: &Anchored, ticks: u64) -> u64 {
    let ns = (u128::from(ticks) * u128::from(a.ns_per_scale)) >> SCALE_SHIFT;
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// Converts two readings with one look at the anchor.
#[inline]
pub(crate) fn to_unix_nanos_pair(a: Instant, b: Instant) -> (u64, u64) {
    let anchor = get();
    (convert(anchor, a), convert(anchor, b))
}

/// Now, in nanoseconds since the Unix epoch.
pub fn now_unix_nanos() -> u64 {
    to_unix_nanos(now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn wall() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    }

    #[test]
    fn readings_convert_to_wall_time_and_keep_their_order_and_distance() {
        let before = wall();
        let a = now();
        std::thread::sleep(Duration::from_millis(20));
        let b = now();
        let after = wall();
        let (ua, ub) = to_unix_nanos_pair(a, b);
        // Within a millisecond of the wall clock, in order, about 20 ms apart.
        assert!(
            ua + 1_000_000 >= before && ua <= after + 1_000_000,
            "{before} {ua} {after}"
        );
        assert!(
            ub + 1_000_000 >= before && ub <= after + 1_000_000,
            "{before} {ub} {after}"
        );
        let apart = ub - ua;
        assert!(
            (20_000_000..200_000_000).contains(&apart),
            "{apart} ns apart"
        );
        assert_eq!(to_unix_nanos(a), ua);
    }

    #[test]
    fn tick_counts_convert_as_the_clock_converts_them() {
        // `quanta`'s own conversion, from a tick to decades of ticks, and still a number past
        // that.
        let a = get();
        for ticks in [
            1_u64,
            999,
            1 << 20,
            3_000_000_007,
            1 << 40,
            1 << 56,
            1 << 62,
        ] {
            assert_eq!(
                ticks_to_nanos(a, ticks),
                a.clock.delta_as_nanos(0, ticks),
                "{ticks}"
            );
        }
        assert!(ticks_to_nanos(a, u64::MAX) > 0);
    }

    #[test]
    fn a_reading_from_before_the_anchor_still_converts() {
        let a = get();
        let earlier = Instant(a.raw.saturating_sub(1_000_000));
        assert!(to_unix_nanos(earlier) < a.unix_nanos);
        assert!(to_unix_nanos(earlier) > a.unix_nanos - 1_000_000_000);
    }
}
