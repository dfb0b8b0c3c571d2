use traced::traced;

#[traced(kind = "server", parent)]
fn handle(headers: &std::collections::HashMap<String, String>) {
    let _ = headers;
}

fn main() {}
