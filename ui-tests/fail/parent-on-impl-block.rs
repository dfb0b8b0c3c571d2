use traced::{SpanContext, traced};

struct Job {
    origin: SpanContext,
}

#[traced(parent = &self.origin)]
impl Job {
    fn run(&self) {}
}

fn main() {
    let job = Job { origin: SpanContext::NONE };
    job.run();
}
