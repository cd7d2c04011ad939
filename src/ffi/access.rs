//! Reading and writing: length, zero-copy slices, guarded copies, search, count.

use std::ffi::{c_char, c_void};

use super::boundary::{
    fast_export, non_null, on, on_access, this_function, value_of, FunctionName, SystemCalls,
};
use super::status::{mapfile_status, MAPFILE_OK};
use super::types::mapfile_t;
use crate::core::{check_range, Error, Mapping};

/// Current length of the window in bytes (0 for NULL or an empty file).
/// Thread safety: may be called concurrently with every call but mapfile_close.
///
/// @param[in] m The handle, or NULL.
/// @return The window length in bytes; 0 for NULL or an empty window.
/// @ingroup access
#[no_mangle]
pub extern "C" fn mapfile_len(m: *const mapfile_t) -> u64 {
    value_of(this_function!(), m, 0, SystemCalls::None, |mapping| {
        mapping.len()
    })
}

/// Zero-copy access: `*out` receives a pointer to byte `offset` of the window, valid for `len`
/// bytes, until mapfile_close (the library keeps every mapping it ever made for a handle alive until
/// then, so a pointer survives mapfile_resize and mapfile_refresh, though it then shows the old
/// window). Reading it is plain memory access: if the file is truncated under it, see
/// MAPFILE_FLAG_GUARD_RAW. A `len` of 0 is valid anywhere in [0, mapfile_len].
///
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the first byte of the range.
/// @param[in] len Length of the range in bytes.
/// @param[out] out Receives the result; written only on success.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (m or out NULL); MAPFILE_ERR_OUT_OF_BOUNDS (the range
///         leaves the window or offset + len overflows). `*out` is written only on success.
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup access
#[no_mangle]
pub extern "C" fn mapfile_slice(
    m: *const mapfile_t,
    offset: u64,
    len: u64,
    out: *mut *const u8,
) -> mapfile_status {
    on(this_function!(), m, |mapping| {
        non_null(out, "out")?;
        let pointer = mapping.slice(offset, len)?;
        // SAFETY: non-null out pointer from the caller.
        unsafe { *out = pointer };
        Ok(())
    })
}

/// The whole window in one call, typed for char-based C code (no cast needed for `const char *`
/// parsers): `*out_data` points at window byte 0, `*out_len` is mapfile_len. Same validity as
/// mapfile_slice (until mapfile_close). An empty window gives a valid, non-NULL pointer and 0.
///
/// @param[in] m The handle.
/// @param[out] out_data Receives the pointer; written only on success.
/// @param[out] out_len Receives the window length; written only on success.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS (the window is larger than
///         SIZE_MAX: only on 32-bit systems).
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup access
#[no_mangle]
pub extern "C" fn mapfile_chars(
    m: *const mapfile_t,
    out_data: *mut *const c_char,
    out_len: *mut usize,
) -> mapfile_status {
    on(this_function!(), m, |mapping| {
        non_null(out_data, "out_data")?;
        non_null(out_len, "out_len")?;
        let (data, len) = mapping.window();
        let len = usize::try_from(len).map_err(|_| Error::OutOfBounds {
            offset: 0,
            len,
            mapping_len: usize::MAX as u64,
        })?;
        // SAFETY: non-null out pointers from the caller.
        unsafe {
            *out_data = data.cast();
            *out_len = len;
        }
        Ok(())
    })
}

