//! The registry of this library's mappings, which the SIGBUS handler consults: a fixed array
//! of atomic pointers to immutable [`Entry`] values (start, end, fd, file offset, protection,
//! raw-guard flag, owner) plus each entry's sticky state (first lost file offset, cause, first
//! zeroed page, the handle's own end). Lock-free: the handler reads it; registration and
//! unregistration use compare-and-swap, and unregistration waits out in-flight handlers.
//! Also the cached page size (the handler must not call sysconf).

use std::os::fd::RawFd;
use std::ptr;
use std::sync::atomic::{compiler_fence, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::error::{Error, Result};

/// How many mappings can be registered at once (live handles plus mappings kept for old slices).
pub(super) const SLOTS: usize = 1 << 16;

/// `Entry::lost_from` before anything is lost.
pub(crate) const NOTHING_LOST: u64 = u64::MAX;

/// Why bytes of a mapping are gone (the first cause wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossCause {
    Truncated,
    Io,
}

pub(super) const CAUSE_NONE: u32 = 0;
pub(super) const CAUSE_TRUNCATED: u32 = 1;
pub(super) const CAUSE_IO: u32 = 2;

/// One registered mapping. Immutable but for the sticky state.
pub struct Entry {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) fd: RawFd,
    pub(super) file_offset: u64,
    pub(super) prot: libc::c_int,
    pub(super) raw_guard: bool,
    /// Id of the mapping this entry belongs to: a fault in it is recovered when this thread is
    /// inside a guarded call on that mapping (`grace::reading_mapping`).
    pub(super) owner: usize,
    pub(super) lost_from: AtomicU64,
    pub(super) cause: AtomicU32,
    /// File offset of the first page the handler replaced with zeros (NOTHING_LOST: none). The
    /// mapping repairs them (maps the file again) before its window covers them again.
    pub(super) zeroed_from: AtomicU64,
    /// File offset just past the bytes the handle's current window claims: a fault at or past it
    /// (the handle's own shrink, seen through a raw GUARD_RAW pointer) is zeros but not a loss.
    pub(super) own_end: AtomicU64,
    /// The owning mapping's view sequence word (null until the mapping sets it): the handler
    /// sets its SLOW flag after it recorded a loss, so the guarded fast path notices.
    pub(super) alert: AtomicPtr<AtomicU64>,
}

pub(super) struct Registry {
    pub(super) slots: [AtomicPtr<Entry>; SLOTS],
    /// One past the highest slot ever used: the handler scans no further.
    pub(super) high_water: AtomicUsize,
    /// No free slot below this index (a hint for registration).
    pub(super) free_hint: AtomicUsize,
    /// Handlers currently between "look up an entry" and "done with it".
    pub(super) in_handler: AtomicUsize,
}

pub(super) static REGISTRY: Registry = Registry {
    slots: [const { AtomicPtr::new(ptr::null_mut()) }; SLOTS],
    high_water: AtomicUsize::new(0),
    free_hint: AtomicUsize::new(0),
    in_handler: AtomicUsize::new(0),
};

/// 0 until `page_size` first asks sysconf.
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The system page size, from sysconf at the first call (before any mapping is made, so 16 KiB
/// and 64 KiB page kernels get the right value from the start).
pub fn page_size() -> usize {
    match PAGE_SIZE.load(Ordering::Relaxed) {
        0 => init_page_size(),
        size => size,
    }
}

#[cold]
fn init_page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let size = if size > 0 { size as usize } else { 4096 };
    PAGE_SIZE.store(size, Ordering::Relaxed);
    size
}

/// A mapping's place in the registry. Dropping it unregisters the mapping and waits for
/// in-flight handlers, so a zero-page remap can never land on an address reused after munmap:
/// drop it BEFORE unmapping.
pub struct Registration {
    entry: *mut Entry,
    slot: usize,
}

