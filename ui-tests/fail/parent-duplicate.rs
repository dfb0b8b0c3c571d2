use std::collections::HashMap;
use traced::traced;

#[traced(parent = &headers, parent = None)]
fn handle(headers: &HashMap<String, String>) {
    let _ = headers;
}

fn main() {}
