//! A service process a task starts and stops: `ably-local` for `interop`,
//! the bench's service (`bench_service`, the ably-local library) for
//! `bench client`. Both print `ably-local listening on SCHEME://ADDR` as
//! their first line.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;

/// A running service, stopped when dropped, so an early return does not
/// leak it.
pub(crate) struct Service {
    child: Child,
    /// Where it listens: `host:port`.
    addr: String,
}

impl Service {
    /// Starts `bin` with `args` and waits for its first line, which must
    /// say it listens on `scheme`. What it prints after that is read and
    /// dropped, so that it never blocks on a full pipe.
    pub(crate) fn start(bin: &Path, args: &[&str], scheme: &str) -> Result<Service> {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout from the service")?;
        let mut service = Service {
            child,
            addr: String::new(),
        };
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        lines.read_line(&mut first)?;
        service.addr = first
            .trim()
            .strip_prefix(&format!("ably-local listening on {scheme}://"))
            .ok_or_else(|| format!("unexpected first line from {}: {first:?}", bin.display()))?
            .to_owned();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        Ok(service)
    }

    /// `host:port`.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> &str {
        self.addr.rsplit(':').next().unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // The end of its input stops the bench's service; SIGTERM stops
        // ably-local gracefully; then make sure.
        drop(self.child.stdin.take());
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
