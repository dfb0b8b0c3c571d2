//! Tokio tasks that start in the spawning code's context (feature `tokio`).
//!
//! `tokio::spawn` runs the task on whatever worker thread picks it up, where the spawning
//! span is not active. These wrappers capture the [`Context`] at the call and attach it during
//! every poll (or for the blocking closure), so spans started in the task are children of the
//! span active where it was spawned.

use crate::context::Context;
use crate::span::future::FutureExt as _;
use ::tokio::task::JoinHandle;
use std::future::Future;

/// [`tokio::spawn`], the task running in the caller's context.
///
/// ```
/// use traced_runtime::{span, testing};
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let spans = testing::spans(|| {
///     let mut request = span("request").start();
///     let task = request.in_scope(|| {
///         let _rt = rt.enter();
///         traced_runtime::tokio::spawn(async { span("task").start().end() })
///     });
///     rt.block_on(task).unwrap();
///     request.end();
/// });
/// assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    ::tokio::spawn(future.in_current_context())
}

/// [`tokio::task::spawn_blocking`], the closure running in the caller's context.
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    ::tokio::task::spawn_blocking(Context::current().wrap(f))
}
