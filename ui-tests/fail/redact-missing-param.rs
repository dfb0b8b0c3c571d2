use traced::traced;

#[traced(redact(emial, phnoe))]
fn register(email: &str, phone: &str) {
    let _ = (email, phone);
}

fn main() {
    register("a@b.c", "555");
}
