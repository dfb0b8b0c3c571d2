use traced::traced;

#[traced(crate = "my_facade::traced")]
fn a() {}

fn main() {
    a();
}
