use traced::traced;

struct Handle;

#[traced(ret)]
fn open() -> Handle {
    Handle
}

fn main() {
    open();
}
