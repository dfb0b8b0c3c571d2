//! Compile-time behaviour of `#[traced]`: errors in `ui-tests/fail` (one per file, with the
//! expected compiler output beside it), tricky shapes that must compile in `ui-tests/pass`.
// `#[traced]` is compiled out under the `off` feature (which `cargo test --all-features`
// turns on): there are no spans to check. tests/off_feature.rs checks that build.
#![cfg(not(feature = "off"))]

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui-tests/fail/*.rs");
    t.pass("ui-tests/pass/*.rs");
}
