//! Parameters under `#[cfg]` and `#[cfg_attr]`: a cfg'd-out parameter is neither rebound nor
//! recorded; lint attributes on parameters keep working.
#![deny(warnings)]

use traced::traced;

#[traced]
fn on_windows(#[cfg(windows)] handle: u32, x: u32) -> u32 {
    #[cfg(windows)]
    let x = x + handle;
    x
}

#[traced]
fn cfg_attr_lint(#[cfg_attr(all(), allow(unused_mut))] mut x: u32) -> u32 {
    x
}

#[traced]
fn cfg_attr_cfg(#[cfg_attr(all(), cfg(any()))] gone: u32, y: u32) -> u32 {
    y
}

#[traced(skip(handle))]
fn skipped(#[cfg(unix)] handle: u32, #[allow(unused_variables)] unused: u32) {
    #[cfg(unix)]
    let _ = handle;
}

#[traced]
async fn async_on_windows(#[cfg(windows)] handle: u32, x: u32) -> u32 {
    x
}

struct S;

#[traced]
impl S {
    fn method(&self, #[cfg(any())] gone: u32, x: u32) -> u32 {
        x
    }
}

fn main() {
    assert_eq!(on_windows(#[cfg(windows)] 1, 2), if cfg!(windows) { 3 } else { 2 });
    assert_eq!(cfg_attr_lint(1), 1);
    assert_eq!(cfg_attr_cfg(2), 2);
    skipped(#[cfg(unix)] 1, 2);
    drop(async_on_windows(#[cfg(windows)] 1, 2));
    assert_eq!(S.method(3), 3);
}
