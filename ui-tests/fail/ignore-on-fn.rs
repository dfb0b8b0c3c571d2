use traced::traced;

#[traced(ignore)]
fn helper() {}

fn main() {
    helper();
}
