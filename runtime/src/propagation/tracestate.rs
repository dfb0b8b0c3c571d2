//! The `tracestate` header: up to 32 vendor `key=value` entries, newest first (W3C Trace
//! Context Level 2).

use super::{PropagationError, trim_ows};
use crate::model::TraceState;

/// The most list members a `tracestate` may hold.
const MAX_MEMBERS: usize = 32;
/// The longest key, and the longest value.
const MAX_KEY_LEN: usize = 256;
const MAX_VALUE_LEN: usize = 256;
/// The longest `tracestate` sent: the 512 characters the recommendation asks every vendor to
/// propagate, commas included.
const MAX_HEADER_LEN: usize = 512;
/// Entries (`key=value`) longer than this are the first removed when a header is truncated.
const LONG_ENTRY: usize = 128;

/// Parses a `tracestate` header value (repeated headers joined with `,`).
///
/// The whole list is refused, as the recommendation requires, if any member is invalid or
/// if there are more than 32 members. A key that appears again keeps its first (leftmost)
/// entry and the later ones are removed (the Level 2 text allows either keeping or removing
/// duplicates; the caller's list is never dropped for them). Empty and white-space-only
/// members are ignored and do not count; spaces and tabs around members are `OWS`. An empty
/// header is a valid, empty trace state.
///
/// Keys follow the Level 2 grammar: `( lcalpha / DIGIT ) 0*255( keychar )`, where
/// `keychar` is `a-z`, `0-9`, `_`, `-`, `*`, `/` and `@` (an `@` is an ordinary key
/// character, with no tenant or system length rules).
///
/// ```
/// use traced_runtime::propagation::{PropagationError, TraceStateExt as _, parse_trace_state};
///
/// let ts = parse_trace_state("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE")?;
/// assert_eq!(ts.get("congo"), Some("t61rcWkgMzE"));
/// assert_eq!(ts.header(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
///
/// assert_eq!(parse_trace_state("a=1,a=2")?.header(), "a=1");
/// assert_eq!(parse_trace_state("foo@bar@baz=1")?.get("foo@bar@baz"), Some("1"));
/// assert_eq!(parse_trace_state("a=1,B=2"), Err(PropagationError::InvalidTraceStateKey));
/// # Ok::<(), PropagationError>(())
/// ```
pub fn parse_trace_state(header: &str) -> Result<TraceState, PropagationError> {
    let mut entries: Vec<(String, String)> = Vec::new();
    let members = header.split(',').map(trim_ows).filter(|m| !m.is_empty());
    for (i, member) in members.enumerate() {
        if i == MAX_MEMBERS {
            return Err(PropagationError::TooManyTraceStateMembers);
        }
        let (key, value) = member
            .split_once('=')
            .ok_or(PropagationError::InvalidTraceStateMember)?;
        check_key(key)?;
        check_value(value)?;
        if !entries.iter().any(|(k, _)| k == key) {
            entries.push((key.to_owned(), value.to_owned()));
        }
    }
    Ok(TraceState::from_entries(entries))
}

