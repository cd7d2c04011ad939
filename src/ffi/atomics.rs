//! Atomics on the mapped bytes: load, store, fetch-add, compare-exchange, at 8 and 4 bytes.

use super::boundary::{fast_export, non_null, on_access, this_function, FunctionName};
use super::status::{mapfile_status, report, Failure, MAPFILE_OK};
use super::types::mapfile_t;
use crate::core::{AtomicOp, AtomicWord, Mapping};

/// The body of every atomic export: runs `operation` on the `T` at `offset` and writes the
/// value it found to `out` unless `out` is NULL; `required` names `out` when it must not be
/// NULL (checked before the operation runs). The fast path (`atomic_fast`) first, the full path
/// (`atomic_full`) when it declines: see `boundary::fast_export!`.
macro_rules! atomic_export {
    ($m:ident: $handle:ty, $offset:ident, ($($argument:ident: $type:ty),*),
     $operation:expr, $out:expr, $required:expr) => {{
        let function = this_function!();
        fast_export!(
            ($m: $handle, $offset: u64 $(, $argument: $type)*),
            |mapping| atomic_fast(function, mapping, $offset, $operation, $out, $required),
            atomic_full(this_function!(), $m, $offset, $operation, $out, $required)
        )
    }};
}

/// The fast path of an atomic export (see `Mapping::atomic_fast`), which answers the operation
/// once it ran; None when it declines.
#[inline(always)]
fn atomic_fast<T: AtomicWord>(
    function: FunctionName,
    mapping: &Mapping,
    offset: u64,
    operation: AtomicOp<T>,
    out: *mut T,
    required: Option<&'static str>,
) -> Option<mapfile_status> {
    if required.is_some() && out.is_null() {
        return None;
    }
    Some(match mapping.atomic_fast(offset, operation)? {
        Ok(found) => {
            if !out.is_null() {
                // SAFETY: non-null out pointer from the caller.
                unsafe { *out = found };
            }
            MAPFILE_OK
        }
        Err(error) => report(function, Failure::Core(error)),
    })
}

/// The full path of an atomic export.
fn atomic_full<T: AtomicWord>(
    function: FunctionName,
    m: *const mapfile_t,
    offset: u64,
    operation: AtomicOp<T>,
    out: *mut T,
    required: Option<&'static str>,
) -> mapfile_status {
    on_access(function, m, |mapping| {
        if let Some(name) = required {
            non_null(out, name)?;
        }
        let found = mapping.atomic(offset, operation)?;
        if !out.is_null() {
            // SAFETY: non-null out pointer from the caller.
            unsafe { *out = found };
        }
        Ok(())
    })
}

/// Sequentially consistent atomic load of the 8-byte value at window `offset`, whose position in
/// the file must be a multiple of 8. Works on every mode.
///
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the value; its file position must be a multiple of its width.
/// @param[out] out Receives the result; written only on success.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (m or out); MAPFILE_ERR_OUT_OF_BOUNDS;
///         MAPFILE_ERR_MISALIGNED; MAPFILE_ERR_TRUNCATED. `*out` is written only on success.
/// Thread safety: atomic with respect to every thread and every process mapping the file shared.
/// @ingroup atomics
#[no_mangle]
pub extern "C" fn mapfile_atomic_u64_load(
    m: *const mapfile_t,
    offset: u64,
    out: *mut u64,
) -> mapfile_status {
    atomic_export!(
        m: *const mapfile_t,
        offset,
        (out: *mut u64),
        AtomicOp::Load,
        out,
        Some("out")
    )
}

/// Sequentially consistent atomic store of an 8-byte value (READ_WRITE or COPY_ON_WRITE).
///
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the value; its file position must be a multiple of its width.
/// @param[in] value The value to store.
/// @return as mapfile_atomic_u64_load, plus MAPFILE_ERR_READ_ONLY on a READ_ONLY mapping.
/// @ingroup atomics
#[no_mangle]
pub extern "C" fn mapfile_atomic_u64_store(
    m: *mut mapfile_t,
    offset: u64,
    value: u64,
) -> mapfile_status {
    atomic_export!(
        m: *mut mapfile_t,
        offset,
        (value: u64),
        AtomicOp::Store(value),
        std::ptr::null_mut(),
        None
    )
}

