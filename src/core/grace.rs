//! Grace periods: a writer that changes a mapping's window (resize, refresh) waits until every
//! guarded operation that may still be using an older view of it has finished. Only then may it
//! cut the file or repair pages, so a guarded call always runs entirely before or entirely after
//! each change (API.md 6), and the handle's own shrink never makes a call fault.
//!
//! Readers pay no shared write: each thread has a `Mark` (registered once, in a global table)
//! where a guarded operation stores which mapping it reads and the view sequence it started
//! from, and clears it at the end. The writer publishes the new view, issues a process-wide
//! memory barrier (`membarrier`, so readers need only compiler fences; a full fence on both sides
//! where the kernel lacks it), then waits until no mark names the mapping with an older sequence.
//! This is the userspace-RCU scheme, scoped to one mapping.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{
    compiler_fence, fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8,
};
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many threads can hold a mark at once; more fall back to a shared counter.
const MARKS: usize = 4096;

/// One thread's reader state. Never freed: a thread that ends hands it back for reuse.
struct Mark {
    /// Id of the mapping being read (0: not inside a guarded operation).
    mapping: AtomicUsize,
    /// The view sequence the operation started from.
    sequence: AtomicU64,
    /// Taken by a live thread.
    owned: AtomicBool,
    /// Guarded calls until this thread's signal mask is looked at again (low bits), and whether
    /// SIGBUS was blocked when it last was (`SIGBUS_BLOCKED`). Written by the owner only.
    mask_check: AtomicU32,
}

/// How often (in guarded calls) a thread's signal mask is looked at again.
const MASK_RECHECK: u32 = 1024;
const SIGBUS_BLOCKED: u32 = 1 << 31;

static TABLE: [AtomicPtr<Mark>; MARKS] = [const { AtomicPtr::new(ptr::null_mut()) }; MARKS];
/// Guarded operations of threads that found no free mark (counted instead, for any mapping).
static UNMARKED_READERS: AtomicUsize = AtomicUsize::new(0);

const BARRIER_UNKNOWN: u8 = 0;
const BARRIER_MEMBARRIER: u8 = 1;
const BARRIER_FENCES: u8 = 2;
static BARRIER: AtomicU8 = AtomicU8::new(BARRIER_UNKNOWN);

thread_local! {
    /// This thread's mark (null until its first guarded operation). Const, no destructor.
    static MARK: Cell<*const Mark> = const { Cell::new(ptr::null()) };
    /// Hands the mark back when the thread ends (registered at the first guarded operation).
    static RELEASE: MarkRelease = const { MarkRelease };
    /// The mapping read by a thread that found no free mark (the rare fallback path).
    static UNMARKED: Cell<usize> = const { Cell::new(0) };
}

struct MarkRelease;

impl Drop for MarkRelease {
    fn drop(&mut self) {
        if let Ok(mark) = MARK.try_with(|cell| cell.replace(ptr::null())) {
            if !mark.is_null() {
                // SAFETY: marks are never freed.
                unsafe { (*mark).owned.store(false, Ordering::Release) };
            }
        }
    }
}

/// While alive, this thread counts as reading `mapping` from view `sequence` (see `read`).
pub struct Reading {
    mark: *const Mark,
    /// SIGBUS was blocked in this thread and is unblocked for the call: block it again after.
    reblock: bool,
}

impl Drop for Reading {
    #[inline(always)]
    fn drop(&mut self) {
        if self.reblock {
            set_sigbus_blocked(true);
        }
        if self.mark.is_null() {
            UNMARKED.with(|cell| cell.set(0));
            UNMARKED_READERS.fetch_sub(1, Ordering::Release);
        } else {
            // SAFETY: this thread's own mark, never freed.
            unsafe { (*self.mark).mapping.store(0, Ordering::Release) };
        }
    }
}

/// The mapping id this thread is inside a guarded call on (0: none). Async-signal-safe: the
/// SIGBUS handler asks it (a const thread-local without destructor, then one atomic load).
pub fn reading_mapping() -> usize {
    let mark = MARK.with(Cell::get);
    if mark.is_null() {
        return UNMARKED.with(Cell::get);
    }
    // SAFETY: marks are never freed.
    unsafe { (*mark).mapping.load(Ordering::Relaxed) }
}

/// Marks this thread as reading `mapping` from view `sequence` until the returned value drops.
/// Call it BEFORE taking the view; a writer that published a newer view after `sequence` waits.
#[inline(always)]
pub fn read(mapping: usize, sequence: u64) -> Reading {
    let mark = MARK.with(Cell::get);
    let mark = if mark.is_null() { own_mark() } else { mark };
    if mark.is_null() {
        UNMARKED.with(|cell| cell.set(mapping));
        UNMARKED_READERS.fetch_add(1, Ordering::SeqCst);
        let reblock = sigbus_blocked_now() && set_sigbus_blocked(false);
        return Reading { mark, reblock };
    }
    // SAFETY: this thread's own mark, never freed.
    let own = unsafe { &*mark };
    // A fault in a thread that blocks SIGBUS is forced to the default action (death) by the
    // kernel: such a thread gets SIGBUS unblocked for the length of the call. The mask is looked
    // at on the thread's first call and every MASK_RECHECK calls after (a system call).
    let mut check = own.mask_check.load(Ordering::Relaxed);
    if check & !SIGBUS_BLOCKED == 0 {
        check = MASK_RECHECK
            | if sigbus_blocked_now() {
                SIGBUS_BLOCKED
            } else {
                0
            };
    }
    own.mask_check.store(check - 1, Ordering::Relaxed);
    let reblock = check & SIGBUS_BLOCKED != 0 && set_sigbus_blocked(false);
    own.sequence.store(sequence, Ordering::Relaxed);
    own.mapping.store(mapping, Ordering::Relaxed);
    if BARRIER.load(Ordering::Relaxed) == BARRIER_MEMBARRIER {
        // The writer's membarrier orders these stores before our view load.
        compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
    Reading { mark, reblock }
}

/// Whether this thread blocks SIGBUS now (one system call).
#[cold]
fn sigbus_blocked_now() -> bool {
    // SAFETY: pthread_sigmask only writes the local set; sigismember reads it.
    unsafe {
        let mut mask: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_SETMASK, ptr::null(), &mut mask) == 0
            && libc::sigismember(&mask, libc::SIGBUS) == 1
    }
}

