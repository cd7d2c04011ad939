//! Durability: a handle's flush state (`FlushState`: dirty, pending counts, size changed, the
//! policy) and the flush policies that decide when writes reach stable storage without an
//! explicit flush. MANUAL (the default) never flushes by itself; ALWAYS flushes each write's
//! range; EVERY_BYTES / EVERY_WRITES flush the window once that many bytes / writes are pending;
//! EVERY_MILLIS flushes the window at most that long after it was first written since its last
//! flush, from one background thread shared by every handle (idle handles cost nothing), and
//! keeps flushing a handle that handed out a writable pointer at that interval. Writes through
//! slice_mut pointers are seen only by EVERY_MILLIS, `flush` and close.
//!
//! The flusher knows handles only as `Flushable` (the mapping implements it), so this file
//! depends on the region and the file, never on the mapping.

use std::cell::UnsafeCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::error::{Error, Result};
use super::file::MappedFile;
use super::options::FlushPolicy;
use super::region::Region;
use super::view::CLEAN;

/// A handle the shared flusher can flush.
pub(super) trait Flushable: Send + Sync {
    /// Synchronous flush of the whole window.
    fn flush(&self) -> Result<()>;
    fn flush_state(&self) -> &FlushState;
    /// `FlushState::was_written`, with the handle's view word.
    fn was_written(&self) -> bool;
}

/// What a policy asks for after a write.
pub(super) enum PolicyFlush {
    /// Flush the bytes just written (ALWAYS).
    Range(u64, u64),
    /// Flush the whole window (EVERY_BYTES, EVERY_WRITES).
    Window,
}

/// One handle's durability state, but for "written since the last flush", which is the CLEAN
/// flag of the handle's view word (the methods that need it take the word).
pub(super) struct FlushState {
    policy: FlushPolicy,
    /// READ_WRITE: writes reach the file, so there is something to flush.
    writes_reach_file: bool,
    /// A size change (create, resize) that flush must make durable with fdatasync.
    size_changed: AtomicBool,
    /// A writable pointer (slice_mut) was handed out: writes may happen behind the library's back
    /// at any time, so close and the background flusher always flush.
    writable_pointer_out: AtomicBool,
    /// EVERY_MILLIS: a flush of this handle is in the shared flusher's queue.
    scheduled: AtomicBool,
    /// Writes (and bytes) since the last flush, for the EVERY_WRITES / EVERY_BYTES policies.
    pending_writes: AtomicU64,
    pending_bytes: AtomicU64,
    /// How the shared flusher refers to the handle (it never keeps one alive).
    owner: Weak<dyn Flushable>,
}

impl FlushState {
    pub(super) fn new(
        policy: FlushPolicy,
        writes_reach_file: bool,
        size_changed: bool,
        owner: Weak<dyn Flushable>,
    ) -> FlushState {
        FlushState {
            policy,
            writes_reach_file,
            size_changed: AtomicBool::new(size_changed),
            writable_pointer_out: AtomicBool::new(false),
            scheduled: AtomicBool::new(false),
            pending_writes: AtomicU64::new(0),
            pending_bytes: AtomicU64::new(0),
            owner,
        }
    }

    pub(super) fn policy(&self) -> FlushPolicy {
        self.policy
    }

    /// Records that bytes were written (call it AFTER they are: a flusher that set CLEAN
    /// before this looks is then sure to be followed by another flush). Whether the handle is
    /// dirty lives in its view word (`word`; view.rs `CLEAN`: set while nothing was written
    /// since the last whole-window flush, only for handles whose writes reach the file), where
    /// the fast path's looks at the word before and after a write see it too.
    #[inline(always)]
    pub(super) fn mark_dirty(&self, word: &AtomicU64) {
        if word.load(Ordering::Relaxed) & CLEAN != 0 {
            self.became_dirty(word);
        }
    }

    #[cold]
    #[inline(never)]
    fn became_dirty(&self, word: &AtomicU64) {
        word.fetch_and(!CLEAN, Ordering::Release);
        schedule(self);
    }

    /// The first flags of a handle's view word: CLEAN when its writes reach the file.
    pub(super) fn first_flags(writes_reach_file: bool) -> u64 {
        if writes_reach_file {
            CLEAN
        } else {
            0
        }
    }

    /// Records that a writable pointer was handed out (flushed on close and by the flusher).
    pub(super) fn pointer_handed_out(&self) {
        if self.writes_reach_file && !self.writable_pointer_out.load(Ordering::Relaxed) {
            self.writable_pointer_out.store(true, Ordering::Release);
            schedule(self);
        }
    }

    /// Records a size change, made durable by the next flush (fdatasync).
    pub(super) fn size_changed(&self) {
        self.size_changed.store(true, Ordering::Release);
    }

