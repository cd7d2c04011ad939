//! Atomics on the mapping: one generic path for both widths (u32, u64) and every operation
//! (load, store, fetch-add, compare-exchange), after the range, alignment and mode checks,
//! inside the truncation guard.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicU32, AtomicU64};

use super::error::{Error, Result};
use super::guarded::{route, Guarded, Route};

/// An integer width the mapping can be accessed atomically at.
pub trait AtomicWord: Copy + sealed::Sealed {
    #[doc(hidden)]
    const WIDTH: u64;
    /// Runs `operation` on the word at `address`.
    ///
    /// # Safety
    /// `address` is aligned to `WIDTH` and valid for `WIDTH` bytes, which are accessed only
    /// atomically for as long as the call runs.
    #[doc(hidden)]
    unsafe fn apply(address: *mut u8, operation: AtomicOp<Self>) -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
}

/// What to do with the word. Every operation is sequentially consistent; each returns the value
/// it found (a store returns the value it stored).
#[derive(Debug, Clone, Copy)]
pub enum AtomicOp<T> {
    Load,
    Store(T),
    /// Wrapping add.
    FetchAdd(T),
    /// Stores `desired` if the word equals `expected`.
    CompareExchange {
        expected: T,
        desired: T,
    },
}

impl<T> AtomicOp<T> {
    /// Whether the operation may write the word (then the handle must be writable).
    pub fn mutating(&self) -> bool {
        !matches!(self, AtomicOp::Load)
    }
}

macro_rules! atomic_word {
    ($int:ty, $cell:ty) => {
        impl AtomicWord for $int {
            const WIDTH: u64 = std::mem::size_of::<$int>() as u64;
            unsafe fn apply(address: *mut u8, operation: AtomicOp<Self>) -> Self {
                // SAFETY: per this function's contract.
                let cell = unsafe { <$cell>::from_ptr(address.cast()) };
                match operation {
                    AtomicOp::Load => cell.load(SeqCst),
                    AtomicOp::Store(value) => {
                        cell.store(value, SeqCst);
                        value
                    }
                    AtomicOp::FetchAdd(delta) => cell.fetch_add(delta, SeqCst),
                    AtomicOp::CompareExchange { expected, desired } => {
                        match cell.compare_exchange(expected, desired, SeqCst, SeqCst) {
                            Ok(found) | Err(found) => found,
                        }
                    }
                }
            }
        }
    };
}

atomic_word!(u64, AtomicU64);
atomic_word!(u32, AtomicU32);

/// Runs `operation` on the `T` at window `offset`. Returns whether the mapping's memory may have
/// been written, and the value found.
pub(super) fn run<T: AtomicWord>(
    access: &Guarded<'_>,
    offset: u64,
    operation: AtomicOp<T>,
) -> (bool, Result<T>) {
    let checked = check(access, offset, T::WIDTH, operation.mutating());
    if let Err(error) = checked {
        return (false, Err(error));
    }
    let result = access.touch(offset, T::WIDTH, |address| {
        // SAFETY: WIDTH mapped bytes (the range was checked against the view), aligned to WIDTH
        // (the file offset is, and file offsets and mapping addresses agree modulo the page
        // size); other processes use the same bytes only atomically (the API contract).
        unsafe { T::apply(address, operation) }
    });
    (operation.mutating(), result)
}

fn check(access: &Guarded<'_>, offset: u64, width: u64, mutating: bool) -> Result<()> {
    access.view.check(offset, width)?;
    let file_offset = access.options.offset + offset;
    if file_offset % width != 0 {
        return Err(Error::Misaligned { file_offset, width });
    }
    if mutating {
        access.require_writable("an atomic update")?;
    }
    if route(access.options)? == Route::File {
        // An atomic must touch the mapping, which could raise SIGBUS with no handler.
        return Err(Error::Unsupported(
            "atomics need the SIGBUS handler, which is switched off (MAPFILE_SIGBUS_OFF)".into(),
        ));
    }
    Ok(())
}

/// Where a futex operation works: the address of the u32 at window `offset` (checked as every
/// atomic: range, alignment, a route through the mapping), and whether the mapping is private
/// (then the futex is process-private; shared mappings use the shared futex, so other processes
/// mapping the file wake and are woken).
pub(super) fn futex_word(access: &Guarded<'_>, offset: u64) -> Result<(*mut u32, bool)> {
    check(access, offset, 4, false)?;
    let file_end = access.options.offset + offset + 4;
    if access.view.region.guard.lost_from() < file_end {
        return Err(access.loss_error());
    }
    Ok((
        access.view.at(offset).cast(),
        access.options.mode == super::options::Mode::CopyOnWrite,
    ))
}

/// FUTEX_WAIT on `word` while it holds `expected`: Ok(()) when woken, when the value differs or
/// on a signal (callers re-check, as with every futex); TimedOut after `timeout_ns`
/// (u64::MAX = never). EFAULT (the page is gone: the file shrank) is TRUNCATED.
pub(super) fn futex_wait(
    word: *mut u32,
    private: bool,
    expected: u32,
    timeout_ns: u64,
) -> Result<()> {
    let timeout = (timeout_ns != u64::MAX).then_some(libc::timespec {
        tv_sec: (timeout_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (timeout_ns % 1_000_000_000) as libc::c_long,
    });
    let timeout_ptr = timeout
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    let operation = libc::FUTEX_WAIT | if private { libc::FUTEX_PRIVATE_FLAG } else { 0 };
    // SAFETY: `word` is a mapped, aligned u32 of a live mapping (regions stay mapped until
    // close); the kernel reads it atomically and fails with EFAULT rather than faulting.
    let done = unsafe { libc::syscall(libc::SYS_futex, word, operation, expected, timeout_ptr) };
    if done == 0 {
        return Ok(());
    }
    let error = std::io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(()),
        Some(libc::ETIMEDOUT) => Err(Error::TimedOut(timeout_ns)),
        Some(libc::EFAULT) => Err(Error::Truncated {
            detail: "the page of the futex word is no longer in the file".into(),
        }),
        _ => Err(Error::os("futex wait", error)),
    }
}

/// FUTEX_WAKE of up to `count` waiters on `word` (u32::MAX = all); how many were woken.
pub(super) fn futex_wake(word: *mut u32, private: bool, count: u32) -> Result<u32> {
    let operation = libc::FUTEX_WAKE | if private { libc::FUTEX_PRIVATE_FLAG } else { 0 };
    let count = count.min(i32::MAX as u32) as libc::c_int;
    // SAFETY: as in `futex_wait`; FUTEX_WAKE does not read the word.
    let woken = unsafe { libc::syscall(libc::SYS_futex, word, operation, count) };
    if woken < 0 {
        return Err(Error::last_os("futex wake"));
    }
    Ok(woken as u32)
}
