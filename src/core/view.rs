//! The current window of a mapping: which region it lies in and how long it is, published as
//! one consistent pair. Readers take it lock-free with a few loads and never write shared
//! memory; the one writer (resize/refresh) holds the mapping's regions lock, and `publish` asks
//! for that lock's guard as proof.

use std::sync::atomic::{fence, AtomicPtr, AtomicU64, Ordering};
use std::sync::MutexGuard;

use super::error::{check_range, Result};
use super::region::Region;

/// A consistent snapshot of the current window: the region it lies in and its length.
#[derive(Clone, Copy)]
pub(super) struct View<'a> {
    pub(super) region: &'a Region,
    pub(super) len: u64,
}

impl View<'_> {
    /// OUT_OF_BOUNDS unless `[offset, offset + len)` lies in this window.
    #[inline(always)]
    pub(super) fn check(&self, offset: u64, len: u64) -> Result<()> {
        check_range(offset, len, self.len)
    }

    /// The address of window byte `offset` (`offset <= len`, checked by the caller).
    #[inline(always)]
    pub(super) fn at(&self, offset: u64) -> *mut u8 {
        // SAFETY: offset <= len <= the region's capacity: inside (or one past) its mapping.
        unsafe { self.region.window().add(offset as usize) }
    }
}

// The sequence word's flags (their meaning and the word's layout: grace.rs).
pub(super) use super::grace::{
    SEQUENCE_CLEAN as CLEAN, SEQUENCE_FULL_WRITES as FULL_WRITES, SEQUENCE_SLOW as SLOW,
};
use super::grace::{SEQUENCE_ID_BITS, SEQUENCE_WRITING as WRITING};
/// What one publish adds to the sequence word (the count lives above the flag bits).
const STEP: u64 = 1 << super::grace::SEQUENCE_FLAG_BITS;

/// A (pointer, length) pair published as a seqlock: the writer sets WRITING, stores both,
/// clears it and counts one more publish; readers of `read` retry if the word changed under
/// them. The pointee must outlive the seqlock (a mapping's regions live until the mapping
/// drops). The same word carries the SLOW flag, so the guarded fast path reads one word for
/// "the view is usable, nothing is lost" before its access and again after. Each publish also
/// stores the address the fast path computes with (a region's window start), so that path
/// loads it instead of the pointer and then the address.
pub(super) struct Seqlock<T> {
    sequence: AtomicU64,
    pointer: AtomicPtr<T>,
    address: AtomicPtr<u8>,
    len: AtomicU64,
}

impl<T> Seqlock<T> {
    /// `address`: the pointee's address for the fast path (`pair_under_mark`), with `len`
    /// bytes at it. `first`: the first sequence word (`grace::first_sequence`: the mapping's id,
    /// and SLOW, FULL_WRITES and CLEAN as the new handle needs them).
    pub(super) fn new(pointer: &T, address: *mut u8, len: u64, first: u64) -> Seqlock<T> {
        debug_assert_eq!(first & WRITING, 0);
        Seqlock {
            sequence: AtomicU64::new(first),
            pointer: AtomicPtr::new(pointer as *const T as *mut T),
            address: AtomicPtr::new(address),
            len: AtomicU64::new(len),
        }
    }

    /// The sequence word: the mapping's id, the publish count (what a grace period compares)
    /// and the WRITING, SLOW, FULL_WRITES and CLEAN flags (grace.rs has the layout).
    #[inline(always)]
    pub(super) fn word(&self) -> u64 {
        self.sequence.load(Ordering::Acquire)
    }

    /// An (address, len) pair for a caller that stored `word()` in its grace mark first: no
    /// retry. It may combine a length with the address of the same or a LATER publish (len is
    /// loaded first, and each publish stores the address before the length), and a later
    /// publish's region is never smaller, so `len` bytes at the address always lie inside its
    /// pointee; which of the two views it got does not matter, because a writer that
    /// shortened the window waits for the mark before it cuts anything.
    #[inline(always)]
    pub(super) fn pair_under_mark(&self) -> (*mut u8, u64) {
        let len = self.len.load(Ordering::Acquire);
        (self.address.load(Ordering::Acquire), len)
    }

