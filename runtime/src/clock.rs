//! Time: a TSC read through `fastant`, turned into Unix nanoseconds by an anchor taken once.

use std::sync::LazyLock;

static ANCHOR: LazyLock<fastant::Anchor> = LazyLock::new(fastant::Anchor::new);

/// A raw clock reading: cheap to take, converted to wall time with [`to_unix_nanos`].
pub(crate) type Instant = fastant::Instant;

/// Reads the clock (about 10 ns with a TSC).
#[inline]
pub(crate) fn now() -> Instant {
    fastant::Instant::now()
}

/// Converts a reading to nanoseconds since the Unix epoch.
#[inline]
pub(crate) fn to_unix_nanos(t: Instant) -> u64 {
    t.as_unix_nanos(&ANCHOR)
}

/// Converts two readings with one look at the anchor.
#[inline]
pub(crate) fn to_unix_nanos_pair(a: Instant, b: Instant) -> (u64, u64) {
    let anchor = &*ANCHOR;
    (a.as_unix_nanos(anchor), b.as_unix_nanos(anchor))
}

/// Now, in nanoseconds since the Unix epoch.
pub fn now_unix_nanos() -> u64 {
    to_unix_nanos(now())
}
