//! Durability: `Mapping::flush`, `flush_range`, `flush_async`, and the flush policies that decide
//! when writes made through `Mapping::write` reach stable storage without an explicit `flush`.
//! MANUAL (the default) never flushes by itself; ALWAYS flushes each write's range; EVERY_BYTES /
//! EVERY_WRITES flush the window once that many bytes / writes are pending; EVERY_MILLIS flushes
//! the window at most that long after it was first written since its last flush, from one
//! background thread shared by every handle (idle handles cost nothing), and keeps flushing a
//! handle that handed out a writable pointer at that interval. Writes through slice_mut pointers
//! are seen only by EVERY_MILLIS, `flush` and close.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::atomic::Ordering;
use std::sync::{Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

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

/// The one background flusher of every EVERY_MILLIS handle: a queue of (deadline, handle) and
/// a thread that sleeps until the earliest deadline, or for good while the queue is empty. A
/// handle enters the queue when it goes from clean to written (a guarded write or atomic, or a
/// writable pointer handed out), so idle handles cost nothing; one that handed out a writable
/// pointer stays in it (the library cannot see writes through the pointer).
struct Flusher {
    queue: Mutex<FlusherQueue>,
    wake: Condvar,
}

struct FlusherQueue {
    due: BinaryHeap<Reverse<(Instant, u64)>>,
    handles: BTreeMap<u64, Weak<Mapping>>,
    next_ticket: u64,
    started: bool,
}

static FLUSHER: Flusher = Flusher {
    queue: Mutex::new(FlusherQueue {
        due: BinaryHeap::new(),
        handles: BTreeMap::new(),
        next_ticket: 0,
        started: false,
    }),
    wake: Condvar::new(),
};

fn lock_queue() -> std::sync::MutexGuard<'static, FlusherQueue> {
    FLUSHER
        .queue
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
}

/// Starts the shared flusher thread if it is not running (the first EVERY_MILLIS open). Failing
/// to start it is NO_MEMORY (never a panic: a C library writes nothing to stderr).
pub(crate) fn start_flusher() -> Result<()> {
    let mut queue = lock_queue();
    if queue.started {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("mapfile-flusher".into())
        .spawn(run_flusher)
        .map_err(|e| {
            let errno = e.raw_os_error().unwrap_or(libc::ENOMEM);
            let cause = std::io::Error::from_raw_os_error(match errno {
                libc::EAGAIN => libc::ENOMEM,
                other => other,
            });
            Error::os("starting the EVERY_MILLIS flusher thread", cause)
        })?;
    queue.started = true;
    Ok(())
}

/// Puts `mapping` in the flusher's queue, due one period from now, unless it is there already.
/// A no-op for every other policy. Called on the clean-to-written transitions only.
pub(crate) fn schedule(mapping: &Mapping) {
    let FlushPolicy::EveryMillis(millis) = mapping.flush_policy() else {
        return;
    };
    if mapping.flush_scheduled.swap(true, Ordering::AcqRel) {
        return;
    }
    let due = Instant::now() + Duration::from_millis(millis.max(1));
    let mut queue = lock_queue();
    let ticket = queue.next_ticket;
    queue.next_ticket += 1;
    queue.handles.insert(ticket, mapping.weak_self.clone());
    queue.due.push(Reverse((due, ticket)));
    drop(queue);
    FLUSHER.wake.notify_one();
}

fn run_flusher() {
    let mut queue = lock_queue();
    loop {
        let Some(&Reverse((due, ticket))) = queue.due.peek() else {
            queue = FLUSHER
                .wake
                .wait(queue)
                .unwrap_or_else(|poison| poison.into_inner());
            continue;
        };
        let now = Instant::now();
        if due > now {
            queue = FLUSHER
                .wake
                .wait_timeout(queue, due - now)
                .unwrap_or_else(|poison| poison.into_inner())
                .0;
            continue;
        }
        queue.due.pop();
        let handle = queue.handles.remove(&ticket);
        drop(queue);
        if let Some(mapping) = handle.and_then(|weak| weak.upgrade()) {
            mapping.flush_scheduled.store(false, Ordering::Release);
            if mapping.was_written() {
                // Best effort, as for every policy flush: the next explicit flush or close
                // repeats the msync and reports a failure.
                let _ = mapping.flush();
            }
            if mapping.writable_pointer_out.load(Ordering::Acquire) {
                schedule(&mapping);
            }
        }
        queue = lock_queue();
    }
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
