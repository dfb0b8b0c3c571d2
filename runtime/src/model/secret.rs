//! Secrets kept out of spans: names that look secret, values of such fields inside `Debug`
//! text, and passwords inside URLs.
//!
//! # Names that look secret
//!
//! A name is split into words at `_`, `-`, `.` and other punctuation, at lower-to-upper case
//! changes, and between letters and digits (`db_password`, `apiToken`, `APIKey`, `x-api-key`,
//! `pwd2` → `db password`, `api token`, `api key`, `x api key`, `pwd 2`). It looks secret when
//! one word is in [`SECRET_WORDS`], or two words in a row are in [`SECRET_PAIRS`], ignoring
//! case and a trailing `s` (`tokens`, `cookies`, `credentials`). Whole words only: `author`,
//! `tokenizer`, `spinner`, `opinion`, `pinned`, `passenger`, `bypass`, `keyboard`,
//! `session_count`... no: `session` is a word, so `session_count` *is* redacted. The lists are
//! drawn from the secret scanners' keyword lists (detect-secrets, gitleaks) and the OWASP
//! Logging Cheat Sheet's "never log" list (passwords, session ids, access tokens, keys,
//! connection strings, payment card and bank data, national ids). They lean towards redacting:
//! a name that only looks secret (`token_count`, `render_pass`) is recorded with
//! `#[traced(reveal(..))]`.
//!
//! `#[traced]` applies these rules to parameter names at compile time (the macro crate holds the
//! same lists; a test keeps the two equal), and to the field names found in `Debug` text.
//!
//! # Inside `Debug` text
//!
//! Values recorded with `Debug` are scrubbed after formatting, in derived-`Debug` syntax:
//! the value of a struct field whose name looks secret (`Login { user: "bob", password:
//! [REDACTED] }`) and of a map entry whose string key does (`{"authorization": [REDACTED]}`)
//! becomes `[REDACTED]`; the value ends at the next `,` or closing bracket outside quotes and
//! brackets (or at the end of the text). A `Debug` written by hand in another syntax is not
//! understood: wrap secrets in [`Redacted`](crate::Redacted) there.
//!
//! # Passwords in URLs
//!
//! In `Debug` text and in string arguments of `#[traced]` functions, the password of a URL with
//! credentials is replaced: `postgres://app:hunter2@db:5432/orders` is recorded as
//! `postgres://app:[REDACTED]@db:5432/orders` (the user name is kept: it says which account).
//! A string argument is only marked on the thread that calls the function; the replacement is
//! made where the finished span is read for export (on the batch processor's thread for a
//! remote backend), before any processor or exporter sees the value.
//!
//! `#[traced(reveal(x))]` records `x` as it is: neither its name nor the field names inside
//! its `Debug` text nor a URL in it redact anything. `redact(x)` records `[REDACTED]`.

use crate::model::redacted::TEXT;

/// Words that make a name secret on their own (see the [module docs](self)).
pub const SECRET_WORDS: &[&str] = &[
    // Passwords and passphrases.
    "password",
    "passwd",
    "pwd",
    "pass",
    "passcode",
    "passphrase",
    "passkey",
    // Secrets, tokens, keys written as one word.
    "secret",
    "token",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "privkey",
    "authtoken",
    "accesstoken",
    "refreshtoken",
    "clientsecret",
    // Authentication.
    "auth",
    "authorization",
    "credential",
    "cred",
    "creds",
    "bearer",
    "jwt",
    "otp",
    "totp",
    "hotp",
    "mfa",
    "signature",
    "csrf",
    "xsrf",
    // Sessions.
    "cookie",
    "session",
    "sessionid",
    // Payment cards, bank and national ids.
    "pin",
    "pincode",
    "cvv",
    "cvc",
    "ssn",
    "iban",
    "creditcard",
    "cardnumber",
    "ccnumber",
    // Connection strings.
    "dsn",
    "databaseurl",
    "connectionstring",
];

/// Two words in a row that make a name secret (see the [module docs](self)).
pub const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("access", "key"),
    ("account", "key"),
    ("auth", "key"),
    ("client", "key"),
    ("encryption", "key"),
    ("master", "key"),
    ("private", "key"),
    ("priv", "key"),
    ("secret", "key"),
    ("session", "key"),
    ("signing", "key"),
    ("card", "number"),
    ("card", "num"),
    ("cc", "number"),
    ("cc", "num"),
    ("credit", "card"),
    ("account", "number"),
    ("routing", "number"),
    ("security", "code"),
    ("social", "security"),
    ("seed", "phrase"),
    ("database", "url"),
    ("database", "uri"),
    ("db", "url"),
    ("db", "uri"),
    ("connection", "string"),
    ("conn", "string"),
    ("conn", "str"),
];