    /// A consistent (pointer, len) snapshot (lock-free, no shared writes).
    #[inline]
    pub(super) fn read(&self) -> (*const T, u64) {
        let mut spins = 0u32;
        loop {
            let before = self.sequence.load(Ordering::Acquire);
            if before & WRITING == 0 {
                let pointer = self.pointer.load(Ordering::Relaxed);
                let len = self.len.load(Ordering::Relaxed);
                fence(Ordering::Acquire);
                // SLOW and CLEAN may change meanwhile: that changes nothing in the pair.
                if self.sequence.load(Ordering::Relaxed) & !(SLOW | CLEAN)
                    == before & !(SLOW | CLEAN)
                {
                    return (pointer, len);
                }
            }
            // A writer is mid-publish (a few instructions). Spin briefly, then yield: if the
            // writer was descheduled there, spinning would only keep it from running.
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Publishes a new pair and returns the new sequence word. `_writer` is the guard of the
    /// lock that makes its holder the only writer. `slow()` says whether the new view needs the
    /// full path; it is asked after the pair is stored and again whenever the handler set SLOW
    /// meanwhile, so a loss recorded at any moment is never cleared by this publish.
    pub(super) fn publish<L>(
        &self,
        _writer: &MutexGuard<'_, L>,
        pointer: &T,
        address: *mut u8,
        len: u64,
        slow: impl Fn() -> bool,
    ) -> u64 {
        // Read-modify-writes throughout: the handler may set SLOW at any moment.
        self.sequence.fetch_add(WRITING, Ordering::Relaxed);
        fence(Ordering::Release);
        self.pointer
            .store(pointer as *const T as *mut T, Ordering::Release);
        self.address.store(address, Ordering::Release);
        self.len.store(len, Ordering::Release);
        let mut word = self.sequence.load(Ordering::Relaxed);
        loop {
            // WRITING (bit 0) + STEP - 1 carries into the counter and clears it; the other flag
            // bits come out as they were.
            // The count wraps within its bits: the id above it stays (grace.rs).
            let id = word & SEQUENCE_ID_BITS;
            let next = id
                | (word + (STEP - WRITING)) & !SEQUENCE_ID_BITS & !SLOW
                | if slow() { SLOW } else { 0 };
            match self.sequence.compare_exchange_weak(
                word,
                next,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(now) => word = now,
            }
        }
    }

    /// Sets SLOW (async-signal-safe: one atomic OR): the SIGBUS handler after it recorded a
    /// loss, and a handle that gets poisoned.
    pub(super) fn alert(&self) {
        self.sequence.fetch_or(SLOW, Ordering::Release);
    }

    /// The sequence word itself, for what changes its flags outside a publish: the handler's
    /// alert (SLOW, through the registry entries of this seqlock's regions) and flush.rs (CLEAN).
    pub(super) fn shared_word(&self) -> &AtomicU64 {
        &self.sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address a test publishes with its pointee: the pointee's own.
    fn at(pointee: &u64) -> *mut u8 {
        (pointee as *const u64).cast_mut().cast()
    }
    use std::sync::{Arc, Mutex};

    /// SLOW follows `slow()` at each publish, and an alert that lands while a publish computes
    /// it is never lost: the handler's flag wins over a `slow()` that looked just before.
    #[test]
    fn publish_keeps_an_alert_that_lands_meanwhile() {
        static A: u64 = 1;
        let lock = Seqlock::new(&A, at(&A), 1, 0);
        let writer_lock = std::sync::Mutex::new(());
        let held = writer_lock.lock().unwrap();
        assert_eq!(lock.word() & SLOW, 0);
        assert_ne!(lock.publish(&held, &A, at(&A), 1, || true) & SLOW, 0);
        assert_eq!(lock.publish(&held, &A, at(&A), 1, || false) & SLOW, 0);
        // The handler records a loss and alerts while the writer is between asking and storing:
        // the first answer (false) is stale, the second (the loss is recorded) must win.
        let asked = std::cell::Cell::new(0);
        let word = lock.publish(&held, &A, at(&A), 1, || {
            asked.set(asked.get() + 1);
            if asked.get() == 1 {
                lock.alert();
                false
            } else {
                true
            }
        });
        assert_ne!(word & SLOW, 0, "the alert was lost");
        assert_eq!(word, lock.word());
        assert_eq!(word & WRITING, 0);
    }

    /// A publish at the last count before the wrap gives count 0 of the same mapping: the count
    /// never carries into the id above it.
    #[test]
    fn a_publish_keeps_the_id_when_the_count_wraps() {
        static A: u64 = 1;
        let id_one = 1u64 << SEQUENCE_ID_BITS.trailing_zeros();
        let full_count = !SEQUENCE_ID_BITS & !(STEP - 1);
        let lock = Seqlock::new(&A, at(&A), 1, id_one | full_count | CLEAN);
        let writer_lock = Mutex::new(());
        let held = writer_lock.lock().unwrap();
        let word = lock.publish(&held, &A, at(&A), 1, || false);
        assert_eq!(
            word & SEQUENCE_ID_BITS,
            id_one,
            "the count carried into the id"
        );
        assert_eq!(
            word & !SEQUENCE_ID_BITS & !(STEP - 1),
            0,
            "the count did not wrap to 0"
        );
        assert_eq!(word & CLEAN, CLEAN, "a flag was lost");
    }

    /// The fast path's pair without a retry: while the writer publishes pointees of growing
    /// capacity (as regions are), a length read with a pointer never exceeds that pointee's
    /// capacity, which is what makes the access memory-safe.
    #[test]
    fn a_pair_under_mark_never_outgrows_its_pointee() {
        const PUBLISHES: u64 = 2_000_000;
        // Pointee i has capacity i; publish i stores (pointee i, length i).
        let capacities: &'static [u64] = Vec::leak((0..=PUBLISHES).collect());
        let lock = Arc::new(Seqlock::new(&capacities[0], at(&capacities[0]), 0, 0));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (lock, done) = (lock.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut reads = 0u64;
                    while !done.load(Ordering::Relaxed) {
                        let (address, len) = lock.pair_under_mark();
                        // SAFETY: only elements of `capacities` (leaked) are published.
                        let capacity = unsafe { *address.cast::<u64>() };
                        assert!(len <= capacity, "length {len} with a pointee of {capacity}");
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        let writer_lock = Mutex::new(());
        let held = writer_lock.lock().unwrap();
        for i in 1..=PUBLISHES {
            lock.publish(
                &held,
                &capacities[i as usize],
                at(&capacities[i as usize]),
                i,
                || false,
            );
        }
        done.store(true, Ordering::Relaxed);
        for reader in readers {
            assert!(reader.join().expect("a length outgrew its pointee") > 0);
        }
    }

    /// Readers racing a writer that alternates two pairs only ever see one of the two pairs,
    /// never a pointer from one with the length of the other.
    #[test]
    fn readers_see_only_published_pairs() {
        static A: u64 = 1;
        static B: u64 = 2;
        const READS: u64 = 10_000_000;
        let lock = Arc::new(Seqlock::new(&A, at(&A), 1, 0));
        let writer_lock = Mutex::new(());
        let reads = Arc::new(AtomicU64::new(0));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (lock, reads) = (lock.clone(), reads.clone());
                std::thread::spawn(move || {
                    while reads.fetch_add(1, Ordering::Relaxed) < READS {
                        let (pointer, len) = lock.read();
                        // SAFETY: only &A and &B are ever published; both are statics.
                        assert_eq!(unsafe { *pointer }, len, "a torn (pointer, len) pair");
                    }
                })
            })
            .collect();
        let held = writer_lock.lock().unwrap();
        let mut last = 0;
        let mut round = 0u64;
        while reads.load(Ordering::Relaxed) < READS && !readers.iter().any(|r| r.is_finished()) {
            let (pointer, len) = if round % 2 == 0 { (&B, 2) } else { (&A, 1) };
            let sequence = lock.publish(&held, pointer, at(pointer), len, || false);
            assert!(sequence > last && sequence & (WRITING | SLOW) == 0);
            last = sequence;
            round += 1;
        }
        for reader in readers {
            reader.join().expect("a reader saw a torn pair");
        }
        assert!(round > 0);
    }
}