    /// Counts a successful write of `len` bytes at `offset`; returns what the policy flushes now.
    #[inline]
    pub(super) fn after_write(&self, offset: u64, len: u64) -> Option<PolicyFlush> {
        if self.policy == FlushPolicy::Manual {
            return None;
        }
        let pending_writes = self.pending_writes.fetch_add(1, Ordering::Relaxed) + 1;
        let pending_bytes = self.pending_bytes.fetch_add(len, Ordering::Relaxed) + len;
        match self.policy {
            FlushPolicy::Always => Some(PolicyFlush::Range(offset, len)),
            FlushPolicy::EveryBytes(limit) if pending_bytes >= limit => Some(PolicyFlush::Window),
            FlushPolicy::EveryWrites(limit) if pending_writes >= limit => Some(PolicyFlush::Window),
            _ => None,
        }
    }

    /// Synchronous flush of the whole window of `len` bytes in `region`: clean afterwards, dirty
    /// again if it failed.
    pub(super) fn flush_window(
        &self,
        word: &AtomicU64,
        region: &Region,
        file: &MappedFile,
        len: u64,
    ) -> Result<()> {
        if !self.writes_reach_file {
            return Ok(());
        }
        let was_dirty = word.fetch_or(CLEAN, Ordering::AcqRel) & CLEAN == 0;
        let result = self.flush_range(region, file, 0, len);
        if result.is_err() && was_dirty {
            word.fetch_and(!CLEAN, Ordering::Release);
        }
        result
    }

    /// Synchronous, durable flush of window bytes `[offset, offset + len)` (checked by the
    /// caller): msync MS_SYNC, then fdatasync after a size change. A no-op unless writes reach
    /// the file.
    pub(super) fn flush_range(
        &self,
        region: &Region,
        file: &MappedFile,
        offset: u64,
        len: u64,
    ) -> Result<()> {
        if !self.writes_reach_file {
            return Ok(());
        }
        self.pending_writes.store(0, Ordering::Relaxed);
        self.pending_bytes.store(0, Ordering::Relaxed);
        region
            .sync(offset, len, true)
            .map_err(|e| Error::os("msync(MS_SYNC)", e))?;
        if self.size_changed.swap(false, Ordering::AcqRel) {
            file.sync_data().map_err(|e| {
                self.size_changed.store(true, Ordering::Release);
                Error::os("fdatasync", e)
            })?;
        }
        Ok(())
    }

    /// Starts write-back of the window's `len` bytes and returns (msync MS_ASYNC).
    pub(super) fn flush_async(&self, region: &Region, len: u64) -> Result<()> {
        if !self.writes_reach_file {
            return Ok(());
        }
        region
            .sync(0, len, false)
            .map_err(|e| Error::os("msync(MS_ASYNC)", e))
    }

    /// Writes since the last flush (what the EVERY_WRITES policy counts).
    pub(super) fn pending_writes(&self) -> u64 {
        self.pending_writes.load(Ordering::Relaxed)
    }

    /// Written since the last whole-window flush, or a writable pointer was ever handed out (the
    /// library cannot see writes through it).
    pub(super) fn was_written(&self, word: &AtomicU64) -> bool {
        self.writes_reach_file && word.load(Ordering::Relaxed) & CLEAN == 0
            || self.writable_pointer_out.load(Ordering::Relaxed)
    }
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
    handles: BTreeMap<u64, Weak<dyn Flushable>>,
    next_ticket: u64,
    started: bool,
    /// The handle the flusher took out of the queue and is flushing (without the lock): a
    /// child forked meanwhile puts it back (`after_fork_in_child`).
    in_flight: Option<Weak<dyn Flushable>>,
}

