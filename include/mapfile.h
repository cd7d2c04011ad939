/**
 * @file mapfile.h
 * @brief mapfile: memory-mapped files for C, guarded against truncation.
 *
 * This header is the library's manual. Its groups follow a handle's life: @ref errors,
 * @ref lifecycle, @ref access, @ref durability, @ref size, @ref atomics, @ref signals.
 *
 * Conventions (every function follows them; exceptions are stated where they apply):
 *  - Every fallible function returns a mapfile_status: MAPFILE_OK (0) or a negative MAPFILE_ERR_*.
 *    mapfile_strerror(code) names it; mapfile_last_error_message() gives this thread's last
 *    failure in words, starting with the name of the function; on failures with an OS cause errno
 *    is set to it (perror works).
 *  - Out-parameters are written only on success. Every pointer argument may be NULL: the answer is
 *    MAPFILE_ERR_NULL_ARG, never a crash. mapfile_close(NULL) is a no-op.
 *  - Arguments are checked in this order: NULL pointers, then enumerated values and the options
 *    version (INVALID_ARG), then ranges (OUT_OF_BOUNDS), then the mode (READ_ONLY).
 *  - Offsets are uint64_t window offsets; offset + len overflow is MAPFILE_ERR_OUT_OF_BOUNDS.
 *    len == 0 ranges are valid anywhere in [0, mapfile_len].
 *  - Ownership: a handle from mapfile_open* / mapfile_create belongs to the caller until
 *    mapfile_close; the library keeps no pointer the caller passed in (paths, buffers, options).
 *  - Threads: every function but mapfile_close may be called on one handle from many threads.
 *  - Signal handlers: no function is async-signal-safe unless it says so (mapfile_sigbus_handle
 *    is). A call from a handler that interrupted a call of the same thread may break the
 *    interrupted call's guarantees (its grace period, its error message).
 *  - Cancellation: no function is a cancellation point; each holds pthread_cancel off while it
 *    runs (the thread ends at its next cancellation point after the call; one waiting in
 *    mapfile_atomic_u32_wait may not be woken for it: wake it, or wait with a timeout).
 *  - fork: a child may go on using the handles it inherits, even if other threads were inside
 *    library calls at the fork; not a handle another thread was resizing, refreshing or closing
 *    at that instant (its lock stays held in the child).
 *  - Truncation: if another process shrinks the file, guarded calls (read, write, find,
 *    count_byte, prefault, atomics) over lost bytes return MAPFILE_ERR_TRUNCATED and the process
 *    lives on; raw pointers from mapfile_slice* raise SIGBUS there as plain mmap does, unless the
 *    mapping was opened with MAPFILE_FLAG_GUARD_RAW (then they read zeros).
 *  - SIGBUS: the library installs a SIGBUS handler at the first mapping and chains every signal that
 *    is not its own to the handler that was there before. A program that installs its own SIGBUS
 *    handler AFTER the first mapping replaces the library's: it must chain to the previous handler
 *    itself (save it from sigaction) or call mapfile_sigbus_handle first. See mapfile_sigbus_mode.
 */

/**
 * @defgroup errors Version and errors
 * Status codes, their texts, this thread's last failure message, and the library's version.
 * Threads: every function here may be called from any thread at any time. Strings returned are
 * owned by the library: static ones never change; the last-error message belongs to the calling
 * thread and is rewritten by its next failure.
 */

/**
 * @defgroup lifecycle Opening and closing
 * Handles are made by mapfile_open, mapfile_create, mapfile_open_or_create and mapfile_open_with,
 * and released by mapfile_close. Threads: opening may happen from any thread; mapfile_close must
 * be the last call on its handle (no call may run during or after it).
 */

/**
 * @defgroup access Reading and writing
 * Length, zero-copy slices (raw pointers valid until mapfile_close), and guarded copies, search
 * and count (MAPFILE_ERR_TRUNCATED instead of SIGBUS). Threads: any number of threads may call
 * these on one handle at once, also during mapfile_resize/mapfile_refresh.
 */

/**
 * @defgroup durability Durability and hints
 * msync-based flushes (synchronous, ranged, asynchronous) and madvise/mlock hints. Threads: as
 * @ref access. Flushes of READ_ONLY and COPY_ON_WRITE handles succeed and do nothing.
 */

/**
 * @defgroup size Size, truncation and change
 * Resizing the window (and the file), checking for truncation and replacement, what the guard saw
 * lost, following the file's length, and a descriptor that wakes a poll loop when the file changes.
 * Threads: may run concurrently with every call but mapfile_close; other threads see the old or
 * the new length, and guarded calls never fault on the handle's own shrink.
 */

/**
 * @defgroup atomics Atomics
 * Sequentially consistent atomic access to 4- and 8-byte values in the mapping, shared with
 * every thread and process that maps the file shared. The value's file position must be a
 * multiple of its width (MAPFILE_ERR_MISALIGNED otherwise). Threads: any, at any time but close.
 */

/**
 * @defgroup signals Signals
 * Who answers SIGBUS: the library (default), the host (which chains to the library), or nobody
 * (guarded calls use pread/pwrite). Choose before the first mapping is opened.
 */

#ifndef MAPFILE_H
#define MAPFILE_H

/* Generated by cbindgen from src/ffi (tests/header.rs). Do not edit by hand: change the Rust doc comments and run `MAPFILE_BLESS=1 cargo test --test header`. */

#include <stddef.h>
#include <stdint.h>

/** Version of this header: equal to mapfile_version() of the library it ships with. @ingroup errors */
#define MAPFILE_VERSION_MAJOR 0
#define MAPFILE_VERSION_MINOR 1
#define MAPFILE_VERSION_PATCH 0
#define MAPFILE_VERSION "0.1.0"

/**
 * "Not found" position written by `mapfile_find`.
 * @ingroup access
 */
#define MAPFILE_NPOS UINT64_MAX

/**
 * Read-only, shared mapping (the file must be readable).
 * @ingroup lifecycle
 */
#define MAPFILE_MODE_READ_ONLY 0

/**
 * Read-write, shared mapping: writes reach the file (the file must be readable and writable).
 * @ingroup lifecycle
 */
#define MAPFILE_MODE_READ_WRITE 1

/**
 * Private mapping: writes stay in this process and never reach the file (readable file suffices).
 * @ingroup lifecycle
 */
#define MAPFILE_MODE_COPY_ON_WRITE 2

/**
 * No special access pattern (madvise MADV_NORMAL).
 * @ingroup durability
 */
#define MAPFILE_ADVICE_NORMAL 0

/**
 * Random access: read-ahead off (MADV_RANDOM).
 * @ingroup durability
 */
#define MAPFILE_ADVICE_RANDOM 1

/**
 * Sequential access: aggressive read-ahead (MADV_SEQUENTIAL).
 * @ingroup durability
 */
#define MAPFILE_ADVICE_SEQUENTIAL 2

/**
 * The range will be needed soon: start reading it in (MADV_WILLNEED).
 * @ingroup durability
 */
#define MAPFILE_ADVICE_WILL_NEED 3