/// Zero-copy iteration without allocation (chunks, or pages with mapfile_page_size): set
/// `*cursor` to 0, then each call yields window bytes `[*cursor, min(*cursor + chunk_len, len))`
/// and advances `*cursor` past them. At the end it returns MAPFILE_OK with `*out_len` 0 (and
/// `*cursor` == mapfile_len). The pointers are valid as mapfile_slice's.
///
/// @code
/// uint64_t cursor = 0, n;
/// const uint8_t *p;
/// while (mapfile_next_chunk(m, 1 << 20, &cursor, &p, &n) == MAPFILE_OK && n > 0) use(p, n);
/// @endcode
///
/// @param[in] m The handle.
/// @param[in] chunk_len The largest chunk in bytes (not 0).
/// @param[in,out] cursor Window offset of the next chunk; advanced by the chunk's length.
/// @param[out] out_ptr Receives a pointer to the chunk; written only on success.
/// @param[out] out_len Receives the chunk's length (0 at the end); written only on success.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_INVALID_ARG (chunk_len 0);
///         MAPFILE_ERR_OUT_OF_BOUNDS (*cursor > mapfile_len, e.g. after a shrink).
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup access
#[no_mangle]
pub extern "C" fn mapfile_next_chunk(
    m: *const mapfile_t,
    chunk_len: u64,
    cursor: *mut u64,
    out_ptr: *mut *const u8,
    out_len: *mut u64,
) -> mapfile_status {
    on(this_function!(), m, |mapping| {
        non_null(cursor, "cursor")?;
        non_null(out_ptr, "out_ptr")?;
        non_null(out_len, "out_len")?;
        // SAFETY: non-null pointers from the caller (read and written here only).
        unsafe {
            let (pointer, len) = mapping.chunk(*cursor, chunk_len)?;
            *out_ptr = pointer;
            *out_len = len;
            *cursor += len;
        }
        Ok(())
    })
}

/// The system page size in bytes (the natural chunk_len for page-wise iteration).
///
/// @return The page size (for example 4096).
/// Thread safety: may be called from any thread.
/// @ingroup access
#[no_mangle]
pub extern "C" fn mapfile_page_size() -> usize {
    crate::core::page_size()
}

/// Like mapfile_slice, for writing: READ_WRITE writes reach the file (make them durable with
/// mapfile_flush*); COPY_ON_WRITE writes stay private.
///
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the first byte of the range.
/// @param[in] len Length of the range in bytes.
/// @param[out] out Receives the result; written only on success.
/// @return as mapfile_slice, plus MAPFILE_ERR_READ_ONLY on a READ_ONLY mapping (after the range
///         check).
/// @ingroup access
#[no_mangle]
pub extern "C" fn mapfile_slice_mut(
    m: *mut mapfile_t,
    offset: u64,
    len: u64,
    out: *mut *mut u8,
) -> mapfile_status {
    on(this_function!(), m, |mapping| {
        non_null(out, "out")?;
        let pointer = mapping.slice_mut(offset, len)?;
        // SAFETY: non-null out pointer from the caller.
        unsafe { *out = pointer };
        Ok(())
    })
}

/// Guarded copy of `len` bytes at `offset` of the window into `dst`. If the file was truncated
/// under the mapping and the range reaches lost bytes, returns MAPFILE_ERR_TRUNCATED instead of
/// crashing (the contents of `dst` are then unspecified); ranges wholly inside the file keep working.
///
/// @param[in] m      The handle.
/// @param[in] offset Window offset of the first byte to copy.
/// @param[out] dst    Caller's buffer of at least `len` bytes (must not be NULL, even for len 0).
/// @param[in] len    How many bytes to copy.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_TRUNCATED;
///         MAPFILE_ERR_IO (the page could not be read from the device).
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup access
#[no_mangle]
pub extern "C" fn mapfile_read(
    m: *const mapfile_t,
    offset: u64,
    dst: *mut c_void,
    len: usize,
) -> mapfile_status {
    fast_export!(
        (m: *const mapfile_t, offset: u64, dst: *mut c_void, len: usize),
        // SAFETY: as below.
        |mapping| (!dst.is_null() && unsafe { mapping.read_fast(offset, dst.cast(), len) })
            .then_some(MAPFILE_OK),
        // Longer than 16 bytes: the out-of-line fast path, in the full path's function.
        long: |mapping| {
            // SAFETY: as below.
            (!dst.is_null() && unsafe { mapping.read_fast_long(offset, dst.cast(), len) })
                .then_some(MAPFILE_OK)
        },
        on_access(this_function!(), m, |mapping| {
            non_null(dst, "dst")?;
            // SAFETY: the caller provides `len` writable bytes at dst (the core checks the range
            // before it builds anything from it).
            Ok(unsafe { mapping.read_into(offset, dst.cast(), len) }?)
        })
    )
}

