//! Opening, creating and closing mappings; options; version.

use std::ffi::{c_char, c_int, CStr};
use std::sync::Arc;

use super::boundary::{boundary, non_null, this_function, value_of, FunctionName, SystemCalls};
use super::convert::{flags_from_c, mode_from_c, options_from_c, path_from_c};
use super::handle::{into_handle, take};
use super::status::{mapfile_status, Failure};
use super::types::*;
use crate::core::{Disposition, Mapping, Mode, Options};

/// The one opening path of every constructor: NULL checks, conversion, open, publish.
fn open_common(
    function: FunctionName,
    path: *const c_char,
    out: *mut *mut mapfile_t,
    options: impl FnOnce() -> Result<Options, Failure>,
) -> mapfile_status {
    boundary(function, || {
        non_null(path, "path")?;
        non_null(out, "out")?;
        let options = options()?;
        // SAFETY: non-null C string from the caller.
        publish(out, Mapping::open(unsafe { path_from_c(path) }, &options)?);
        Ok(())
    })
}

/// Hands a new mapping to the caller through `out` (checked non-null before the open).
fn publish(out: *mut *mut mapfile_t, mapping: Arc<Mapping>) {
    // SAFETY: `out` is non-null and points to writable storage for a pointer.
    unsafe { *out = into_handle(mapping) };
}

/// Opens an existing file and maps all of it.
///
/// @param[in] path  NUL-terminated file path (not retained).
/// @param[in] mode  MAPFILE_MODE_READ_ONLY, MAPFILE_MODE_READ_WRITE or MAPFILE_MODE_COPY_ON_WRITE.
/// @param[out] out   Receives the new handle on success (untouched on failure). The caller owns it and
///              releases it with mapfile_close.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (path or out NULL); MAPFILE_ERR_INVALID_ARG (unknown
///         mode); MAPFILE_ERR_NOT_FOUND; MAPFILE_ERR_PERMISSION; MAPFILE_ERR_UNSUPPORTED (not a
///         regular file, or READ_WRITE on a pseudo-file); MAPFILE_ERR_NO_MEMORY; MAPFILE_ERR_IO.
///         An empty file opens with length 0. A regular file that reports size 0 but has content
///         (procfs, sysfs) opens READ_ONLY or COPY_ON_WRITE as a private snapshot of its content,
///         read at open (the length is what was read).
/// Thread safety: may be called from any thread.
/// @ingroup lifecycle
#[no_mangle]
pub extern "C" fn mapfile_open(
    path: *const c_char,
    mode: u32,
    out: *mut *mut mapfile_t,
) -> mapfile_status {
    open_common(this_function!(), path, out, || {
        Ok(Options::new(mode_from_c(mode)?))
    })
}

/// Creates a new file of `size` bytes (zero-filled, disk blocks reserved) and maps it READ_WRITE.
/// The file appears at `path` only once fully sized.
///
/// @param[in] path NUL-terminated path of the new file (not retained).
/// @param[in] size Its size in bytes (0 is fine).
/// @param[out] out  Receives the new handle on success (untouched on failure); release with mapfile_close.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_EXISTS (the path exists: it is left
///         untouched); MAPFILE_ERR_NOT_FOUND (the directory does not exist); MAPFILE_ERR_PERMISSION;
///         MAPFILE_ERR_NO_SPACE (the disk cannot hold `size` bytes, errno ENOSPC; or `size` is over
///         the process's file size limit RLIMIT_FSIZE, errno EFBIG, checked first so that no
///         SIGXFSZ is raised; nothing is left behind); MAPFILE_ERR_NO_MEMORY; MAPFILE_ERR_IO.
/// Thread safety: may be called from any thread.
/// @ingroup lifecycle
#[no_mangle]
pub extern "C" fn mapfile_create(
    path: *const c_char,
    size: u64,
    out: *mut *mut mapfile_t,
) -> mapfile_status {
    open_common(this_function!(), path, out, || {
        let mut options = Options::new(Mode::ReadWrite);
        options.disposition = Disposition::CreateNew;
        options.create_size = size;
        Ok(options)
    })
}

