//! Async shapes: `async fn` (free, methods, in traits), `#[async_trait]`, and sync functions
//! returning a future from an `async` block or `Box::pin(async ..)`.
#![deny(warnings)]

use std::future::Future;
use std::pin::Pin;
use traced::traced;

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[traced]
async fn free(a: u32, mut b: Vec<u8>) -> Result<usize, std::num::ParseIntError> {
    b.push(1);
    let n: u32 = "7".parse()?;
    if a == 0 {
        return Ok(0);
    }
    Ok(b.len() + n as usize + a as usize)
}

#[traced]
async fn infers_from_signature() -> Vec<u32> {
    let v = (0..3).collect();
    v
}

#[traced]
async fn into_error(s: &str) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    if s.is_empty() {
        return Err("empty".into());
    }
    Ok(s.parse()?)
}

#[traced]
async fn unit(x: &mut u32) {
    *x += 1;
}

#[traced]
async fn borrows<'a>(s: &'a str, _t: &str) -> &'a str {
    s
}

#[traced]
async fn impl_return() -> impl std::fmt::Display {
    5
}

#[traced]
#[allow(clippy::diverging_sub_expression)]
async fn never_finishes() -> u32 {
    todo!()
}

struct Service {
    base: u32,
}

impl Service {
    #[traced]
    async fn by_ref(&self, x: u32) -> u32 {
        self.base + x
    }

    #[traced]
    async fn by_value(self) -> u32 {
        self.base
    }

    #[traced]
    async fn by_mut(&mut self) {
        self.base += 1;
    }
}

trait Repo {
    async fn get(&self, id: u32) -> Option<String>;

    #[traced]
    async fn get_or_default(&self, id: u32) -> String {
        self.get(id).await.unwrap_or_default()
    }
}

impl Repo for Service {
    #[traced]
    async fn get(&self, id: u32) -> Option<String> {
        (id == self.base).then(|| id.to_string())
    }
}

#[async_trait::async_trait]
trait AsyncTraitRepo {
    async fn find(&self, id: u32) -> Result<String, String>;
    async fn count(&self) -> usize;
}

#[async_trait::async_trait]
impl AsyncTraitRepo for Service {
    #[traced]
    async fn find(&self, id: u32) -> Result<String, String> {
        if id == 0 {
            return Err("zero".to_owned());
        }
        let n: u32 = id.to_string().parse().map_err(|_| "parse")?;
        Ok(n.to_string())
    }

    #[traced(skip_all)]
    async fn count(&self) -> usize {
        self.base as usize
    }
}

#[traced(skip(s))]
fn boxed_future<'a>(s: &'a Service, x: u32) -> Pin<Box<dyn Future<Output = u32> + Send + 'a>> {
    let y = x + 1;
    Box::pin(async move { s.base + y })
}

#[traced]
fn impl_future(x: u32) -> impl Future<Output = Result<u32, String>> + Send {
    async move {
        if x == 0 {
            return Err("zero".to_owned());
        }
        Ok(x)
    }
}

#[traced]
fn std_box_pin(x: u32) -> Pin<Box<dyn Future<Output = u32>>> {
    std::boxed::Box::pin(async move { x })
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(assert_send(free(1, vec![])).await, Ok(9));
        assert_eq!(free(0, vec![]).await, Ok(0));
        assert_eq!(infers_from_signature().await, vec![0, 1, 2]);
        assert_eq!(into_error("4").await.unwrap(), 4);
        assert!(into_error("").await.is_err());
        let mut x = 0;
        unit(&mut x).await;
        assert_eq!(x, 1);
        assert_eq!(borrows("a", "b").await, "a");
        assert_eq!(impl_return().await.to_string(), "5");
        drop(never_finishes());
        let mut s = Service { base: 1 };
        assert_eq!(assert_send(s.by_ref(2)).await, 3);
        s.by_mut().await;
        assert_eq!(s.get_or_default(2).await, "2");
        assert_eq!(s.find(3).await.unwrap(), "3");
        assert!(s.find(0).await.is_err());
        assert_eq!(s.count().await, 2);
        assert_eq!(boxed_future(&s, 1).await, 4);
        assert_eq!(assert_send(impl_future(2)).await, Ok(2));
        assert!(impl_future(0).await.is_err());
        assert_eq!(std_box_pin(5).await, 5);
        assert_eq!(s.by_value().await, 2);
    });
}
