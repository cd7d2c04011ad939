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

/// A (pointer, length) pair published as a seqlock: the writer makes `sequence` odd, stores
/// both, makes it even; readers retry if it changed under them. The pointee must outlive the
/// seqlock (a mapping's regions live until the mapping drops).
pub(super) struct Seqlock<T> {
    sequence: AtomicU64,
    pointer: AtomicPtr<T>,
    len: AtomicU64,
}

impl<T> Seqlock<T> {
    pub(super) fn new(pointer: &T, len: u64) -> Seqlock<T> {
        Seqlock {
            sequence: AtomicU64::new(0),
            pointer: AtomicPtr::new(pointer as *const T as *mut T),
            len: AtomicU64::new(len),
        }
    }

    /// How many times the pair was published, times two (what a grace period waits past).
    #[inline(always)]
    pub(super) fn sequence(&self) -> u64 {
        self.sequence.load(Ordering::Acquire)
    }

    /// A consistent (pointer, len) snapshot (lock-free, no shared writes).
    #[inline]
    pub(super) fn read(&self) -> (*const T, u64) {
        let mut spins = 0u32;
        loop {
            let before = self.sequence.load(Ordering::Acquire);
            if before & 1 == 0 {
                let pointer = self.pointer.load(Ordering::Relaxed);
                let len = self.len.load(Ordering::Relaxed);
                fence(Ordering::Acquire);
                if self.sequence.load(Ordering::Relaxed) == before {
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

    /// Publishes a new pair and returns the new sequence. `_writer` is the guard of the lock
    /// that makes its holder the only writer.
    pub(super) fn publish<L>(&self, _writer: &MutexGuard<'_, L>, pointer: &T, len: u64) -> u64 {
        let sequence = self.sequence.load(Ordering::Relaxed);
        self.sequence.store(sequence + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        self.pointer
            .store(pointer as *const T as *mut T, Ordering::Relaxed);
        self.len.store(len, Ordering::Relaxed);
        self.sequence.store(sequence + 2, Ordering::Release);
        sequence + 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Readers racing a writer that alternates two pairs only ever see one of the two pairs,
    /// never a pointer from one with the length of the other.
    #[test]
    fn readers_see_only_published_pairs() {
        static A: u64 = 1;
        static B: u64 = 2;
        const READS: u64 = 10_000_000;
        let lock = Arc::new(Seqlock::new(&A, 1));
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
            let sequence = lock.publish(&held, pointer, len);
            assert!(sequence > last && sequence % 2 == 0);
            last = sequence;
            round += 1;
        }
        for reader in readers {
            reader.join().expect("a reader saw a torn pair");
        }
        assert!(round > 0);
    }
}
