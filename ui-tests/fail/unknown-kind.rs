use traced::traced;

#[traced(kind = "clinet")]
fn fetch() {}

fn main() {}
