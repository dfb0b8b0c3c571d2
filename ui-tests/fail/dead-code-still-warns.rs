#![deny(dead_code)]

use traced::traced;

#[traced]
fn never_called(x: u64) -> u64 {
    x
}

fn main() {}
