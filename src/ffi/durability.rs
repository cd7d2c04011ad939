//! Durability and hints: flush, advise, lock, prefault.

use super::boundary::{on, this_function};
use super::convert::advice_from_c;
use super::status::mapfile_status;
use super::types::*;

/// Synchronous, durable flush of the whole window: returns after the bytes are on stable storage
/// (msync MS_SYNC, plus fdatasync after a size change). A successful no-op on READ_ONLY and
/// COPY_ON_WRITE mappings.
///
///
/// @param[in] m The handle.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_IO (write-back failed); MAPFILE_ERR_NO_SPACE.
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup durability
#[no_mangle]
pub extern "C" fn mapfile_flush(m: *mut mapfile_t) -> mapfile_status {
    on(this_function!(), m, |mapping| Ok(mapping.flush()?))
}

/// Synchronous, durable flush of window bytes `[offset, offset + len)` (whole pages around them).
/// The range is checked first, on every mode: out of range is MAPFILE_ERR_OUT_OF_BOUNDS even on a
/// READ_ONLY mapping, where an in-range flush is a successful no-op.
///
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the first byte of the range.
/// @param[in] len Length of the range in bytes.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_IO.
/// @ingroup durability
#[no_mangle]
pub extern "C" fn mapfile_flush_range(m: *mut mapfile_t, offset: u64, len: u64) -> mapfile_status {
    on(this_function!(), m, |mapping| {
        Ok(mapping.flush_range(offset, len)?)
    })
}

/// Starts write-back of the whole window and returns without waiting (msync MS_ASYNC).
///
///
/// @param[in] m The handle.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_IO.
/// @ingroup durability
#[no_mangle]
pub extern "C" fn mapfile_flush_async(m: *mut mapfile_t) -> mapfile_status {
    on(this_function!(), m, |mapping| Ok(mapping.flush_async()?))
}

/// Tells the kernel how the whole window will be accessed (madvise).
///
///
/// @param[in] m The handle.
/// @param[in] advice A MAPFILE_ADVICE_* value.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_INVALID_ARG (unknown advice);
///         MAPFILE_ERR_UNSUPPORTED (the kernel lacks that advice, e.g. no transparent huge pages).
/// @ingroup durability
#[no_mangle]
pub extern "C" fn mapfile_advise(m: *mut mapfile_t, advice: u32) -> mapfile_status {
    on(this_function!(), m, |mapping| {
        let advice = advice_from_c(advice)?;
        Ok(mapping.advise(advice, 0, mapping.len())?)
    })
}

/// As mapfile_advise, for window bytes `[offset, offset + len)`.
///
///
/// @param[in] m The handle.
/// @param[in] advice A MAPFILE_ADVICE_* value.
/// @param[in] offset Window offset of the first byte of the range.
/// @param[in] len Length of the range in bytes.
/// @return as mapfile_advise, plus MAPFILE_ERR_OUT_OF_BOUNDS.
/// @ingroup durability
#[no_mangle]
pub extern "C" fn mapfile_advise_range(
    m: *mut mapfile_t,
    advice: u32,
    offset: u64,
    len: u64,
) -> mapfile_status {
    on(this_function!(), m, |mapping| {
        let advice = advice_from_c(advice)?;
        Ok(mapping.advise(advice, offset, len)?)
    })
}

/// Locks the pages of `[offset, offset + len)` in memory (mlock).
///
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the first byte of the range.
/// @param[in] len Length of the range in bytes.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_NO_MEMORY
///         (over RLIMIT_MEMLOCK); MAPFILE_ERR_PERMISSION.
/// @ingroup durability
#[no_mangle]
pub extern "C" fn mapfile_lock(m: *mut mapfile_t, offset: u64, len: u64) -> mapfile_status {
    on(this_function!(), m, |mapping| {
        Ok(mapping.lock(offset, len, true)?)
    })
}

/// Unlocks pages locked by mapfile_lock (munlock).
///
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the first byte of the range.
/// @param[in] len Length of the range in bytes.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS.
/// @ingroup durability
#[no_mangle]
pub extern "C" fn mapfile_unlock(m: *mut mapfile_t, offset: u64, len: u64) -> mapfile_status {
    on(this_function!(), m, |mapping| {
        Ok(mapping.lock(offset, len, false)?)
    })
}

/// Loads the pages of `[offset, offset + len)` now (guarded: a truncated range is
/// MAPFILE_ERR_TRUNCATED, never a crash), so later accesses do not wait for the disk. In
/// MAPFILE_SIGBUS_OFF mode it cannot touch the pages and asks the kernel to read them in instead
/// (MADV_WILLNEED).
///
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the first byte of the range.
/// @param[in] len Length of the range in bytes.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_TRUNCATED.
/// @ingroup durability
#[no_mangle]
pub extern "C" fn mapfile_prefault(m: *const mapfile_t, offset: u64, len: u64) -> mapfile_status {
    on(this_function!(), m, |mapping| {
        Ok(mapping.prefault(offset, len)?)
    })
}
