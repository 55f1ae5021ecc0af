//! The backend on `ably-async-std`: the clients' driver tasks run on
//! async-std's global executor, and calls block with its `block_on`.

use std::future::Future;

use ably_async_std::AsyncStd;

use super::bridge::{AsyncBackend, BlockOn};
use super::{Backend, Result};

/// async-std's `block_on`.
#[derive(Clone)]
struct AsyncStdBlock;

impl BlockOn for AsyncStdBlock {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        async_std::task::block_on(future)
    }
}

/// A backend on async-std's global executor.
pub fn backend() -> Result<Box<dyn Backend>> {
    Ok(Box::new(AsyncBackend::new(AsyncStd, AsyncStdBlock)))
}
