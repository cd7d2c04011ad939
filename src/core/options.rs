//! What a caller asks for: the mode, what to do about a missing file, the window, the flush
//! policy, access hints. Plain values; every other core file reads them, none writes them.

/// How the file is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// PROT_READ, shared.
    ReadOnly,
    /// PROT_READ|PROT_WRITE, shared: writes reach the file.
    ReadWrite,
    /// PROT_READ|PROT_WRITE, private: writes stay in this process, never reach the file.
    CopyOnWrite,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::ReadOnly => "READ_ONLY",
            Mode::ReadWrite => "READ_WRITE",
            Mode::CopyOnWrite => "COPY_ON_WRITE",
        }
    }

    /// The mapping's memory may be written (READ_WRITE and COPY_ON_WRITE).
    pub(super) fn writable_memory(self) -> bool {
        self != Mode::ReadOnly
    }

    /// Writes to the mapping reach the file (READ_WRITE only): what flushing is for.
    pub(super) fn writes_reach_file(self) -> bool {
        self == Mode::ReadWrite
    }
}

/// What to do when the path does (not) exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The file must exist.
    OpenExisting,
    /// The file must not exist; it is created with `Options::create_size` bytes.
    CreateNew,
    /// Open it if it exists (contents and size untouched), else create it.
    OpenOrCreate,
}

/// When writes reach stable storage without an explicit flush (see `flush.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    Manual,
    Always,
    EveryBytes(u64),
    EveryWrites(u64),
    EveryMillis(u64),
}

/// Access-pattern hints (madvise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    Normal,
    Random,
    Sequential,
    WillNeed,
    DontNeed,
    HugePage,
    NoHugePage,
}

/// Everything `Mapping::open` needs. The C options struct converts into this (`ffi/convert.rs`).
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    pub disposition: Disposition,
    /// Size of a file this call creates.
    pub create_size: u64,
    /// Start of the window in the file (any value, not only page multiples).
    pub offset: u64,
    /// Window length; 0 = up to the end of the file (and follow it on refresh).
    pub len: u64,
    /// Prefault the whole window at open.
    pub populate: bool,
    /// Raw-pointer reads of truncated pages see zeros instead of SIGBUS.
    pub guard_raw: bool,
    /// Huge pages: explicit (hugetlb) for shared memory the library makes, transparent huge
    /// page advice for files. A request, never a failure.
    pub huge_pages: bool,
    /// When writes are flushed without an explicit call.
    pub flush_policy: FlushPolicy,
    /// Reserve address space for a window of up to this many bytes, so growth within it never
    /// moves the window (0 = none).
    pub max_len: u64,
    /// Set by `Mapping::open`: the process-unique id of the mapping (never 0), which its
    /// guard registrations and the grace marks of its readers name.
    pub(super) id: usize,
    /// Set by `Mapping::open`: the file is sealed against shrinking (a memfd with
    /// F_SEAL_SHRINK), so no page of the window can ever be lost and guarded calls skip the
    /// guard (see `guarded::route`).
    pub(super) sealed: bool,
}

impl Options {
    pub fn new(mode: Mode) -> Options {
        Options {
            mode,
            disposition: Disposition::OpenExisting,
            create_size: 0,
            offset: 0,
            len: 0,
            populate: false,
            guard_raw: false,
            huge_pages: false,
            flush_policy: FlushPolicy::Manual,
            max_len: 0,
            id: 0,
            sealed: false,
        }
    }
}
