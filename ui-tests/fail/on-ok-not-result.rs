use traced::traced;

#[traced(on_ok(count = ok))]
fn count() -> u32 {
    3
}

#[traced(on_err(code = err.code()))]
fn find() -> Option<u32> {
    None
}

fn main() {
    count();
    find();
}
