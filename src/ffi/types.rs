//! C types and constants of the public contract (API.md). Numeric values are fixed forever.

/// Opaque handle to one mapped file (or window of a file). Obtained from `mapfile_open*` /
/// `mapfile_create`, released with `mapfile_close`; only ever used through a pointer.
/// @ingroup lifecycle
pub struct mapfile_t {
    _opaque: [u8; 0],
}

/// "Not found" position written by `mapfile_find`.
/// @ingroup access
pub const MAPFILE_NPOS: u64 = u64::MAX;

/// Read-only, shared mapping (the file must be readable).
/// @ingroup lifecycle
pub const MAPFILE_MODE_READ_ONLY: u32 = 0;
/// Read-write, shared mapping: writes reach the file (the file must be readable and writable).
/// @ingroup lifecycle
pub const MAPFILE_MODE_READ_WRITE: u32 = 1;
/// Private mapping: writes stay in this process and never reach the file (readable file suffices).
/// @ingroup lifecycle
pub const MAPFILE_MODE_COPY_ON_WRITE: u32 = 2;

/// No special access pattern (madvise MADV_NORMAL).
/// @ingroup durability
pub const MAPFILE_ADVICE_NORMAL: u32 = 0;
/// Random access: read-ahead off (MADV_RANDOM).
/// @ingroup durability
pub const MAPFILE_ADVICE_RANDOM: u32 = 1;
/// Sequential access: aggressive read-ahead (MADV_SEQUENTIAL).
/// @ingroup durability
pub const MAPFILE_ADVICE_SEQUENTIAL: u32 = 2;
/// The range will be needed soon: start reading it in (MADV_WILLNEED).
/// @ingroup durability
pub const MAPFILE_ADVICE_WILL_NEED: u32 = 3;
/// The range is not needed now: drop its pages from this process (MADV_DONTNEED). Data of a
/// READ_WRITE mapping stays in the file; a COPY_ON_WRITE mapping loses its private changes.
/// @ingroup durability
pub const MAPFILE_ADVICE_DONT_NEED: u32 = 4;
/// Back the range with transparent huge pages where the kernel supports it (MADV_HUGEPAGE).
/// @ingroup durability
pub const MAPFILE_ADVICE_HUGE_PAGE: u32 = 5;
/// Do not use transparent huge pages for the range (MADV_NOHUGEPAGE).
/// @ingroup durability
pub const MAPFILE_ADVICE_NO_HUGE_PAGE: u32 = 6;

/// `mapfile_options.flags`: prefault the whole window at open (MAP_POPULATE).
/// @ingroup lifecycle
pub const MAPFILE_FLAG_POPULATE: u32 = 1;
/// `mapfile_options.flags`: raw-pointer reads of pages lost to truncation see zeros instead of
/// raising SIGBUS (the process lives on; `mapfile_check` reports TRUNCATED).
/// @ingroup lifecycle
pub const MAPFILE_FLAG_GUARD_RAW: u32 = 2;
/// `mapfile_options.flags` and the flags of mapfile_open_anonymous / mapfile_open_memfd: huge
/// pages. Shared memory the library makes uses explicit huge pages (MFD_HUGETLB, allocated at
/// open, the size rounded up to whole huge pages) when the system has enough reserved
/// (vm.nr_hugepages), else normal pages; file mappings ask for transparent huge pages
/// (MADV_HUGEPAGE). A request, never a failure: mapfile_huge_pages tells what the mapping got.
/// @ingroup lifecycle
pub const MAPFILE_FLAG_HUGE_PAGES: u32 = 4;
/// Every flag this version knows; other bits are MAPFILE_ERR_INVALID_ARG.
/// @ingroup lifecycle
pub const MAPFILE_FLAG_ALL: u32 =
    MAPFILE_FLAG_POPULATE | MAPFILE_FLAG_GUARD_RAW | MAPFILE_FLAG_HUGE_PAGES;