/// Whether a parameter, field or key named `name` looks like a secret: the rules of the
/// [module docs](self).
///
/// ```
/// use traced_runtime::secret::looks_secret;
/// assert!(looks_secret("db_password") && looks_secret("apiKey") && looks_secret("X-Api-Key"));
/// assert!(looks_secret("credit_card") && looks_secret("pin") && looks_secret("database_url"));
/// assert!(!looks_secret("author") && !looks_secret("spinner") && !looks_secret("cache_key"));
/// ```
pub fn looks_secret(name: &str) -> bool {
    let words = words(name);
    let is = |word: &str, want: &str| word == want || word.strip_suffix('s') == Some(want);
    words
        .iter()
        .any(|word| SECRET_WORDS.iter().any(|w| is(word, w)))
        || words.windows(2).any(|pair| {
            SECRET_PAIRS
                .iter()
                .any(|(a, b)| pair[0] == *a && is(&pair[1], b))
        })
}

/// The lowercase words of a name: `apiToken` → `api`, `token`; `APIKey` → `api`, `key`;
/// `pwd2` → `pwd`, `2`. The macro crate's `secret::words` is the same function.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        let prev = i
            .checked_sub(1)
            .map(|p| chars[p])
            .filter(|p| p.is_alphanumeric());
        let next = chars.get(i + 1);
        // `apiToken`: lower → upper; `APIKey`: the `K` of an upper run followed by lower;
        // `pwd2`, `2fa`: between letters and digits.
        let boundary = prev.is_some_and(|p| {
            (c.is_uppercase() && (p.is_lowercase() || p.is_ascii_digit()))
                || (c.is_uppercase() && p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
                || c.is_ascii_digit() != p.is_ascii_digit()
        });
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// `text` (the `Debug` text of a value) with the values of secret-looking fields and map
/// keys, and the passwords of URLs, replaced by `[REDACTED]`.
pub(crate) fn scrub_debug(text: String) -> String {
    // Both forms need a `:`; most values have none and cost one scan.
    if !text.as_bytes().contains(&b':') {
        return text;
    }
    let text = scrub_fields(text);
    scrub_urls(text)
}

/// A string argument with the password of a URL replaced (see the module docs); `None` when
/// it holds none.
pub(crate) fn scrub_url_value(text: &str) -> Option<String> {
    // Most arguments hold no `@`: one pass eight bytes at a time says so.
    if !has_byte(text.as_bytes(), b'@') {
        return None;
    }
    // The last `@`: a URL's password sits before an `@` that follows its `://`, and an `@`
    // earlier in the text (`me@host: postgres://app:pw@db`) says nothing about the rest.
    let at = text.as_bytes().iter().rposition(|&b| b == b'@')?;
    if !text[..at].contains("://") {
        return None;
    }
    let scrubbed = scrub_urls(text.to_owned());
    (scrubbed != text).then_some(scrubbed)
}

/// Whether `bytes` holds `needle`, eight bytes at a time (a word has the byte when the word
/// `XOR`ed with it has a zero byte). Run on the export side for every string argument, so
/// that most cost a few instructions rather than a loop per byte.
#[inline]
pub(crate) fn has_byte(bytes: &[u8], needle: u8) -> bool {
    let has = |word: &[u8; 8]| word_has_byte(u64::from_ne_bytes(*word), needle);
    let Some(last) = bytes.last_chunk::<8>() else {
        return bytes.contains(&needle);
    };
    let (words, _) = bytes.as_chunks::<8>();
    // The last word overlaps the others when the length is not a multiple of 8.
    words.iter().any(has) || has(last)
}

/// Whether one of the eight bytes of `word` is `needle` (see [`has_byte`]).
#[inline(always)]
pub(crate) fn word_has_byte(word: u64, needle: u8) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let x = word ^ (ONES * u64::from(needle));
    x.wrapping_sub(ONES) & !x & HIGHS != 0
}

fn scrub_fields(text: String) -> String {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b':') {
        let colon = i + off;
        i = colon + 1;
        if b.get(colon + 1) != Some(&b' ') {
            continue;
        }
        let Some(key) = key_before(&text, colon) else {
            continue;
        };
        if !looks_secret(key) {
            continue;
        }
        let start = colon + 2;
        if text[start..].starts_with(TEXT) {
            continue;
        }
        let mut end = value_end(b, start);
        // The space before a closing bracket stays.
        while end > start && b[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        out.push_str(&text[copied..start]);
        out.push_str(TEXT);
        copied = end;
        i = end.max(i);
    }
    if copied == 0 {
        return text;
    }
    out.push_str(&text[copied..]);
    out
}

/// The field name or string key that ends just before the `:` at `colon`.
fn key_before(text: &str, colon: usize) -> Option<&str> {
    let b = text.as_bytes();
    if colon == 0 {
        return None;
    }
    if b[colon - 1] == b'"' {
        // `"key": value`: back to the opening quote.
        let close = colon - 1;
        let mut k = close;
        while k > 0 {
            k -= 1;
            if b[k] == b'"' && (k == 0 || b[k - 1] != b'\\') {
                return Some(&text[k + 1..close]);
            }
        }
        return None;
    }
    let mut k = colon;
    while k > 0 && (b[k - 1].is_ascii_alphanumeric() || b[k - 1] == b'_') {
        k -= 1;
    }
    (k < colon).then(|| &text[k..colon])
}

