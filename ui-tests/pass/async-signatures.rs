//! `async fn` under `#[traced]` becomes a sync fn returning `impl Future` (its span starts at
//! the call); callers see the signature, lifetimes, `Send`-ness and auto traits exactly as
//! the `async fn` had them.
#![deny(warnings)]
#![allow(clippy::unused_async)]

use std::fmt::{Debug, Display};
use std::future::Future;
use std::rc::Rc;
use traced::traced;

fn assert_send<T: Send>(value: T) -> T {
    value
}

fn assert_static<T: 'static>(value: T) -> T {
    value
}

#[traced]
async fn borrows(a: &str, b: &[u8]) -> usize {
    a.len() + b.len()
}

#[traced]
async fn returns_borrow(a: &str) -> &str {
    &a[1..]
}

#[traced]
async fn named<'a, 'b>(a: &'a str, _b: &'b str) -> &'a str {
    a
}

#[traced]
async fn generic<T: Display + Debug + Send>(value: T, items: Vec<T>) -> String {
    format!("{value}{}", items.len())
}

#[traced(skip(f))]
async fn impl_args(value: impl Display + Debug, f: impl Fn(u8) -> u8) -> String {
    format!("{value}{}", f(1))
}

#[traced]
async fn where_clause<T>(value: T) -> T
where
    T: Clone + Debug,
{
    value.clone()
}

#[traced]
async fn patterns((a, b): (u8, u8), _: u8, mut c: u8, _unused: String) -> u8 {
    c += 1;
    a + b + c
}

#[traced]
async fn not_send(value: Rc<u8>) -> u8 {
    *value
}

#[traced]
async fn never_awaits_a_borrow(x: u8) -> impl Display {
    x
}

#[traced(skip_all)]
async unsafe fn unsafe_async(p: *const u8) -> u8 {
    unsafe { *p }
}

#[derive(Debug, Clone)]
struct Service {
    name: String,
}

impl Service {
    #[traced]
    async fn by_ref(&self, n: u8) -> &str {
        let _ = n;
        &self.name
    }

    #[traced]
    async fn by_mut(&mut self, suffix: &str) -> &mut String {
        self.name.push_str(suffix);
        &mut self.name
    }

    #[traced]
    async fn by_value(self) -> Self {
        self
    }

    #[traced]
    async fn make(name: &str) -> Self {
        Self {
            name: name.to_owned(),
        }
    }
}

/// A trait whose futures must be `Send`: the traced impl still satisfies it.
trait Store: Send + Sync {
    fn load(&self, id: u64) -> impl Future<Output = Option<String>> + Send;
}

impl Store for Service {
    #[traced]
    async fn load(&self, id: u64) -> Option<String> {
        (id == 1).then(|| self.name.clone())
    }
}

/// `async fn` in a trait, a default body traced on the trait and an impl traced on the block.
#[traced]
trait Handler {
    async fn handle(&self, message: &str) -> usize {
        message.len()
    }

    async fn required(&self, n: u8) -> u8;
}

#[traced]
impl Handler for Service {
    async fn required(&self, n: u8) -> u8 {
        n
    }
}

async fn generic_caller<S: Store>(store: &S) -> Option<String> {
    // Send through a generic bound: the trait's `+ Send` is what callers rely on.
    assert_send(store.load(1)).await
}

fn main() {
    let s = String::from("x");
    let service = Service { name: s.clone() };
    let _ = assert_send(borrows(&s, b"ab"));
    let _ = assert_send(returns_borrow(&s));
    let _ = assert_send(named(&s, &s));
    let _ = assert_send(generic(1, vec![2]));
    let _ = assert_send(impl_args(1, |x| x));
    let _ = assert_send(where_clause(1));
    let _ = assert_send(patterns((1, 2), 3, 4, String::new()));
    let _ = not_send(Rc::new(1));
    let _ = assert_static(never_awaits_a_borrow(1));
    let _ = assert_static(generic(1, vec![2]));
    let _ = unsafe { unsafe_async(std::ptr::null()) };
    let _ = assert_send(service.by_ref(1));
    let _ = assert_send(service.clone().by_value());
    let _ = assert_send(Service::make("y"));
    let mut other = service.clone();
    let _ = assert_send(other.by_mut("z"));
    let _ = assert_send(service.load(1));
    let _ = assert_send(service.handle("m"));
    let _ = assert_send(service.required(1));
    let _ = generic_caller(&service);
}
