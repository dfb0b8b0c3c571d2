use traced::traced;

#[traced(ret)]
fn save(id: u64) {
    let _ = id;
}

#[traced(ret)]
async fn flush() -> () {}

fn main() {
    save(1);
    drop(flush());
}