/// Where the value starting at `start` ends: the next `,` or closing bracket outside quotes
/// and brackets, or the end of the text.
fn value_end(b: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut j = start;
    while j < b.len() {
        match b[j] {
            b'"' => {
                j += 1;
                while j < b.len() && b[j] != b'"' {
                    if b[j] == b'\\' {
                        j += 1;
                    }
                    j += 1;
                }
            }
            b'\'' if b.get(j + 2) == Some(&b'\'') => j += 2,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                if depth == 0 {
                    return j;
                }
                depth -= 1;
            }
            b',' if depth == 0 => return j,
            _ => {}
        }
        j += 1;
    }
    b.len()
}

/// Replaces the password of every `scheme://user:password@host` in `text`.
fn scrub_urls(text: String) -> String {
    if !text.contains("://") {
        return text;
    }
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(off) = text[from..].find("://") {
        let authority = from + off + 3;
        from = authority;
        let end = b[authority..]
            .iter()
            .position(|&c| {
                matches!(
                    c,
                    b'/' | b'?' | b'#' | b'"' | b'\'' | b',' | b')' | b']' | b'}' | b'>'
                ) || c.is_ascii_whitespace()
            })
            .map_or(b.len(), |p| authority + p);
        let Some(at) = b[authority..end].iter().rposition(|&c| c == b'@') else {
            continue;
        };
        let at = authority + at;
        let Some(colon) = b[authority..at].iter().position(|&c| c == b':') else {
            continue;
        };
        let password = authority + colon + 1;
        if &text[password..at] == TEXT {
            continue;
        }
        out.push_str(&text[copied..password]);
        out.push_str(TEXT);
        copied = at;
        from = at;
    }
    if copied == 0 {
        return text;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub(s: &str) -> String {
        scrub_debug(s.to_owned())
    }

    #[test]
    fn struct_fields() {
        assert_eq!(
            scrub(r#"Login { user: "bob", password: "hunter2", remember: true }"#),
            r#"Login { user: "bob", password: [REDACTED], remember: true }"#
        );
        assert_eq!(
            scrub(r#"Outer { inner: Creds { apiKey: Some("a, b"), pin: 1234 }, n: 2 }"#),
            "Outer { inner: Creds { apiKey: [REDACTED], pin: [REDACTED] }, n: 2 }"
        );
        assert_eq!(
            scrub("Card { card_number: [4, 2, 4, 2], cvv: '7' }"),
            "Card { card_number: [REDACTED], cvv: [REDACTED] }"
        );
        // Pretty syntax too.
        assert_eq!(
            scrub("Login {\n    password: \"x\",\n    user: \"u\",\n}"),
            "Login {\n    password: [REDACTED],\n    user: \"u\",\n}"
        );
        // Cut short: redacted to the end.
        assert_eq!(
            scrub(r#"Login { token: "abc…"#),
            "Login { token: [REDACTED]"
        );
        // A quote inside the secret.
        assert_eq!(
            scrub(r#"L { secret: "a\"b, c", x: 1 }"#),
            "L { secret: [REDACTED], x: 1 }"
        );
    }

    #[test]
    fn map_keys() {
        assert_eq!(
            scrub(r#"{"authorization": "Bearer abc", "accept": "*/*", "x-api-key": "k"}"#),
            r#"{"authorization": [REDACTED], "accept": "*/*", "x-api-key": [REDACTED]}"#
        );
    }

    #[test]
    fn untouched() {
        for s in [
            r#"User { name: "bob", author: "x", spinner: 3, tokenizer: T }"#,
            r#"{"keys": [1], "cache_key": "k"}"#,
            "plain text: with a colon",
            "12:30:00",
            "https://example.com:8443/path?q=1",
            "https://user@example.com/",
        ] {
            assert_eq!(scrub(s), s);
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            scrub(r#"Config { url: "postgres://app:hunter2@db:5432/orders", n: 1 }"#),
            r#"Config { url: "postgres://app:[REDACTED]@db:5432/orders", n: 1 }"#
        );
        assert_eq!(
            scrub_url_value("redis://:s3cret@cache"),
            Some("redis://:[REDACTED]@cache".to_owned())
        );
        assert_eq!(
            scrub_url_value("a amqp://u:p@h and https://x:y@z/"),
            Some("a amqp://u:[REDACTED]@h and https://x:[REDACTED]@z/".to_owned())
        );
        assert_eq!(scrub_url_value("bob@example.com"), None);
        assert_eq!(
            scrub_url_value("bob@example.com via postgres://app:hunter2@db/x"),
            Some("bob@example.com via postgres://app:[REDACTED]@db/x".to_owned())
        );
        for len in 0..40 {
            for at in 0..len {
                let mut t = vec![b'x'; len];
                assert!(!has_byte(&t, b'@'), "{len}");
                t[at] = b'@';
                assert!(has_byte(&t, b'@'), "{len} {at}");
                // Bytes just above and below the needle, and high bytes, are not it.
                t[at] = b'A';
                assert!(!has_byte(&t, b'@'));
                t[at] = b'?';
                assert!(!has_byte(&t, b'@'));
                t[at] = 0xC0;
                assert!(!has_byte(&t, b'@'));
            }
        }
        assert_eq!(scrub_url_value("https://example.com/@user"), None);
    }
}