/// Formats a trace state as a `tracestate` header value: `k1=v1,k2=v2`, newest first. This
/// is what [`TraceContextPropagator::inject`](super::TraceContextPropagator::inject) sends
/// and what [`TraceStateExt::header`] returns.
///
/// Whatever [`TraceState::from_entries`] was given, the output always parses and fits the
/// W3C limits: entries that break the grammar (a `\r\n` in a value, say), a key's later
/// duplicates, and entries past the 32nd are left out, and the result is held to 512
/// characters by removing whole entries as the recommendation says: entries longer than 128
/// characters first, from the end, then the others from the end, until it fits. An empty
/// trace state formats as an empty string, which propagators do not send.
///
/// ```
/// use traced_runtime::model::TraceState;
/// use traced_runtime::propagation::format_trace_state;
///
/// let ts = TraceState::from_entries([
///     ("congo".to_string(), "t61rcWkgMzE".to_string()),
///     ("Not A Key".to_string(), "x".to_string()),
///     ("congo".to_string(), "older".to_string()),
///     ("rojo".to_string(), "00f067aa0ba902b7".to_string()),
/// ]);
/// assert_eq!(format_trace_state(&ts), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
///
/// // Past 512 characters, the 200-character entry goes first.
/// let big = TraceState::from_entries(
///     [("a", 200), ("big", 200), ("c", 120), ("d", 120)]
///         .map(|(k, n)| (k.to_string(), "v".repeat(n))),
/// );
/// let header = format_trace_state(&big);
/// assert!(header.len() <= 512);
/// let keys: Vec<&str> = header.split(',').map(|m| &m[..m.find('=').unwrap()]).collect();
/// assert_eq!(keys, ["a", "c", "d"]);
/// ```
pub fn format_trace_state(state: &TraceState) -> String {
    let mut kept: Vec<(&str, &str)> = Vec::new();
    for (key, value) in state.entries() {
        if kept.len() == MAX_MEMBERS {
            break;
        }
        if check_key(key).is_ok()
            && check_value(value).is_ok()
            && !kept.iter().any(|(k, _)| k == key)
        {
            kept.push((key, value));
        }
    }
    let entry_len = |(k, v): &(&str, &str)| k.len() + 1 + v.len();
    let mut len = kept.iter().map(entry_len).sum::<usize>() + kept.len().saturating_sub(1);
    while len > MAX_HEADER_LEN {
        let i = kept
            .iter()
            .rposition(|e| entry_len(e) > LONG_ENTRY)
            .unwrap_or(kept.len() - 1);
        let removed = kept.remove(i);
        // The entry and its comma (none left when it was the only one).
        len = len.saturating_sub(entry_len(&removed) + 1);
    }
    let mut out = String::with_capacity(len);
    for (i, (key, value)) in kept.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The W3C mutations of a [`TraceState`]: a new or updated entry goes to the front, the
/// order of the others is kept, and the list never exceeds 32 entries.
///
/// A trace state is shared and immutable; each method returns the changed copy.
///
/// ```
/// use traced_runtime::propagation::{TraceStateExt, parse_trace_state};
///
/// let received = parse_trace_state("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")?;
/// let sent = received.insert("congo", "ucfJifl5GOE")?;
/// assert_eq!(sent.header(), "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
/// assert_eq!(sent.remove("rojo").header(), "congo=ucfJifl5GOE");
/// # Ok::<(), traced_runtime::propagation::PropagationError>(())
/// ```
pub trait TraceStateExt: sealed::Sealed {
    /// This trace state with `key` set to `value` and moved to the front (left). When that
    /// makes 33 entries, the last (oldest) is dropped.
    ///
    /// Fails, leaving nothing changed, on a key or value outside the W3C grammar.
    fn insert(&self, key: &str, value: &str) -> Result<TraceState, PropagationError>;

    /// This trace state without `key`; unchanged if it has no such entry.
    fn remove(&self, key: &str) -> TraceState;

    /// The W3C header form, `k1=v1,k2=v2`, exactly as propagators send it
    /// ([`format_trace_state`]): entries outside the W3C grammar (a value holding `\r\n`,
    /// say) and a key's later duplicates are left out, and the whole is held to 32 entries
    /// and 512 characters.
    ///
    /// ```
    /// use traced_runtime::model::TraceState;
    /// use traced_runtime::propagation::TraceStateExt as _;
    ///
    /// let ts = TraceState::from_entries([
    ///     ("rojo".to_string(), "00f067aa0ba902b7".to_string()),
    ///     ("evil".to_string(), "1\r\nset-cookie: a=b".to_string()),
    /// ]);
    /// assert_eq!(ts.header(), "rojo=00f067aa0ba902b7");
    /// ```
    fn header(&self) -> String;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::model::TraceState {}
}

impl TraceStateExt for TraceState {
    fn insert(&self, key: &str, value: &str) -> Result<TraceState, PropagationError> {
        check_key(key)?;
        check_value(value)?;
        let rest = self
            .entries()
            .iter()
            .filter(|(k, _)| k != key)
            .take(MAX_MEMBERS - 1)
            .cloned();
        Ok(TraceState::from_entries(
            std::iter::once((key.to_owned(), value.to_owned())).chain(rest),
        ))
    }

    fn header(&self) -> String {
        format_trace_state(self)
    }

    fn remove(&self, key: &str) -> TraceState {
        if self.get(key).is_none() {
            return self.clone();
        }
        TraceState::from_entries(self.entries().iter().filter(|(k, _)| k != key).cloned())
    }
}

/// `key` (W3C Trace Context Level 2):
///
/// ```abnf
/// key     = ( lcalpha / DIGIT ) 0*255 ( keychar )
/// keychar = lcalpha / DIGIT / "_" / "-"/ "*" / "/" / "@"
/// ```
fn check_key(key: &str) -> Result<(), PropagationError> {
    let bytes = key.as_bytes();
    let ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.len() <= MAX_KEY_LEN
        && bytes.iter().all(|&b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'_' | b'-' | b'*' | b'/' | b'@')
        });
    if ok {
        Ok(())
    } else {
        Err(PropagationError::InvalidTraceStateKey)
    }
}

