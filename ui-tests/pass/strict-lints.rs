//! `#[traced]` adds no warning to a crate that denies the strict lints.
#![deny(
    warnings,
    unused,
    unused_qualifications,
    unused_results,
    unused_lifetimes,
    unused_import_braces,
    unused_extern_crates,
    unreachable_pub,
    missing_docs,
    missing_debug_implementations,
    trivial_casts,
    trivial_numeric_casts,
    elided_lifetimes_in_paths,
    single_use_lifetimes,
    let_underscore_drop,
    non_ascii_idents,
    meta_variable_misuse,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::pedantic
)]

use std::fmt;
use traced::traced;

/// An error.
#[derive(Debug)]
pub struct AppError;

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("app error")
    }
}

impl std::error::Error for AppError {}

/// A service.
#[derive(Debug, Default)]
pub struct Service {
    calls: u64,
}

impl Service {
    /// Counts.
    ///
    /// # Errors
    /// When the request is empty.
    #[traced(kind = "server", attrs(service.calls = self.calls))]
    pub fn handle(&mut self, request: &str) -> Result<usize, AppError> {
        self.calls += 1;
        if request.is_empty() {
            return Err(AppError);
        }
        let n = request.len().checked_sub(1).ok_or(AppError)?;
        Ok(n)
    }

    /// Async.
    #[traced(name = "Service::fetch", kind = "client", skip(self))]
    pub async fn fetch(&self, id: u64) -> Option<u64> {
        let id = id.checked_add(self.calls)?;
        Some(id)
    }
}

/// Unit, early return.
#[traced]
pub fn unit(flag: bool) {
    if flag {
        return;
    }
    println!("not flagged");
}

/// Never returns.
#[traced]
pub fn forever() -> ! {
    loop {
        std::thread::park();
    }
}

/// Ignored parameters.
#[must_use]
#[traced]
pub fn ignored(_x: u8, _: u8, (a, _b): (u8, u8)) -> u8 {
    a
}

/// Unsafe.
///
/// # Safety
/// `p` must be valid.
#[must_use]
#[traced]
pub unsafe fn read(p: *const u8) -> u8 {
    // SAFETY: the caller guarantees `p` is valid.
    unsafe { *p }
}

fn main() {
    let mut service = Service::default();
    let _n = service.handle("abc").ok();
    let _r = futures::executor::block_on(service.fetch(1));
    unit(true);
    let _i = ignored(1, 2, (3, 4));
    // SAFETY: a valid pointer.
    let _v = unsafe { read(&1) };
    if service.calls == 99 {
        forever();
    }
}
