#![deny(unused_mut)]

use traced::traced;

#[traced]
fn total(mut items: Vec<u64>) -> u64 {
    items.iter().sum()
}

fn main() {
    let _ = total(vec![1]);
}
