use traced::traced;

#[traced(name = checkout)]
fn checkout() {}

fn main() {}
