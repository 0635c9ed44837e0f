//! Access and security logs.
//!
//! Requests hand records to [`LogSink`] without blocking: a dedicated thread writes them as JSON
//! lines to `logs/access.log` and `logs/security.log` under the gateway's data dir. The
//! security log is also the spool that [`crate::sync`] ships to the control plane from.

use std::fs::{self, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::mpsc;

use sitegroup_contract::log::{AccessRecord, SecurityEvent};

enum Line {
    Access(AccessRecord),
    Security(SecurityEvent),
}

/// Cheap to clone; every request holds one.
#[derive(Clone)]
pub struct LogSink {
    lines: mpsc::SyncSender<Line>,
}

impl LogSink {
    /// Opens the log files under `dir` and starts the writer thread.
    pub fn start(dir: &Path) -> std::io::Result<LogSink> {
        fs::create_dir_all(dir)?;
        let open = |name: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(name))
                .map(BufWriter::new)
        };
        let mut access = open("access.log")?;
        let mut security = open("security.log")?;
        let (tx, rx) = mpsc::sync_channel::<Line>(65_536);
        std::thread::Builder::new()
            .name("sitegroup-logs".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut next = Some(first);
                    while let Some(line) = next {
                        let result = match &line {
                            Line::Access(r) => write_json(&mut access, r),
                            Line::Security(e) => write_json(&mut security, e),
                        };
                        if let Err(e) = result {
                            tracing::error!("writing gateway log: {e}");
                        }
                        next = rx.try_recv().ok();
                    }
                    // Flush once the burst is written, so that logs are never far behind.
                    let _ = access.flush();
                    let _ = security.flush();
                }
            })?;
        Ok(LogSink { lines: tx })
    }

    pub fn access(&self, record: AccessRecord) {
        // A full queue means the disk cannot keep up; dropping an access line beats stalling
        // every request.
        let _ = self.lines.try_send(Line::Access(record));
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
        // Security events must not be dropped: wait for the writer if its queue is full.
        let _ = self.lines.send(Line::Security(event));
    }
}

fn write_json<T: serde::Serialize>(out: &mut impl Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}