/**
 * The range is not needed now: drop its pages from this process (MADV_DONTNEED). Data of a
 * READ_WRITE mapping stays in the file; a COPY_ON_WRITE mapping loses its private changes.
 * @ingroup durability
 */
#define MAPFILE_ADVICE_DONT_NEED 4

/**
 * Back the range with transparent huge pages where the kernel supports it (MADV_HUGEPAGE).
 * @ingroup durability
 */
#define MAPFILE_ADVICE_HUGE_PAGE 5

/**
 * Do not use transparent huge pages for the range (MADV_NOHUGEPAGE).
 * @ingroup durability
 */
#define MAPFILE_ADVICE_NO_HUGE_PAGE 6

/**
 * `mapfile_options.flags`: prefault the whole window at open (MAP_POPULATE).
 * @ingroup lifecycle
 */
#define MAPFILE_FLAG_POPULATE 1

/**
 * `mapfile_options.flags`: raw-pointer reads of pages lost to truncation see zeros instead of
 * raising SIGBUS (the process lives on; `mapfile_check` reports TRUNCATED).
 * @ingroup lifecycle
 */
#define MAPFILE_FLAG_GUARD_RAW 2

/**
 * `mapfile_options.flags` and the flags of mapfile_open_anonymous / mapfile_open_memfd: huge
 * pages. Shared memory the library makes uses explicit huge pages (MFD_HUGETLB, allocated at
 * open, the size rounded up to whole huge pages) when the system has enough reserved
 * (vm.nr_hugepages), else normal pages; file mappings ask for transparent huge pages
 * (MADV_HUGEPAGE). A request, never a failure: mapfile_huge_pages tells what the mapping got.
 * @ingroup lifecycle
 */
#define MAPFILE_FLAG_HUGE_PAGES 4

/**
 * Every flag this version knows; other bits are MAPFILE_ERR_INVALID_ARG.
 * @ingroup lifecycle
 */
#define MAPFILE_FLAG_ALL ((MAPFILE_FLAG_POPULATE | MAPFILE_FLAG_GUARD_RAW) | MAPFILE_FLAG_HUGE_PAGES)

/**
 * `mapfile_options.create`: the file must exist (default).
 * @ingroup lifecycle
 */
#define MAPFILE_CREATE_NEVER 0

/**
 * `mapfile_options.create`: the file must not exist; it is created with `create_size` bytes.
 * @ingroup lifecycle
 */
#define MAPFILE_CREATE_NEW 1

/**
 * `mapfile_options.create`: open the file if it exists (size and contents untouched), else
 * create it with `create_size` bytes. Race-free.
 * @ingroup lifecycle
 */
#define MAPFILE_CREATE_IF_MISSING 2

/**
 * `mapfile_options.flush_policy`: only explicit `mapfile_flush*` calls flush (default).
 * @ingroup lifecycle
 */
#define MAPFILE_FLUSH_MANUAL 0

/**
 * Every `mapfile_write` flushes its range synchronously before returning.
 * @ingroup lifecycle
 */
#define MAPFILE_FLUSH_ALWAYS 1

/**
 * The window is flushed once `flush_every` bytes were written by `mapfile_write` since the last flush.
 * @ingroup lifecycle
 */
#define MAPFILE_FLUSH_EVERY_BYTES 2

/**
 * The window is flushed once `flush_every` `mapfile_write` calls happened since the last flush.
 * @ingroup lifecycle
 */
#define MAPFILE_FLUSH_EVERY_WRITES 3

/**
 * A background thread flushes the window every `flush_every` milliseconds while it is dirty.
 * @ingroup lifecycle
 */
#define MAPFILE_FLUSH_EVERY_MILLIS 4

/**
 * `mapfile_watch_ack`: the file grew (its size is larger than at the previous ack).
 * @ingroup size
 */
#define MAPFILE_CHANGE_GREW 1

/**
 * `mapfile_watch_ack`: the file shrank (truncated, for example by copytruncate log rotation).
 * @ingroup size
 */
#define MAPFILE_CHANGE_SHRANK 2

/**
 * `mapfile_watch_ack`: the file was written with write(2) or truncated (stores through another
 * process's mapping raise no notification).
 * @ingroup size
 */
#define MAPFILE_CHANGE_MODIFIED 4

/**
 * `mapfile_watch_ack`: the path now names another file or none (renamed over, rotated away,
 * deleted), or the file was deleted. Reported once.
 * @ingroup size
 */
#define MAPFILE_CHANGE_REPLACED 8

/**
 * The `version` that `mapfile_options_init` writes. Older values stay accepted forever.
 * @ingroup lifecycle
 */
#define MAPFILE_OPTIONS_VERSION 1

/**
 * ABI version: the MAJOR of the soname `libmapfile.so.MAJOR`. Changes only when a binary built
 * against an older header could break.
 * @ingroup errors
 */
#define MAPFILE_ABI_VERSION 0

/**
 * mapfile_sigbus_mode: the library installs its SIGBUS handler at the first mapping (default).
 * @ingroup signals
 */
#define MAPFILE_SIGBUS_INSTALL 0

/**
 * mapfile_sigbus_mode: the host owns SIGBUS and calls mapfile_sigbus_handle from its own
 * handler first; guarded operations keep their fast path.
 * @ingroup signals
 */
#define MAPFILE_SIGBUS_HOST_CHAINS 1

/**
 * mapfile_sigbus_mode: no handler at all; guarded operations use pread/pwrite on the file instead
 * of touching the mapping (slower, same results); MAPFILE_FLAG_GUARD_RAW is MAPFILE_ERR_UNSUPPORTED.
 * @ingroup signals
 */
#define MAPFILE_SIGBUS_OFF 2

/**
 * Opaque handle to one mapped file (or window of a file). Obtained from `mapfile_open*` /
 * `mapfile_create`, released with `mapfile_close`; only ever used through a pointer.
 * @ingroup lifecycle
 */
typedef struct mapfile_t mapfile_t;

/**
 * Result of every fallible call: 0 (MAPFILE_OK) on success, a negative MAPFILE_ERR_* otherwise.
 * @ingroup errors
 */
typedef int32_t mapfile_status;

/**
 * Options for `mapfile_open_with`. Always initialise with `mapfile_options_init`, then set the
 * fields you need: the `version` field lets later library versions add fields without breaking
 * programs compiled against this header.
 * @ingroup lifecycle
 */
typedef struct mapfile_options {
  /**
   * Set by `mapfile_options_init`; an unknown version is MAPFILE_ERR_INVALID_ARG.
   */
  uint32_t version;
  /**
   * MAPFILE_MODE_* (default READ_ONLY).
   */
  uint32_t mode;
  /**
   * Bitwise OR of MAPFILE_FLAG_* (default 0).
   */
  uint32_t flags;
  /**
   * Start of the window in the file: any value, not only page multiples (default 0).
   */
  uint64_t offset;
  /**
   * Window length; 0 = up to the end of the file, following it on `mapfile_refresh` (default 0).
   */
  uint64_t len;
  /**
   * Reserve address space for growth up to this window length, so `mapfile_resize` and
   * `mapfile_refresh` within it never move the window (0 = no reservation, default). A
   * reservation the address space cannot hold (for example UINT64_MAX) is
   * MAPFILE_ERR_NO_MEMORY at open.
   */
  uint64_t max_len;
  /**
   * MAPFILE_FLUSH_* (default MANUAL). Anything but MANUAL needs mode READ_WRITE.
   */
  uint32_t flush_policy;
  /**
   * MAPFILE_CREATE_* (default NEVER). Anything but NEVER needs mode READ_WRITE.
   */
  uint32_t create;
  /**
   * The N of the flush policy: bytes, writes or milliseconds (must be > 0 for those policies).
   */
  uint64_t flush_every;
  /**
   * Size in bytes of a file that this call creates (CREATE_NEW / CREATE_IF_MISSING).
   */
  uint64_t create_size;
} mapfile_options;