static FLUSHER: Flusher = Flusher {
    queue: Mutex::new(FlusherQueue {
        due: BinaryHeap::new(),
        handles: BTreeMap::new(),
        next_ticket: 0,
        started: false,
        in_flight: None,
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
pub(super) fn start_flusher() -> Result<()> {
    start_flusher_of(&mut lock_queue())
}

/// `start_flusher` with the queue locked.
fn start_flusher_of(queue: &mut FlusherQueue) -> Result<()> {
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

/// The flusher's queue, locked by the forking thread from just before a fork until just after
/// it (in both processes), so that no other thread holds it while the process is copied: a
/// child would find it locked forever.
struct HeldAcrossFork(UnsafeCell<Option<MutexGuard<'static, FlusherQueue>>>);

// SAFETY: written only by the forking thread, in `before_fork` and then in one of the
// `after_fork_*`, which run in that order in that thread (pthread_atfork); the lock serialises
// forking threads.
unsafe impl Sync for HeldAcrossFork {}

static HELD_ACROSS_FORK: HeldAcrossFork = HeldAcrossFork(UnsafeCell::new(None));

/// Before a fork: takes the flusher's queue (see `HeldAcrossFork`).
pub(super) fn before_fork() {
    let queue = lock_queue();
    // SAFETY: see `HeldAcrossFork`.
    unsafe { *HELD_ACROSS_FORK.0.get() = Some(queue) };
}

/// After a fork, in the parent: gives the queue back.
pub(super) fn after_fork_in_parent() {
    // SAFETY: see `HeldAcrossFork`.
    drop(unsafe { (*HELD_ACROSS_FORK.0.get()).take() });
}

/// After a fork, in the child: the flusher thread did not come along. Its queue did (the
/// child's copies of the dirty EVERY_MILLIS handles are in it, marked scheduled, so no write
/// would put them in again): the child gets a flusher of its own now when the queue holds
/// any, else at its first `schedule` (a child that only execs starts no thread).
pub(super) fn after_fork_in_child() {
    // SAFETY: see `HeldAcrossFork`.
    let Some(mut queue) = (unsafe { (*HELD_ACROSS_FORK.0.get()).take() }) else {
        return;
    };
    queue.started = false;
    if let Some(handle) = queue.in_flight.take() {
        // Taken out of the queue by the parent's flusher, maybe not flushed yet: due now,
        // scheduled again (the flusher cleared that before flushing).
        if let Some(owner) = handle.upgrade() {
            owner.flush_state().scheduled.store(true, Ordering::Release);
            queue.push(Instant::now(), handle);
        }
    }
    if !queue.due.is_empty() {
        // Best effort (no caller to tell): the next schedule or EVERY_MILLIS open tries again.
        let _ = start_flusher_of(&mut queue);
    }
}

/// Puts the handle of `state` in the flusher's queue, due one period from now, unless it is
/// there already. A no-op for every other policy. Called on the clean-to-written transitions only.
fn schedule(state: &FlushState) {
    let FlushPolicy::EveryMillis(millis) = state.policy else {
        return;
    };
    if state.scheduled.swap(true, Ordering::AcqRel) {
        return;
    }
    let due = Instant::now() + Duration::from_millis(millis.max(1));
    let mut queue = lock_queue();
    queue.push(due, state.owner.clone());
    // Running since the first EVERY_MILLIS open, but not in the child of a fork (which gets
    // one here, when it first needs one). Best effort: a later schedule tries again.
    let _ = start_flusher_of(&mut queue);
    drop(queue);
    FLUSHER.wake.notify_one();
}

impl FlusherQueue {
    fn push(&mut self, due: Instant, handle: Weak<dyn Flushable>) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.handles.insert(ticket, handle);
        self.due.push(Reverse((due, ticket)));
    }
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
        queue.in_flight.clone_from(&handle);
        drop(queue);
        if let Some(owner) = handle.and_then(|weak| weak.upgrade()) {
            let state = owner.flush_state();
            state.scheduled.store(false, Ordering::Release);
            if owner.was_written() {
                // Best effort, as for every policy flush: the next explicit flush or close
                // repeats the msync and reports a failure.
                let _ = owner.flush();
            }
            if state.writable_pointer_out.load(Ordering::Acquire) {
                schedule(state);
            }
        }
        queue = lock_queue();
        queue.in_flight = None;
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Weak};

    use super::{lock_queue, FlushPolicy, FlushState, Flushable};
    use crate::core::error::Result;

    /// Runs `body` with the flusher's queue locked.
    pub(in super::super) fn with_queue_locked(body: impl FnOnce()) {
        let _queue = lock_queue();
        body();
    }

    /// A handle that counts its flushes.
    pub(in super::super) struct Counted {
        state: FlushState,
        pub(in super::super) flushes: AtomicUsize,
    }

    impl Flushable for Counted {
        fn flush(&self) -> Result<()> {
            self.flushes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }

        fn flush_state(&self) -> &FlushState {
            &self.state
        }

        fn was_written(&self) -> bool {
            true
        }
    }

    /// A written EVERY_MILLIS handle, as the flusher holds it while flushing it: taken out of
    /// the queue (`in_flight`), not scheduled. `in_flight(None)` ends that.
    pub(in super::super) fn in_flight(handle: Option<&Arc<Counted>>) {
        lock_queue().in_flight = handle.map(|handle| {
            let weak: Weak<dyn Flushable> = Arc::downgrade(handle) as Weak<dyn Flushable>;
            weak
        });
    }

    pub(in super::super) fn counted() -> Arc<Counted> {
        Arc::new_cyclic(|owner: &Weak<Counted>| Counted {
            state: FlushState::new(
                FlushPolicy::EveryMillis(1000),
                true,
                false,
                owner.clone() as Weak<dyn Flushable>,
            ),
            flushes: AtomicUsize::new(0),
        })
    }
}
