//! Durability: `Mapping::flush`, `flush_range`, `flush_async`, and the flush policies that decide
//! when writes made through `Mapping::write` reach stable storage without an explicit `flush`.
//! MANUAL (the default) never flushes by itself; ALWAYS flushes each write's range; EVERY_BYTES /
//! EVERY_WRITES flush the window once that many bytes / writes are pending; EVERY_MILLIS runs a
//! background thread that flushes the window at that interval while it may be dirty (pending
//! writes, or a writable pointer handed out). Writes through slice_mut pointers are seen only by
//! EVERY_MILLIS, `flush` and close.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::error::{Error, Result};
use super::mapping::{check_range, Mapping, Mode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    Manual,
    Always,
    EveryBytes(u64),
    EveryWrites(u64),
    EveryMillis(u64),
}

/// Called after every successful guarded write of `len` bytes at `offset`.
#[inline]
pub(crate) fn after_write(mapping: &Mapping, offset: u64, len: u64) {
    let pending_writes = mapping.pending_writes.fetch_add(1, Ordering::Relaxed) + 1;
    let pending_bytes = mapping.pending_bytes.fetch_add(len, Ordering::Relaxed) + len;
    // Policy flushes are best effort: a failure here stays visible to the next explicit flush,
    // which repeats the msync and reports it.
    let _ = match mapping.flush_policy() {
        FlushPolicy::Manual | FlushPolicy::EveryMillis(_) => Ok(()),
        FlushPolicy::Always => mapping.flush_range(offset, len),
        FlushPolicy::EveryBytes(limit) if pending_bytes >= limit => mapping.flush(),
        FlushPolicy::EveryWrites(limit) if pending_writes >= limit => mapping.flush(),
        _ => Ok(()),
    };
}

/// The background flusher of EVERY_MILLIS: holds only a weak reference, and stops as soon as
/// the mapping is dropped (the sender it listens to disconnects).
/// Failing to start the thread is NO_MEMORY (never a panic: a C library writes nothing to stderr).
pub(crate) fn start_background_flusher(
    mapping: &Arc<Mapping>,
    millis: u64,
) -> Result<mpsc::Sender<()>> {
    let (stop, stopped) = mpsc::channel::<()>();
    let weak: Weak<Mapping> = Arc::downgrade(mapping);
    let interval = Duration::from_millis(millis.max(1));
    std::thread::Builder::new()
        .name("mapfile-flusher".into())
        .spawn(move || loop {
            match stopped.recv_timeout(interval) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                _ => return,
            }
            let Some(mapping) = weak.upgrade() else {
                return;
            };
            if mapping.was_written() {
                let _ = mapping.flush();
            }
        })
        .map_err(|e| {
            let errno = e.raw_os_error().unwrap_or(libc::ENOMEM);
            let cause = std::io::Error::from_raw_os_error(match errno {
                libc::EAGAIN => libc::ENOMEM,
                other => other,
            });
            Error::os("starting the EVERY_MILLIS flusher thread", cause)
        })?;
    Ok(stop)
}

impl Mapping {
    /// Synchronous, durable flush of the whole window (msync MS_SYNC, then fdatasync after a size
    /// change). A no-op for READ_ONLY and COPY_ON_WRITE.
    pub fn flush(&self) -> Result<()> {
        let was_dirty = self.dirty.swap(false, Ordering::AcqRel);
        let result = self.flush_range(0, self.len());
        if result.is_err() && was_dirty {
            self.dirty.store(true, Ordering::Release);
        }
        result
    }

    /// Synchronous, durable flush of `[offset, offset + len)`.
    pub fn flush_range(&self, offset: u64, len: u64) -> Result<()> {
        let view = self.view();
        check_range(offset, len, view.len)?;
        if self.options.mode != Mode::ReadWrite {
            return Ok(());
        }
        self.pending_writes.store(0, Ordering::Relaxed);
        self.pending_bytes.store(0, Ordering::Relaxed);
        view.region
            .sync(offset, len, true)
            .map_err(|e| Error::os("msync(MS_SYNC)", e))?;
        if self.size_changed.swap(false, Ordering::AcqRel) {
            self.file.sync_data().map_err(|e| {
                self.size_changed.store(true, Ordering::Release);
                Error::os("fdatasync", e)
            })?;
        }
        Ok(())
    }

    /// Starts write-back of the whole window and returns (msync MS_ASYNC).
    pub fn flush_async(&self) -> Result<()> {
        let view = self.view();
        if self.options.mode != Mode::ReadWrite {
            return Ok(());
        }
        view.region
            .sync(0, view.len, false)
            .map_err(|e| Error::os("msync(MS_ASYNC)", e))
    }

    /// Writes by `write` since the last flush (what the EVERY_WRITES policy counts).
    pub fn pending_writes(&self) -> u64 {
        self.pending_writes.load(Ordering::Relaxed)
    }

    /// Written since the last whole-window flush, or a writable pointer was ever handed out (the
    /// library cannot see writes through it).
    pub fn was_written(&self) -> bool {
        self.dirty.load(Ordering::Relaxed) || self.writable_pointer_out.load(Ordering::Relaxed)
    }
}