/// Atomically adds `delta` (wrapping) to the 8-byte value; the previous value goes to `*out_old`
/// unless out_old is NULL.
///
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the value; its file position must be a multiple of its width.
/// @param[in] delta The value to add (wrapping).
/// @param[out] out_old Receives the previous value, unless NULL; written only on success.
/// @return as mapfile_atomic_u64_store.
/// @ingroup atomics
#[no_mangle]
pub extern "C" fn mapfile_atomic_u64_fetch_add(
    m: *mut mapfile_t,
    offset: u64,
    delta: u64,
    out_old: *mut u64,
) -> mapfile_status {
    atomic_export!(
        m: *mut mapfile_t,
        offset,
        (delta: u64, out_old: *mut u64),
        AtomicOp::FetchAdd(delta),
        out_old,
        None
    )
}

/// Atomic compare-and-swap: stores `desired` if the value equals `expected`. Returns MAPFILE_OK
/// whether or not it swapped, with the value it found in `*out_actual` (swapped iff it equals
/// `expected`).
///
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the value; its file position must be a multiple of its width.
/// @param[in] expected The value the word must hold for the swap to happen.
/// @param[in] desired The value stored if it does.
/// @param[out] out_actual Receives the value found (the swap happened iff it equals expected); written only on success.
/// @return as mapfile_atomic_u64_store; MAPFILE_ERR_NULL_ARG when out_actual is NULL.
/// @ingroup atomics
#[no_mangle]
pub extern "C" fn mapfile_atomic_u64_compare_exchange(
    m: *mut mapfile_t,
    offset: u64,
    expected: u64,
    desired: u64,
    out_actual: *mut u64,
) -> mapfile_status {
    atomic_export!(
        m: *mut mapfile_t,
        offset,
        (expected: u64, desired: u64, out_actual: *mut u64),
        AtomicOp::CompareExchange { expected, desired },
        out_actual,
        Some("out_actual")
    )
}

/// As mapfile_atomic_u64_load, for a 4-byte value at a file position that is a multiple of 4.
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the value; its file position must be a multiple of its width.
/// @param[out] out Receives the result; written only on success.
/// @return as mapfile_atomic_u64_load.
/// @ingroup atomics
#[no_mangle]
pub extern "C" fn mapfile_atomic_u32_load(
    m: *const mapfile_t,
    offset: u64,
    out: *mut u32,
) -> mapfile_status {
    atomic_export!(
        m: *const mapfile_t,
        offset,
        (out: *mut u32),
        AtomicOp::Load,
        out,
        Some("out")
    )
}

/// As mapfile_atomic_u64_store, for a 4-byte value.
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the value; its file position must be a multiple of its width.
/// @param[in] value The value to store.
/// @return as mapfile_atomic_u64_store.
/// @ingroup atomics
#[no_mangle]
pub extern "C" fn mapfile_atomic_u32_store(
    m: *mut mapfile_t,
    offset: u64,
    value: u32,
) -> mapfile_status {
    atomic_export!(
        m: *mut mapfile_t,
        offset,
        (value: u32),
        AtomicOp::Store(value),
        std::ptr::null_mut(),
        None
    )
}

/// As mapfile_atomic_u64_fetch_add, for a 4-byte value.
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the value; its file position must be a multiple of its width.
/// @param[in] delta The value to add (wrapping).
/// @param[out] out_old Receives the previous value, unless NULL; written only on success.
/// @return as mapfile_atomic_u64_fetch_add.
/// @ingroup atomics
#[no_mangle]
pub extern "C" fn mapfile_atomic_u32_fetch_add(
    m: *mut mapfile_t,
    offset: u64,
    delta: u32,
    out_old: *mut u32,
) -> mapfile_status {
    atomic_export!(
        m: *mut mapfile_t,
        offset,
        (delta: u32, out_old: *mut u32),
        AtomicOp::FetchAdd(delta),
        out_old,
        None
    )
}

/// As mapfile_atomic_u64_compare_exchange, for a 4-byte value.
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the value; its file position must be a multiple of its width.
/// @param[in] expected The value the word must hold for the swap to happen.
/// @param[in] desired The value stored if it does.
/// @param[out] out_actual Receives the value found (the swap happened iff it equals expected); written only on success.
/// @return as mapfile_atomic_u64_compare_exchange.
/// @ingroup atomics
#[no_mangle]
pub extern "C" fn mapfile_atomic_u32_compare_exchange(
    m: *mut mapfile_t,
    offset: u64,
    expected: u32,
    desired: u32,
    out_actual: *mut u32,
) -> mapfile_status {
    atomic_export!(
        m: *mut mapfile_t,
        offset,
        (expected: u32, desired: u32, out_actual: *mut u32),
        AtomicOp::CompareExchange { expected, desired },
        out_actual,
        Some("out_actual")
    )
}

