#![deny(unused_variables)]

use traced::traced;

#[traced]
fn checkout(cart: u64, coupon: u64) -> u64 {
    cart
}

#[traced]
async fn fetch(url: &str, retries: u32) -> usize {
    url.len()
}

fn main() {
    let _ = checkout(1, 2);
    let _ = fetch("x", 3);
}
