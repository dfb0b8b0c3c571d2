//! When to try an export again: exponential backoff with jitter, a server's hint
//! (`Retry-After`, gRPC `RetryInfo`) taking its place, and never past the export's deadline.

use std::time::{Duration, Instant};
#[cfg(feature = "otlp-http")]
use std::time::{SystemTime, UNIX_EPOCH};

/// The first wait; it doubles after every retry.
const INITIAL: Duration = Duration::from_millis(100);
/// The longest wait chosen by the backoff itself (a server's hint may ask for more).
const MAX: Duration = Duration::from_secs(5);

/// The retry state of one export.
#[derive(Debug)]
pub(super) struct Backoff {
    next: Duration,
    deadline: Instant,
}

impl Backoff {
    /// The state for an export that must be done by `deadline`.
    pub(super) fn new(deadline: Instant) -> Self {
        Backoff {
            next: INITIAL,
            deadline,
        }
    }

    /// How long to wait before the next attempt: the backoff with jitter (between half and
    /// all of it, so clients that failed together do not come back together), or the
    /// server's `hint` when that is longer (a `Retry-After: 0` does not make us hammer it).
    /// `None` when the wait would end past the deadline: then there is no point in waiting,
    /// the export has failed.
    pub(super) fn next_delay(&mut self, hint: Option<Duration>) -> Option<Duration> {
        let delay = jitter(self.next).max(hint.unwrap_or_default());
        self.next = (self.next * 2).min(MAX);
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        (delay < remaining).then_some(delay)
    }

    /// Time left before the deadline.
    pub(super) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// A uniformly random duration in `[d/2, d]`.
fn jitter(d: Duration) -> Duration {
    // Span ids come from a fast per-thread generator: good enough to spread retries.
    let r = crate::model::SpanId::random().to_u64();
    let half = d / 2;
    let nanos = half.as_nanos() as u64;
    half + Duration::from_nanos(if nanos == 0 { 0 } else { r % (nanos + 1) })
}

#[cfg(feature = "otlp-http")]
/// Parses an HTTP `Retry-After` value: delay-seconds (`120`) or an IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`, a time in the past meaning "now").
pub(super) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_imf_fixdate(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

#[cfg(feature = "otlp-http")]
/// Seconds since the epoch of an IMF-fixdate, the one date format HTTP senders must use.
fn parse_imf_fixdate(s: &str) -> Option<u64> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let rest = s.get(5..)?;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(str::parse::<u64>);
    let (h, m, sec) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    if parts.next()? != "GMT" || parts.next().is_some() || !(1..=31).contains(&day) {
        return None;
    }
    if year < 1970 || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec)
}

#[cfg(feature = "otlp-http")]
/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`), for years from 1970.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "otlp-http")]
    #[test]
    fn retry_after_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_imf_fixdate("Tue, 29 Feb 2028 00:00:00 GMT"),
            Some(1_835_395_200)
        );
        for bad in [
            "",
            "soon",
            "-1",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_stops_at_the_deadline() {
        let mut b = Backoff::new(Instant::now() + Duration::from_secs(60));
        let first = b.next_delay(None).unwrap();
        assert!(first >= INITIAL / 2 && first <= INITIAL, "{first:?}");
        let second = b.next_delay(None).unwrap();
        assert!(second >= INITIAL && second <= INITIAL * 2, "{second:?}");
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(b.next_delay(Some(Duration::from_secs(61))), None);
        let mut late = Backoff::new(Instant::now() + Duration::from_millis(10));
        assert_eq!(late.next_delay(Some(Duration::from_millis(20))), None);
    }
}
