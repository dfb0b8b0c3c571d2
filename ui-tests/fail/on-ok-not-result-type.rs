// A return type the macro cannot judge (an alias): the type system says it is not a `Result`.
use traced::traced;

type Count = u32;

#[traced(on_ok(count = *ok))]
fn count() -> Count {
    3
}

fn main() {
    count();
}
