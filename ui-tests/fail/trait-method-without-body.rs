use traced::traced;

trait Shape {
    #[traced]
    fn area(&self) -> f64;
}

fn main() {}