/**
 * Success.
 * @ingroup errors
 */
#define MAPFILE_OK 0

/**
 * A required pointer argument was NULL.
 * @ingroup errors
 */
#define MAPFILE_ERR_NULL_ARG (-1)

/**
 * Unknown mode/advice/flag value, bad options version, or a meaningless combination.
 * @ingroup errors
 */
#define MAPFILE_ERR_INVALID_ARG (-2)

/**
 * offset/len outside the mapping, or offset + len overflows.
 * @ingroup errors
 */
#define MAPFILE_ERR_OUT_OF_BOUNDS (-3)

/**
 * The path does not exist.
 * @ingroup errors
 */
#define MAPFILE_ERR_NOT_FOUND (-4)

/**
 * Permission denied (EACCES / EPERM / EROFS).
 * @ingroup errors
 */
#define MAPFILE_ERR_PERMISSION (-5)

/**
 * `mapfile_create` on a path that already exists.
 * @ingroup errors
 */
#define MAPFILE_ERR_EXISTS (-6)

/**
 * A write, mutable slice, resize or atomic store on a mapping that cannot do it.
 * @ingroup errors
 */
#define MAPFILE_ERR_READ_ONLY (-7)

/**
 * The file shrank under the mapping; the bytes asked for are gone.
 * @ingroup errors
 */
#define MAPFILE_ERR_TRUNCATED (-8)

/**
 * Atomic access at an offset not aligned to its width.
 * @ingroup errors
 */
#define MAPFILE_ERR_MISALIGNED (-9)

/**
 * Out of memory or address space, or over the mlock limit.
 * @ingroup errors
 */
#define MAPFILE_ERR_NO_MEMORY (-10)

/**
 * No space left (ENOSPC / EDQUOT / EFBIG) while creating or growing a file.
 * @ingroup errors
 */
#define MAPFILE_ERR_NO_SPACE (-11)

/**
 * The object cannot be mapped (directory, pipe, device) or the feature is absent here.
 * @ingroup errors
 */
#define MAPFILE_ERR_UNSUPPORTED (-12)

/**
 * Any other operating-system failure (errno tells which).
 * @ingroup errors
 */
#define MAPFILE_ERR_IO (-13)

/**
 * A bug inside the library was caught at the API boundary (never a crash).
 * @ingroup errors
 */
#define MAPFILE_ERR_INTERNAL (-14)

/**
 * `mapfile_check` on a handle opened by path: the path now names another file or none (renamed
 * over, deleted); the mapping still shows the old file. (TRUNCATED wins when both hold.)
 * @ingroup errors
 */
#define MAPFILE_ERR_REPLACED (-15)

/**
 * `mapfile_atomic_u32_wait`: the timeout passed before a wake-up.
 * @ingroup errors
 */
#define MAPFILE_ERR_TIMED_OUT (-16)