/// Futex wait on the 4-byte value at window `offset` (file position a multiple of 4): returns
/// MAPFILE_OK at once if the value differs from `expected`; else sleeps until a
/// mapfile_atomic_u32_wake on the same bytes (MAPFILE_OK), until `timeout_ns` nanoseconds pass
/// (MAPFILE_ERR_TIMED_OUT; UINT64_MAX = no timeout), or until a signal (MAPFILE_OK: re-check the
/// value, as with every futex; spurious wake-ups are possible). On READ_ONLY and READ_WRITE
/// mappings (shared) it works across processes: anyone mapping the same file bytes, or the same
/// memfd, can wake it; on COPY_ON_WRITE within the process. The handle is not busy while it
/// sleeps: resize and refresh proceed.
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the value; its file position must be a multiple of 4.
/// @param[in] expected The value to sleep on.
/// @param[in] timeout_ns Relative timeout in nanoseconds; UINT64_MAX waits without one.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_MISALIGNED;
///         MAPFILE_ERR_TIMED_OUT (errno ETIMEDOUT); MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_UNSUPPORTED
///         (MAPFILE_SIGBUS_OFF).
/// Thread safety: any thread, any process; close must not run while it sleeps.
/// @ingroup atomics
#[no_mangle]
pub extern "C" fn mapfile_atomic_u32_wait(
    m: *const mapfile_t,
    offset: u64,
    expected: u32,
    timeout_ns: u64,
) -> mapfile_status {
    on_access(this_function!(), m, |mapping| {
        Ok(mapping.atomic_u32_wait(offset, expected, timeout_ns)?)
    })
}

/// Wakes up to `count` threads or processes sleeping in mapfile_atomic_u32_wait on the 4-byte
/// value at window `offset` (UINT32_MAX = all). Does not change the value: store first, then wake.
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the value; its file position must be a multiple of 4.
/// @param[in] count How many waiters to wake at most.
/// @param[out] out_woken Receives how many were woken; may be NULL.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (m); MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_MISALIGNED;
///         MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_UNSUPPORTED (MAPFILE_SIGBUS_OFF).
/// Thread safety: any thread, any process.
/// @ingroup atomics
#[no_mangle]
pub extern "C" fn mapfile_atomic_u32_wake(
    m: *mut mapfile_t,
    offset: u64,
    count: u32,
    out_woken: *mut u32,
) -> mapfile_status {
    on_access(this_function!(), m, |mapping| {
        let woken = mapping.atomic_u32_wake(offset, count)?;
        if !out_woken.is_null() {
            // SAFETY: non-null out pointer from the caller.
            unsafe { *out_woken = woken };
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::status::MAPFILE_ERR_TRUNCATED;
    use crate::ffi::test_support::{truncated_during_a_fast_call, PAGE};

    /// A fast atomic update whose page is lost while it runs answers TRUNCATED (its result is
    /// gone with the page), and one on a page the file kept answers its value: the second look
    /// finds the alert, and `kept_after_alert` asks about the update's own bytes.
    #[test]
    fn a_fast_atomic_update_alerted_by_a_loss_answers_for_its_own_bytes() {
        let mut old = u64::MAX;
        let (status, _) = truncated_during_a_fast_call("alert-lost", |m| {
            mapfile_atomic_u64_fetch_add(m, 2 * PAGE + 8, 5, &mut old)
        });
        assert_eq!(
            status, MAPFILE_ERR_TRUNCATED,
            "an update of lost bytes answered"
        );
        assert_eq!(old, u64::MAX, "the out-parameter was written on failure");
        let (status, value) = truncated_during_a_fast_call("alert-kept", |m| {
            mapfile_atomic_u64_fetch_add(m, 0, 5, &mut old)
        });
        assert_eq!(
            status, MAPFILE_OK,
            "an update of kept bytes answered TRUNCATED"
        );
        assert_eq!((old, value), (0, 5));
    }

    /// A fast atomic load alerted by a loss is not answered from what it read (zeros may have
    /// come in): the full path reads again and answers TRUNCATED for lost bytes.
    #[test]
    fn a_fast_atomic_load_alerted_by_a_loss_is_read_again() {
        let mut read = u64::MAX;
        let (status, _) = truncated_during_a_fast_call("alert-load", |m| {
            mapfile_atomic_u64_load(m, 2 * PAGE + 8, &mut read)
        });
        assert_eq!(
            status, MAPFILE_ERR_TRUNCATED,
            "a load of lost bytes answered"
        );
        assert_eq!(read, u64::MAX);
    }
}