/// `mapfile_options.create`: the file must exist (default).
/// @ingroup lifecycle
pub const MAPFILE_CREATE_NEVER: u32 = 0;
/// `mapfile_options.create`: the file must not exist; it is created with `create_size` bytes.
/// @ingroup lifecycle
pub const MAPFILE_CREATE_NEW: u32 = 1;
/// `mapfile_options.create`: open the file if it exists (size and contents untouched), else
/// create it with `create_size` bytes. Race-free.
/// @ingroup lifecycle
pub const MAPFILE_CREATE_IF_MISSING: u32 = 2;

/// `mapfile_options.flush_policy`: only explicit `mapfile_flush*` calls flush (default).
/// @ingroup lifecycle
pub const MAPFILE_FLUSH_MANUAL: u32 = 0;
/// Every `mapfile_write` flushes its range synchronously before returning.
/// @ingroup lifecycle
pub const MAPFILE_FLUSH_ALWAYS: u32 = 1;
/// The window is flushed once `flush_every` bytes were written by `mapfile_write` since the last flush.
/// @ingroup lifecycle
pub const MAPFILE_FLUSH_EVERY_BYTES: u32 = 2;
/// The window is flushed once `flush_every` `mapfile_write` calls happened since the last flush.
/// @ingroup lifecycle
pub const MAPFILE_FLUSH_EVERY_WRITES: u32 = 3;
/// A background thread flushes the window every `flush_every` milliseconds while it is dirty.
/// @ingroup lifecycle
pub const MAPFILE_FLUSH_EVERY_MILLIS: u32 = 4;

/// `mapfile_watch_ack`: the file grew (its size is larger than at the previous ack).
/// @ingroup size
pub const MAPFILE_CHANGE_GREW: u32 = 1;
/// `mapfile_watch_ack`: the file shrank (truncated, for example by copytruncate log rotation).
/// @ingroup size
pub const MAPFILE_CHANGE_SHRANK: u32 = 2;
/// `mapfile_watch_ack`: the file was written with write(2) or truncated (stores through another
/// process's mapping raise no notification).
/// @ingroup size
pub const MAPFILE_CHANGE_MODIFIED: u32 = 4;
/// `mapfile_watch_ack`: the path now names another file or none (renamed over, rotated away,
/// deleted), or the file was deleted. Reported once.
/// @ingroup size
pub const MAPFILE_CHANGE_REPLACED: u32 = 8;

/// The `version` that `mapfile_options_init` writes. Older values stay accepted forever.
/// @ingroup lifecycle
pub const MAPFILE_OPTIONS_VERSION: u32 = 1;

/// Options for `mapfile_open_with`. Always initialise with `mapfile_options_init`, then set the
/// fields you need: the `version` field lets later library versions add fields without breaking
/// programs compiled against this header.
/// @ingroup lifecycle
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mapfile_options {
    /// Set by `mapfile_options_init`; an unknown version is MAPFILE_ERR_INVALID_ARG.
    pub version: u32,
    /// MAPFILE_MODE_* (default READ_ONLY).
    pub mode: u32,
    /// Bitwise OR of MAPFILE_FLAG_* (default 0).
    pub flags: u32,
    /// Start of the window in the file: any value, not only page multiples (default 0).
    pub offset: u64,
    /// Window length; 0 = up to the end of the file, following it on `mapfile_refresh` (default 0).
    pub len: u64,
    /// Reserve address space for growth up to this window length, so `mapfile_resize` and
    /// `mapfile_refresh` within it never move the window (0 = no reservation, default). A
    /// reservation the address space cannot hold (for example UINT64_MAX) is
    /// MAPFILE_ERR_NO_MEMORY at open.
    pub max_len: u64,
    /// MAPFILE_FLUSH_* (default MANUAL). Anything but MANUAL needs mode READ_WRITE.
    pub flush_policy: u32,
    /// MAPFILE_CREATE_* (default NEVER). Anything but NEVER needs mode READ_WRITE.
    pub create: u32,
    /// The N of the flush policy: bytes, writes or milliseconds (must be > 0 for those policies).
    pub flush_every: u64,
    /// Size in bytes of a file that this call creates (CREATE_NEW / CREATE_IF_MISSING).
    pub create_size: u64,
}

/// ABI version: the MAJOR of the soname `libmapfile.so.MAJOR`. Changes only when a binary built
/// against an older header could break.
/// @ingroup errors
pub const MAPFILE_ABI_VERSION: u32 = 0;