/// Guarded copy of `len` bytes from `src` into the window at `offset` (READ_WRITE: reaches the
/// file, durable after mapfile_flush*; COPY_ON_WRITE: private). Bytes written into pages lost to a
/// truncation are gone, and the call returns MAPFILE_ERR_TRUNCATED.
///
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the first byte of the range.
/// @param[in] src Caller's buffer of at least `len` bytes (must not be NULL, even for len 0).
/// @param[in] len Length of the range in bytes.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_READ_ONLY;
///         MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_IO.
/// Thread safety: may be called concurrently with every call but mapfile_close; concurrent
/// writes to overlapping bytes leave them in an unspecified mix.
/// @ingroup access
#[no_mangle]
pub extern "C" fn mapfile_write(
    m: *mut mapfile_t,
    offset: u64,
    src: *const c_void,
    len: usize,
) -> mapfile_status {
    fast_export!(
        (m: *mut mapfile_t, offset: u64, src: *const c_void, len: usize),
        // SAFETY: as below.
        |mapping| (!src.is_null() && unsafe { mapping.write_fast(offset, src.cast(), len) })
            .then_some(MAPFILE_OK),
        // Longer than 16 bytes: the out-of-line fast path, in the full path's function.
        long: |mapping| {
            // SAFETY: as below.
            (!src.is_null() && unsafe { mapping.write_fast_long(offset, src.cast(), len) })
                .then_some(MAPFILE_OK)
        },
        on_access(this_function!(), m, |mapping| {
            non_null(src, "src")?;
            // SAFETY: the caller provides `len` readable bytes at src (checked as in
            // mapfile_read).
            Ok(unsafe { mapping.write_from(offset, src.cast(), len) }?)
        })
    )
}

/// Guarded search for the first occurrence of `needle` at or after `from`. Writes its window
/// offset to `*out_pos`, or MAPFILE_NPOS when absent (still MAPFILE_OK). An empty needle is found
/// at `from`. After a truncation, a match lying wholly before the lost bytes is still returned
/// (it depends only on bytes in the file); "absent" cannot be known and is MAPFILE_ERR_TRUNCATED.
///
///
/// @param[in] m The handle.
/// @param[in] from Window offset where the search starts (0 to mapfile_len).
/// @param[in] needle The bytes to look for (must not be NULL, even when needle_len is 0).
/// @param[in] needle_len Length of the needle in bytes.
/// @param[out] out_pos Receives the window offset of the first match, or MAPFILE_NPOS; written only on success.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (m, needle or out_pos NULL); MAPFILE_ERR_OUT_OF_BOUNDS
///         (from > mapfile_len); MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_IO.
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup access
#[no_mangle]
pub extern "C" fn mapfile_find(
    m: *const mapfile_t,
    from: u64,
    needle: *const c_void,
    needle_len: usize,
    out_pos: *mut u64,
) -> mapfile_status {
    fast_export!(
        (m: *const mapfile_t, from: u64, needle: *const c_void, needle_len: usize, out_pos: *mut u64),
        // SAFETY: as `search_fast`'s.
        |mapping| search_fast(needle, out_pos, |needle| unsafe {
            mapping.find_fast(from, needle, needle_len)
        }),
        search(
            this_function!(),
            m,
            needle,
            needle_len,
            out_pos,
            |window| check_range(from, 0, window).map(|()| window - from),
            |mapping, needle| mapping.find(from, needle),
        )
    )
}

