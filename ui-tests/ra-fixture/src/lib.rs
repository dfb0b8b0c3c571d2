//! Traced functions of every shape; `.ci/rust-analyzer.sh` runs `cargo check` and
//! `rust-analyzer diagnostics` on this crate and fails on any error only the latter reports.
#![allow(dead_code)]

use std::fmt::Display;
use std::future::Future;
use traced::traced;

#[traced]
fn sync_value(a: u32, b: &str) -> u32 {
    a + b.len() as u32
}

#[traced]
fn sync_unit(mut n: u32) {
    n += 1;
    let _ = n;
}

#[traced]
fn sync_result(input: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = input.parse()?;
    if n == 0 {
        return Ok(1);
    }
    Ok(n)
}

#[traced]
fn sync_bails(n: u32) -> anyhow::Result<u32> {
    anyhow::ensure!(n > 0, "zero");
    Ok(n)
}

#[traced]
#[track_caller]
fn sync_track_caller(n: u32) -> anyhow::Result<u32> {
    anyhow::ensure!(n > 0, "zero");
    Ok(std::panic::Location::caller().line())
}

#[traced(ret, err(debug))]
fn sync_generic<T: Display + std::fmt::Debug>(value: T) -> Result<String, String> {
    Ok(value.to_string())
}

#[traced]
fn sync_never() -> ! {
    panic!("never")
}

#[traced]
async fn async_borrow(a: &str, b: &[u8]) -> usize {
    a.len() + b.len()
}

#[traced]
async fn async_returns_borrow(a: &str) -> &str {
    a
}

#[traced]
async fn async_impl_arg(value: impl Display + std::fmt::Debug) -> String {
    value.to_string()
}

#[traced]
fn async_tail(n: u32) -> impl Future<Output = u32> {
    async move { n }
}

#[derive(Debug)]
pub struct Cart {
    items: Vec<u64>,
}

impl Cart {
    #[traced]
    fn total(&self) -> u64 {
        self.items.iter().sum()
    }

    #[traced]
    fn first_mut(&mut self) -> Option<&mut u64> {
        self.items.first_mut()
    }

    #[traced]
    async fn total_later(&self) -> u64 {
        self.total()
    }

    #[traced]
    fn new() -> Self {
        Self { items: Vec::new() }
    }
}

#[traced(skip(self))]
impl Cart {
    fn count(&self) -> usize {
        self.items.len()
    }

    async fn count_later(&self, extra: usize) -> usize {
        self.count() + extra
    }
}

#[traced]
pub trait Pricing {
    fn price(&self) -> u64;

    fn doubled(&self) -> u64 {
        self.price() * 2
    }

    async fn price_later(&self) -> u64 {
        self.price()
    }
}

#[traced]
impl Pricing for Cart {
    fn price(&self) -> u64 {
        self.total()
    }
}

pub trait Store: Send + Sync {
    fn load(&self, id: u64) -> impl Future<Output = Option<u64>> + Send;
}

impl Store for Cart {
    #[traced]
    async fn load(&self, id: u64) -> Option<u64> {
        self.items.get(id as usize).copied()
    }
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

pub fn uses() {
    let cart = Cart::new();
    let _ = sync_value(1, "x");
    sync_unit(1);
    let _ = sync_result("1");
    let _ = sync_bails(1);
    let _ = sync_track_caller(1);
    let _ = sync_generic(1);
    let s = String::from("x");
    let _ = assert_send(async_borrow(&s, b"x"));
    let _ = assert_send(async_returns_borrow(&s));
    let _ = assert_send(async_impl_arg(1));
    let _ = async_tail(1);
    let _ = cart.total();
    let _ = assert_send(cart.total_later());
    let _ = assert_send(cart.count_later(1));
    let _ = assert_send(cart.price_later());
    let _ = assert_send(cart.load(0));
}
