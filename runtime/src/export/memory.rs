use super::{ExportError, SpanExporter};
use crate::model::{Resource, SpanData};
use std::sync::{Arc, Mutex, PoisonError};

/// Keeps exported spans in memory, for tests. Clones share the same store.
///
/// ```
/// use traced_runtime::export::InMemoryExporter;
/// use traced_runtime::pipeline::Pipeline;
/// let exporter = InMemoryExporter::default();
/// let _guard = Pipeline::builder().with_simple_exporter(exporter.clone()).install();
/// traced_runtime::span("unit-of-work").start().end();
/// let spans = exporter.take();
/// assert_eq!(spans.len(), 1);
/// assert!(exporter.spans().is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemoryExporter {
    inner: Arc<Mutex<Store>>,
}

#[derive(Debug, Default)]
struct Store {
    spans: Vec<SpanData>,
    resource: Option<Resource>,
}

impl InMemoryExporter {
    /// A copy of the spans exported so far, in the order they ended.
    pub fn spans(&self) -> Vec<SpanData> {
        self.lock().spans.clone()
    }
    /// Takes the spans exported so far, leaving the store empty.
    pub fn take(&self) -> Vec<SpanData> {
        std::mem::take(&mut self.lock().spans)
    }
    /// Forgets every span.
    pub fn clear(&self) {
        self.lock().spans.clear();
    }
    /// The resource of the pipeline the exporter is installed in.
    pub fn resource(&self) -> Option<Resource> {
        self.lock().resource.clone()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SpanExporter for InMemoryExporter {
    fn export(&mut self, batch: Vec<SpanData>) -> Result<(), ExportError> {
        self.lock().spans.extend(batch);
        Ok(())
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.lock().resource = Some(resource.clone());
    }
}
