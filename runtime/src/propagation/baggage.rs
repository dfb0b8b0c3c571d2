//! W3C Baggage: user-defined `key=value` entries carried along a request.

use std::fmt::Write as _;

use super::{BAGGAGE_HEADER, Extractor, Injector, PropagationError, trim_ows};

/// The most members a [`Baggage`] holds.
const MAX_MEMBERS: usize = 64;
/// The longest header a [`Baggage`] formats to, in bytes.
const MAX_BYTES: usize = 8192;

/// One baggage entry: a key, its value, and optional properties (opaque metadata).
///
/// ```
/// use traced_runtime::propagation::Baggage;
///
/// let baggage = Baggage::parse("key3=value3; propertyKey=propertyValue");
/// let entry = baggage.iter().next().unwrap();
/// assert_eq!(entry.key(), "key3");
/// assert_eq!(entry.value(), "value3");
/// assert_eq!(entry.properties(), Some("propertyKey=propertyValue"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BaggageEntry {
    key: String,
    value: String,
    properties: Option<String>,
    /// The length of `key=value[;properties]` on the wire, the value percent-encoded.
    wire_len: usize,
}

impl BaggageEntry {
    fn new(key: &str, value: String, properties: Option<String>) -> Self {
        let encoded: usize = value
            .bytes()
            .map(|b| if needs_no_escape(b) { 1 } else { 3 })
            .sum();
        let wire_len = key.len() + 1 + encoded + properties.as_ref().map_or(0, |p| 1 + p.len());
        BaggageEntry {
            key: key.to_owned(),
            value,
            properties,
            wire_len,
        }
    }

    /// The key: an RFC 7230 `token`, case-sensitive.
    pub fn key(&self) -> &str {
        &self.key
    }
    /// The value, percent-decoded: any UTF-8 text.
    pub fn value(&self) -> &str {
        &self.value
    }
    /// The properties as they go on the wire, `;`-separated `key` or `key=value` items
    /// without white space around them, or `None`.
    pub fn properties(&self) -> Option<&str> {
        self.properties.as_deref()
    }

    fn write_to(&self, out: &mut String) {
        out.push_str(&self.key);
        out.push('=');
        for b in self.value.bytes() {
            if needs_no_escape(b) {
                out.push(char::from(b));
            } else {
                // Writing to a String cannot fail.
                let _ = write!(out, "%{b:02X}");
            }
        }
        if let Some(p) = &self.properties {
            out.push(';');
            out.push_str(p);
        }
    }
}

/// W3C Baggage: an ordered set of user-defined entries, each key once, propagated in the
/// `baggage` header.
///
/// Values are any UTF-8 text, percent-encoded on the wire. A baggage never grows past 64
/// entries or 8192 bytes as a header (the limits every W3C implementation must carry), so
/// whatever one holds can be sent and received whole.
///
/// ```
/// use traced_runtime::propagation::Baggage;
///
/// let mut baggage = Baggage::new();
/// baggage.insert("userId", "alice")?;
/// baggage.insert("serverNode", "DF 28")?;
/// baggage.insert_with_properties("isProduction", "false", "ttl=60")?;
/// assert_eq!(baggage.header(), "userId=alice,serverNode=DF%2028,isProduction=false;ttl=60");
///
/// let received = Baggage::parse("userId = alice , serverNode=DF%2028, isProduction=false;ttl=60");
/// assert_eq!(received, baggage);
/// assert_eq!(received.get("serverNode"), Some("DF 28"));
/// # Ok::<(), traced_runtime::propagation::PropagationError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Baggage {
    entries: Vec<BaggageEntry>,
    /// The sum of the entries' wire lengths, separators not included.
    wire_len: usize,
}

impl Baggage {
    /// The most entries a baggage holds.
    pub const MAX_MEMBERS: usize = MAX_MEMBERS;
    /// The longest `baggage` header a baggage formats to, in bytes.
    pub const MAX_BYTES: usize = MAX_BYTES;

    /// An empty baggage.
    pub const fn new() -> Self {
        Baggage {
            entries: Vec::new(),
            wire_len: 0,
        }
    }