/// Guarded reverse search: the last occurrence of `needle` lying wholly in `[0, end)` (the
/// search that finds the start of the line before a position). Writes its window offset to
/// `*out_pos`, or MAPFILE_NPOS when absent (still MAPFILE_OK). An empty needle is found at `end`.
/// If any byte of `[0, end)` was lost to truncation the answer cannot be known:
/// MAPFILE_ERR_TRUNCATED.
///
/// @param[in] m The handle.
/// @param[in] end Window offset where the search ends (exclusive; 0 to mapfile_len).
/// @param[in] needle The bytes to look for (must not be NULL, even when needle_len is 0).
/// @param[in] needle_len Length of the needle in bytes.
/// @param[out] out_pos Receives the window offset of the last match, or MAPFILE_NPOS; written only on success.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (m, needle or out_pos NULL); MAPFILE_ERR_OUT_OF_BOUNDS
///         (end > mapfile_len); MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_IO.
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup access
#[no_mangle]
pub extern "C" fn mapfile_rfind(
    m: *const mapfile_t,
    end: u64,
    needle: *const c_void,
    needle_len: usize,
    out_pos: *mut u64,
) -> mapfile_status {
    fast_export!(
        (m: *const mapfile_t, end: u64, needle: *const c_void, needle_len: usize, out_pos: *mut u64),
        // SAFETY: as `search_fast`'s.
        |mapping| search_fast(needle, out_pos, |needle| unsafe {
            mapping.rfind_fast(end, needle, needle_len)
        }),
        search(
            this_function!(),
            m,
            needle,
            needle_len,
            out_pos,
            |window| check_range(0, end, window).map(|()| end),
            |mapping, needle| mapping.rfind(end, needle),
        )
    )
}

/// The fast path of find and rfind: with both pointers non-null, `fast` (the core's, given the
/// caller's needle pointer: it reads the needle only if it fits the window); writes the
/// position or MAPFILE_NPOS. None: the full path answers.
///
/// # Safety (of `fast`)
/// The caller of the export provides `needle_len` readable bytes at `needle`.
#[inline(always)]
fn search_fast(
    needle: *const c_void,
    out_pos: *mut u64,
    fast: impl FnOnce(*const u8) -> Option<Option<u64>>,
) -> Option<mapfile_status> {
    if needle.is_null() || out_pos.is_null() {
        return None;
    }
    let found = fast(needle.cast())?;
    // SAFETY: non-null out pointer from the caller.
    unsafe { *out_pos = found.unwrap_or(super::types::MAPFILE_NPOS) };
    Some(MAPFILE_OK)
}

/// The one shape of find and rfind: checks the pointers, asks `room` how many window bytes the
/// search covers (checking the caller's bound), answers absent without reading a needle that
/// cannot fit, else runs `run`; writes the position or MAPFILE_NPOS.
#[inline(always)]
fn search(
    function: FunctionName,
    m: *const mapfile_t,
    needle: *const c_void,
    needle_len: usize,
    out_pos: *mut u64,
    room: impl FnOnce(u64) -> crate::core::Result<u64>,
    run: impl FnOnce(&Mapping, &[u8]) -> crate::core::Result<Option<u64>>,
) -> mapfile_status {
    on_access(function, m, |mapping| {
        non_null(needle, "needle")?;
        non_null(out_pos, "out_pos")?;
        let found = if needle_len as u64 > room(mapping.len())? {
            None // cannot fit: absent, without reading the caller's needle at all
        } else {
            // SAFETY: the caller provides `needle_len` readable bytes at needle; needle_len fits
            // the window, so it is at most isize::MAX.
            let needle = unsafe { std::slice::from_raw_parts(needle.cast::<u8>(), needle_len) };
            run(mapping, needle)?
        };
        // SAFETY: non-null out pointer from the caller.
        unsafe { *out_pos = found.unwrap_or(super::types::MAPFILE_NPOS) };
        Ok(())
    })
}

