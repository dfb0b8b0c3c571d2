//! Exits hidden in macros (`bail!`, `ensure!`, a user's `return`, `?` in macro arguments)
//! compile without a warning, in every shape: generics, `self`, `impl Trait`, references
//! returned from the arguments, `#[track_caller]`, diverging bodies.
#![deny(warnings)]
#![allow(clippy::unnecessary_wraps)]

use std::fmt::Display;
use traced::traced;

macro_rules! fail {
    () => {
        return Err(anyhow::anyhow!("failed"))
    };
}

#[traced]
fn generic<T: Display + std::fmt::Debug>(value: T, n: usize) -> anyhow::Result<String> {
    anyhow::ensure!(n > 0, "n is zero");
    Ok(format!("{value}{}", n))
}

#[traced]
fn borrowed<'a>(items: &'a mut Vec<u8>, name: &'a str) -> anyhow::Result<(&'a mut u8, &'a str)> {
    if items.is_empty() {
        fail!();
    }
    Ok((&mut items[0], name))
}

#[traced]
fn opaque(n: u8) -> anyhow::Result<impl Display> {
    if n == 0 {
        anyhow::bail!("zero");
    }
    Ok(n)
}

#[traced]
fn diverges(n: u8) -> anyhow::Result<u8> {
    anyhow::ensure!(n > 0);
    todo!()
}

#[traced]
#[track_caller]
fn located(n: u8) -> anyhow::Result<u32> {
    anyhow::ensure!(n > 0);
    Ok(std::panic::Location::caller().line())
}

struct Store {
    items: Vec<u8>,
}

impl Store {
    #[traced]
    fn first_mut(&mut self) -> anyhow::Result<&mut u8> {
        anyhow::ensure!(!self.items.is_empty(), "empty");
        Ok(&mut self.items[0])
    }

    #[traced]
    fn make(n: u8) -> anyhow::Result<Self> {
        anyhow::ensure!(n > 0);
        Ok(Self { items: vec![n] })
    }
}

#[traced]
fn in_args(a: &str, b: Option<u8>) -> anyhow::Result<Vec<u32>> {
    let text = format!("{}", b.ok_or_else(|| anyhow::anyhow!("none"))?);
    println!("{text}");
    Ok(vec![a.parse()?, text.parse()?])
}

fn main() {
    let _ = generic(1, 1);
    let mut items = vec![1];
    let _ = borrowed(&mut items, "x");
    let _ = opaque(1).map(|d| d.to_string());
    let _ = std::panic::catch_unwind(|| diverges(1));
    let _ = located(1);
    let mut store = Store::make(1).unwrap();
    let _ = store.first_mut();
    let _ = in_args("1", Some(2));
}
