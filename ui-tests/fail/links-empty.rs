use traced::traced;

#[traced(kind = "consumer", links())]
fn consume(message: &str) {
    let _ = message;
}

fn main() {}