/// Guarded count of the bytes equal to `byte` in `[offset, offset + len)` (SIMD, memchr).
///
///
/// @param[in] m The handle.
/// @param[in] offset Window offset of the first byte of the range.
/// @param[in] len Length of the range in bytes.
/// @param[in] byte The byte value to count.
/// @param[out] out_count Receives the count; written only on success.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_TRUNCATED;
///         MAPFILE_ERR_IO. `*out_count` is written only on success.
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup access
#[no_mangle]
pub extern "C" fn mapfile_count_byte(
    m: *const mapfile_t,
    offset: u64,
    len: u64,
    byte: u8,
    out_count: *mut u64,
) -> mapfile_status {
    fast_export!(
        (m: *const mapfile_t, offset: u64, len: u64, byte: u8, out_count: *mut u64),
        |mapping| {
            let count = (!out_count.is_null())
                .then(|| mapping.count_byte_fast(offset, len, byte))
                .flatten()?;
            // SAFETY: non-null out pointer from the caller.
            unsafe { *out_count = count };
            Some(MAPFILE_OK)
        },
        on_access(this_function!(), m, |mapping| {
            non_null(out_count, "out_count")?;
            let count = mapping.count_byte(offset, len, byte)?;
            // SAFETY: non-null out pointer from the caller.
            unsafe { *out_count = count };
            Ok(())
        })
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::mapping::test_hooks;
    use crate::ffi::durability::mapfile_flush;
    use crate::ffi::handle;
    use crate::ffi::lifecycle::mapfile_close;
    use crate::ffi::status::MAPFILE_ERR_TRUNCATED;
    use crate::ffi::test_support::{created, truncated_during_a_fast_call, PAGE};

    /// A whole-window flush that runs between a fast write's access and its second look at the
    /// view word (so after the first look found the handle dirty, and before the bytes were
    /// written it may have missed them): the write must leave the handle dirty (the fast path
    /// declines on the CLEAN the flush set, and the full path writes again and marks it), or
    /// mapfile_close and the EVERY_MILLIS flusher would skip bytes no flush made durable.
    #[test]
    fn a_flush_between_a_fast_write_and_its_second_look_leaves_the_handle_dirty() {
        // 8 bytes: the export's inline fast path; 64: the out-of-line one (`write_fast_long`).
        for len in [8usize, 64] {
            let (path, m) = created(&format!("flush-in-fast-write-{len}"), 4096);
            // SAFETY: a live handle until mapfile_close below.
            let mapping = unsafe { handle::borrow(m) }.unwrap();
            let bytes = [7u8; 64];
            let written = |m: *mut mapfile_t, at: u64| {
                assert_eq!(mapfile_write(m, at, bytes.as_ptr().cast(), len), MAPFILE_OK);
            };
            written(m, 0); // the full path (CLEAN at creation)
            assert!(mapping.was_written());
            written(m, 64); // dirty: the fast path's first look lets the next write through
            let address = m as usize;
            test_hooks::between_access_and_second_look(move || {
                assert_eq!(mapfile_flush(address as *mut mapfile_t), MAPFILE_OK);
            });
            written(m, 128);
            assert!(
                !test_hooks::hook_pending(),
                "the write did not take the fast path"
            );
            assert!(
                mapping.was_written(),
                "a write that a flush may have missed left the handle clean ({len} bytes)"
            );
            assert_eq!(mapfile_close(m), MAPFILE_OK);
            std::fs::remove_file(&path).unwrap();
        }
    }

    /// A fast find, rfind or count whose bytes are lost while it runs is not answered from
    /// what it read (zeros may have come in, and a match or a count from them): the full path
    /// answers, TRUNCATED for a range that reaches the lost page. The file is zeros, so each
    /// search finds a zero in the page that is lost.
    #[test]
    fn a_fast_search_or_count_alerted_by_a_loss_answers_truncated() {
        const ZERO: *const c_void = [0u8].as_ptr().cast();
        type Call = fn(*mut mapfile_t, &mut u64) -> i32;
        let calls: [(&str, Call); 3] = [
            ("alert-find", |m, at| mapfile_find(m, 2 * PAGE, ZERO, 1, at)),
            ("alert-rfind", |m, at| {
                mapfile_rfind(m, 3 * PAGE, ZERO, 1, at)
            }),
            ("alert-count", |m, count| {
                mapfile_count_byte(m, 2 * PAGE, PAGE, 0, count)
            }),
        ];
        for (name, call) in calls {
            let mut answer = 7u64;
            let (status, _) = truncated_during_a_fast_call(name, |m| call(m, &mut answer));
            assert_eq!(
                status, MAPFILE_ERR_TRUNCATED,
                "{name} answered from lost bytes"
            );
            assert_eq!(answer, 7, "{name} wrote its answer");
        }
    }
}
