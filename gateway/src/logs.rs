//! Access and security logs.
//!
//! Requests hand records to [`LogSink`] without blocking on disk: they are pushed onto a shared
//! queue, and a dedicated thread writes them as JSON lines to `logs/access.log` and
//! `logs/security.log` under the gateway's data dir. The writer is woken only when a batch has
//! gathered or a security event arrives, and otherwise drains the queue every
//! [`FLUSH_INTERVAL`] — waking a thread for every request cost more than the writing. The
//! security log is also the spool that [`crate::sync`] ships to the control plane from.

use std::fs::{self, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use sitegroup_contract::log::{AccessRecord, SecurityEvent};

/// Longest time an access line waits in memory before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Lines queued before the writer is woken early.
const BATCH: usize = 256;
/// Access lines held at most; beyond it they are dropped (the disk cannot keep up) rather than
/// stalling requests. Security events are never dropped.
const CAPACITY: usize = 65_536;

/// Boxed: queued records stay pointer-sized.
enum Line {
    Access(Box<AccessRecord>),
    Security(Box<SecurityEvent>),
}

#[derive(Default)]
struct Queue {
    lines: Mutex<Vec<Line>>,
    wake: Condvar,
}

struct Writers {
    access: BufWriter<std::fs::File>,
    security: BufWriter<std::fs::File>,
}

/// Cheap to clone; every request holds one.
#[derive(Clone)]
pub struct LogSink {
    queue: Arc<Queue>,
    writers: Arc<Mutex<Writers>>,
    /// Off only to measure what access logging costs (`gateway --no-access-log`).
    access_enabled: bool,
}

impl LogSink {
    /// Opens the log files under `dir` and starts the writer thread.
    pub fn start(dir: &Path, access_enabled: bool) -> std::io::Result<LogSink> {
        fs::create_dir_all(dir)?;
        let open = |name: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(name))
                .map(|f| BufWriter::with_capacity(256 * 1024, f))
        };
        let writers = Arc::new(Mutex::new(Writers {
            access: open("access.log")?,
            security: open("security.log")?,
        }));
        let queue = Arc::new(Queue::default());
        let sink = LogSink {
            queue,
            writers,
            access_enabled,
        };
        let writer = sink.clone();
        std::thread::Builder::new()
            .name("sitegroup-logs".into())
            .spawn(move || {
                loop {
                    let lines = writer.queue.lines.lock().unwrap_or_else(|e| e.into_inner());
                    let lines = if lines.is_empty() {
                        writer
                            .queue
                            .wake
                            .wait_timeout(lines, FLUSH_INTERVAL)
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    } else {
                        lines
                    };
                    writer.write_out(lines);
                }
            })?;
        Ok(sink)
    }

    /// Writes what is queued now (the lines' order kept: the queue is locked until the files
    /// are). Called by the writer thread, and at shutdown so that nothing stays in memory.
    fn write_out(&self, mut lines: std::sync::MutexGuard<'_, Vec<Line>>) {
        if lines.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut *lines);
        let mut w = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        drop(lines);
        let Writers { access, security } = &mut *w;
        for line in batch {
            let result = match &line {
                Line::Access(r) => write_json(access, r.as_ref()),
                Line::Security(e) => write_json(security, e.as_ref()),
            };
            if let Err(e) = result {
                tracing::error!("writing gateway log: {e}");
            }
        }
        // Flush once the batch is written, so that logs are never far behind.
        let _ = access.flush();
        let _ = security.flush();
    }

    /// Writes every queued line to disk now.
    pub fn flush(&self) {
        self.write_out(self.queue.lines.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn access(&self, record: AccessRecord) {
        if !self.access_enabled {
            return;
        }
        let mut lines = self.queue.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() >= CAPACITY {
            return;
        }
        lines.push(Line::Access(Box::new(record)));
        if lines.len() == BATCH {
            self.queue.wake.notify_one();
        }
    }

    pub fn security(&self, event: SecurityEvent) {
        tracing::warn!(
            kind = event.kind.as_str(),
            host = %event.host,
            path = %event.path,
            client = %event.client_ip,
            "security event: {}",
            event.detail
        );
        let mut lines = self.queue.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.push(Line::Security(Box::new(event)));
        self.queue.wake.notify_one();
    }
}

fn write_json<T: serde::Serialize>(out: &mut impl Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}