/// Blocks or unblocks SIGBUS (only) in this thread; true when it did.
#[cold]
fn set_sigbus_blocked(blocked: bool) -> bool {
    // SAFETY: a local set holding SIGBUS; pthread_sigmask changes only this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGBUS);
        let how = if blocked {
            libc::SIG_BLOCK
        } else {
            libc::SIG_UNBLOCK
        };
        libc::pthread_sigmask(how, &set, ptr::null_mut()) == 0
    }
}

/// Takes a free mark (or makes one) for this thread. Null when the table is full.
#[cold]
fn own_mark() -> *const Mark {
    choose_barrier();
    let mut found: *const Mark = ptr::null();
    for slot in &TABLE {
        let existing = slot.load(Ordering::Acquire);
        if existing.is_null() {
            let fresh = Box::into_raw(Box::new(Mark {
                mapping: AtomicUsize::new(0),
                sequence: AtomicU64::new(0),
                owned: AtomicBool::new(true),
                mask_check: AtomicU32::new(0),
            }));
            match slot.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    found = fresh;
                    break;
                }
                // SAFETY: never published; still ours.
                Err(_) => drop(unsafe { Box::from_raw(fresh) }),
            }
        } else if
        // SAFETY: published marks are never freed.
        unsafe { &*existing }
            .owned
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            // SAFETY: published marks are never freed; this thread owns it now.
            unsafe { &*existing }.mask_check.store(0, Ordering::Relaxed);
            found = existing;
            break;
        }
    }
    if !found.is_null() {
        MARK.with(|cell| cell.set(found));
        // Registers the destructor that hands the mark back at thread exit.
        RELEASE.with(|_| {});
    }
    found
}

/// Registers the process for expedited membarrier once; without it, both sides use fences.
fn choose_barrier() {
    if BARRIER.load(Ordering::Acquire) != BARRIER_UNKNOWN {
        return;
    }
    const REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;
    // SAFETY: membarrier registration takes no pointers.
    let registered =
        unsafe { libc::syscall(libc::SYS_membarrier, REGISTER_PRIVATE_EXPEDITED, 0, 0) } == 0;
    let choice = if registered {
        BARRIER_MEMBARRIER
    } else {
        BARRIER_FENCES
    };
    let _ = BARRIER.compare_exchange(BARRIER_UNKNOWN, choice, Ordering::AcqRel, Ordering::Acquire);
}

/// Waits until no guarded operation on `mapping` that started from a view sequence older than
/// `sequence` is still running. Called by the one writer (regions lock held) after publishing.
pub fn wait_for_readers(mapping: usize, sequence: u64) {
    choose_barrier();
    if BARRIER.load(Ordering::Acquire) == BARRIER_MEMBARRIER {
        const PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
        // SAFETY: membarrier takes no pointers.
        if unsafe { libc::syscall(libc::SYS_membarrier, PRIVATE_EXPEDITED, 0, 0) } != 0 {
            fence(Ordering::SeqCst);
        }
    } else {
        fence(Ordering::SeqCst);
    }
    let mut spins = 0u32;
    let mut pause = || {
        spins += 1;
        if spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    };
    for slot in &TABLE {
        let mark = slot.load(Ordering::Acquire);
        if mark.is_null() {
            break; // slots fill in order and are never emptied
        }
        // SAFETY: published marks are never freed.
        let mark = unsafe { &*mark };
        while mark.mapping.load(Ordering::Acquire) == mapping
            && mark.sequence.load(Ordering::Acquire) < sequence
        {
            pause();
        }
    }
    while UNMARKED_READERS.load(Ordering::Acquire) != 0 {
        pause();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// The writer waits for a reader that started from an older view, and not for one that
    /// started from the new view.
    #[test]
    fn writer_waits_only_for_readers_of_older_views() {
        let mapping = 0x1000usize;
        let inside = Arc::new(AtomicBool::new(false));
        let release = Arc::new(AtomicBool::new(false));
        let reader = {
            let (inside, release) = (inside.clone(), release.clone());
            std::thread::spawn(move || {
                let reading = read(mapping, 4);
                inside.store(true, Ordering::SeqCst);
                while !release.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                drop(reading);
            })
        };
        while !inside.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        // A reader of view 4 does not hold up a writer whose new view is 4 (or older).
        wait_for_readers(mapping, 4);
        // Nor a writer of another mapping.
        wait_for_readers(mapping + 1, 100);
        let waited = Arc::new(AtomicBool::new(false));
        let writer = {
            let waited = waited.clone();
            std::thread::spawn(move || {
                wait_for_readers(mapping, 6);
                waited.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waited.load(Ordering::SeqCst), "the writer did not wait");
        release.store(true, Ordering::SeqCst);
        writer.join().unwrap();
        assert!(waited.load(Ordering::SeqCst));
        reader.join().unwrap();
    }
}