    /// Parses a `baggage` header value (repeated headers joined with `,`).
    ///
    /// Invalid members are skipped, the others kept: a key that is not a token, a raw value
    /// with a character outside the `baggage-octet` set, a malformed property. `OWS` around
    /// keys, values and properties is trimmed. A key seen again replaces the earlier value in
    /// place. Members that would take the baggage past 64 entries or 8192 bytes are skipped.
    /// Percent-encoded bytes that do not form UTF-8 decode to U+FFFD; a `%` not followed by
    /// two hex digits is kept as is.
    ///
    /// ```
    /// use traced_runtime::propagation::Baggage;
    ///
    /// let b = Baggage::parse("key1=value1;property1;property2, bad key=x, key2 = caf%C3%A9");
    /// assert_eq!(b.len(), 2);
    /// assert_eq!(b.get("key2"), Some("café"));
    /// assert_eq!(b.entry("key1").unwrap().properties(), Some("property1;property2"));
    /// ```
    pub fn parse(header: &str) -> Self {
        let mut baggage = Baggage::new();
        baggage.absorb(header);
        baggage
    }

    /// Adds the valid members of `header`, as [`parse`](Self::parse) describes.
    fn absorb(&mut self, header: &str) {
        for entry in header.split(',').filter_map(parse_member) {
            // Over the limits: the member is dropped, as the recommendation allows.
            let _ = self.put(entry);
        }
    }

    /// The `baggage` header value: `key=value[;properties]` members joined with `,`, values
    /// percent-encoded. Empty for an empty baggage.
    pub fn header(&self) -> String {
        let mut out = String::new();
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            entry.write_to(&mut out);
        }
        out
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entry(key).map(BaggageEntry::value)
    }

    /// The entry of `key`, with its properties, if present.
    pub fn entry(&self, key: &str) -> Option<&BaggageEntry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// Sets `key` to `value`, without properties. A present key keeps its position.
    ///
    /// Fails, leaving the baggage unchanged, if `key` is not an RFC 7230 token or the
    /// baggage would exceed 64 entries or 8192 header bytes.
    ///
    /// ```
    /// use traced_runtime::propagation::{Baggage, PropagationError};
    ///
    /// let mut b = Baggage::new();
    /// b.insert("tenant", "acme, inc.")?;
    /// assert_eq!(b.header(), "tenant=acme%2C%20inc.");
    /// assert_eq!(b.insert("a key", "v"), Err(PropagationError::InvalidBaggageKey));
    /// # Ok::<(), PropagationError>(())
    /// ```
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), PropagationError> {
        self.insert_entry(key, value, None)
    }

    /// Sets `key` to `value` with `properties` in the wire form (`k1=v1;k2`, `OWS` allowed
    /// around items); an empty `properties` means none.
    ///
    /// Fails as [`insert`](Self::insert) does, and on properties outside the grammar.
    ///
    /// ```
    /// use traced_runtime::propagation::{Baggage, PropagationError};
    ///
    /// let mut b = Baggage::new();
    /// b.insert_with_properties("k", "v", "ttl = 60; sensitive")?;
    /// assert_eq!(b.header(), "k=v;ttl=60;sensitive");
    /// assert_eq!(
    ///     b.insert_with_properties("k", "v", "a b"),
    ///     Err(PropagationError::InvalidBaggageProperties),
    /// );
    /// # Ok::<(), PropagationError>(())
    /// ```
    pub fn insert_with_properties(
        &mut self,
        key: &str,
        value: &str,
        properties: &str,
    ) -> Result<(), PropagationError> {
        let properties = if trim_ows(properties).is_empty() {
            None
        } else {
            Some(
                normalize_properties(properties.split(';'))
                    .ok_or(PropagationError::InvalidBaggageProperties)?,
            )
        };
        self.insert_entry(key, value, properties)
    }

    fn insert_entry(
        &mut self,
        key: &str,
        value: &str,
        properties: Option<String>,
    ) -> Result<(), PropagationError> {
        if !is_token(key) {
            return Err(PropagationError::InvalidBaggageKey);
        }
        self.put(BaggageEntry::new(key, value.to_owned(), properties))
    }

    /// Adds or replaces an entry whose key is a token, within the limits.
    fn put(&mut self, entry: BaggageEntry) -> Result<(), PropagationError> {
        let count = self.entries.len();
        let present = self.entries.iter_mut().find(|e| e.key == entry.key);
        let replaced = present.as_ref().map_or(0, |e| e.wire_len);
        let count = count + usize::from(present.is_none());
        // Lengths are cached, so a long header of small members stays linear to parse.
        let wire_len = self.wire_len - replaced + entry.wire_len;
        if count > MAX_MEMBERS || wire_len + (count - 1) > MAX_BYTES {
            return Err(PropagationError::BaggageTooLarge);
        }
        match present {
            Some(slot) => *slot = entry,
            None => self.entries.push(entry),
        }
        self.wire_len = wire_len;
        Ok(())
    }

    /// Removes `key`'s entry and returns it.
    pub fn remove(&mut self, key: &str) -> Option<BaggageEntry> {
        let i = self.entries.iter().position(|e| e.key == key)?;
        let entry = self.entries.remove(i);
        self.wire_len -= entry.wire_len;
        Some(entry)
    }

    /// The entries, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, BaggageEntry> {
        self.entries.iter()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<'a> IntoIterator for &'a Baggage {
    type Item = &'a BaggageEntry;
    type IntoIter = std::slice::Iter<'a, BaggageEntry>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

/// Reads and writes [`Baggage`] as the W3C `baggage` header.
///
/// ```
/// use std::collections::HashMap;
/// use traced_runtime::propagation::{Baggage, BaggagePropagator};
///
/// let mut incoming = HashMap::new();
/// incoming.insert("baggage".to_string(), "userId=alice,serverNode=DF%2028".to_string());
/// let mut baggage = BaggagePropagator.extract(&incoming).unwrap();
/// baggage.remove("serverNode");
/// baggage.insert("isProduction", "false")?;
///
/// let mut outgoing = HashMap::new();
/// BaggagePropagator.inject(&baggage, &mut outgoing);
/// assert_eq!(outgoing["baggage"], "userId=alice,isProduction=false");
/// # Ok::<(), traced_runtime::propagation::PropagationError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BaggagePropagator;

impl BaggagePropagator {
    /// The headers this propagator reads and writes.
    pub const FIELDS: [&'static str; 1] = [BAGGAGE_HEADER];

    /// The baggage in `carrier`, repeated `baggage` headers combined in order; `None` if
    /// there is no header or no valid member (see [`Baggage::parse`]).
    pub fn extract(&self, carrier: &dyn Extractor) -> Option<Baggage> {
        let mut baggage = Baggage::new();
        carrier.for_each_value(BAGGAGE_HEADER, &mut |header| baggage.absorb(header));
        (!baggage.is_empty()).then_some(baggage)
    }

    /// Writes `baggage` into `carrier` as one `baggage` header; nothing when it is empty.
    pub fn inject(&self, baggage: &Baggage, carrier: &mut dyn Injector) {
        if !baggage.is_empty() {
            carrier.set(BAGGAGE_HEADER, baggage.header());
        }
    }
}

/// `list-member = key OWS "=" OWS value *( OWS ";" OWS property )`, or `None` if invalid.
fn parse_member(member: &str) -> Option<BaggageEntry> {
    let mut parts = member.split(';');
    let (key, value) = parts.next()?.split_once('=')?;
    let (key, value) = (trim_ows(key), trim_ows(value));
    if !is_token(key) || !value.bytes().all(is_baggage_octet) {
        return None;
    }
    let properties = match parts.clone().next() {
        None => None,
        Some(_) => Some(normalize_properties(parts)?),
    };
    Some(BaggageEntry::new(key, percent_decode(value), properties))
}

/// Checks `property = key OWS "=" OWS value / key OWS` items and joins them with `;`,
/// without `OWS`; `None` if any item is invalid (an empty one included).
fn normalize_properties<'a>(items: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut out = String::new();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(';');
        }
        match item.split_once('=') {
            None => {
                let key = trim_ows(item);
                is_token(key).then(|| out.push_str(key))?;
            }
            Some((key, value)) => {
                let (key, value) = (trim_ows(key), trim_ows(value));
                if !is_token(key) || !value.bytes().all(is_baggage_octet) {
                    return None;
                }
                out.push_str(key);
                out.push('=');
                out.push_str(value);
            }
        }
    }
    Some(out)
}