/// ```abnf
/// value    = 0*255(chr) nblk-chr
/// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
/// chr      = %x20 / nblk-chr
/// ```
fn check_value(value: &str) -> Result<(), PropagationError> {
    let bytes = value.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_VALUE_LEN
        && bytes.last() != Some(&b' ')
        && bytes
            .iter()
            .all(|&b| matches!(b, b' '..=b'~') && b != b',' && b != b'=');
    if ok {
        Ok(())
    } else {
        Err(PropagationError::InvalidTraceStateValue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PropagationError::*;

    fn entries(ts: &TraceState) -> Vec<(&str, &str)> {
        ts.entries()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn numbered(n: usize) -> String {
        (1..=n)
            .map(|i| format!("bar{i:02}={i:02}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every character the grammar allows in a simple key and in a value.
    fn all_key_chars() -> String {
        ('a'..='z')
            .chain('0'..='9')
            .chain(['_', '-', '*', '/'])
            .collect()
    }
    fn all_value_chars() -> String {
        (0x20u8..=0x7e)
            .filter(|b| *b != b',' && *b != b'=')
            .map(char::from)
            .collect()
    }

    #[test]
    fn spec_examples() {
        let ts = parse_trace_state("congo=t61rcWkgMzE").unwrap();
        assert_eq!(entries(&ts), [("congo", "t61rcWkgMzE")]);
        let ts = parse_trace_state("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE").unwrap();
        assert_eq!(
            entries(&ts),
            [("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE")]
        );
        assert_eq!(
            format_trace_state(&ts),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
        );
        // Congo re-enters: its entry is updated and moves to the left.
        let ts = ts.insert("congo", "ucfJifl5GOE").unwrap();
        assert_eq!(
            format_trace_state(&ts),
            "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7"
        );
        let ts = parse_trace_state("vendorname1=opaqueValue1,vendorname2=opaqueValue2").unwrap();
        assert_eq!(ts.get("vendorname2"), Some("opaqueValue2"));
    }

    #[test]
    fn valid_table() {
        let key256 = "z".repeat(256);
        let tenant_key = format!("{}@{}", "t".repeat(241), "v".repeat(14));
        // Level 1's tenant (241) and system (14) limits are gone: only the 256 in all counts.
        let long_tenant = format!("{}@v", "t".repeat(242));
        let long_system = format!("t@{}", "v".repeat(15));
        let at_256 = format!("{}@{}", "t".repeat(127), "v".repeat(128));
        let all_chars = format!("{}={}", all_key_chars(), all_value_chars());
        let all_tenant = format!("{}@a-z0-9_-*/={}", all_key_chars(), all_value_chars());
        let value256 = format!("k={}", "v".repeat(256));
        let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("", vec![]),
            (" \t ", vec![]),
            (",", vec![]),
            (" , ,\t,", vec![]),
            ("foo=1", vec![("foo", "1")]),
            ("foo=1,", vec![("foo", "1")]),
            (",foo=1", vec![("foo", "1")]),
            ("foo=1,,bar=2", vec![("foo", "1"), ("bar", "2")]),
            (
                "foo=1 \t , \t bar=2, \t baz=3",
                vec![("foo", "1"), ("bar", "2"), ("baz", "3")],
            ),
            (
                "foo=1\t \t,\t \tbar=2,\t \tbaz=3",
                vec![("foo", "1"), ("bar", "2"), ("baz", "3")],
            ),
            (" foo=1", vec![("foo", "1")]),
            ("\tfoo=1", vec![("foo", "1")]),
            ("foo=1 ", vec![("foo", "1")]),
            ("foo=1\t", vec![("foo", "1")]),
            ("\t foo=1 \t", vec![("foo", "1")]),
            // Leading spaces belong to the value, trailing ones are OWS.
            ("foo= 1  ", vec![("foo", " 1")]),
            ("foo=a b", vec![("foo", "a b")]),
            (
                "foo=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~",
                vec![("foo", "!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~")],
            ),
            ("a*/_-9=x", vec![("a*/_-9", "x")]),
            ("0tenant@sys=x", vec![("0tenant@sys", "x")]),
            ("t@v=x", vec![("t@v", "x")]),
            ("a/b@c*d=x", vec![("a/b@c*d", "x")]),
            // Level 2: `@` is an ordinary key character, a digit may start any key.
            ("1foo=1", vec![("1foo", "1")]),
            ("foo@=1,bar=2", vec![("foo@", "1"), ("bar", "2")]),
            ("foo@@bar=1,bar=2", vec![("foo@@bar", "1"), ("bar", "2")]),
            (
                "foo@bar@baz=1,bar=2",
                vec![("foo@bar@baz", "1"), ("bar", "2")],
            ),
            ("foo@1bar=1", vec![("foo@1bar", "1")]),
            ("0=1", vec![("0", "1")]),
            // Duplicates: the first entry is kept, the list is not dropped.
            ("foo=1,foo=1", vec![("foo", "1")]),
            ("foo=1,foo=2", vec![("foo", "1")]),
            ("foo=1,bar=2,foo=3", vec![("foo", "1"), ("bar", "2")]),
            ("t@v=1,t@v=2", vec![("t@v", "1")]),
        ];
        for (header, want) in &cases {
            let ts = parse_trace_state(header).unwrap_or_else(|e| panic!("{header:?}: {e}"));
            assert_eq!(entries(&ts), *want, "{header:?}");
        }
        for (header, key) in [
            (format!("{key256}=1"), key256.as_str()),
            (format!("{tenant_key}=1"), tenant_key.as_str()),
            (format!("{long_tenant}=1"), long_tenant.as_str()),
            (format!("{long_system}=1"), long_system.as_str()),
            (format!("{at_256}=1"), at_256.as_str()),
        ] {
            let ts = parse_trace_state(&header).unwrap();
            assert_eq!(ts.get(key), Some("1"));
        }
        for header in [&all_chars, &all_tenant, &value256] {
            let ts = parse_trace_state(header).unwrap();
            let (k, v) = header.split_once('=').unwrap();
            assert_eq!(ts.get(k), Some(v), "{header}");
        }
        let ts = parse_trace_state(&numbered(32)).unwrap();
        assert_eq!(ts.entries().len(), 32);
        assert_eq!(ts.get("bar01"), Some("01"));
        // Empty members do not count towards 32.
        let ts = parse_trace_state(&format!("{},,, ,", numbered(32))).unwrap();
        assert_eq!(ts.entries().len(), 32);
    }

    #[test]
    fn invalid_table() {
        let key257 = format!("{}=1", "z".repeat(257));
        let at_257 = format!("{}@{}=1", "t".repeat(128), "v".repeat(128));
        let value257 = format!("k={}", "v".repeat(257));
        let cases: Vec<(&str, PropagationError)> = vec![
            ("foo", InvalidTraceStateMember),
            ("foo=1,bar", InvalidTraceStateMember),
            ("=1", InvalidTraceStateKey),
            ("foo =1", InvalidTraceStateKey),
            ("foo\t=1", InvalidTraceStateKey),
            ("FOO=1", InvalidTraceStateKey),
            ("Foo=1", InvalidTraceStateKey),
            ("foo.bar=1", InvalidTraceStateKey),
            ("_foo=1", InvalidTraceStateKey),
            ("f\u{e9}=1", InvalidTraceStateKey),
            ("@foo=1,bar=2", InvalidTraceStateKey),
            ("@=1", InvalidTraceStateKey),
            ("_t@v=1", InvalidTraceStateKey),
            ("foo@Bar=1", InvalidTraceStateKey),
            (&key257, InvalidTraceStateKey),
            (&at_257, InvalidTraceStateKey),
            ("foo=", InvalidTraceStateValue),
            ("foo=,bar=3", InvalidTraceStateValue),
            ("foo= ", InvalidTraceStateValue),
            ("foo=bar=baz", InvalidTraceStateValue),
            ("foo=a\tb", InvalidTraceStateValue),
            ("foo=a\nb", InvalidTraceStateValue),
            ("foo=a\u{7f}", InvalidTraceStateValue),
            ("foo=caf\u{e9}", InvalidTraceStateValue),
            (&value257, InvalidTraceStateValue),
        ];
        for (header, want) in cases {
            assert_eq!(parse_trace_state(header), Err(want), "{header:?}");
        }
        assert_eq!(
            parse_trace_state(&numbered(33)),
            Err(TooManyTraceStateMembers)
        );
        // The first error found is reported; the list is refused either way.
        assert!(parse_trace_state("good=1,BAD=2,good=3").is_err());
    }

    #[test]
    fn long_headers_are_cheap() {
        let ts = parse_trace_state(&format!("a=1{}b=2", ", \t".repeat(1_000_000))).unwrap();
        assert_eq!(entries(&ts), [("a", "1"), ("b", "2")]);
        let many = "k=v,".repeat(1_000_000);
        assert_eq!(parse_trace_state(&many), Err(TooManyTraceStateMembers));
        // 32 members, all the same key: valid, one entry.
        let same = "k=v,".repeat(32);
        assert_eq!(entries(&parse_trace_state(&same).unwrap()), [("k", "v")]);
        let distinct = (0..100_000)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(parse_trace_state(&distinct), Err(TooManyTraceStateMembers));
    }

    #[test]
    fn format_skips_what_would_not_parse() {
        let ts = TraceState::from_entries(
            [
                ("a", "1"),
                ("", "x"),
                ("b", ""),
                ("c", "trailing "),
                ("a", "2"),
                ("d", "x,y"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        assert_eq!(format_trace_state(&ts), "a=1");
        assert_eq!(format_trace_state(&TraceState::NONE), "");

        let many = TraceState::from_entries((0..40).map(|i| (format!("k{i}"), format!("{i}"))));
        let header = format_trace_state(&many);
        let parsed = parse_trace_state(&header).unwrap();
        assert_eq!(parsed.entries().len(), 32);
        assert_eq!(parsed.entries(), &many.entries()[..32]);
    }

    fn sized(entries: &[(&str, usize)]) -> TraceState {
        TraceState::from_entries(entries.iter().map(|&(k, n)| (k.to_owned(), "v".repeat(n))))
    }

    fn keys(header: &str) -> Vec<&str> {
        header
            .split(',')
            .filter(|m| !m.is_empty())
            .map(|m| m.split_once('=').unwrap().0)
            .collect()
    }

    #[test]
    fn format_holds_512_characters() {
        // 510 characters: sent whole. 512 (one more value byte twice): still whole.
        let fits = sized(&[("a", 250), ("b", 255)]);
        assert_eq!(format_trace_state(&fits).len(), 2 + 250 + 1 + 2 + 255);
        let exact = sized(&[("a", 252), ("b", 255)]);
        assert_eq!(format_trace_state(&exact).len(), 512);
        // 513: the later of the long entries goes.
        let over = sized(&[("a", 253), ("b", 255)]);
        assert_eq!(keys(&format_trace_state(&over)), ["a"]);
        // Long entries (over 128 characters) first, from the end; short ones stay.
        let mixed = sized(&[("a", 200), ("b", 50), ("c", 200), ("d", 50), ("e", 100)]);
        assert_eq!(keys(&format_trace_state(&mixed)), ["a", "b", "d", "e"]);
        // An entry of exactly 128 characters is not long: with no long entry left, the
        // last entries go.
        let short = sized(&[("a", 126), ("b", 126), ("c", 126), ("d", 126), ("e", 126)]);
        assert_eq!(keys(&format_trace_state(&short)), ["a", "b", "c"]);
        // A single entry of 513 characters cannot be sent at all.
        let huge = TraceState::from_entries([("k".repeat(256), "v".repeat(256))]);
        assert_eq!(format_trace_state(&huge), "");
        // 16 KB, the most a parsed list can hold: 32 members of 513 characters.
        let max = (0..32)
            .map(|i| format!("{:0>256}={}", i, "v".repeat(256)))
            .collect::<Vec<_>>()
            .join(",");
        let ts = parse_trace_state(&max).unwrap();
        assert_eq!(ts.entries().len(), 32);
        assert_eq!(format_trace_state(&ts), "");
        // Many short members: the first ones that fit are sent, in order.
        let many = parse_trace_state(&numbered(32).replace('=', "=xxxxxxxxx")).unwrap();
        let header = format_trace_state(&many);
        assert!(
            header.len() <= 512 && header.len() > 490,
            "{}",
            header.len()
        );
        assert!(numbered(32).replace('=', "=xxxxxxxxx").starts_with(&header));
    }

    #[test]
    fn header_is_what_is_sent() {
        let ts = TraceState::from_entries(
            [
                ("a", "1\r\nset-cookie: x=y"),
                ("b", "2"),
                ("c", "3\n"),
                ("b", "again"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        assert_eq!(ts.header(), "b=2");
        assert_eq!(ts.header(), format_trace_state(&ts));
        let big = sized(&[("a", 250), ("b", 250), ("c", 250)]);
        assert_eq!(keys(&big.header()), ["a", "b"]);
        // Debug shows what was given, escaped.
        assert_eq!(
            format!("{ts:?}"),
            r#"TraceState({"a": "1\r\nset-cookie: x=y", "b": "2", "c": "3\n", "b": "again"})"#
        );
    }

    #[test]
    fn insert_adds_and_moves_to_front() {
        let ts = TraceState::NONE.insert("a", "1").unwrap();
        assert_eq!(entries(&ts), [("a", "1")]);
        let ts = ts.insert("b", "2").unwrap().insert("c", "3").unwrap();
        assert_eq!(entries(&ts), [("c", "3"), ("b", "2"), ("a", "1")]);
        let ts = ts.insert("a", "9").unwrap();
        assert_eq!(entries(&ts), [("a", "9"), ("c", "3"), ("b", "2")]);
        let tenant = ts.insert("acme@congo", " lead").unwrap();
        assert_eq!(tenant.get("acme@congo"), Some(" lead"));
    }

    #[test]
    fn insert_evicts_from_the_back() {
        let full = parse_trace_state(&numbered(32)).unwrap();
        let ts = full.insert("new", "x").unwrap();
        assert_eq!(ts.entries().len(), 32);
        assert_eq!(ts.entries()[0], ("new".to_owned(), "x".to_owned()));
        assert_eq!(ts.entries()[31].0, "bar31");
        assert!(ts.get("bar32").is_none());
        // Updating a present key evicts nothing.
        let ts = full.insert("bar32", "y").unwrap();
        assert_eq!(ts.entries().len(), 32);
        assert_eq!(ts.entries()[0].0, "bar32");
        assert_eq!(ts.entries()[31].0, "bar31");
    }

    #[test]
    fn insert_validates() {
        let ts = parse_trace_state("a=1").unwrap();
        for (key, value, want) in [
            ("Bad", "1", InvalidTraceStateKey),
            ("", "1", InvalidTraceStateKey),
            ("@a", "1", InvalidTraceStateKey),
            ("ok", "", InvalidTraceStateValue),
            ("ok", "a,b", InvalidTraceStateValue),
            ("ok", "a=b", InvalidTraceStateValue),
            ("ok", "end ", InvalidTraceStateValue),
            ("ok", "\u{1f600}", InvalidTraceStateValue),
        ] {
            assert_eq!(ts.insert(key, value), Err(want), "{key:?}={value:?}");
        }
        assert_eq!(
            ts.insert("ok", &"v".repeat(257)),
            Err(InvalidTraceStateValue)
        );
        assert!(ts.insert("ok", &"v".repeat(256)).is_ok());
    }

    #[test]
    fn remove() {
        let ts = parse_trace_state("a=1,b=2,c=3").unwrap();
        assert_eq!(entries(&ts.remove("b")), [("a", "1"), ("c", "3")]);
        assert_eq!(ts.remove("zz"), ts);
        assert!(ts.remove("a").remove("b").remove("c").is_empty());
        assert!(TraceState::NONE.remove("a").is_empty());
    }
}
