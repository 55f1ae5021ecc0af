//! The backend on `ably-tokio`: a tokio runtime owned by the backend runs
//! the clients' driver tasks, and calls block on it.

use std::future::Future;
use std::sync::Arc;

use ably_proto::ErrorInfo;

use super::bridge::{AsyncBackend, BlockOn};
use super::{Backend, Result};

/// Enters the backend's tokio runtime.
#[derive(Clone)]
struct TokioBlock(Arc<tokio::runtime::Runtime>);

impl BlockOn for TokioBlock {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

/// A backend with a runtime of its own (two worker threads).
pub fn backend() -> Result<Box<dyn Backend>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ErrorInfo::new(50000, 500, format!("cannot start tokio: {e}")))?;
    let runtime = Arc::new(runtime);
    let tokio = ably_tokio::Tokio(runtime.handle().clone());
    Ok(Box::new(AsyncBackend::new(tokio, TokioBlock(runtime))))
}