/// `token = 1*tchar` (RFC 7230 §3.2.6).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// `baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`: printable ASCII but
/// `"`, `,`, `;` and `\`.
const fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// Bytes written as is in an encoded value: baggage octets but `%`, which starts an escape.
const fn needs_no_escape(b: u8) -> bool {
    is_baggage_octet(b) && b != b'%'
}

/// Decodes `%XY` escapes (either case); any other `%` is literal. Bytes that do not form
/// UTF-8 become U+FFFD.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    if !bytes.contains(&b'%') {
        return s.to_owned();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = (b == b'%')
            .then(|| Some((hex_val(*bytes.get(i + 1)?)? << 4) | hex_val(*bytes.get(i + 2)?)?))
            .flatten();
        if let Some(decoded) = escaped {
            out.push(decoded);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn pairs(b: &Baggage) -> Vec<(&str, &str, Option<&str>)> {
        b.iter()
            .map(|e| (e.key(), e.value(), e.properties()))
            .collect()
    }

    #[test]
    fn spec_examples() {
        let b = Baggage::parse(
            "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue",
        );
        assert_eq!(
            pairs(&b),
            [
                ("key1", "value1", Some("property1;property2")),
                ("key2", "value2", None),
                ("key3", "value3", Some("propertyKey=propertyValue")),
            ]
        );
        let want = [
            ("userId", "alice", None),
            ("serverNode", "DF 28", None),
            ("isProduction", "false", None),
        ];
        let single = Baggage::parse("userId=alice,serverNode=DF%2028,isProduction=false");
        assert_eq!(pairs(&single), want);
        assert_eq!(
            single.header(),
            "userId=alice,serverNode=DF%2028,isProduction=false"
        );

        for lines in [
            vec!["userId=alice", "serverNode=DF%2028,isProduction=false"],
            vec![
                "userId =   alice",
                "serverNode = DF%2028, isProduction = false",
            ],
        ] {
            let mut carrier = HashMap::new();
            carrier.insert("baggage".to_owned(), lines[0].to_owned());
            carrier.insert("Baggage".to_owned(), lines[1].to_owned());
            // HashMap spellings are ordered by name: "Baggage" < "baggage".
            let b = BaggagePropagator.extract(&carrier).unwrap();
            let mut got = pairs(&b);
            got.sort_unstable();
            let mut want = want.to_vec();
            want.sort_unstable();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn values_may_hold_equals_signs() {
        let b = Baggage::parse("k=a=b==;p=x=y");
        assert_eq!(pairs(&b), [("k", "a=b==", Some("p=x=y"))]);
        assert_eq!(b.header(), "k=a=b==;p=x=y");
    }

    #[test]
    fn invalid_members_are_skipped() {
        let b = Baggage::parse(concat!(
            "ok1=1,",
            ",",             // empty
            "  ,",           // white space only
            "noequals,",     // no `=`
            "=novalue,",     // empty key
            "bad key=1,",    // space in key
            "bad(key)=1,",   // separator in key
            "k\u{e9}=1,",    // non-ASCII key
            "v1=a b,",       // space in value
            "v2=\"q\",",     // DQUOTE in value
            "v3=a\\b,",      // backslash in value
            "v4=caf\u{e9},", // non-ASCII in raw value
            "p1=1;,",        // empty property
            "p2=1;bad key,", // bad property key
            "p3=1;k=a b,",   // bad property value
            "p4=1;=v,",      // property without key
            "ok2=,",         // empty value is valid
            "ok3=1;k;k2=v2 ; k3",
        ));
        assert_eq!(
            pairs(&b),
            [
                ("ok1", "1", None),
                ("ok2", "", None),
                ("ok3", "1", Some("k;k2=v2;k3"))
            ]
        );
    }

    #[test]
    fn percent_decoding() {
        for (raw, want) in [
            ("a%20b", "a b"),
            ("%2C%3B%3d%25", ",;=%"),
            ("caf%C3%A9", "café"),
            ("%F0%9F%98%80", "\u{1f600}"),
            ("100%", "100%"),
            ("%zz", "%zz"),
            ("%4", "%4"),
            ("%%41", "%A"),
            ("%ff", "\u{fffd}"),
            ("a%C3", "a\u{fffd}"),
        ] {
            assert_eq!(percent_decode(raw), want, "{raw}");
            let b = Baggage::parse(&format!("k={raw}"));
            assert_eq!(b.get("k"), Some(want), "{raw}");
            assert_eq!(Baggage::parse(&b.header()), b, "{raw}");
        }
    }

    #[test]
    fn encoding_escapes_what_is_not_an_octet() {
        let mut b = Baggage::new();
        b.insert("k", " \",;\\%\t\u{e9}=!~").unwrap();
        assert_eq!(b.header(), "k=%20%22%2C%3B%5C%25%09%C3%A9=!~");
        assert_eq!(Baggage::parse(&b.header()), b);
    }

    #[test]
    fn duplicates_replace_in_place() {
        let b = Baggage::parse("a=1,b=2,a=3;p");
        assert_eq!(pairs(&b), [("a", "3", Some("p")), ("b", "2", None)]);
        let mut b = b;
        b.insert("a", "4").unwrap();
        assert_eq!(pairs(&b), [("a", "4", None), ("b", "2", None)]);
    }

    #[test]
    fn member_limit() {
        let header = (0..70)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        let b = Baggage::parse(&header);
        assert_eq!(b.len(), 64);
        assert_eq!(b.iter().last().unwrap().key(), "k63");
        let mut b = b;
        assert_eq!(b.insert("new", "v"), Err(PropagationError::BaggageTooLarge));
        assert_eq!(b.len(), 64);
        b.insert("k0", "replaced").unwrap();
        b.remove("k1").unwrap();
        b.insert("new", "v").unwrap();
        assert_eq!(b.len(), 64);
    }

    #[test]
    fn byte_limit() {
        // Exactly 8192 bytes: two members of 4095 plus a comma.
        let v = "x".repeat(4093);
        let header = format!("a={v},b={v}");
        assert_eq!(header.len(), 8191);
        let b = Baggage::parse(&format!("{header}x"));
        assert_eq!(b.len(), 2);
        assert_eq!(b.header().len(), 8192);
        // One byte more does not fit; the member is skipped.
        let b = Baggage::parse(&format!("a={v},b={v}xx"));
        assert_eq!(b.len(), 1);
        // Encoding counts: one space is three bytes.
        let mut b = Baggage::parse(&format!("a={v}"));
        assert_eq!(
            b.insert("b", &format!("{}  ", "x".repeat(4089))),
            Err(PropagationError::BaggageTooLarge)
        );
        b.insert("b", &format!("{} ", "x".repeat(4091))).unwrap();
        assert_eq!(b.header().len(), 8192);
        // A failed replacement leaves the old value.
        assert_eq!(
            b.insert("b", &"y".repeat(5000)),
            Err(PropagationError::BaggageTooLarge)
        );
        assert!(b.get("b").unwrap().starts_with('x'));
        // A huge header keeps what fits.
        let b = Baggage::parse(&format!("big={},small=1", "x".repeat(100_000)));
        assert_eq!(pairs(&b), [("small", "1", None)]);
    }

    #[test]
    fn long_headers_parse_in_linear_time() {
        // 63 members near the byte limit, then 100 000 replacements of one of them.
        let full: Vec<String> = (0..63)
            .map(|i| format!("k{i:02}={}", "x".repeat(120)))
            .collect();
        let header = format!("{},{}", full.join(","), "k00=y,".repeat(100_000));
        let start = std::time::Instant::now();
        let b = Baggage::parse(&header);
        assert_eq!(b.len(), 63);
        assert_eq!(b.get("k00"), Some("y"));
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        let b = Baggage::parse(&",".repeat(1_000_000));
        assert!(b.is_empty());
    }

    #[test]
    fn mutation_api_validates() {
        let mut b = Baggage::new();
        for key in ["", "a b", "a,b", "a;b", "a=b", "(a)", "caf\u{e9}", "a\"b"] {
            assert_eq!(
                b.insert(key, "v"),
                Err(PropagationError::InvalidBaggageKey),
                "{key:?}"
            );
        }
        for props in [";", "a;", "a b", "a=\"b\"", "=v", "a=b;;c"] {
            assert_eq!(
                b.insert_with_properties("k", "v", props),
                Err(PropagationError::InvalidBaggageProperties),
                "{props:?}"
            );
        }
        assert!(b.is_empty());
        b.insert_with_properties("k", "v", " \t").unwrap();
        assert_eq!(b.entry("k").unwrap().properties(), None);
        assert_eq!(b.remove("k").map(|e| e.value), Some("v".to_owned()));
        assert_eq!(b.wire_len, 0);
        assert_eq!(b.remove("k"), None);
        b.insert("!#$%&'*+-.^_`|~09azAZ", "v").unwrap();
        assert_eq!(Baggage::parse(&b.header()), b);
    }

    #[test]
    fn propagator() {
        let mut carrier = HashMap::new();
        assert!(BaggagePropagator.extract(&carrier).is_none());
        carrier.insert("baggage".to_owned(), "bad key=1, ,".to_owned());
        assert!(BaggagePropagator.extract(&carrier).is_none());

        let mut out = HashMap::new();
        BaggagePropagator.inject(&Baggage::new(), &mut out);
        assert!(out.is_empty());
        let mut b = Baggage::new();
        b.insert("k", "v w").unwrap();
        BaggagePropagator.inject(&b, &mut out);
        assert_eq!(out["baggage"], "k=v%20w");
        assert_eq!(BaggagePropagator.extract(&out), Some(b));
    }

    #[cfg(feature = "http")]
    #[test]
    fn header_map_repeated_lines() {
        use http::{HeaderMap, HeaderValue};
        let mut h = HeaderMap::new();
        h.append("baggage", HeaderValue::from_static("userId=alice"));
        h.append(
            "baggage",
            HeaderValue::from_static("serverNode=DF%2028,isProduction=false"),
        );
        let b = BaggagePropagator.extract(&h).unwrap();
        assert_eq!(
            b.header(),
            "userId=alice,serverNode=DF%2028,isProduction=false"
        );
    }
}
