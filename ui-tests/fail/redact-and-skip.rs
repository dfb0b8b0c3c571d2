use traced::traced;

#[traced(skip(email), redact(email))]
fn register(email: &str) {
    let _ = email;
}

fn main() {
    register("a@b.c");
}