/// Opens the file READ_WRITE if it exists (its contents and size are kept: never truncated, never
/// grown), else creates it with `size` bytes as mapfile_create does. Race-free: concurrent callers
/// all end up with the same file, and nobody's file is ever truncated. A dangling symlink is
/// followed and its target created, as open(O_CREAT) does; a symlink loop is MAPFILE_ERR_IO
/// (errno ELOOP).
///
///
/// @param[in] path NUL-terminated file path (not retained).
/// @param[in] size Size in bytes of a file this call creates (0 is fine).
/// @param[out] out Receives the result; written only on success.
/// @return as mapfile_create, except that an existing path is not an error.
/// Thread safety: may be called from any thread (and any process) at once.
/// @ingroup lifecycle
#[no_mangle]
pub extern "C" fn mapfile_open_or_create(
    path: *const c_char,
    size: u64,
    out: *mut *mut mapfile_t,
) -> mapfile_status {
    open_common(this_function!(), path, out, || {
        let mut options = Options::new(Mode::ReadWrite);
        options.disposition = Disposition::OpenOrCreate;
        options.create_size = size;
        Ok(options)
    })
}

/// Fills `opts` with the defaults (READ_ONLY, no flags, whole file, open existing, manual flush)
/// and the current MAPFILE_OPTIONS_VERSION. Does nothing when `opts` is NULL.
/// Thread safety: may be called from any thread.
///
/// @param[out] opts The options.
/// @ingroup lifecycle
#[no_mangle]
pub extern "C" fn mapfile_options_init(opts: *mut mapfile_options) {
    if opts.is_null() {
        return;
    }
    // SAFETY: non-null, and the caller provides storage for a whole mapfile_options.
    unsafe {
        opts.write(mapfile_options {
            version: MAPFILE_OPTIONS_VERSION,
            mode: MAPFILE_MODE_READ_ONLY,
            flags: 0,
            offset: 0,
            len: 0,
            max_len: 0,
            flush_policy: MAPFILE_FLUSH_MANUAL,
            create: MAPFILE_CREATE_NEVER,
            flush_every: 0,
            create_size: 0,
        })
    };
}

/// Opens (or creates, per `opts->create`) a file and maps the window `opts->offset`,
/// `opts->len` of it, with the mode, flags and flush policy of `opts`.
///
/// Checks, in this order: NULL pointers (MAPFILE_ERR_NULL_ARG), then the options version and
/// every enumerated value and combination (MAPFILE_ERR_INVALID_ARG), then the window against the
/// file's size (MAPFILE_ERR_OUT_OF_BOUNDS: offset past the end, or offset + len past the end or
/// overflowing). `offset` may be any value, not only a page multiple.
///
/// @param[in] path NUL-terminated file path (not retained).
/// @param[in] opts Read only during the call (not retained).
/// @param[out] out  Receives the new handle on success (untouched on failure); release with mapfile_close.
/// @return MAPFILE_OK or any status listed for mapfile_open and mapfile_create.
/// Thread safety: may be called from any thread.
/// @ingroup lifecycle
#[no_mangle]
pub extern "C" fn mapfile_open_with(
    path: *const c_char,
    opts: *const mapfile_options,
    out: *mut *mut mapfile_t,
) -> mapfile_status {
    open_common(this_function!(), path, out, || {
        non_null(opts, "opts")?;
        // SAFETY: non-null, and the caller provides a readable mapfile_options.
        options_from_c(unsafe { &*opts })
    })
}

/// Maps an already-open descriptor: the window `opts->offset`, `opts->len` with the mode, flags
/// and flush policy of `opts` (its create fields are ignored). The handle works on its own
/// duplicate (close-on-exec), so the caller keeps its `fd`, may use it for other things, and may
/// close it at any time. No path is involved: no second open, no check-then-use race, and
/// mapfile_check never reports MAPFILE_ERR_REPLACED for such a handle.
///
/// @param[in] fd   An open descriptor of a regular file; its access mode must allow `opts->mode`
///                 (O_RDONLY or O_RDWR for READ_ONLY and COPY_ON_WRITE, O_RDWR for READ_WRITE).
/// @param[in] opts Read only during the call (not retained); see mapfile_options_init.
/// @param[out] out Receives the new handle on success (untouched on failure); release with
///                 mapfile_close.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (opts or out NULL); MAPFILE_ERR_INVALID_ARG (fd < 0 or
///         not open, or bad options); MAPFILE_ERR_PERMISSION (the fd's access mode does not allow
///         the mode, errno EACCES); MAPFILE_ERR_UNSUPPORTED (not a regular file);
///         MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_NO_MEMORY; MAPFILE_ERR_IO.
/// Thread safety: may be called from any thread.
/// @ingroup lifecycle
#[no_mangle]
pub extern "C" fn mapfile_open_fd(
    fd: c_int,
    opts: *const mapfile_options,
    out: *mut *mut mapfile_t,
) -> mapfile_status {
    boundary(this_function!(), || {
        non_null(opts, "opts")?;
        non_null(out, "out")?;
        // SAFETY: non-null, and the caller provides a readable mapfile_options.
        let options = options_from_c(unsafe { &*opts })?;
        publish(out, Mapping::open_descriptor(fd, &options)?);
        Ok(())
    })
}