#ifdef __cplusplus
extern "C" {
#endif /* __cplusplus */

/**
 * Static, human-readable text for a status code; unknown codes get a text too. Never NULL, never
 * to be freed. Thread safety: may be called from any thread.
 *
 * @param[in] code A status code (any value; unknown ones get a generic text).
 * @return The text, e.g. "the file shrank under the mapping" for MAPFILE_ERR_TRUNCATED.
 * @ingroup errors
 */
const char *mapfile_strerror(mapfile_status code);

/**
 * This thread's last failure in words, naming the function and the cause (for example
 * "mapfile_open: open(\"/x\"): No such file or directory (os error 2)"); "" if this thread has
 * had no failure. Never NULL. The pointer stays valid for the life of the calling thread: each
 * failure on this thread rewrites the text in place (at most 1023 bytes; longer messages are
 * cut), so it is safe to fetch it in the same expression as the failing call. Copy the text to
 * keep it past the thread's next failure. Thread safety: per thread; other threads' failures
 * never show here.
 *
 * @return This thread's message buffer (owned by the library, never NULL).
 * @ingroup errors
 */
const char *mapfile_last_error_message(void);

/**
 * The library's version, "MAJOR.MINOR.PATCH", equal to MAPFILE_VERSION of the header it was built
 * with. Static storage; never NULL. Thread safety: may be called from any thread.
 *
 * @return The version string (static, never NULL).
 * @ingroup errors
 */
const char *mapfile_version(void);

/**
 * The ABI version (the MAJOR of the soname, libmapfile.so.MAJOR). Programs that dlopen the library
 * compare it with MAPFILE_ABI_VERSION from the header they were compiled with.
 * @return MAPFILE_ABI_VERSION of the header the library was built with.
 * @ingroup errors
 */
uint32_t mapfile_abi_version(void);

/**
 * Opens an existing file and maps all of it.
 *
 * @param[in] path  NUL-terminated file path (not retained).
 * @param[in] mode  MAPFILE_MODE_READ_ONLY, MAPFILE_MODE_READ_WRITE or MAPFILE_MODE_COPY_ON_WRITE.
 * @param[out] out   Receives the new handle on success (untouched on failure). The caller owns it and
 *              releases it with mapfile_close.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (path or out NULL); MAPFILE_ERR_INVALID_ARG (unknown
 *         mode); MAPFILE_ERR_NOT_FOUND; MAPFILE_ERR_PERMISSION; MAPFILE_ERR_UNSUPPORTED (not a
 *         regular file, or READ_WRITE on a pseudo-file); MAPFILE_ERR_NO_MEMORY; MAPFILE_ERR_IO.
 *         An empty file opens with length 0. A regular file that reports size 0 but has content
 *         (procfs, sysfs) opens READ_ONLY or COPY_ON_WRITE as a private snapshot of its content,
 *         read at open (the length is what was read).
 * Thread safety: may be called from any thread.
 * @ingroup lifecycle
 */
mapfile_status mapfile_open(const char *path,
                            uint32_t mode,
                            struct mapfile_t **out);

/**
 * Creates a new file of `size` bytes (zero-filled, disk blocks reserved) and maps it READ_WRITE.
 * The file appears at `path` only once fully sized.
 *
 * @param[in] path NUL-terminated path of the new file (not retained).
 * @param[in] size Its size in bytes (0 is fine).
 * @param[out] out  Receives the new handle on success (untouched on failure); release with mapfile_close.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_EXISTS (the path exists: it is left
 *         untouched); MAPFILE_ERR_NOT_FOUND (the directory does not exist); MAPFILE_ERR_PERMISSION;
 *         MAPFILE_ERR_NO_SPACE (the disk cannot hold `size` bytes, errno ENOSPC; or `size` is over
 *         the process's file size limit RLIMIT_FSIZE, errno EFBIG, checked first so that no
 *         SIGXFSZ is raised; nothing is left behind); MAPFILE_ERR_NO_MEMORY; MAPFILE_ERR_IO.
 * Thread safety: may be called from any thread.
 * @ingroup lifecycle
 */
mapfile_status mapfile_create(const char *path,
                              uint64_t size,
                              struct mapfile_t **out);

/**
 * Opens the file READ_WRITE if it exists (its contents and size are kept: never truncated, never
 * grown), else creates it with `size` bytes as mapfile_create does. Race-free: concurrent callers
 * all end up with the same file, and nobody's file is ever truncated. A dangling symlink is
 * followed and its target created, as open(O_CREAT) does; a symlink loop is MAPFILE_ERR_IO
 * (errno ELOOP).
 *
 *
 * @param[in] path NUL-terminated file path (not retained).
 * @param[in] size Size in bytes of a file this call creates (0 is fine).
 * @param[out] out Receives the result; written only on success.
 * @return as mapfile_create, except that an existing path is not an error.
 * Thread safety: may be called from any thread (and any process) at once.
 * @ingroup lifecycle
 */
mapfile_status mapfile_open_or_create(const char *path, uint64_t size, struct mapfile_t **out);

/**
 * Fills `opts` with the defaults (READ_ONLY, no flags, whole file, open existing, manual flush)
 * and the current MAPFILE_OPTIONS_VERSION. Does nothing when `opts` is NULL.
 * Thread safety: may be called from any thread.
 *
 * @param[out] opts The options.
 * @ingroup lifecycle
 */
void mapfile_options_init(struct mapfile_options *opts);

/**
 * Opens (or creates, per `opts->create`) a file and maps the window `opts->offset`,
 * `opts->len` of it, with the mode, flags and flush policy of `opts`.
 *
 * Checks, in this order: NULL pointers (MAPFILE_ERR_NULL_ARG), then the options version and
 * every enumerated value and combination (MAPFILE_ERR_INVALID_ARG), then the window against the
 * file's size (MAPFILE_ERR_OUT_OF_BOUNDS: offset past the end, or offset + len past the end or
 * overflowing). `offset` may be any value, not only a page multiple.
 *
 * @param[in] path NUL-terminated file path (not retained).
 * @param[in] opts Read only during the call (not retained).
 * @param[out] out  Receives the new handle on success (untouched on failure); release with mapfile_close.
 * @return MAPFILE_OK or any status listed for mapfile_open and mapfile_create.
 * Thread safety: may be called from any thread.
 * @ingroup lifecycle
 */
mapfile_status mapfile_open_with(const char *path,
                                 const struct mapfile_options *opts,
                                 struct mapfile_t **out);

/**
 * Maps an already-open descriptor: the window `opts->offset`, `opts->len` with the mode, flags
 * and flush policy of `opts` (its create fields are ignored). The handle works on its own
 * duplicate (close-on-exec), so the caller keeps its `fd`, may use it for other things, and may
 * close it at any time. No path is involved: no second open, no check-then-use race, and
 * mapfile_check never reports MAPFILE_ERR_REPLACED for such a handle.
 *
 * @param[in] fd   An open descriptor of a regular file; its access mode must allow `opts->mode`
 *                 (O_RDONLY or O_RDWR for READ_ONLY and COPY_ON_WRITE, O_RDWR for READ_WRITE).
 * @param[in] opts Read only during the call (not retained); see mapfile_options_init.
 * @param[out] out Receives the new handle on success (untouched on failure); release with
 *                 mapfile_close.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (opts or out NULL); MAPFILE_ERR_INVALID_ARG (fd < 0 or
 *         not open, or bad options); MAPFILE_ERR_PERMISSION (the fd's access mode does not allow
 *         the mode, errno EACCES); MAPFILE_ERR_UNSUPPORTED (not a regular file);
 *         MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_NO_MEMORY; MAPFILE_ERR_IO.
 * Thread safety: may be called from any thread.
 * @ingroup lifecycle
 */
mapfile_status mapfile_open_fd(int fd, const struct mapfile_options *opts, struct mapfile_t **out);

/**
 * Maps `size` bytes of zero-filled shared memory with no file (READ_WRITE). It survives fork:
 * parent and children see each other's writes, atomics and mapfile_atomic_u32_wait/_wake
 * (process-shared futexes). Every guarded call works on it as on a file mapping. No other
 * process can reach it (mapfile_fd returns -1; use mapfile_open_memfd to pass memory to a
 * process that is not a child). Underneath it is a memfd sealed against shrinking, so it can
 * never fault and guarded calls skip the truncation guard. mapfile_resize may grow it (a child
 * sees the new length after mapfile_refresh); shrinking is MAPFILE_ERR_UNSUPPORTED.
 *
 * @param[in] size  Its size in bytes (1 to INT64_MAX; rounded up to whole huge pages when it
 *                  gets them).
 * @param[in] flags Bitwise OR of MAPFILE_FLAG_POPULATE, MAPFILE_FLAG_HUGE_PAGES (and
 *                  MAPFILE_FLAG_GUARD_RAW, which changes nothing here), or 0.
 * @param[out] out  Receives the new handle on success (untouched on failure); release with
 *                  mapfile_close (in each process that uses it).
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (out NULL); MAPFILE_ERR_INVALID_ARG (size 0 or over
 *         INT64_MAX, unknown flag bits); MAPFILE_ERR_NO_MEMORY; MAPFILE_ERR_IO.
 * Thread safety: may be called from any thread.
 * @ingroup lifecycle
 */
mapfile_status mapfile_open_anonymous(uint64_t size, uint32_t flags, struct mapfile_t **out);

/**
 * Maps `size` bytes of zero-filled shared memory backed by a memfd (READ_WRITE), to be shared
 * with other processes: pass mapfile_fd(m) by SCM_RIGHTS or by inheritance (it is
 * close-on-exec: clear FD_CLOEXEC before exec), and the other side maps it with
 * mapfile_open_fd. The memfd is sealed against shrinking (F_SEAL_SHRINK, which no process can
 * remove), so no process mapping it can ever fault, raw pointers included; guarded calls on it
 * skip the truncation guard (mapfile_open_fd notices the seal on a received memfd and does the
 * same). F_SEAL_SEAL is not added, so that the memory can still grow: any handle on it may
 * mapfile_resize it larger (the others see the new length after mapfile_refresh), and a
 * process that wants a fixed size adds F_SEAL_GROW | F_SEAL_SEAL with fcntl(F_ADD_SEALS).
 * Huge-page memory is sealed against any size change (F_SEAL_SHRINK | F_SEAL_GROW |
 * F_SEAL_SEAL) and allocated in full at open; its one remaining way to fault is a process that
 * punches a hole in it (fallocate FALLOC_FL_PUNCH_HOLE) while the system has no free huge page.
 * Shrinking is MAPFILE_ERR_UNSUPPORTED.
 *
 * @param[in] name  NUL-terminated label, shown in /proc/PID/fd and /proc/PID/maps as
 *                  "/memfd:name" (at most 249 bytes; not a path, names nothing shared).
 * @param[in] size  Its size in bytes (1 to INT64_MAX; rounded up to whole huge pages when it
 *                  gets them).
 * @param[in] flags As for mapfile_open_anonymous.
 * @param[out] out  Receives the new handle on success (untouched on failure); release with
 *                  mapfile_close. The memory lives while any process maps it or holds its fd.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (name or out NULL); MAPFILE_ERR_INVALID_ARG (size 0
 *         or over INT64_MAX, name too long, unknown flag bits); MAPFILE_ERR_NO_MEMORY;
 *         MAPFILE_ERR_IO.
 * Thread safety: may be called from any thread.
 * @ingroup lifecycle
 */
mapfile_status mapfile_open_memfd(const char *name,
                                  uint64_t size,
                                  uint32_t flags,
                                  struct mapfile_t **out);

/**
 * Whether the handle's window is really backed by huge pages now: explicit ones
 * (MAPFILE_FLAG_HUGE_PAGES on shared memory, or a received hugetlbfs memfd), or transparent
 * huge pages the kernel has put under it (file mappings with MAPFILE_FLAG_HUGE_PAGES or
 * MAPFILE_ADVICE_HUGE_PAGE, once touched). Read from /proc/self/smaps (an honest answer, not
 * what was asked), so it costs a read of that file.
 *
 * @param[in] m The handle, or NULL.
 * @return 1 or 0; 0 for NULL and for an empty window.
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup lifecycle
 */
int mapfile_huge_pages(const struct mapfile_t *m);

/**
 * The handle's own descriptor (a duplicate made at open; for mapfile_open_fd not the caller's),
 * for fstat, fcntl locks, sendfile or SCM_RIGHTS. Do not close it; it is closed by mapfile_close.
 * (Closed anyway and its number reused for another file, the handle never acts on that file:
 * mapfile_resize, mapfile_refresh and mapfile_check answer MAPFILE_ERR_IO, errno EBADF.)
 *
 * @param[in] m The handle, or NULL.
 * @return The descriptor; -1 for NULL and for anonymous shared memory.
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup lifecycle
 */
int mapfile_fd(const struct mapfile_t *m);

/**
 * Unmaps and closes. A READ_WRITE mapping that was written (or that handed out a writable pointer)
 * is flushed first (msync MS_SYNC), so closing never loses data; if that flush fails its status is returned, but the handle is
 * released all the same. Pointers from mapfile_slice* are invalid afterwards.
 *
 * @param[in] m A handle, or NULL (then MAPFILE_OK and nothing happens). Never use it again.
 * @return MAPFILE_OK, or the status of the final flush (MAPFILE_ERR_IO, MAPFILE_ERR_NO_SPACE, ...).
 * Thread safety: no other call on the same handle may run during or after close.
 * @ingroup lifecycle
 */
mapfile_status mapfile_close(struct mapfile_t *m);

/**
 * Current length of the window in bytes (0 for NULL or an empty file).
 * Thread safety: may be called concurrently with every call but mapfile_close.
 *
 * @param[in] m The handle, or NULL.
 * @return The window length in bytes; 0 for NULL or an empty window.
 * @ingroup access
 */
uint64_t mapfile_len(const struct mapfile_t *m);

/**
 * Zero-copy access: `*out` receives a pointer to byte `offset` of the window, valid for `len`
 * bytes, until mapfile_close (the library keeps every mapping it ever made for a handle alive until
 * then, so a pointer survives mapfile_resize and mapfile_refresh, though it then shows the old
 * window). Reading it is plain memory access: if the file is truncated under it, see
 * MAPFILE_FLAG_GUARD_RAW. A `len` of 0 is valid anywhere in [0, mapfile_len].
 *
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the first byte of the range.
 * @param[in] len Length of the range in bytes.
 * @param[out] out Receives the result; written only on success.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (m or out NULL); MAPFILE_ERR_OUT_OF_BOUNDS (the range
 *         leaves the window or offset + len overflows). `*out` is written only on success.
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup access
 */
mapfile_status mapfile_slice(const struct mapfile_t *m,
                             uint64_t offset,
                             uint64_t len,
                             const uint8_t **out);

/**
 * The whole window in one call, typed for char-based C code (no cast needed for `const char *`
 * parsers): `*out_data` points at window byte 0, `*out_len` is mapfile_len. Same validity as
 * mapfile_slice (until mapfile_close). An empty window gives a valid, non-NULL pointer and 0.
 *
 * @param[in] m The handle.
 * @param[out] out_data Receives the pointer; written only on success.
 * @param[out] out_len Receives the window length; written only on success.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS (the window is larger than
 *         SIZE_MAX: only on 32-bit systems).
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup access
 */
mapfile_status mapfile_chars(const struct mapfile_t *m, const char **out_data, size_t *out_len);

/**
 * Zero-copy iteration without allocation (chunks, or pages with mapfile_page_size): set
 * `*cursor` to 0, then each call yields window bytes `[*cursor, min(*cursor + chunk_len, len))`
 * and advances `*cursor` past them. At the end it returns MAPFILE_OK with `*out_len` 0 (and
 * `*cursor` == mapfile_len). The pointers are valid as mapfile_slice's.
 *
 * @code
 * uint64_t cursor = 0, n;
 * const uint8_t *p;
 * while (mapfile_next_chunk(m, 1 << 20, &cursor, &p, &n) == MAPFILE_OK && n > 0) use(p, n);
 * @endcode
 *
 * @param[in] m The handle.
 * @param[in] chunk_len The largest chunk in bytes (not 0).
 * @param[in,out] cursor Window offset of the next chunk; advanced by the chunk's length.
 * @param[out] out_ptr Receives a pointer to the chunk; written only on success.
 * @param[out] out_len Receives the chunk's length (0 at the end); written only on success.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_INVALID_ARG (chunk_len 0);
 *         MAPFILE_ERR_OUT_OF_BOUNDS (*cursor > mapfile_len, e.g. after a shrink).
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup access
 */
mapfile_status mapfile_next_chunk(const struct mapfile_t *m,
                                  uint64_t chunk_len,
                                  uint64_t *cursor,
                                  const uint8_t **out_ptr,
                                  uint64_t *out_len);

/**
 * The system page size in bytes (the natural chunk_len for page-wise iteration).
 *
 * @return The page size (for example 4096).
 * Thread safety: may be called from any thread.
 * @ingroup access
 */
size_t mapfile_page_size(void);

/**
 * Like mapfile_slice, for writing: READ_WRITE writes reach the file (make them durable with
 * mapfile_flush*); COPY_ON_WRITE writes stay private.
 *
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the first byte of the range.
 * @param[in] len Length of the range in bytes.
 * @param[out] out Receives the result; written only on success.
 * @return as mapfile_slice, plus MAPFILE_ERR_READ_ONLY on a READ_ONLY mapping (after the range
 *         check).
 * @ingroup access
 */
mapfile_status mapfile_slice_mut(struct mapfile_t *m, uint64_t offset, uint64_t len, uint8_t **out);

/**
 * Guarded copy of `len` bytes at `offset` of the window into `dst`. If the file was truncated
 * under the mapping and the range reaches lost bytes, returns MAPFILE_ERR_TRUNCATED instead of
 * crashing (the contents of `dst` are then unspecified); ranges wholly inside the file keep working.
 *
 * @param[in] m      The handle.
 * @param[in] offset Window offset of the first byte to copy.
 * @param[out] dst    Caller's buffer of at least `len` bytes (must not be NULL, even for len 0).
 * @param[in] len    How many bytes to copy.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_TRUNCATED;
 *         MAPFILE_ERR_IO (the page could not be read from the device).
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup access
 */
mapfile_status mapfile_read(const struct mapfile_t *m,
                            uint64_t offset,
                            void *dst,
                            size_t len);

/**
 * Guarded copy of `len` bytes from `src` into the window at `offset` (READ_WRITE: reaches the
 * file, durable after mapfile_flush*; COPY_ON_WRITE: private). Bytes written into pages lost to a
 * truncation are gone, and the call returns MAPFILE_ERR_TRUNCATED.
 *
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the first byte of the range.
 * @param[in] src Caller's buffer of at least `len` bytes (must not be NULL, even for len 0).
 * @param[in] len Length of the range in bytes.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_READ_ONLY;
 *         MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_IO.
 * Thread safety: may be called concurrently with every call but mapfile_close; concurrent
 * writes to overlapping bytes leave them in an unspecified mix.
 * @ingroup access
 */
mapfile_status mapfile_write(struct mapfile_t *m, uint64_t offset, const void *src, size_t len);

/**
 * Guarded search for the first occurrence of `needle` at or after `from`. Writes its window
 * offset to `*out_pos`, or MAPFILE_NPOS when absent (still MAPFILE_OK). An empty needle is found
 * at `from`. After a truncation, a match lying wholly before the lost bytes is still returned
 * (it depends only on bytes in the file); "absent" cannot be known and is MAPFILE_ERR_TRUNCATED.
 *
 *
 * @param[in] m The handle.
 * @param[in] from Window offset where the search starts (0 to mapfile_len).
 * @param[in] needle The bytes to look for (must not be NULL, even when needle_len is 0).
 * @param[in] needle_len Length of the needle in bytes.
 * @param[out] out_pos Receives the window offset of the first match, or MAPFILE_NPOS; written only on success.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (m, needle or out_pos NULL); MAPFILE_ERR_OUT_OF_BOUNDS
 *         (from > mapfile_len); MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_IO.
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup access
 */
mapfile_status mapfile_find(const struct mapfile_t *m,
                            uint64_t from,
                            const void *needle,
                            size_t needle_len,
                            uint64_t *out_pos);

/**
 * Guarded reverse search: the last occurrence of `needle` lying wholly in `[0, end)` (the
 * search that finds the start of the line before a position). Writes its window offset to
 * `*out_pos`, or MAPFILE_NPOS when absent (still MAPFILE_OK). An empty needle is found at `end`.
 * If any byte of `[0, end)` was lost to truncation the answer cannot be known:
 * MAPFILE_ERR_TRUNCATED.
 *
 * @param[in] m The handle.
 * @param[in] end Window offset where the search ends (exclusive; 0 to mapfile_len).
 * @param[in] needle The bytes to look for (must not be NULL, even when needle_len is 0).
 * @param[in] needle_len Length of the needle in bytes.
 * @param[out] out_pos Receives the window offset of the last match, or MAPFILE_NPOS; written only on success.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (m, needle or out_pos NULL); MAPFILE_ERR_OUT_OF_BOUNDS
 *         (end > mapfile_len); MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_IO.
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup access
 */
mapfile_status mapfile_rfind(const struct mapfile_t *m,
                             uint64_t end,
                             const void *needle,
                             size_t needle_len,
                             uint64_t *out_pos);

/**
 * Guarded count of the bytes equal to `byte` in `[offset, offset + len)` (SIMD, memchr).
 *
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the first byte of the range.
 * @param[in] len Length of the range in bytes.
 * @param[in] byte The byte value to count.
 * @param[out] out_count Receives the count; written only on success.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_TRUNCATED;
 *         MAPFILE_ERR_IO. `*out_count` is written only on success.
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup access
 */
mapfile_status mapfile_count_byte(const struct mapfile_t *m,
                                  uint64_t offset,
                                  uint64_t len,
                                  uint8_t byte,
                                  uint64_t *out_count);

/**
 * Synchronous, durable flush of the whole window: returns after the bytes are on stable storage
 * (msync MS_SYNC, plus fdatasync after a size change). A successful no-op on READ_ONLY and
 * COPY_ON_WRITE mappings.
 *
 *
 * @param[in] m The handle.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_IO (write-back failed); MAPFILE_ERR_NO_SPACE.
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup durability
 */
mapfile_status mapfile_flush(struct mapfile_t *m);

/**
 * Synchronous, durable flush of window bytes `[offset, offset + len)` (whole pages around them).
 * The range is checked first, on every mode: out of range is MAPFILE_ERR_OUT_OF_BOUNDS even on a
 * READ_ONLY mapping, where an in-range flush is a successful no-op.
 *
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the first byte of the range.
 * @param[in] len Length of the range in bytes.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_IO.
 * @ingroup durability
 */
mapfile_status mapfile_flush_range(struct mapfile_t *m, uint64_t offset, uint64_t len);

/**
 * Starts write-back of the whole window and returns without waiting (msync MS_ASYNC).
 *
 *
 * @param[in] m The handle.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_IO.
 * @ingroup durability
 */
mapfile_status mapfile_flush_async(struct mapfile_t *m);

/**
 * Tells the kernel how the whole window will be accessed (madvise).
 *
 *
 * @param[in] m The handle.
 * @param[in] advice A MAPFILE_ADVICE_* value.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_INVALID_ARG (unknown advice);
 *         MAPFILE_ERR_UNSUPPORTED (the kernel lacks that advice, e.g. no transparent huge pages).
 * @ingroup durability
 */
mapfile_status mapfile_advise(struct mapfile_t *m, uint32_t advice);

/**
 * As mapfile_advise, for window bytes `[offset, offset + len)`.
 *
 *
 * @param[in] m The handle.
 * @param[in] advice A MAPFILE_ADVICE_* value.
 * @param[in] offset Window offset of the first byte of the range.
 * @param[in] len Length of the range in bytes.
 * @return as mapfile_advise, plus MAPFILE_ERR_OUT_OF_BOUNDS.
 * @ingroup durability
 */
mapfile_status mapfile_advise_range(struct mapfile_t *m,
                                    uint32_t advice,
                                    uint64_t offset,
                                    uint64_t len);

/**
 * Locks the pages of `[offset, offset + len)` in memory (mlock).
 *
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the first byte of the range.
 * @param[in] len Length of the range in bytes.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_NO_MEMORY
 *         (over RLIMIT_MEMLOCK); MAPFILE_ERR_PERMISSION.
 * @ingroup durability
 */
mapfile_status mapfile_lock(struct mapfile_t *m, uint64_t offset, uint64_t len);

/**
 * Unlocks pages locked by mapfile_lock (munlock).
 *
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the first byte of the range.
 * @param[in] len Length of the range in bytes.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS.
 * @ingroup durability
 */
mapfile_status mapfile_unlock(struct mapfile_t *m, uint64_t offset, uint64_t len);

/**
 * Loads the pages of `[offset, offset + len)` now (guarded: a truncated range is
 * MAPFILE_ERR_TRUNCATED, never a crash), so later accesses do not wait for the disk. In
 * MAPFILE_SIGBUS_OFF mode it cannot touch the pages and asks the kernel to read them in instead
 * (MADV_WILLNEED).
 *
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the first byte of the range.
 * @param[in] len Length of the range in bytes.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_TRUNCATED.
 * @ingroup durability
 */
mapfile_status mapfile_prefault(const struct mapfile_t *m, uint64_t offset, uint64_t len);

/**
 * Sets the window's length to `new_len` (READ_WRITE only), and the file's size with it: the file
 * grows when the window would reach past its end (disk blocks are reserved first, so a full disk
 * is MAPFILE_ERR_NO_SPACE here rather than a SIGBUS at the first write), and is cut to the
 * window's new end only when the window was the file's tail (for a whole-file mapping: always).
 * Bytes after a window in the middle of the file are never cut.
 *
 * Pointers: within `max_len` (see mapfile_options) the window never moves. Beyond it, or without
 * it, growth may map the window at a new address: get new pointers with mapfile_slice. Old
 * pointers stay mapped until mapfile_close (they see the file as it was mapped; bytes past a
 * shrink are gone).
 *
 *
 * @param[in] m The handle.
 * @param[in] new_len The window's new length in bytes.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS (offset + new_len overflows
 *         the largest file size); MAPFILE_ERR_READ_ONLY (READ_ONLY or COPY_ON_WRITE mapping);
 *         MAPFILE_ERR_NO_SPACE (ENOSPC, or EFBIG past RLIMIT_FSIZE: checked first, never SIGXFSZ);
 *         MAPFILE_ERR_NO_MEMORY; MAPFILE_ERR_IO. On failure the window and the file are unchanged.
 * Thread safety: may be called concurrently with every call but mapfile_close; other threads see
 * either the old or the new length.
 * @ingroup size
 */
mapfile_status mapfile_resize(struct mapfile_t *m, uint64_t new_len);

/**
 * MAPFILE_OK while the file still holds the whole window and its path still names it;
 * MAPFILE_ERR_TRUNCATED once it shrank under the window (including inside the last page, which
 * never faults) or once a guarded operation hit lost bytes, until mapfile_refresh adopts the new
 * length; else MAPFILE_ERR_REPLACED once the path the handle was opened by names another file or
 * none (renamed over, deleted): the mapping still shows the old file, reopen the path for the new
 * one. One fstat per call, and one stat of the path for a handle opened by path (the path as it
 * was given: a relative one is looked up from the current directory of the moment).
 *
 * @param[in] m The handle.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_REPLACED;
 *         MAPFILE_ERR_IO.
 * @ingroup size
 */
mapfile_status mapfile_check(const struct mapfile_t *m);

/**
 * Follows the file's current length: after another process appended, the window grows (a
 * fixed-length window never beyond its `len`); after a truncation, it shrinks and the TRUNCATED
 * state clears. May move the window as mapfile_resize may.
 *
 *
 * @param[in] m The handle.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_NO_MEMORY; MAPFILE_ERR_IO.
 * @ingroup size
 */
mapfile_status mapfile_refresh(struct mapfile_t *m);

/**
 * Window offset of the first byte lost to truncation (or to an I/O error) that the library has
 * seen, so that a program printing while it scans can stop before it: compare before using
 * bytes at or past it. No system call: it tells what faults recorded (a guarded call, or a raw
 * read with MAPFILE_FLAG_GUARD_RAW, that reached lost bytes), not what the file's size is now
 * (mapfile_check asks the file). mapfile_refresh clears it.
 *
 * @param[in] m The handle, or NULL.
 * @return The window offset, or MAPFILE_NPOS when nothing in the window is known lost (or m is NULL).
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup size
 */
uint64_t mapfile_lost_from(const struct mapfile_t *m);

/**
 * A descriptor for the program's poll/epoll/select loop that becomes readable when the file
 * changes: it grows, shrinks, is written with write(2) by any process (this one included, and
 * this handle's own mapfile_resize), is renamed over, rotated away or deleted (inotify on the
 * file and on its directory). Made at the first call (later calls return the same one); owned by
 * the handle and closed by mapfile_close: do not close or read it yourself, call mapfile_watch_ack.
 * Stores through another process's mapping raise no notification.
 *
 * @param[in] m The handle.
 * @param[out] out_fd Receives the descriptor; written only on success.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_NO_MEMORY or MAPFILE_ERR_IO (no inotify
 *         instance or watch left: fs.inotify.max_user_instances / max_user_watches; errno says).
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup size
 */
mapfile_status mapfile_watch_fd(struct mapfile_t *m, int *out_fd);

/**
 * Drains the watch descriptor without blocking and says what changed since the previous ack:
 * sizes are compared with fstat now, replacement with the path now. The window does not follow
 * by itself: call mapfile_refresh after GREW or SHRANK; after REPLACED, close and reopen the path.
 *
 * @param[in] m The handle.
 * @param[out] out_changes Receives a bitwise OR of MAPFILE_CHANGE_GREW, MAPFILE_CHANGE_SHRANK,
 *                 MAPFILE_CHANGE_MODIFIED and MAPFILE_CHANGE_REPLACED; 0 if nothing happened
 *                 since the last ack. Written only on success.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_INVALID_ARG (no mapfile_watch_fd call
 *         yet); MAPFILE_ERR_IO.
 * Thread safety: may be called concurrently with every call but mapfile_close.
 * @ingroup size
 */
mapfile_status mapfile_watch_ack(struct mapfile_t *m, uint32_t *out_changes);

/**
 * Sequentially consistent atomic load of the 8-byte value at window `offset`, whose position in
 * the file must be a multiple of 8. Works on every mode.
 *
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the value; its file position must be a multiple of its width.
 * @param[out] out Receives the result; written only on success.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (m or out); MAPFILE_ERR_OUT_OF_BOUNDS;
 *         MAPFILE_ERR_MISALIGNED; MAPFILE_ERR_TRUNCATED. `*out` is written only on success.
 * Thread safety: atomic with respect to every thread and every process mapping the file shared.
 * @ingroup atomics
 */
mapfile_status mapfile_atomic_u64_load(const struct mapfile_t *m, uint64_t offset, uint64_t *out);

/**
 * Sequentially consistent atomic store of an 8-byte value (READ_WRITE or COPY_ON_WRITE).
 *
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the value; its file position must be a multiple of its width.
 * @param[in] value The value to store.
 * @return as mapfile_atomic_u64_load, plus MAPFILE_ERR_READ_ONLY on a READ_ONLY mapping.
 * @ingroup atomics
 */
mapfile_status mapfile_atomic_u64_store(struct mapfile_t *m, uint64_t offset, uint64_t value);

/**
 * Atomically adds `delta` (wrapping) to the 8-byte value; the previous value goes to `*out_old`
 * unless out_old is NULL.
 *
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the value; its file position must be a multiple of its width.
 * @param[in] delta The value to add (wrapping).
 * @param[out] out_old Receives the previous value, unless NULL; written only on success.
 * @return as mapfile_atomic_u64_store.
 * @ingroup atomics
 */
mapfile_status mapfile_atomic_u64_fetch_add(struct mapfile_t *m,
                                            uint64_t offset,
                                            uint64_t delta,
                                            uint64_t *out_old);

/**
 * Atomic compare-and-swap: stores `desired` if the value equals `expected`. Returns MAPFILE_OK
 * whether or not it swapped, with the value it found in `*out_actual` (swapped iff it equals
 * `expected`).
 *
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the value; its file position must be a multiple of its width.
 * @param[in] expected The value the word must hold for the swap to happen.
 * @param[in] desired The value stored if it does.
 * @param[out] out_actual Receives the value found (the swap happened iff it equals expected); written only on success.
 * @return as mapfile_atomic_u64_store; MAPFILE_ERR_NULL_ARG when out_actual is NULL.
 * @ingroup atomics
 */
mapfile_status mapfile_atomic_u64_compare_exchange(struct mapfile_t *m,
                                                   uint64_t offset,
                                                   uint64_t expected,
                                                   uint64_t desired,
                                                   uint64_t *out_actual);

/**
 * As mapfile_atomic_u64_load, for a 4-byte value at a file position that is a multiple of 4.
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the value; its file position must be a multiple of its width.
 * @param[out] out Receives the result; written only on success.
 * @return as mapfile_atomic_u64_load.
 * @ingroup atomics
 */
mapfile_status mapfile_atomic_u32_load(const struct mapfile_t *m, uint64_t offset, uint32_t *out);

/**
 * As mapfile_atomic_u64_store, for a 4-byte value.
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the value; its file position must be a multiple of its width.
 * @param[in] value The value to store.
 * @return as mapfile_atomic_u64_store.
 * @ingroup atomics
 */
mapfile_status mapfile_atomic_u32_store(struct mapfile_t *m, uint64_t offset, uint32_t value);

/**
 * As mapfile_atomic_u64_fetch_add, for a 4-byte value.
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the value; its file position must be a multiple of its width.
 * @param[in] delta The value to add (wrapping).
 * @param[out] out_old Receives the previous value, unless NULL; written only on success.
 * @return as mapfile_atomic_u64_fetch_add.
 * @ingroup atomics
 */
mapfile_status mapfile_atomic_u32_fetch_add(struct mapfile_t *m,
                                            uint64_t offset,
                                            uint32_t delta,
                                            uint32_t *out_old);

/**
 * As mapfile_atomic_u64_compare_exchange, for a 4-byte value.
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the value; its file position must be a multiple of its width.
 * @param[in] expected The value the word must hold for the swap to happen.
 * @param[in] desired The value stored if it does.
 * @param[out] out_actual Receives the value found (the swap happened iff it equals expected); written only on success.
 * @return as mapfile_atomic_u64_compare_exchange.
 * @ingroup atomics
 */
mapfile_status mapfile_atomic_u32_compare_exchange(struct mapfile_t *m,
                                                   uint64_t offset,
                                                   uint32_t expected,
                                                   uint32_t desired,
                                                   uint32_t *out_actual);

/**
 * Futex wait on the 4-byte value at window `offset` (file position a multiple of 4): returns
 * MAPFILE_OK at once if the value differs from `expected`; else sleeps until a
 * mapfile_atomic_u32_wake on the same bytes (MAPFILE_OK), until `timeout_ns` nanoseconds pass
 * (MAPFILE_ERR_TIMED_OUT; UINT64_MAX = no timeout), or until a signal (MAPFILE_OK: re-check the
 * value, as with every futex; spurious wake-ups are possible). On READ_ONLY and READ_WRITE
 * mappings (shared) it works across processes: anyone mapping the same file bytes, or the same
 * memfd, can wake it; on COPY_ON_WRITE within the process. The handle is not busy while it
 * sleeps: resize and refresh proceed.
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the value; its file position must be a multiple of 4.
 * @param[in] expected The value to sleep on.
 * @param[in] timeout_ns Relative timeout in nanoseconds; UINT64_MAX waits without one.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG; MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_MISALIGNED;
 *         MAPFILE_ERR_TIMED_OUT (errno ETIMEDOUT); MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_UNSUPPORTED
 *         (MAPFILE_SIGBUS_OFF).
 * Thread safety: any thread, any process; close must not run while it sleeps.
 * @ingroup atomics
 */
mapfile_status mapfile_atomic_u32_wait(const struct mapfile_t *m,
                                       uint64_t offset,
                                       uint32_t expected,
                                       uint64_t timeout_ns);

/**
 * Wakes up to `count` threads or processes sleeping in mapfile_atomic_u32_wait on the 4-byte
 * value at window `offset` (UINT32_MAX = all). Does not change the value: store first, then wake.
 *
 * @param[in] m The handle.
 * @param[in] offset Window offset of the value; its file position must be a multiple of 4.
 * @param[in] count How many waiters to wake at most.
 * @param[out] out_woken Receives how many were woken; may be NULL.
 * @return MAPFILE_OK; MAPFILE_ERR_NULL_ARG (m); MAPFILE_ERR_OUT_OF_BOUNDS; MAPFILE_ERR_MISALIGNED;
 *         MAPFILE_ERR_TRUNCATED; MAPFILE_ERR_UNSUPPORTED (MAPFILE_SIGBUS_OFF).
 * Thread safety: any thread, any process.
 * @ingroup atomics
 */
mapfile_status mapfile_atomic_u32_wake(struct mapfile_t *m,
                                       uint64_t offset,
                                       uint32_t count,
                                       uint32_t *out_woken);

/**
 * Chooses who answers SIGBUS. Call it before the first mapping is opened; afterwards only the
 * mode already in force is accepted. The environment variable MAPFILE_SIGBUS=host or =off does the
 * same for programs that cannot call this.
 *
 *
 * @param[in] mode A mode value.
 * @return MAPFILE_OK; MAPFILE_ERR_INVALID_ARG (unknown mode, or too late to change it).
 * Thread safety: call it once, before other threads open mappings.
 * @ingroup signals
 */
mapfile_status mapfile_sigbus_mode(uint32_t mode);

/**
 * For hosts in MAPFILE_SIGBUS_HOST_CHAINS mode, to call first thing in their SIGBUS handler with the
 * handler's arguments (`info` is the `siginfo_t *`). Returns 1 when the fault was a truncation of a
 * libmapfile mapping that the library recovered: return from the handler at once, the faulting
 * instruction then runs again on zeros. Returns 0 when the signal is not the library's: handle
 * it as if the library were absent. Async-signal-safe.
 *
 * @param[in] signal The signal number the host's handler received.
 * @param[in] info The handler's `siginfo_t *` (NULL: returns 0).
 * @param[in] context The handler's `ucontext_t *` (not used; pass it through).
 * @return 1: recovered, return from the handler; 0: not the library's signal.
 * @ingroup signals
 */
int mapfile_sigbus_handle(int signal,
                          void *info,
                          void *context);

#ifdef __cplusplus
}  /* extern "C" */
#endif  /* __cplusplus */

#endif  /* MAPFILE_H */
