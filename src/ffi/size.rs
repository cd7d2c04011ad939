//! Size, truncation and change: resize, check, lost_from, refresh, the change watch.

use std::ffi::c_int;

use super::boundary::{non_null, on, this_function, value_of, SystemCalls};
use super::status::mapfile_status;
use super::types::{
    mapfile_t, MAPFILE_CHANGE_GREW, MAPFILE_CHANGE_MODIFIED, MAPFILE_CHANGE_REPLACED,
    MAPFILE_CHANGE_SHRANK, MAPFILE_NPOS,
};

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

/// MAPFILE_OK while the file still holds the whole window and its path still names it;
/// MAPFILE_ERR_TRUNCATED once it shrank under the window (including inside the last page, which
/// never faults) or once a guarded operation hit lost bytes, until mapfile_refresh adopts the new
/// length; else MAPFILE_ERR_REPLACED once the path the handle was opened by names another file or
/// none (renamed over, deleted): the mapping still shows the old file, reopen the path for the new
/// one. One fstat per call, and one stat of the path for a handle opened by path (the path as it
/// was given: a relative one is looked up from the current directory of the moment).
///
/// @param[in] m The handle.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_REPLACED;
///         MAPFILE_ERR_IO.
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

/// Window offset of the first byte lost to truncation (or to an I/O error) that the library has
/// seen, so that a program printing while it scans can stop before it: compare before using
/// bytes at or past it. No system call: it tells what faults recorded (a guarded call, or a raw
/// read with MAPFILE_FLAG_GUARD_RAW, that reached lost bytes), not what the file's size is now
/// (mapfile_check asks the file). mapfile_refresh clears it.
///
/// @param[in] m The handle, or NULL.
/// @return The window offset, or MAPFILE_NPOS when nothing in the window is known lost (or m is NULL).
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup size
#[no_mangle]
pub extern "C" fn mapfile_lost_from(m: *const mapfile_t) -> u64 {
    value_of(
        this_function!(),
        m,
        MAPFILE_NPOS,
        SystemCalls::None,
        |mapping| mapping.lost_from().unwrap_or(MAPFILE_NPOS),
    )
}

/// A descriptor for the program's poll/epoll/select loop that becomes readable when the file
/// changes: it grows, shrinks, is written with write(2) by any process (this one included, and
/// this handle's own mapfile_resize), is renamed over, rotated away or deleted (inotify on the
/// file and on its directory). Made at the first call (later calls return the same one); owned by
/// the handle and closed by mapfile_close: do not close or read it yourself, call mapfile_watch_ack.
/// Stores through another process's mapping raise no notification.
///
/// @param[in] m The handle.
/// @param[out] out_fd Receives the descriptor; written only on success.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_NO_MEMORY or MAPFILE_ERR_IO (no inotify
///         instance or watch left: fs.inotify.max_user_instances / max_user_watches; errno says).
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup size
#[no_mangle]
pub extern "C" fn mapfile_watch_fd(m: *mut mapfile_t, out_fd: *mut c_int) -> mapfile_status {
    on(this_function!(), m, |mapping| {
        non_null(out_fd, "out_fd")?;
        let fd = mapping.watch_fd()?;
        // SAFETY: non-null out pointer from the caller.
        unsafe { *out_fd = fd };
        Ok(())
    })
}

/// Drains the watch descriptor without blocking and says what changed since the previous ack:
/// sizes are compared with fstat now, replacement with the path now. The window does not follow
/// by itself: call mapfile_refresh after GREW or SHRANK; after REPLACED, close and reopen the path.
///
/// @param[in] m The handle.
/// @param[out] out_changes Receives a bitwise OR of MAPFILE_CHANGE_GREW, MAPFILE_CHANGE_SHRANK,
///                 MAPFILE_CHANGE_MODIFIED and MAPFILE_CHANGE_REPLACED; 0 if nothing happened
///                 since the last ack. Written only on success.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_INVALID_ARG (no mapfile_watch_fd call
///         yet); MAPFILE_ERR_IO.
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup size
#[no_mangle]
pub extern "C" fn mapfile_watch_ack(m: *mut mapfile_t, out_changes: *mut u32) -> mapfile_status {
    on(this_function!(), m, |mapping| {
        non_null(out_changes, "out_changes")?;
        let changes = mapping.watch_ack()?;
        let bits = [
            (changes.grew, MAPFILE_CHANGE_GREW),
            (changes.shrank, MAPFILE_CHANGE_SHRANK),
            (changes.modified, MAPFILE_CHANGE_MODIFIED),
            (changes.replaced, MAPFILE_CHANGE_REPLACED),
        ]
        .iter()
        .filter(|(happened, _)| *happened)
        .fold(0, |all, (_, bit)| all | bit);
        // SAFETY: non-null out pointer from the caller.
        unsafe { *out_changes = bits };
        Ok(())
    })
}
