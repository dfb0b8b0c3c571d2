use traced::traced;

#[traced(code = maybe)]
fn a() {}

#[traced(code = "false")]
fn b() {}

fn main() {
    a();
    b();
}
