//! Ctrl-C and SIGTERM as a flag that long-running commands check, so that
//! they can leave presence and close the connection before exiting.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Set once the process is asked to stop.
#[derive(Clone, Debug, Default)]
pub struct Stop {
    flag: Arc<(Mutex<bool>, Condvar)>,
}

impl Stop {
    /// Catches Ctrl-C and SIGTERM from now on (on a small thread of its
    /// own). If the handlers cannot be installed, the signals keep their
    /// default effect and this is never set.
    pub fn on_signal() -> Stop {
        let stop = Stop::default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build();
        let Ok(runtime) = runtime else {
            return stop;
        };
        // Installed here, before returning, so no signal slips through.
        let signals = runtime.block_on(async { signals() });
        let Ok(signals) = signals else {
            return stop;
        };
        let set = stop.clone();
        std::thread::spawn(move || {
            runtime.block_on(signals);
            set.set();
        });
        stop
    }

    fn set(&self) {
        let (lock, cvar) = &*self.flag;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
    }

    /// Whether a stop was asked for.
    pub fn is_set(&self) -> bool {
        *self.flag.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits up to `timeout` for a stop; returns whether one was asked for.
    pub fn wait(&self, timeout: Duration) -> bool {
        let (lock, cvar) = &*self.flag;
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = cvar
            .wait_timeout_while(guard, timeout, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

/// A future that ends at the first Ctrl-C or SIGTERM; the handlers are
/// installed when this is called (inside a tokio runtime).
pub fn signals() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
