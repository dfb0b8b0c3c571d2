//! Compile-time behaviour of `#[traced]`: errors in `ui-tests/fail` (one per file, with the
//! expected compiler output beside it), tricky shapes that must compile in `ui-tests/pass`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui-tests/fail/*.rs");
    t.pass("ui-tests/pass/*.rs");
}