// SAFETY: the entry is immutable but for atomics, and owned by this registration.
unsafe impl Send for Registration {}
// SAFETY: as above; shared access only reads plain fields or uses atomics.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers `[start, start + len)` (rounded up to whole pages) mapped from `fd` at
    /// `file_offset` with protection `prot`.
    pub fn new(
        start: usize,
        len: usize,
        fd: RawFd,
        file_offset: u64,
        owner: usize,
        writable: bool,
        raw_guard: bool,
    ) -> Result<Registration> {
        let page = page_size();
        let end = start + len.max(1).div_ceil(page) * page;
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        let entry = Box::into_raw(Box::new(Entry {
            start,
            end,
            fd,
            file_offset,
            prot,
            raw_guard,
            owner,
            lost_from: AtomicU64::new(NOTHING_LOST),
            cause: AtomicU32::new(CAUSE_NONE),
            zeroed_from: AtomicU64::new(NOTHING_LOST),
            // Claims everything until the mapping publishes its length (`set_own_end`).
            own_end: AtomicU64::new(u64::MAX),
            alert: AtomicPtr::new(ptr::null_mut()),
        }));
        let registry = &REGISTRY;
        let mut index = registry.free_hint.load(Ordering::Relaxed);
        while index < SLOTS {
            if registry.slots[index]
                .compare_exchange(ptr::null_mut(), entry, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                registry.free_hint.fetch_max(index + 1, Ordering::Relaxed);
                registry.high_water.fetch_max(index + 1, Ordering::SeqCst);
                return Ok(Registration { entry, slot: index });
            }
            index += 1;
        }
        // SAFETY: the entry was never published; we still own it.
        drop(unsafe { Box::from_raw(entry) });
        Err(Error::os(
            format!("the truncation guard registry is full ({SLOTS} mappings)"),
            std::io::Error::from_raw_os_error(libc::ENOMEM),
        ))
    }

    fn entry(&self) -> &Entry {
        // SAFETY: the entry lives until this registration is dropped.
        unsafe { &*self.entry }
    }

    /// First file offset whose bytes are gone, or [`NOTHING_LOST`].
    #[inline]
    pub fn lost_from(&self) -> u64 {
        self.entry().lost_from.load(Ordering::Acquire)
    }

    /// File offset of the first page replaced by zeros, or [`NOTHING_LOST`].
    pub fn zeroed_from(&self) -> u64 {
        self.entry().zeroed_from.load(Ordering::Acquire)
    }

    /// Where the handler reports a loss in this mapping: the owning mapping's view sequence
    /// word (`Seqlock::shared_word`), which must outlive the registration.
    pub fn set_alert(&self, word: &AtomicU64) {
        self.entry().alert.store(
            word as *const AtomicU64 as *mut AtomicU64,
            Ordering::Release,
        );
    }

    /// The handle now claims the file's bytes up to `end` through this mapping.
    pub fn set_own_end(&self, end: u64) {
        self.entry().own_end.store(end, Ordering::Release);
    }

    /// After the mapping mapped the file again over its zeroed pages: forgets the loss and the
    /// zeroed pages it saw (`lost`, `zeroed`), unless a newer fault changed them meanwhile.
    pub fn clear_repaired(&self, lost: u64, zeroed: u64) {
        let entry = self.entry();
        if entry
            .zeroed_from
            .compare_exchange(zeroed, NOTHING_LOST, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
            && entry
                .lost_from
                .compare_exchange(lost, NOTHING_LOST, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            entry.cause.store(CAUSE_NONE, Ordering::Release);
        }
    }

    pub fn loss_cause(&self) -> Option<LossCause> {
        match self.entry().cause.load(Ordering::Acquire) {
            CAUSE_TRUNCATED => Some(LossCause::Truncated),
            CAUSE_IO => Some(LossCause::Io),
            _ => None,
        }
    }
}

/// Runs `operation`, which touches a registered mapping. The caller holds a grace mark of the
/// owning mapping (`grace::read` or `grace::enter`): that mark is what makes a SIGBUS inside
/// `operation` recoverable (zeros) instead of fatal. The fences keep the mapping accesses inside
/// the marked span.
#[inline(always)]
pub fn guarded_span<R>(operation: impl FnOnce() -> R) -> R {
    compiler_fence(Ordering::SeqCst);
    let result = operation();
    compiler_fence(Ordering::SeqCst);
    result
}

impl Drop for Registration {
    fn drop(&mut self) {
        let registry = &REGISTRY;
        registry.slots[self.slot].store(ptr::null_mut(), Ordering::SeqCst);
        // A handler that found this entry incremented `in_handler` before looking: wait it out.
        while registry.in_handler.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
        registry.free_hint.fetch_min(self.slot, Ordering::Relaxed);
        // SAFETY: unpublished and no handler holds it any more; we own the box.
        drop(unsafe { Box::from_raw(self.entry) });
    }
}

/// In the child of a fork: the handlers that other threads were running never finish there
/// (only the forking thread came along), so none is counted (or `Registration`'s drop would
/// wait for them forever).
pub(super) fn after_fork_in_child() {
    REGISTRY.in_handler.store(0, Ordering::SeqCst);
}

/// Test hook: how many slots are in use (for the leak tests of the registry).
pub fn registered_count() -> usize {
    let high_water = REGISTRY.high_water.load(Ordering::SeqCst);
    REGISTRY.slots[..high_water]
        .iter()
        .filter(|slot| !slot.load(Ordering::SeqCst).is_null())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page size comes from sysconf, also before any mapping prepared the handler (it was a
    /// 4096 default until then, wrong on 16 KiB and 64 KiB page kernels).
    #[test]
    fn page_size_comes_from_sysconf_before_any_mapping() {
        // SAFETY: sysconf has no preconditions.
        let system = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        assert_eq!(page_size(), system);
        assert_eq!(PAGE_SIZE.load(Ordering::Relaxed), system);
    }
}
