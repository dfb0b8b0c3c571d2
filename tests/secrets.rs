//! Secrets kept out of spans: parameter names that look secret, secret-looking fields inside
//! `Debug` text, passwords in URLs; `reveal` and `redact` still decide.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]
#![allow(unreachable_pub)]

use std::collections::BTreeMap;
use traced::secret::looks_secret;
use traced::testing::{capture, one};
use traced::{Value, traced};

fn s(v: &str) -> Value {
    Value::String(v.into())
}
const R: &str = "[REDACTED]";

/// Names that must be redacted.
const SECRET: &[&str] = &[
    // Passwords.
    "password",
    "db_password",
    "dbPassword",
    "DB_PASSWORD",
    "Password",
    "passwd",
    "pwd",
    "pwd2",
    "pass",
    "user_pass",
    "passcode",
    "passphrase",
    "passwords",
    "new-password",
    "password_hash",
    "passkey",
    // Secrets, tokens, keys.
    "secret",
    "client_secret",
    "clientSecret",
    "secrets",
    "token",
    "apiToken",
    "access_token",
    "refreshToken",
    "id_token",
    "tokens",
    "api_key",
    "apiKey",
    "APIKey",
    "apikey",
    "x-api-key",
    "X-Api-Key",
    "access_key",
    "aws_secret_access_key",
    "AWS_ACCESS_KEY_ID",
    "private_key",
    "privateKey",
    "privkey",
    "secret_key",
    "signing_key",
    "encryption_key",
    "master_key",
    "client_key",
    "account_key",
    "session_key",
    // Authentication.
    "auth",
    "auth_header",
    "authorization",
    "Authorization",
    "credential",
    "credentials",
    "creds",
    "cred",
    "bearer",
    "bearer_token",
    "jwt",
    "otp",
    "totp",
    "mfa_code",
    "signature",
    "csrf_token",
    "xsrf",
    // Sessions.
    "cookie",
    "cookies",
    "set-cookie",
    "session",
    "session_id",
    "sessionId",
    "sessionid",
    // Payment cards, bank, national ids.
    "pin",
    "pin_code",
    "pincode",
    "cvv",
    "cvv2",
    "cvc",
    "ssn",
    "social_security_number",
    "iban",
    "credit_card",
    "creditCard",
    "creditcard",
    "credit_card_number",
    "card_number",
    "cardNumber",
    "cardnumber",
    "card_num",
    "cc_number",
    "ccNumber",
    "cc_num",
    "security_code",
    "securityCode",
    "account_number",
    "routing_number",
    // Connection strings.
    "database_url",
    "databaseUrl",
    "DATABASE_URL",
    "database_uri",
    "db_url",
    "dsn",
    "connection_string",
    "connectionString",
    "conn_str",
    "seed_phrase",
];

#[test]
fn secret_looking_names() {
    for name in SECRET {
        assert!(looks_secret(name), "{name} should look secret");
    }
}

/// Names that must be recorded.
const NOT_SECRET: &[&str] = &[
    "user",
    "username",
    "user_id",
    "email",
    "name",
    "author",
    "authority",
    "authors",
    "authored",
    "tokenizer",
    "tokenize",
    "keys",
    "key",
    "cache_key",
    "key_id",
    "primary_key",
    "sort_key",
    "partition_key",
    "card",
    "number",
    "count",
    "passage",
    "passenger",
    "passengers",
    "bypass",
    "compass",
    "passive",
    "spinner",
    "opinion",
    "pinned",
    "pinyin",
    "spin",
    "keyboard",
    "secretary",
    "self",
    "_",
    "url",
    "base_url",
    "database",
    "db_name",
    "connection",
    "conn",
    "signal",
    "design",
    "assign",
    "pint",
    "option",
    "otherwise",
    "cookbook",
    "sessionless",
    "crediting",
    "pinecone",
    "ids",
    "request_id",
    "trace_id",
    "amount",
    "currency",
    "path",
    "host",
    "port",
];

#[test]
fn names_that_are_not_secrets() {
    for name in NOT_SECRET {
        assert!(!looks_secret(name), "{name} should not look secret");
    }
}

#[traced]
#[allow(clippy::too_many_arguments)]
fn pay(
    credit_card: &str,
    pin: u32,
    creds: &str,
    passcode: &str,
    cc_number: &str,
    security_code: u32,
    database_url: &str,
    amount: u64,
) -> u64 {
    let _ = (
        credit_card,
        pin,
        creds,
        passcode,
        cc_number,
        security_code,
        database_url,
    );
    amount
}

