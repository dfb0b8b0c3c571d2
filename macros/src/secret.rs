//! Which parameter names look like secrets. Such parameters are recorded as `[REDACTED]`
//! (the key kept) unless `reveal(..)` names them.
//!
//! A name is split into words at `_` and at lower-to-upper case changes (`db_password`,
//! `apiToken`, `APIKey` → `db password`, `api token`, `api key`), and matches when one word, or
//! two words in a row, is in the lists below (a trailing `s` ignored: `tokens`, `cookies`).
//! Whole words only: `author` and `tokenizer` are not secrets, `auth_header` is.

/// Single words that make a name secret.
const WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "apikey",
    "auth",
    "authorization",
    "credential",
    "cookie",
    "session",
    "ssn",
    "cvv",
    "cvc",
    "otp",
    "jwt",
    "bearer",
];

/// Two words in a row that make a name secret.
const PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("access", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("signing", "key"),
    ("card", "number"),
    ("account", "number"),
];

/// Whether a parameter named `name` is redacted by default.
pub(crate) fn looks_secret(name: &str) -> bool {
    let words = words(name);
    let is = |word: &str, want: &str| word == want || word.strip_suffix('s') == Some(want);
    words.iter().any(|word| WORDS.iter().any(|w| is(word, w)))
        || words
            .windows(2)
            .any(|pair| PAIRS.iter().any(|(a, b)| pair[0] == *a && is(&pair[1], b)))
}

/// The lowercase words of an identifier: `apiToken` → `api`, `token`; `APIKey` → `api`, `key`.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        // `apiToken`: lower → upper; `APIKey`: the `K` of an upper run followed by lower.
        let boundary = c.is_uppercase()
            && (prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(char::is_uppercase)
                    && next.is_some_and(|n| n.is_lowercase())));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words() {
        assert_eq!(words("db_password"), ["db", "password"]);
        assert_eq!(words("apiToken"), ["api", "token"]);
        assert_eq!(words("APIKey"), ["api", "key"]);
        assert_eq!(words("__x2Y"), ["x2", "y"]);
    }

    #[test]
    fn secrets() {
        for name in [
            "password",
            "db_password",
            "PASSWORD",
            "passwd",
            "pwd",
            "secret",
            "client_secret",
            "token",
            "apiToken",
            "refresh_tokens",
            "api_key",
            "apiKey",
            "APIKey",
            "apikey",
            "access_key",
            "aws_secret_access_key",
            "private_key",
            "auth",
            "auth_header",
            "authorization",
            "credentials",
            "cookie",
            "session_id",
            "ssn",
            "card_number",
            "cardNumber",
        ] {
            assert!(looks_secret(name), "{name} should look secret");
        }
    }

    #[test]
    fn not_secrets() {
        for name in [
            "user",
            "author",
            "authority",
            "tokenizer",
            "keys",
            "key",
            "cache_key",
            "card",
            "number",
            "passage",
            "spinner",
            "self",
            "_",
        ] {
            assert!(!looks_secret(name), "{name} should not look secret");
        }
    }
}
