//! Which parameter names look like secrets. Such parameters are recorded as `[REDACTED]`
//! (the key kept) unless `reveal(..)` names them.
//!
//! The rules and lists are traced-runtime's (`traced::secret`, which also applies them to the
//! field names inside `Debug` text): this file is a copy, since the macro cannot call the
//! runtime at compile time, and a test here checks that both give the same verdict.

/// Single words that make a name secret (the runtime's `SECRET_WORDS`).
const WORDS: &[&str] = &[
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

/// Two words in a row that make a name secret (the runtime's `SECRET_PAIRS`).
const PAIRS: &[(&str, &str)] = &[
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

/// Whether a parameter named `name` is redacted by default.
pub(crate) fn looks_secret(name: &str) -> bool {
    let words = words(name);
    let is = |word: &str, want: &str| word == want || word.strip_suffix('s') == Some(want);
    words.iter().any(|word| WORDS.iter().any(|w| is(word, w)))
        || words
            .windows(2)
            .any(|pair| PAIRS.iter().any(|(a, b)| pair[0] == *a && is(&pair[1], b)))
}

/// The lowercase words of an identifier: `apiToken` → `api`, `token`; `APIKey` → `api`, `key`;
/// `pwd2` → `pwd`, `2`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words() {
        assert_eq!(words("db_password"), ["db", "password"]);
        assert_eq!(words("apiToken"), ["api", "token"]);
        assert_eq!(words("APIKey"), ["api", "key"]);
        assert_eq!(words("x-api-key"), ["x", "api", "key"]);
        assert_eq!(words("__x2Y"), ["x", "2", "y"]);
    }

    /// Names on both sides of the rules, for the check against the runtime's copy.
    const NAMES: &[&str] = &[
        "password",
        "db_password",
        "PASSWORD",
        "passwd",
        "pwd",
        "pwd2",
        "pass",
        "passcode",
        "passphrase",
        "secret",
        "client_secret",
        "clientSecret",
        "token",
        "apiToken",
        "refresh_tokens",
        "api_key",
        "apiKey",
        "APIKey",
        "apikey",
        "x-api-key",
        "access_key",
        "aws_secret_access_key",
        "private_key",
        "auth",
        "auth_header",
        "authorization",
        "credentials",
        "creds",
        "cookie",
        "session_id",
        "ssn",
        "card_number",
        "cardNumber",
        "credit_card",
        "creditCard",
        "cc_number",
        "ccNumber",
        "pin",
        "cvv",
        "cvv2",
        "cvc",
        "security_code",
        "database_url",
        "databaseUrl",
        "DATABASE_URL",
        "db_url",
        "dsn",
        "connection_string",
        "signature",
        "otp",
        "mfa_code",
        "bearer",
        "jwt",
        "csrf_token",
        "iban",
        "routing_number",
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
        "passenger",
        "bypass",
        "compass",
        "spinner",
        "opinion",
        "pinned",
        "pinyin",
        "keyboard",
        "self",
        "_",
        "url",
        "database",
        "connection",
        "session2",
        "signal",
        "sig",
        "otpauth",
        "tokenize",
    ];

    #[test]
    fn the_same_rules_as_the_runtime() {
        for name in NAMES {
            assert_eq!(
                looks_secret(name),
                traced_runtime::secret::looks_secret(name),
                "{name}: the macro and traced::looks_secret disagree"
            );
        }
        assert_eq!(WORDS, traced_runtime::secret::SECRET_WORDS);
        assert_eq!(PAIRS, traced_runtime::secret::SECRET_PAIRS);
    }
}
