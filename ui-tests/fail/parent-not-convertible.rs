use traced::traced;

#[traced(kind = "server", parent = request_id)]
fn handle(request_id: u64) {
    let _ = request_id;
}

fn main() {
    handle(7);
}
