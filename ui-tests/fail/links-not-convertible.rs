use traced::traced;

#[traced(kind = "consumer", skip(message), links(message.id))]
fn consume(message: &Message) {
    let _ = message;
}

struct Message {
    id: u64,
}

fn main() {
    consume(&Message { id: 1 });
}
