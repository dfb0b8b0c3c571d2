//! Without a pipeline, `#[traced]` code only runs: `parent = ..` is not evaluated. In its own
//! test binary, where no test ever installs a pipeline.

use traced::propagation::Extractor;
use traced::traced;

/// A carrier that panics when read.
struct Panics;

impl Extractor for Panics {
    fn get(&self, _: &str) -> Option<&str> {
        panic!("`parent` was evaluated without a pipeline")
    }
    fn keys(&self) -> Vec<&str> {
        panic!("`parent` was evaluated without a pipeline")
    }
}

#[traced(parent = &carrier, skip(carrier))]
fn reads(carrier: &Panics) -> u8 {
    let _ = carrier;
    7
}

#[allow(
    clippy::unused_async,
    reason = "nothing to await; under the `off` feature (`--all-features`) the function is \
              left as written, and clippy sees it"
)]
#[traced(parent = carrier, skip(carrier))]
async fn reads_async(carrier: &Panics) -> u8 {
    let _ = carrier;
    8
}

#[test]
fn parent_is_not_evaluated_without_a_pipeline() {
    assert!(traced::pipeline::installed().is_none());
    assert_eq!(reads(&Panics), 7);
    assert_eq!(futures::executor::block_on(reads_async(&Panics)), 8);
}