/// The one opening path of the shared-memory constructors.
fn open_memory(
    function: FunctionName,
    label: Option<&str>,
    size: u64,
    flags: u32,
    out: *mut *mut mapfile_t,
) -> mapfile_status {
    boundary(function, || {
        non_null(out, "out")?;
        let mut options = Options::new(Mode::ReadWrite);
        flags_from_c(flags, &mut options)?;
        let (label, anonymous) = match label {
            Some(label) => (label, false),
            None => ("mapfile-anonymous", true),
        };
        publish(out, Mapping::open_memory(label, anonymous, size, &options)?);
        Ok(())
    })
}

/// Maps `size` bytes of zero-filled shared memory with no file (READ_WRITE). It survives fork:
/// parent and children see each other's writes, atomics and mapfile_atomic_u32_wait/_wake
/// (process-shared futexes). Every guarded call works on it as on a file mapping. No other
/// process can reach it (mapfile_fd returns -1; use mapfile_open_memfd to pass memory to a
/// process that is not a child). Underneath it is a memfd sealed against shrinking, so it can
/// never fault and guarded calls skip the truncation guard. mapfile_resize may grow it (a child
/// sees the new length after mapfile_refresh); shrinking is MAPFILE_ERR_UNSUPPORTED.
///
/// @param[in] size  Its size in bytes (1 to INT64_MAX; rounded up to whole huge pages when it
///                  gets them).
/// @param[in] flags Bitwise OR of MAPFILE_FLAG_POPULATE, MAPFILE_FLAG_HUGE_PAGES (and
///                  MAPFILE_FLAG_GUARD_RAW, which changes nothing here), or 0.
/// @param[out] out  Receives the new handle on success (untouched on failure); release with
///                  mapfile_close (in each process that uses it).
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (out NULL); MAPFILE_ERR_INVALID_ARG (size 0 or over
///         INT64_MAX, unknown flag bits); MAPFILE_ERR_NO_MEMORY; MAPFILE_ERR_IO.
/// Thread safety: may be called from any thread.
/// @ingroup lifecycle
#[no_mangle]
pub extern "C" fn mapfile_open_anonymous(
    size: u64,
    flags: u32,
    out: *mut *mut mapfile_t,
) -> mapfile_status {
    open_memory(this_function!(), None, size, flags, out)
}

/// Maps `size` bytes of zero-filled shared memory backed by a memfd (READ_WRITE), to be shared
/// with other processes: pass mapfile_fd(m) by SCM_RIGHTS or by inheritance (it is
/// close-on-exec: clear FD_CLOEXEC before exec), and the other side maps it with
/// mapfile_open_fd. The memfd is sealed against shrinking (F_SEAL_SHRINK, which no process can
/// remove), so no process mapping it can ever fault, raw pointers included; guarded calls on it
/// skip the truncation guard (mapfile_open_fd notices the seal on a received memfd and does the
/// same). F_SEAL_SEAL is not added, so that the memory can still grow: any handle on it may
/// mapfile_resize it larger (the others see the new length after mapfile_refresh), and a
/// process that wants a fixed size adds F_SEAL_GROW | F_SEAL_SEAL with fcntl(F_ADD_SEALS).
/// Huge-page memory is sealed against any size change (F_SEAL_SHRINK | F_SEAL_GROW |
/// F_SEAL_SEAL) and allocated in full at open; its one remaining way to fault is a process that
/// punches a hole in it (fallocate FALLOC_FL_PUNCH_HOLE) while the system has no free huge page.
/// Shrinking is MAPFILE_ERR_UNSUPPORTED.
///
/// @param[in] name  NUL-terminated label, shown in /proc/PID/fd and /proc/PID/maps as
///                  "/memfd:name" (at most 249 bytes; not a path, names nothing shared).
/// @param[in] size  Its size in bytes (1 to INT64_MAX; rounded up to whole huge pages when it
///                  gets them).
/// @param[in] flags As for mapfile_open_anonymous.
/// @param[out] out  Receives the new handle on success (untouched on failure); release with
///                  mapfile_close. The memory lives while any process maps it or holds its fd.
/// @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (name or out NULL); MAPFILE_ERR_INVALID_ARG (size 0
///         or over INT64_MAX, name too long, unknown flag bits); MAPFILE_ERR_NO_MEMORY;
///         MAPFILE_ERR_IO.
/// Thread safety: may be called from any thread.
/// @ingroup lifecycle
#[no_mangle]
pub extern "C" fn mapfile_open_memfd(
    name: *const c_char,
    size: u64,
    flags: u32,
    out: *mut *mut mapfile_t,
) -> mapfile_status {
    if name.is_null() {
        return boundary(this_function!(), || Err(Failure::NullArgument("name")));
    }
    // SAFETY: non-null C string from the caller.
    let label = unsafe { CStr::from_ptr(name) }.to_string_lossy();
    open_memory(this_function!(), Some(&label), size, flags, out)
}

/// Whether the handle's window is really backed by huge pages now: explicit ones
/// (MAPFILE_FLAG_HUGE_PAGES on shared memory, or a received hugetlbfs memfd), or transparent
/// huge pages the kernel has put under it (file mappings with MAPFILE_FLAG_HUGE_PAGES or
/// MAPFILE_ADVICE_HUGE_PAGE, once touched). Read from /proc/self/smaps (an honest answer, not
/// what was asked), so it costs a read of that file.
///
/// @param[in] m The handle, or NULL.
/// @return 1 or 0; 0 for NULL and for an empty window.
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup lifecycle
#[no_mangle]
pub extern "C" fn mapfile_huge_pages(m: *const mapfile_t) -> c_int {
    value_of(this_function!(), m, 0, SystemCalls::Some, |mapping| {
        c_int::from(mapping.huge_pages())
    })
}

/// The handle's own descriptor (a duplicate made at open; for mapfile_open_fd not the caller's),
/// for fstat, fcntl locks, sendfile or SCM_RIGHTS. Do not close it; it is closed by mapfile_close.
/// (Closed anyway and its number reused for another file, the handle never acts on that file:
/// mapfile_resize, mapfile_refresh and mapfile_check answer MAPFILE_ERR_IO, errno EBADF.)
///
/// @param[in] m The handle, or NULL.
/// @return The descriptor; -1 for NULL and for anonymous shared memory.
/// Thread safety: may be called concurrently with every call but mapfile_close.
/// @ingroup lifecycle
#[no_mangle]
pub extern "C" fn mapfile_fd(m: *const mapfile_t) -> c_int {
    value_of(this_function!(), m, -1, SystemCalls::None, |mapping| {
        mapping.fd()
    })
}

/// Unmaps and closes. A READ_WRITE mapping that was written (or that handed out a writable pointer)
/// is flushed first (msync MS_SYNC), so closing never loses data; if that flush fails its status is returned, but the handle is
/// released all the same. Pointers from mapfile_slice* are invalid afterwards.
///
/// @param[in] m A handle, or NULL (then MAPFILE_OK and nothing happens). Never use it again.
/// @return MAPFILE_OK, or the status of the final flush (MAPFILE_ERR_IO, MAPFILE_ERR_NO_SPACE, ...).
/// Thread safety: no other call on the same handle may run during or after close.
/// @ingroup lifecycle
#[no_mangle]
pub extern "C" fn mapfile_close(m: *mut mapfile_t) -> mapfile_status {
    boundary(this_function!(), || {
        // SAFETY: per the contract, m is NULL or a live handle, and is not used again.
        let Some(mapping) = (unsafe { take(m) }) else {
            return Ok(());
        };
        let result = if mapping.was_written() && !mapping.is_poisoned() {
            mapping.flush()
        } else {
            Ok(())
        };
        drop(mapping);
        result.map_err(Failure::from)
    })
}