#[test]
fn secret_parameters_are_redacted_with_their_keys_kept() {
    let (r, spans) = capture(|| pay("4242", 1234, "c", "p", "4111", 123, "postgres://x", 5));
    assert_eq!(r, 5);
    let span = one(&spans, "pay");
    for key in [
        "credit_card",
        "pin",
        "creds",
        "passcode",
        "cc_number",
        "security_code",
        "database_url",
    ] {
        assert_eq!(span.attribute(key), Some(&s(R)), "{key}");
    }
    assert_eq!(span.attribute("amount"), Some(&Value::I64(5)));
}

#[derive(Debug)]
#[allow(dead_code)] // read through `Debug` only
struct Login {
    user: String,
    password: String,
    remember: bool,
}

#[traced]
fn sign_in(login: &Login, headers: &BTreeMap<&str, &str>) {
    let _ = (login, headers);
}

#[traced(reveal(login, token_count))]
fn sign_in_revealed(login: &Login, token_count: u32) {
    let _ = (login, token_count);
}

#[traced(redact(login))]
fn sign_in_redacted(login: &Login) {
    let _ = login;
}

fn login() -> Login {
    Login {
        user: "bob".into(),
        password: "hunter2".into(),
        remember: true,
    }
}

#[test]
fn secret_fields_inside_debug_text_are_redacted() {
    let headers = BTreeMap::from([("accept", "*/*"), ("authorization", "Bearer abc")]);
    let ((), spans) = capture(|| sign_in(&login(), &headers));
    let span = one(&spans, "sign_in");
    assert_eq!(
        span.attribute("login"),
        Some(&s(
            r#"Login { user: "bob", password: [REDACTED], remember: true }"#
        ))
    );
    assert_eq!(
        span.attribute("headers"),
        Some(&s(r#"{"accept": "*/*", "authorization": [REDACTED]}"#))
    );
}

#[test]
fn reveal_and_redact_still_decide() {
    let ((), spans) = capture(|| sign_in_revealed(&login(), 3));
    let span = one(&spans, "sign_in_revealed");
    assert_eq!(
        span.attribute("login"),
        Some(&s(
            r#"Login { user: "bob", password: "hunter2", remember: true }"#
        ))
    );
    assert_eq!(span.attribute("token_count"), Some(&Value::I64(3)));

    let ((), spans) = capture(|| sign_in_redacted(&login()));
    assert_eq!(
        one(&spans, "sign_in_redacted").attribute("login"),
        Some(&s(R))
    );
}

#[traced]
fn connect(url: &str, config: &Config) {
    let _ = (url, config);
}

#[traced(reveal(url))]
fn connect_revealed(url: &str) {
    let _ = url;
}

#[derive(Debug)]
#[allow(dead_code)] // read through `Debug` only
struct Config {
    upstream: String,
}

#[test]
fn passwords_in_urls_are_redacted() {
    let config = Config {
        upstream: "amqp://svc:guest@mq:5672/vhost".into(),
    };
    let ((), spans) = capture(|| connect("postgres://app:hunter2@db:5432/orders", &config));
    let span = one(&spans, "connect");
    assert_eq!(
        span.attribute("url"),
        Some(&s("postgres://app:[REDACTED]@db:5432/orders"))
    );
    assert_eq!(
        span.attribute("config"),
        Some(&s(
            r#"Config { upstream: "amqp://svc:[REDACTED]@mq:5672/vhost" }"#
        ))
    );

    let ((), spans) = capture(|| connect_revealed("postgres://app:hunter2@db"));
    assert_eq!(
        one(&spans, "connect_revealed").attribute("url"),
        Some(&s("postgres://app:hunter2@db"))
    );
}

#[traced]
fn connect_or_panic(url: &str) {
    let config = Config {
        upstream: "amqp://svc:guest@mq:5672/vhost".into(),
    };
    let password = "s3cr3t";
    panic!("cannot reach {url} with {config:?}, Login {{ user: \"bob\", password: {password:?} }}");
}

#[test]
fn panic_messages_are_scrubbed_before_they_are_recorded() {
    let (r, spans) = capture(|| {
        std::panic::catch_unwind(|| connect_or_panic("postgres://app:hunter2@db:5432/orders"))
    });
    // The panic itself goes on as it was.
    let payload = r.unwrap_err();
    assert!(
        payload
            .downcast_ref::<String>()
            .unwrap()
            .contains("hunter2")
    );
    let span = one(&spans, "connect_or_panic");
    let message = span
        .event("exception")
        .and_then(|e| e.attribute("exception.message"))
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    assert_eq!(
        message,
        "cannot reach postgres://app:[REDACTED]@db:5432/orders with \
         Config { upstream: \"amqp://svc:[REDACTED]@mq:5672/vhost\" }, \
         Login { user: \"bob\", password: [REDACTED] }"
    );
    assert_eq!(span.status, traced::Status::error(message));
}
