//! Size and truncation: resize, refresh, check.

use super::boundary::{on, this_function};
use super::status::mapfile_status;
use super::types::mapfile_t;

/// Sets the window's length to `new_len` (READ_WRITE only), and the file's size with it: the file
/// grows when the window would reach past its end (disk blocks are reserved first, so a full disk
/// is MAPFILE_ERR_NO_SPACE here rather than a SIGBUS at the first write), and is cut to the
/// window's new end only when the window was the file's tail (for a whole-file mapping: always).
/// Bytes after a window in the middle of the file are never cut.
///
/// Pointers: within `max_len` (see mapfile_options) the window never moves. Beyond it, or without
/// it, growth may map the window at a new address: get new pointers with mapfile_slice. Old
/// pointers stay mapped until mapfile_close (they see the file as it was mapped; bytes past a
/// shrink are gone).
///
///
/// @param[in] m The handle.
/// @param[in] new_len The window's new length in bytes.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS (offset + new_len overflows
///         the largest file size); MAPFILE_ERR_READ_ONLY (READ_ONLY or COPY_ON_WRITE mapping);
///         MAPFILE_ERR_NO_SPACE (ENOSPC, or EFBIG past RLIMIT_FSIZE: checked first, never SIGXFSZ);
///         MAPFILE_ERR_NO_MEMORY; MAPFILE_ERR_IO. On failure the window and the file are unchanged.
/// Thread safety: may be called concurrently with every call but mapfile_close; other threads see
/// either the old or the new length.
/// @ingroup size
#[no_mangle]
pub extern "C" fn mapfile_resize(m: *mut mapfile_t, new_len: u64) -> mapfile_status {
    on(this_function!(), m, |mapping| Ok(mapping.resize(new_len)?))
}

/// MAPFILE_OK while the file still holds the whole window; MAPFILE_ERR_TRUNCATED once it shrank
/// under it (including inside the last page, which never faults) or once a guarded operation hit
/// lost bytes, until mapfile_refresh adopts the new length. One fstat per call.
///
///
/// @param[in] m The handle.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_IO.
/// @ingroup size
#[no_mangle]
pub extern "C" fn mapfile_check(m: *const mapfile_t) -> mapfile_status {
    on(this_function!(), m, |mapping| Ok(mapping.check()?))
}

/// Follows the file's current length: after another process appended, the window grows (a
/// fixed-length window never beyond its `len`); after a truncation, it shrinks and the TRUNCATED
/// state clears. May move the window as mapfile_resize may.
///
///
/// @param[in] m The handle.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_NO_MEMORY; MAPFILE_ERR_IO.
/// @ingroup size
#[no_mangle]
pub extern "C" fn mapfile_refresh(m: *mut mapfile_t) -> mapfile_status {
    on(this_function!(), m, |mapping| Ok(mapping.refresh()?))
}
