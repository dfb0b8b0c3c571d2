//! The future of a traced request: the span active while the inner service works, the
//! response head recorded, the span handed to the response body.

use super::body::{Exchange, ResponseBody};
use crate::integrations::http::Capture;
use http_body::Body;
use pin_project::{pin_project, pinned_drop};
use std::fmt::{self, Display};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The response future of [`ServerService`](super::ServerService) and
/// [`ClientService`](super::ClientService).
#[pin_project(PinnedDrop)]
pub struct ResponseFuture<F> {
    #[pin]
    inner: F,
    exchange: Option<Exchange>,
    response_headers: Arc<Capture>,
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, exchange: Exchange, response_headers: Arc<Capture>) -> Self {
        ResponseFuture {
            inner,
            exchange: Some(exchange),
            response_headers,
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("exchange", &self.exchange)
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    B: Body,
    E: Display,
{
    type Output = Result<http::Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let poll = match this.exchange.as_mut() {
            Some(exchange) => exchange.poll_in(|| inner.poll(cx)),
            // Only after a panic in an earlier poll (which ended the span).
            None => inner.poll(cx),
        };
        let Poll::Ready(result) = poll else {
            return Poll::Pending;
        };
        let Some(mut exchange) = this.exchange.take() else {
            return Poll::Ready(result.map(|r| r.map(ResponseBody::empty)));
        };
        Poll::Ready(match result {
            Ok(response) => {
                exchange.on_response(response.status(), response.headers());
                if exchange.span.is_recording() {
                    this.response_headers
                        .record(&mut exchange.span, response.headers());
                }
                if exchange.head {
                    // Ends the span: no body follows a HEAD response's head.
                    drop(exchange);
                    Ok(response.map(ResponseBody::empty))
                } else {
                    Ok(response.map(|body| ResponseBody::new(body, exchange)))
                }
            }
            Err(error) => {
                exchange.on_error(&error);
                Err(error)
            }
        })
    }
}

#[pinned_drop]
impl<F> PinnedDrop for ResponseFuture<F> {
    fn drop(self: Pin<&mut Self>) {
        if let Some(exchange) = self.project().exchange.take() {
            // Dropped before the inner service answered: a timeout around this layer, a
            // client that went away, a server shutting down.
            exchange.cancel();
        }
    }
}
