//! `Mapping`: a window of a file mapped into memory, with guarded access, resize and refresh.
//!
//! Concurrency model: the current view (region + length) is published through a seqlock of
//! atomics; readers take a consistent snapshot with a few loads and never write shared memory.
//! `resize`/`refresh` publish a new view under a mutex. Regions are never unmapped before the
//! mapping is dropped, so a pointer handed out by `slice` stays valid until close even when a
//! resize had to move the window (the old pages still map the same file pages). New regions for
//! growth get geometric headroom, so a file that keeps growing costs O(log size) regions.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use memmap2::{MmapMut, MmapOptions, MmapRaw};

use super::error::{Error, Result};
use super::flush::{self, FlushPolicy};
use super::grace;
use super::guard::{self, LossCause, Registration, NOTHING_LOST};

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

    fn writable_memory(self) -> bool {
        self != Mode::ReadOnly
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

/// Everything `Mapping::open` needs. The C options struct converts into this.
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
    /// When writes are flushed without an explicit call.
    pub flush_policy: FlushPolicy,
    /// Reserve address space for a window of up to this many bytes, so growth within it never
    /// moves the window (0 = none).
    pub max_len: u64,
    /// Set by `Mapping::open`: the process-unique id of the mapping (never 0), which its
    /// guard registrations and the grace marks of its readers name.
    id: usize,
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
            flush_policy: FlushPolicy::Manual,
            max_len: 0,
            id: 0,
        }
    }
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

/// One mapping of the file (memmap2, or a reservation for `max_len`) and its place in the
/// truncation-guard registry.
pub(super) struct Region {
    // Field order matters: the registration is dropped (unregistered, handlers drained) before
    // the memory is unmapped.
    guard: Registration,
    storage: Storage,
    /// Byte 0 of the window inside this mapping.
    window: *mut u8,
    /// How many window bytes this region can cover without moving.
    capacity: u64,
    /// How many window bytes are mapped from the file now (== capacity but for reservations,
    /// which map more of the file as the window grows). Changed only under the regions lock.
    mapped: AtomicU64,
}

enum Storage {
    // memmap2 objects are held for their Drop (munmap); all access goes through `Region::window`.
    /// READ_ONLY and READ_WRITE: MAP_SHARED.
    Shared(#[allow(dead_code)] MmapRaw),
    /// COPY_ON_WRITE: MAP_PRIVATE.
    Private(#[allow(dead_code)] MmapMut),
    /// `max_len`: address space reserved PROT_NONE, the file mapped over its start with MAP_FIXED
    /// and extended in place as the window grows, so the window never moves.
    Reserved { base: *mut u8, len: usize },
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Storage::Reserved { base, len } = *self {
            // SAFETY: we own the whole reservation (file pages and PROT_NONE tail alike).
            unsafe { libc::munmap(base.cast(), len) };
        }
    }
}

// SAFETY: the region owns its mapping; the raw pointers are only addresses into it. All access
// through them is either by the caller (the C contract) or by guarded copies.
unsafe impl Send for Region {}
// SAFETY: as above; the region's only interior state is atomics.
unsafe impl Sync for Region {}

fn map_flags(mode: Mode) -> (libc::c_int, libc::c_int) {
    match mode {
        Mode::ReadOnly => (libc::PROT_READ, libc::MAP_SHARED),
        Mode::ReadWrite => (libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED),
        Mode::CopyOnWrite => (libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE),
    }
}

/// `value` rounded up to a multiple of `page`, or None when that does not fit in a u64.
fn round_up(value: u64, page: u64) -> Option<u64> {
    value.div_ceil(page).checked_mul(page)
}

/// The most address space one mapping may ask for: a length the kernel and Rust's pointer
/// arithmetic (isize) can both represent. Anything larger is NO_MEMORY before any mmap.
fn address_space_len(len: u64, what: &str) -> Result<usize> {
    match usize::try_from(len) {
        Ok(bytes) if bytes <= isize::MAX as usize => Ok(bytes),
        _ => Err(Error::os(
            format!("{what}: {len} bytes do not fit in the address space"),
            io::Error::from_raw_os_error(libc::ENOMEM),
        )),
    }
}

impl Region {
    /// Maps `len` bytes of the file at `offset` with room for `capacity` (>= len) window bytes:
    /// a reservation up to `max_len` when the options ask for one, else a plain mapping of
    /// `capacity` bytes (pages past the end of the file are never touched by the library).
    fn map(file: &File, options: &Options, offset: u64, len: u64, capacity: u64) -> Result<Region> {
        let page = guard::page_size() as u64;
        let lead = offset % page;
        if options.max_len > len {
            return Region::map_reserved(file, options, offset, len);
        }
        let len = capacity;
        let len_usize =
            address_space_len(len.saturating_add(lead), "mapping the window")? - lead as usize;
        let mut builder = MmapOptions::new();
        builder.offset(offset).len(len_usize);
        if options.populate {
            builder.populate();
        }
        let context = || format!("mmap of {len} bytes at file offset {offset}");
        let (storage, window) = match options.mode {
            Mode::ReadOnly => {
                let map = builder
                    .map_raw_read_only(file)
                    .map_err(|e| Error::os(context(), e))?;
                let window = map.as_mut_ptr();
                (Storage::Shared(map), window)
            }
            Mode::ReadWrite => {
                let map = builder.map_raw(file).map_err(|e| Error::os(context(), e))?;
                let window = map.as_mut_ptr();
                (Storage::Shared(map), window)
            }
            Mode::CopyOnWrite => {
                // SAFETY: a private mapping: other processes' changes to the file may show through
                // pages this process has not written, which is the documented COW behaviour; the
                // library never builds Rust references that assume the bytes are immutable.
                let mut map =
                    unsafe { builder.map_copy(file) }.map_err(|e| Error::os(context(), e))?;
                let window = map.as_mut_ptr();
                (Storage::Private(map), window)
            }
        };
        Region::register(file, options, storage, window, lead, offset, len, len)
    }

    fn map_reserved(file: &File, options: &Options, offset: u64, len: u64) -> Result<Region> {
        let page = guard::page_size() as u64;
        let lead = offset % page;
        // Checked: a max_len near UINT64_MAX must never wrap into a small reservation that the
        // file would then be mapped past (MAP_FIXED over memory the library does not own).
        let reserve = address_space_len(
            lead.checked_add(options.max_len)
                .and_then(|bytes| round_up(bytes, page))
                .unwrap_or(u64::MAX),
            "reserving address space for max_len",
        )?;
        // SAFETY: a fresh anonymous PROT_NONE reservation; no existing memory is touched.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserve,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Error::last_os(format!(
                "reserving {reserve} bytes of address space (max_len)"
            )));
        }
        let storage = Storage::Reserved {
            base: base.cast(),
            len: reserve,
        };
        // SAFETY: lead < page <= reserve.
        let window = unsafe { base.cast::<u8>().add(lead as usize) };
        let region = Region::register(
            file,
            options,
            storage,
            window,
            lead,
            offset,
            options.max_len,
            0,
        )?;
        region.map_more(file, options, len)?;
        Ok(region)
    }

    #[allow(clippy::too_many_arguments)]
    fn register(
        file: &File,
        options: &Options,
        storage: Storage,
        window: *mut u8,
        lead: u64,
        offset: u64,
        capacity: u64,
        mapped: u64,
    ) -> Result<Region> {
        let guard = Registration::new(
            window as usize - lead as usize,
            (capacity + lead) as usize,
            file.as_raw_fd(),
            offset - lead,
            options.id,
            options.mode.writable_memory(),
            options.guard_raw,
        )?;
        Ok(Region {
            guard,
            storage,
            window,
            capacity,
            mapped: AtomicU64::new(mapped),
        })
    }

    /// Reservations only: maps the file up to `len` window bytes inside the reservation (the
    /// pages already mapped stay untouched, so COPY_ON_WRITE changes survive). Regions lock held.
    fn map_more(&self, file: &File, options: &Options, len: u64) -> Result<()> {
        let mapped = self.mapped.load(Ordering::Acquire);
        if len <= mapped {
            return Ok(());
        }
        let Storage::Reserved {
            base,
            len: reserved,
        } = self.storage
        else {
            return Ok(());
        };
        let page = guard::page_size() as u64;
        let lead = self.window as u64 - base as u64;
        // len <= capacity (the caller's check) keeps `to` inside the reservation; checked anyway,
        // since a MAP_FIXED past it would replace memory the library does not own.
        let from = if mapped == 0 {
            0
        } else {
            round_up(lead + mapped, page).unwrap_or(u64::MAX)
        };
        let to = round_up(lead + len, page).unwrap_or(u64::MAX);
        if len > self.capacity || to > reserved as u64 {
            return Err(Error::Internal(format!(
                "mapping {len} bytes into a reservation of {reserved}"
            )));
        }
        if to > from {
            let (prot, share) = map_flags(options.mode);
            let mut flags = share | libc::MAP_FIXED;
            if options.populate {
                flags |= libc::MAP_POPULATE;
            }
            let file_offset = options.offset - lead + from;
            // SAFETY: [base + from, base + to) lies inside our own reservation (to <= lead +
            // max_len rounded up); MAP_FIXED replaces only PROT_NONE pages there.
            let result = unsafe {
                libc::mmap(
                    base.add(from as usize).cast(),
                    (to - from) as usize,
                    prot,
                    flags,
                    file.as_raw_fd(),
                    file_offset as libc::off_t,
                )
            };
            if result == libc::MAP_FAILED {
                return Err(Error::last_os(format!(
                    "mmap of file offset {file_offset} into the reservation"
                )));
            }
        }
        self.mapped.store(len, Ordering::Release);
        Ok(())
    }

    /// Maps the file again over the pages from file offset `zeroed_from` (page-aligned, where the
    /// guard put zero pages) up to the end of what this region maps, so the region shows the file
    /// there again. Regions lock held, after a grace period (no guarded call is reading there).
    fn remap_file(&self, file: &File, options: &Options, zeroed_from: u64) -> Result<()> {
        let page = guard::page_size() as u64;
        let lead = self.window as u64 % page;
        let base_file_offset = options.offset - lead;
        let mapped = match self.storage {
            Storage::Reserved { .. } => self.mapped.load(Ordering::Acquire),
            _ => self.capacity,
        };
        let from = zeroed_from.saturating_sub(base_file_offset);
        let to = round_up(lead + mapped, page).unwrap_or(u64::MAX);
        if from >= to {
            return Ok(());
        }
        let (prot, share) = map_flags(options.mode);
        // SAFETY: [base + from, base + to) lies inside this region's own mapping (from is a page
        // offset inside it, to its mapped end); MAP_FIXED replaces only those pages.
        let result = unsafe {
            libc::mmap(
                self.window.sub(lead as usize).add(from as usize).cast(),
                (to - from) as usize,
                prot,
                share | libc::MAP_FIXED,
                file.as_raw_fd(),
                (base_file_offset + from) as libc::off_t,
            )
        };
        if result == libc::MAP_FAILED {
            return Err(Error::last_os(format!(
                "mapping the file again from offset {} over pages lost earlier",
                base_file_offset + from
            )));
        }
        Ok(())
    }

    /// COPY_ON_WRITE growth: copies the pages this process wrote privately in the first `len`
    /// window bytes of `old` into this new region, so the private view of the kept range
    /// survives the move. /proc/self/pagemap tells which pages are private (present and not
    /// file-backed, or swapped); only those are read, and being anonymous they cannot fault.
    fn copy_private_pages_from(
        &self,
        old: &Region,
        len: u64,
        window_file_offset: u64,
    ) -> Result<()> {
        const PRESENT: u64 = 1 << 63;
        const SWAPPED: u64 = 1 << 62;
        const FILE_PAGE: u64 = 1 << 61;
        let page = guard::page_size();
        let lead = self.window as usize % page;
        // Pages the guard replaced with zeros are anonymous too, but not private writes: stop
        // before them (they are lost, and the new region shows the file there instead).
        let base_file_offset = window_file_offset - lead as u64;
        let pages = (lead + len as usize)
            .div_ceil(page)
            .min((old.guard.zeroed_from().saturating_sub(base_file_offset) / page as u64) as usize);
        let pagemap = File::open("/proc/self/pagemap")
            .map_err(|e| Error::os("opening /proc/self/pagemap", e))?;
        let old_base = old.window as usize - lead;
        let mut entries = vec![0u8; pages * 8];
        std::os::unix::fs::FileExt::read_exact_at(
            &pagemap,
            &mut entries,
            (old_base / page * 8) as u64,
        )
        .map_err(|e| Error::os("reading /proc/self/pagemap", e))?;
        for (index, entry) in entries.chunks_exact(8).enumerate() {
            let bits = u64::from_ne_bytes(entry.try_into().expect("8 bytes"));
            let private = (bits & PRESENT != 0 && bits & FILE_PAGE == 0) || bits & SWAPPED != 0;
            if private {
                // SAFETY: page `index` lies in both regions (the new one is at least as large),
                // at the same offset from their page-aligned bases; the old page is anonymous
                // (it cannot fault), the new one is this process's private mapping.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        (old_base + index * page) as *const u8,
                        self.window.sub(lead).add(index * page),
                        page,
                    )
                };
            }
        }
        Ok(())
    }

    /// The page-aligned address range covering window bytes `[offset, offset + len)`.
    fn page_range(&self, offset: u64, len: u64) -> (*mut libc::c_void, usize) {
        let page = guard::page_size();
        let start = self.window as usize + offset as usize;
        let aligned = start & !(page - 1);
        (aligned as *mut libc::c_void, start + len as usize - aligned)
    }

    /// msync of window bytes `[offset, offset + len)`.
    pub(super) fn sync(&self, offset: u64, len: u64, synchronous: bool) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        let (address, length) = self.page_range(offset, len);
        let flags = if synchronous {
            libc::MS_SYNC
        } else {
            libc::MS_ASYNC
        };
        // SAFETY: the range lies inside this region's mapping; msync does not change memory.
        if unsafe { libc::msync(address, length, flags) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// madvise of window bytes `[offset, offset + len)`.
    fn advise(&self, advice: Advice, offset: u64, len: u64) -> io::Result<()> {
        let code = match advice {
            Advice::Normal => libc::MADV_NORMAL,
            Advice::Random => libc::MADV_RANDOM,
            Advice::Sequential => libc::MADV_SEQUENTIAL,
            Advice::WillNeed => libc::MADV_WILLNEED,
            Advice::DontNeed => libc::MADV_DONTNEED,
            Advice::HugePage => libc::MADV_HUGEPAGE,
            Advice::NoHugePage => libc::MADV_NOHUGEPAGE,
        };
        let (address, length) = self.page_range(offset, len);
        // SAFETY: the range lies inside this region's mapping. MADV_DONTNEED on a shared mapping
        // only drops page-table entries (data stays in the page cache); on a private one it
        // discards this process's copies, which is what DONT_NEED asks for. The others are hints.
        if unsafe { libc::madvise(address, length, code) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// A consistent snapshot of the current window: the region it lies in and its length.
#[derive(Clone, Copy)]
pub(super) struct View<'a> {
    pub(super) region: &'a Region,
    pub(super) len: u64,
}

/// The current (region, length), published as a seqlock: the writer (holding `Mapping::regions`)
/// makes `sequence` odd, stores both, makes it even; readers retry if it changed under them.
struct Current {
    sequence: AtomicU64,
    region: AtomicPtr<Region>,
    len: AtomicU64,
}

/// A file (or a window of it) mapped into memory.
pub struct Mapping {
    current: Current,
    // Field order matters: regions are unmapped before the file is closed, because the guard
    // registry holds the file descriptor.
    /// Every region ever mapped for this handle (the current one included), unmapped on drop.
    /// Boxed so that a region's address (published in `current`) survives the Vec growing.
    #[allow(clippy::vec_box)]
    regions: Mutex<Vec<Box<Region>>>,
    pub(super) file: File,
    path: PathBuf,
    pub(super) options: Options,
    /// A size change (create, resize) that flush must make durable with fdatasync.
    pub(super) size_changed: AtomicBool,
    /// Written (guarded write, mutable slice or atomic) since the last whole-window flush: close
    /// and the background flusher then flush.
    pub(super) dirty: AtomicBool,
    /// A writable pointer (slice_mut) was handed out: writes may happen behind the library's back
    /// at any time, so close and the background flusher always flush.
    pub(super) writable_pointer_out: AtomicBool,
    /// A caught panic left this mapping in an unknown state: every later call fails INTERNAL.
    poisoned: AtomicBool,
    /// The length a fixed-length window keeps across refresh (options.len, then what resize
    /// set); 0 for a window that follows the end of the file.
    requested_len: AtomicU64,
    /// EVERY_MILLIS: a flush of this handle is in the shared flusher's queue.
    pub(super) flush_scheduled: AtomicBool,
    /// How the shared flusher refers to this handle (it never keeps one alive).
    pub(super) weak_self: std::sync::Weak<Mapping>,
    /// Writes since the last flush (for flush policies).
    pub(crate) pending_writes: AtomicU64,
    pub(crate) pending_bytes: AtomicU64,
}

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::InvalidArgument("the path contains a NUL byte".into()))
}

fn describe(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

/// `offset + len <= total`, without wrapping.
#[inline(always)]
pub fn check_range(offset: u64, len: u64, total: u64) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= total => Ok(()),
        _ => Err(out_of_bounds(offset, len, total)),
    }
}

#[cold]
#[inline(never)]
fn out_of_bounds(offset: u64, len: u64, mapping_len: u64) -> Error {
    Error::OutOfBounds {
        offset,
        len,
        mapping_len,
    }
}

/// Copies `len` bytes; small copies (the common random-access case) inline, without a call to
/// memcpy, so a guarded 8-byte read stays a handful of instructions.
///
/// # Safety
/// `source` and `destination` are valid for `len` bytes and do not overlap.
#[inline(always)]
unsafe fn copy_bytes(source: *const u8, destination: *mut u8, len: usize) {
    // SAFETY: (all branches) both ranges hold `len` bytes; the reads and writes below stay
    // inside them (the 8/4-byte pairs overlap each other when len is not a multiple).
    unsafe {
        match len {
            0 => {}
            1..=3 => {
                *destination = *source;
                *destination.add(len / 2) = *source.add(len / 2);
                *destination.add(len - 1) = *source.add(len - 1);
            }
            4..=7 => {
                let head = source.cast::<u32>().read_unaligned();
                let tail = source.add(len - 4).cast::<u32>().read_unaligned();
                destination.cast::<u32>().write_unaligned(head);
                destination.add(len - 4).cast::<u32>().write_unaligned(tail);
            }
            8..=16 => {
                let head = source.cast::<u64>().read_unaligned();
                let tail = source.add(len - 8).cast::<u64>().read_unaligned();
                destination.cast::<u64>().write_unaligned(head);
                destination.add(len - 8).cast::<u64>().write_unaligned(tail);
            }
            _ => std::ptr::copy_nonoverlapping(source, destination, len),
        }
    }
}

fn open_flags(mode: Mode) -> libc::c_int {
    let access = if mode == Mode::ReadWrite {
        libc::O_RDWR
    } else {
        libc::O_RDONLY
    };
    // O_NONBLOCK: opening a FIFO must not hang; it is then refused as not mappable.
    access | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY
}

fn open_fd(path: &CString, flags: libc::c_int, create_mode: libc::mode_t) -> io::Result<File> {
    // SAFETY: `path` is a valid NUL-terminated string; open has no other preconditions.
    let fd = unsafe { libc::open(path.as_ptr(), flags, create_mode as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Gives the file `size` bytes with real blocks behind them (so a full disk is ENOSPC now, not a
/// SIGBUS at the first write), falling back to ftruncate where the filesystem cannot allocate.
fn reserve_size(file: &File, current: u64, size: u64) -> io::Result<()> {
    if size > current {
        within_file_size_limit(size)?;
        let length = (size - current) as libc::off_t;
        // SAFETY: valid fd; fallocate mode 0 allocates and extends the file size.
        let result =
            unsafe { libc::fallocate(file.as_raw_fd(), 0, current as libc::off_t, length) };
        if result == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) | Some(libc::EINVAL) => {}
            _ => return Err(error),
        }
    }
    file.set_len(size)
}

/// EFBIG when `size` is over this process's file size limit (RLIMIT_FSIZE, `ulimit -f`): checked
/// before growing, because growing past it raises SIGXFSZ, whose default action kills the process.
fn within_file_size_limit(size: u64) -> io::Result<()> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into our local.
    if unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur != libc::RLIM_INFINITY && size > limit.rlim_cur {
        return Err(io::Error::from_raw_os_error(libc::EFBIG));
    }
    Ok(())
}

/// Creates a file of `size` bytes that appears at `path` only once it has its size, failing with
/// EEXIST if the path exists. Uses an anonymous O_TMPFILE linked into place where supported.
fn create_new(path: &CString, size: u64) -> io::Result<File> {
    let path_bytes = path.as_bytes();
    let directory = match path_bytes.iter().rposition(|&b| b == b'/') {
        Some(0) => b"/".to_vec(),
        Some(slash) => path_bytes[..slash].to_vec(),
        None => b".".to_vec(),
    };
    let directory = CString::new(directory).expect("a slice of a C string has no NUL");
    match open_fd(
        &directory,
        libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC,
        0o666,
    ) {
        Ok(file) => {
            reserve_size(&file, 0, size)?;
            let proc_path = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
                .expect("digits have no NUL");
            // SAFETY: both paths are valid C strings; linkat publishes the fully sized file or
            // fails with EEXIST, never replacing an existing one.
            let linked = unsafe {
                libc::linkat(
                    libc::AT_FDCWD,
                    proc_path.as_ptr(),
                    libc::AT_FDCWD,
                    path.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                )
            };
            if linked == 0 {
                return Ok(file);
            }
            let error = io::Error::last_os_error();
            // Without /proc we cannot link the temporary file: fall back to the plain way.
            if error.raw_os_error() != Some(libc::ENOENT) {
                return Err(error);
            }
        }
        Err(error) => match error.raw_os_error() {
            Some(libc::EOPNOTSUPP) | Some(libc::EISDIR) | Some(libc::EINVAL) => {}
            _ => return Err(error),
        },
    }
    let file = open_fd(
        path,
        libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
        0o666,
    )?;
    if let Err(error) = reserve_size(&file, 0, size) {
        // SAFETY: valid C string; we created this file a moment ago and remove our own half-made file.
        unsafe { libc::unlink(path.as_ptr()) };
        return Err(error);
    }
    Ok(file)
}

/// Opens (or creates) the file per the disposition. Returns the file and whether it was created.
fn open_file(path: &Path, options: &Options) -> Result<(File, bool)> {
    let c_path = c_path(path)?;
    let flags = open_flags(options.mode);
    let opening = |e| Error::os(format!("open({})", describe(path)), e);
    let creating = |e| Error::os(format!("create({})", describe(path)), e);
    match options.disposition {
        Disposition::OpenExisting => Ok((open_fd(&c_path, flags, 0).map_err(opening)?, false)),
        Disposition::CreateNew => Ok((
            create_new(&c_path, options.create_size).map_err(creating)?,
            true,
        )),
        Disposition::OpenOrCreate => {
            // Race-free: either we open an existing file (never truncated, never grown) or our
            // creation wins with O_EXCL semantics. A file deleted between the two steps is retried.
            // A dangling symlink is followed and its target created, as open(O_CREAT) does.
            let mut target = c_path;
            let mut links_followed = 0;
            for _ in 0..64 {
                match open_fd(&target, flags, 0) {
                    Ok(file) => return Ok((file, false)),
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                    Err(e) => return Err(opening(e)),
                }
                match create_new(&target, options.create_size) {
                    Ok(file) => return Ok((file, true)),
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                    Err(e) => return Err(creating(e)),
                }
                // Open said ENOENT, create said EEXIST: a symlink to nothing, or a race.
                if let Some(next) = dangling_link_target(&target) {
                    links_followed += 1;
                    if links_followed > 40 {
                        return Err(opening(io::Error::from_raw_os_error(libc::ELOOP)));
                    }
                    target = next;
                }
            }
            Err(Error::GaveUp(format!(
                "opening or creating the file {}: it kept appearing and disappearing (64 tries)",
                describe(path)
            )))
        }
    }
}

/// Where the symlink at `path` points (relative targets taken from the link's directory), or None
/// when `path` is not a symlink.
fn dangling_link_target(path: &CString) -> Option<CString> {
    let link = Path::new(std::ffi::OsStr::from_bytes(path.as_bytes()));
    let target = std::fs::read_link(link).ok()?;
    let resolved = match link.parent() {
        Some(directory) if target.is_relative() => directory.join(target),
        _ => target,
    };
    CString::new(resolved.as_os_str().as_bytes()).ok()
}

fn file_size(file: &File) -> Result<u64> {
    file.metadata()
        .map(|m| m.len())
        .map_err(|e| Error::os("fstat of the mapped file", e))
}

impl Mapping {
    /// Opens `path` per `options` and maps the window.
    pub fn open(path: &Path, options: &Options) -> Result<Arc<Mapping>> {
        // The SIGBUS mode (MAPFILE_SIGBUS in the environment too) is settled before it decides
        // anything here.
        guard::prepare();
        if !guard::faults_recoverable() {
            // Without a handler, only what pread/pwrite can answer is offered: a raw guard needs
            // the handler, and a COPY_ON_WRITE handle's private bytes exist only in the mapping.
            let needs_handler = if options.guard_raw {
                Some("GUARD_RAW")
            } else if options.mode == Mode::CopyOnWrite {
                Some("COPY_ON_WRITE")
            } else {
                None
            };
            if let Some(what) = needs_handler {
                return Err(Error::Unsupported(format!(
                    "{what} needs the SIGBUS handler, which is switched off (MAPFILE_SIGBUS_OFF)"
                )));
            }
        }
        if options.mode != Mode::ReadWrite {
            let needs_read_write = if options.disposition != Disposition::OpenExisting {
                Some("creating a file")
            } else if options.flush_policy != FlushPolicy::Manual {
                Some("a flush policy")
            } else {
                None
            };
            if let Some(what) = needs_read_write {
                return Err(Error::InvalidArgument(format!(
                    "{what} needs mode READ_WRITE, not {}",
                    options.mode.name()
                )));
            }
        }
        static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
        let mut options = options.clone();
        options.id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let options = &options;
        let (file, created) = open_file(path, options)?;
        let metadata = file
            .metadata()
            .map_err(|e| Error::os("fstat", e).of_file(path))?;
        if !metadata.file_type().is_file() {
            return Err(Error::Unsupported(format!(
                "the path {} is not a regular file and cannot be mapped",
                describe(path)
            )));
        }
        let size = metadata.len();
        let len = if options.len == 0 {
            check_range(options.offset, 0, size)?;
            size - options.offset
        } else {
            check_range(options.offset, options.len, size)?;
            options.len
        };
        let region = Box::new(
            Region::map(&file, options, options.offset, len, len).map_err(|e| e.of_file(path))?,
        );
        region.guard.set_own_end(options.offset + len);
        let mapping = Arc::new_cyclic(|weak_self| Mapping {
            current: Current {
                sequence: AtomicU64::new(0),
                region: AtomicPtr::new(&*region as *const Region as *mut Region),
                len: AtomicU64::new(len),
            },
            regions: Mutex::new(vec![region]),
            file,
            path: path.to_path_buf(),
            options: options.clone(),
            size_changed: AtomicBool::new(created),
            dirty: AtomicBool::new(false),
            writable_pointer_out: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
            requested_len: AtomicU64::new(options.len),
            flush_scheduled: AtomicBool::new(false),
            weak_self: weak_self.clone(),
            pending_writes: AtomicU64::new(0),
            pending_bytes: AtomicU64::new(0),
        });
        if matches!(options.flush_policy, FlushPolicy::EveryMillis(_)) {
            flush::start_flusher()?;
        }
        Ok(mapping)
    }

    pub fn flush_policy(&self) -> FlushPolicy {
        self.options.flush_policy
    }

    /// Marks the mapping unusable after a caught panic.
    pub fn poison(&self) {
        self.poisoned.store(true, Ordering::SeqCst);
    }

    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Relaxed)
    }

    /// A consistent snapshot of the current window (lock-free, no shared writes).
    #[inline]
    pub(super) fn view(&self) -> View<'_> {
        let current = &self.current;
        let mut spins = 0u32;
        loop {
            let before = current.sequence.load(Ordering::Acquire);
            if before & 1 == 0 {
                let region = current.region.load(Ordering::Relaxed);
                let len = current.len.load(Ordering::Relaxed);
                std::sync::atomic::fence(Ordering::Acquire);
                if current.sequence.load(Ordering::Relaxed) == before {
                    // SAFETY: every published region is owned by `self.regions` until drop.
                    let region = unsafe { &*region };
                    return View { region, len };
                }
            }
            // A writer is mid-publish (a few instructions). Spin briefly, then yield: if the writer
            // was descheduled there, spinning would only keep it from running.
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Publishes a new (region, len). Called with the regions lock held (the only writer).
    /// Returns the new view sequence (for `grace::wait_for_readers`).
    fn publish(&self, region: &Region, len: u64) -> u64 {
        region.guard.set_own_end(self.options.offset + len);
        let region: *const Region = region;
        let current = &self.current;
        let sequence = current.sequence.load(Ordering::Relaxed);
        current.sequence.store(sequence + 1, Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Release);
        current
            .region
            .store(region as *mut Region, Ordering::Relaxed);
        current.len.store(len, Ordering::Relaxed);
        current.sequence.store(sequence + 2, Ordering::Release);
        sequence + 2
    }

    /// Marks this thread as a reader of this mapping (see `grace`), then takes the view: a
    /// resize or refresh that publishes a newer view waits for the returned `Reading` to drop
    /// before it cuts the file or repairs pages.
    #[inline(always)]
    fn reading(&self) -> (grace::Reading, View<'_>) {
        let sequence = self.current.sequence.load(Ordering::Acquire);
        let reading = grace::read(self.options.id, sequence);
        (reading, self.view())
    }

    /// Publishes (region, len) and waits until no guarded call still uses an older view.
    fn publish_and_wait(&self, region: &Region, len: u64) {
        let sequence = self.publish(region, len);
        grace::wait_for_readers(self.options.id, sequence);
    }

    /// Current window length in bytes.
    #[inline]
    pub fn len(&self) -> u64 {
        self.view().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn require_writable(&self, operation: &'static str) -> Result<()> {
        if self.options.mode == Mode::ReadOnly {
            return Err(Error::ReadOnly {
                operation,
                mode: self.options.mode.name(),
                also_cow: " or COPY_ON_WRITE",
            });
        }
        Ok(())
    }

    /// Records that bytes were written (call it AFTER they are: a flusher that took the dirty
    /// flag before this store is then sure to be followed by another flush).
    fn mark_dirty(&self) {
        if self.options.mode == Mode::ReadWrite && !self.dirty.load(Ordering::Relaxed) {
            self.dirty.store(true, Ordering::Release);
            flush::schedule(self);
        }
    }

    /// Pointer to `len` bytes at `offset` of the window (zero-copy).
    pub fn slice(&self, offset: u64, len: u64) -> Result<*const u8> {
        let view = self.view();
        check_range(offset, len, view.len)?;
        // SAFETY: offset <= view.len <= region capacity: inside (or one past) the mapping.
        Ok(unsafe { view.region.window.add(offset as usize) })
    }

    /// Writable pointer to `len` bytes at `offset` (READ_WRITE or COPY_ON_WRITE).
    pub fn slice_mut(&self, offset: u64, len: u64) -> Result<*mut u8> {
        let view = self.view();
        check_range(offset, len, view.len)?;
        self.require_writable("a mutable slice")?;
        if self.options.mode == Mode::ReadWrite
            && !self.writable_pointer_out.load(Ordering::Relaxed)
        {
            self.writable_pointer_out.store(true, Ordering::Release);
            flush::schedule(self);
        }
        // SAFETY: as in `slice`.
        Ok(unsafe { view.region.window.add(offset as usize) })
    }

    /// Runs `operation` on `[offset, offset + len)` of the current view inside the truncation
    /// guard. Fails with TRUNCATED (or IO) if any byte of the range is lost, before or during.
    #[inline]
    fn guarded<R>(
        &self,
        view: View<'_>,
        offset: u64,
        len: u64,
        operation: impl FnOnce(*mut u8) -> R,
    ) -> Result<R> {
        let region = view.region;
        let file_end = self.options.offset + offset + len;
        if region.guard.lost_from() < file_end {
            return Err(self.loss_error(region));
        }
        // SAFETY: the range was checked against the view, which lies inside the region.
        let start = unsafe { region.window.add(offset as usize) };
        let result = region.guard.guarded(|| operation(start));
        if region.guard.lost_from() < file_end {
            return Err(self.loss_error(region));
        }
        Ok(result)
    }

    #[cold]
    #[inline(never)]
    fn loss_error(&self, region: &Region) -> Error {
        let lost_from = region.guard.lost_from();
        match region.guard.loss_cause() {
            Some(LossCause::Io) => Error::os(
                format!(
                    "accessing the mapped page at file offset {lost_from} of {}",
                    describe(&self.path)
                ),
                io::Error::from_raw_os_error(libc::EIO),
            ),
            _ => Error::Truncated {
                detail: format!(
                    "{} now ends at or before byte {lost_from}; the bytes asked for are gone",
                    describe(&self.path)
                ),
            },
        }
    }

    /// Copies `destination.len()` bytes at `offset` out of the mapping (guarded).
    #[inline]
    pub fn read(&self, offset: u64, destination: &mut [u8]) -> Result<()> {
        // SAFETY: a slice is valid for its length.
        unsafe { self.read_into(offset, destination.as_mut_ptr(), destination.len()) }
    }

    /// `read` for a C caller's buffer: the range is checked before anything is built from
    /// `destination`, so any `len` (above isize::MAX too) is answered, OUT_OF_BOUNDS.
    ///
    /// # Safety
    /// When `[offset, offset + len)` lies in the window, `destination` is valid for `len` writes.
    #[inline]
    pub unsafe fn read_into(&self, offset: u64, destination: *mut u8, len: usize) -> Result<()> {
        let (_reading, view) = self.reading();
        check_range(offset, len as u64, view.len)?;
        if len == 0 {
            return Ok(()); // touches nothing, so nothing can be lost
        }
        if !guard::faults_recoverable() {
            // SAFETY: in range, so the caller's buffer holds `len` bytes (<= the window).
            return self.pread(offset, unsafe {
                std::slice::from_raw_parts_mut(destination, len)
            });
        }
        self.guarded(view, offset, len as u64, |source| {
            // SAFETY: `source` points at `len` mapped bytes; `destination` is a distinct buffer.
            unsafe { copy_bytes(source, destination, len) }
        })
    }

    /// Copies `source` into the mapping at `offset` (guarded; READ_WRITE or COPY_ON_WRITE).
    #[inline]
    pub fn write(&self, offset: u64, source: &[u8]) -> Result<()> {
        // SAFETY: a slice is valid for its length.
        unsafe { self.write_from(offset, source.as_ptr(), source.len()) }
    }

    /// `write` for a C caller's buffer, checked as `read_into`.
    ///
    /// # Safety
    /// When `[offset, offset + len)` lies in the window, `source` is valid for `len` reads.
    #[inline]
    pub unsafe fn write_from(&self, offset: u64, source: *const u8, len: usize) -> Result<()> {
        let (_reading, view) = self.reading();
        check_range(offset, len as u64, view.len)?;
        self.require_writable("writing")?;
        if len == 0 {
            return Ok(()); // touches nothing, so nothing can be lost
        }
        if !guard::faults_recoverable() {
            // SAFETY: in range, so the caller's buffer holds `len` bytes (<= the window).
            return self.pwrite(offset, unsafe { std::slice::from_raw_parts(source, len) });
        }
        let copied = self.guarded(view, offset, len as u64, |target| {
            // SAFETY: `target` points at `len` writable mapped bytes; `source` is a distinct buffer.
            unsafe { copy_bytes(source, target, len) }
        });
        self.mark_dirty(); // also after TRUNCATED: the bytes in kept pages were written
        copied?;
        self.after_write(offset, len as u64);
        Ok(())
    }

    /// First position `>= from` where `needle` starts, or None (guarded). An empty needle is
    /// found at `from`. A match that lies wholly before bytes lost to truncation is returned (it
    /// depends only on bytes still in the file); "not found", or a match reaching lost bytes, is
    /// TRUNCATED.
    pub fn find(&self, from: u64, needle: &[u8]) -> Result<Option<u64>> {
        let (_reading, view) = self.reading();
        check_range(from, 0, view.len)?;
        if needle.is_empty() {
            return Ok(Some(from));
        }
        let len = view.len - from;
        if !guard::faults_recoverable() {
            return self.find_by_pread(from, len, needle);
        }
        let region = view.region;
        let lost_in_window = |lost_from: u64| lost_from.saturating_sub(self.options.offset);
        // Search only what is not known to be lost.
        let searchable = len.min(lost_in_window(region.guard.lost_from()).saturating_sub(from));
        // SAFETY: from + searchable <= view.len, inside the region.
        let start = unsafe { region.window.add(from as usize) };
        let found = region.guard.guarded(|| {
            // SAFETY: `searchable` mapped bytes at `start`; the slice lives only for this search.
            let haystack = unsafe { std::slice::from_raw_parts(start, searchable as usize) };
            memchr::memmem::find(haystack, needle)
        });
        let intact_end = lost_in_window(region.guard.lost_from());
        match found {
            Some(position) if from + position as u64 + needle.len() as u64 <= intact_end => {
                Ok(Some(from + position as u64))
            }
            None if searchable == len && from + len <= intact_end => Ok(None),
            _ => Err(self.loss_error(region)),
        }
    }

    /// Number of bytes equal to `byte` in `[offset, offset + len)` (guarded).
    pub fn count_byte(&self, offset: u64, len: u64, byte: u8) -> Result<u64> {
        let (_reading, view) = self.reading();
        check_range(offset, len, view.len)?;
        if len == 0 {
            return Ok(0); // touches nothing, so nothing can be lost
        }
        if !guard::faults_recoverable() {
            let mut count = 0u64;
            self.for_each_pread_chunk(offset, len, 0, |chunk, _| {
                count += bytecount::count(chunk, byte) as u64;
                false
            })?;
            return Ok(count);
        }
        self.guarded(view, offset, len, |start| {
            // SAFETY: `len` mapped bytes at `start`; the slice lives only for this count.
            let bytes = unsafe { std::slice::from_raw_parts(start, len as usize) };
            bytecount::count(bytes, byte) as u64
        })
    }

    /// Touches every page of the range now, so later accesses do not fault (guarded).
    pub fn prefault(&self, offset: u64, len: u64) -> Result<()> {
        let (_reading, view) = self.reading();
        check_range(offset, len, view.len)?;
        if len == 0 {
            return Ok(());
        }
        if !guard::faults_recoverable() {
            // No handler: touching could raise SIGBUS, so ask the kernel to read the pages in,
            // after answering TRUNCATED for lost bytes as the guarded touch would.
            let end = self.options.offset + offset + len;
            let size = file_size(&self.file)?;
            if size < end {
                return Err(Error::Truncated {
                    detail: format!("the file {} now ends at byte {size}", describe(&self.path)),
                });
            }
            return self.advise(Advice::WillNeed, offset, len);
        }
        let page = guard::page_size();
        self.guarded(view, offset, len, |start| {
            let mut sum = 0u8;
            let mut position = 0usize;
            while position < len as usize {
                // SAFETY: `position < len`: a mapped byte of the range.
                sum ^= unsafe { std::ptr::read_volatile(start.add(position)) };
                position += page - (start as usize + position) % page;
            }
            std::hint::black_box(sum);
        })
    }

    // --- the pread/pwrite path, for hosts that switched the SIGBUS handler off ---------------

    fn pread(&self, offset: u64, destination: &mut [u8]) -> Result<()> {
        self.for_each_pread_chunk(offset, destination.len() as u64, 0, |chunk, at| {
            let start = (at - offset) as usize;
            destination[start..start + chunk.len()].copy_from_slice(chunk);
            false // never stop early: a short read must stay TRUNCATED
        })
    }

    /// Reads `[offset, offset + len)` of the window from the file in chunks that overlap by
    /// `overlap` bytes; `visit(chunk, window_offset)` returns true to stop. A short read means the
    /// file shrank: the bytes read so far are visited, then it is TRUNCATED unless `visit` stopped.
    fn for_each_pread_chunk(
        &self,
        offset: u64,
        len: u64,
        overlap: usize,
        mut visit: impl FnMut(&[u8], u64) -> bool,
    ) -> Result<()> {
        const CHUNK: usize = 1 << 20;
        let mut buffer = vec![0u8; CHUNK.min(len as usize).max(overlap + 1)];
        let mut position = offset;
        let end = offset + len;
        while position < end {
            let want = ((end - position) as usize).min(buffer.len());
            let mut filled = 0;
            while filled < want {
                let at = self.options.offset + position + filled as u64;
                // SAFETY: the buffer has `want - filled` writable bytes from `filled`.
                let got = unsafe {
                    libc::pread(
                        self.file.as_raw_fd(),
                        buffer[filled..].as_mut_ptr().cast(),
                        want - filled,
                        at as libc::off_t,
                    )
                };
                if got < 0 {
                    let error = io::Error::last_os_error();
                    if error.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(Error::os("pread", error));
                }
                if got == 0 {
                    if visit(&buffer[..filled], position) {
                        return Ok(());
                    }
                    return Err(Error::Truncated {
                        detail: format!("{} now ends at byte {at}", describe(&self.path)),
                    });
                }
                filled += got as usize;
            }
            if visit(&buffer[..want], position) {
                return Ok(());
            }
            if position + want as u64 >= end {
                break;
            }
            position += (want - overlap.min(want - 1)) as u64;
        }
        Ok(())
    }

    fn find_by_pread(&self, from: u64, len: u64, needle: &[u8]) -> Result<Option<u64>> {
        if (needle.len() as u64) > len {
            return Ok(None);
        }
        let mut found = None;
        self.for_each_pread_chunk(from, len, needle.len() - 1, |chunk, at| {
            found = memchr::memmem::find(chunk, needle).map(|p| at + p as u64);
            found.is_some()
        })?;
        Ok(found)
    }

    /// The pwrite path: refuses to write past the file's end (pwrite would grow the file back),
    /// checking before and after, since the file may shrink in between.
    fn pwrite(&self, offset: u64, source: &[u8]) -> Result<()> {
        let end = self.options.offset + offset + source.len() as u64;
        let shrank = || Error::Truncated {
            detail: format!("{} is shorter than the bytes written", describe(&self.path)),
        };
        if file_size(&self.file)? < end {
            return Err(shrank());
        }
        let mut written = 0usize;
        while written < source.len() {
            let at = self.options.offset + offset + written as u64;
            // SAFETY: `source[written..]` is readable.
            let done = unsafe {
                libc::pwrite(
                    self.file.as_raw_fd(),
                    source[written..].as_ptr().cast(),
                    source.len() - written,
                    at as libc::off_t,
                )
            };
            if done < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::os("pwrite", error));
            }
            written += done as usize;
        }
        if file_size(&self.file)? < end {
            return Err(shrank());
        }
        self.after_write(offset, source.len() as u64);
        Ok(())
    }

    /// Called after every successful write (policy hooks live in `flush.rs`).
    #[inline]
    fn after_write(&self, offset: u64, len: u64) {
        if self.options.flush_policy != FlushPolicy::Manual {
            flush::after_write(self, offset, len);
        }
    }

    /// How many mappings this handle holds (the current one and those kept for old pointers).
    pub fn region_count(&self) -> usize {
        self.lock_regions().len()
    }

    // --- hints ----------------------------------------------------------------------------------

    /// madvise over `[offset, offset + len)` of the window.
    pub fn advise(&self, advice: Advice, offset: u64, len: u64) -> Result<()> {
        let view = self.view();
        check_range(offset, len, view.len)?;
        if len == 0 {
            return Ok(());
        }
        view.region.advise(advice, offset, len).map_err(|e| {
            if e.raw_os_error() == Some(libc::EINVAL) {
                Error::Unsupported(format!("the advice {advice:?} is not supported here ({e})"))
            } else {
                Error::os(format!("madvise({advice:?})"), e)
            }
        })
    }

    /// mlock / munlock over `[offset, offset + len)`.
    pub fn lock(&self, offset: u64, len: u64, lock: bool) -> Result<()> {
        let view = self.view();
        check_range(offset, len, view.len)?;
        if len == 0 {
            return Ok(());
        }
        let (address, length) = view.region.page_range(offset, len);
        // SAFETY: the range lies inside this mapping; (un)locking has no memory-safety effect.
        let result = unsafe {
            if lock {
                libc::mlock(address, length)
            } else {
                libc::munlock(address, length)
            }
        };
        if result != 0 {
            return Err(Error::last_os(if lock { "mlock" } else { "munlock" }));
        }
        Ok(())
    }

    // --- atomics --------------------------------------------------------------------------------

    /// Runs `operation` on the address of the `width`-byte atomic at `offset`, inside the guard,
    /// after the range, alignment and (for mutating ones) mode checks. One path for both widths.
    fn atomic<R>(
        &self,
        offset: u64,
        width: u64,
        mutating: bool,
        operation: impl FnOnce(*mut u8) -> R,
    ) -> Result<R> {
        let (_reading, view) = self.reading();
        check_range(offset, width, view.len)?;
        let file_offset = self.options.offset + offset;
        if file_offset % width != 0 {
            return Err(Error::Misaligned { file_offset, width });
        }
        if mutating {
            self.require_writable("an atomic update")?;
        }
        if !guard::faults_recoverable() {
            // An atomic must touch the mapping, which could raise SIGBUS with no handler.
            return Err(Error::Unsupported(
                "atomics need the SIGBUS handler, which is switched off (MAPFILE_SIGBUS_OFF)"
                    .into(),
            ));
        }
        let result = self.guarded(view, offset, width, operation);
        if mutating {
            self.mark_dirty();
        }
        result
    }

    /// Runs `operation` on the 8-byte atomic at `offset` inside the guard.
    pub fn atomic_u64<R>(
        &self,
        offset: u64,
        mutating: bool,
        operation: impl FnOnce(&std::sync::atomic::AtomicU64) -> R,
    ) -> Result<R> {
        self.atomic(offset, 8, mutating, |pointer| {
            // SAFETY: 8 mapped bytes, 8-aligned (file offsets and mapping addresses agree modulo
            // the page size); other processes use the same bytes only atomically (the contract).
            operation(unsafe { std::sync::atomic::AtomicU64::from_ptr(pointer.cast()) })
        })
    }

    /// Runs `operation` on the 4-byte atomic at `offset` inside the guard.
    pub fn atomic_u32<R>(
        &self,
        offset: u64,
        mutating: bool,
        operation: impl FnOnce(&AtomicU32) -> R,
    ) -> Result<R> {
        self.atomic(offset, 4, mutating, |pointer| {
            // SAFETY: as for `atomic_u64`, with 4 bytes.
            operation(unsafe { AtomicU32::from_ptr(pointer.cast()) })
        })
    }

    // --- size and truncation ----------------------------------------------------------------------

    /// OK, or TRUNCATED once the file is shorter than the window (or bytes were lost to a fault).
    pub fn check(&self) -> Result<()> {
        let view = self.view();
        if view.region.guard.lost_from() != NOTHING_LOST {
            return Err(self.loss_error(view.region));
        }
        let size = file_size(&self.file)?;
        let needed = self.options.offset + view.len;
        if size < needed {
            return Err(Error::Truncated {
                detail: format!(
                    "{} is {size} bytes, the mapping needs {needed}; mapfile_refresh adopts the new length",
                    describe(&self.path)
                ),
            });
        }
        Ok(())
    }

    /// Sets the window's length to `new_len` (READ_WRITE only). The file grows (with disk blocks
    /// reserved) when the window would reach past its end, and shrinks with the window only when
    /// the window was the file's tail; bytes after a window in the middle stay. May move the
    /// window (old pointers stay valid until close).
    pub fn resize(&self, new_len: u64) -> Result<()> {
        let new_size = self
            .options
            .offset
            .checked_add(new_len)
            .filter(|&size| size <= i64::MAX as u64)
            .ok_or(Error::OutOfBounds {
                offset: self.options.offset,
                len: new_len,
                mapping_len: i64::MAX as u64,
            })?;
        if self.options.mode != Mode::ReadWrite {
            return Err(Error::ReadOnly {
                operation: "resizing",
                mode: self.options.mode.name(),
                also_cow: "",
            });
        }
        let mut regions = self.lock_regions();
        let current = file_size(&self.file)?;
        let old_len = self.view().len;
        let window_end = self.options.offset + old_len;
        // Grow the file when the window needs it; shrink it when the window is its tail (a
        // window that follows the end of the file, len 0, always is; a fixed one when it reached
        // the end): bytes after a window in the middle of the file belong to someone else.
        let tail = self.options.len == 0 || current <= window_end;
        let target = if new_size > current || tail {
            new_size
        } else {
            current
        };
        if target > current {
            reserve_size(&self.file, current, target)
                .map_err(|e| Error::os(format!("growing the file to {target} bytes"), e))?;
            self.size_changed.store(true, Ordering::Release);
        }
        self.adopt_len(&mut regions, new_len)?;
        if self.options.len != 0 {
            self.requested_len.store(new_len, Ordering::Release);
        }
        if target < current {
            // After adopt_len's grace period: no guarded call still reads the bytes cut here.
            if let Err(error) = self.file.set_len(target) {
                let _ = self.adopt_len(&mut regions, old_len);
                return Err(Error::os(
                    format!("cutting the file to {target} bytes"),
                    error,
                ));
            }
            self.size_changed.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Follows the file's current length: grows the window after appends, shrinks it after a
    /// truncation and clears the TRUNCATED state (a fixed-length window never grows past its
    /// length).
    pub fn refresh(&self) -> Result<()> {
        let mut regions = self.lock_regions();
        let available = file_size(&self.file)?.saturating_sub(self.options.offset);
        let target = match self.requested_len.load(Ordering::Acquire) {
            0 => available,
            fixed => available.min(fixed),
        };
        self.adopt_len(&mut regions, target)
    }

    #[allow(clippy::vec_box)] // see `Mapping::regions`
    fn lock_regions(&self) -> std::sync::MutexGuard<'_, Vec<Box<Region>>> {
        // A panic while holding it leaves the list consistent (push is the only change).
        self.regions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Publishes a window of `len` bytes. Within the current region's capacity the region is
    /// reused, repaired first if the guard zeroed pages of it (so the mapping count stays
    /// bounded and the base never moves); beyond it a new region gets geometric headroom. A
    /// shrink waits for the guarded calls that may still read the old length (see `grace`).
    /// Called with the regions lock held.
    #[allow(clippy::vec_box)] // see `Mapping::regions`
    fn adopt_len(&self, regions: &mut Vec<Box<Region>>, len: u64) -> Result<()> {
        let current = self.view();
        let region = current.region;
        if len > region.capacity {
            let capacity = len.max(region.capacity.saturating_mul(2));
            let grown = Box::new(Region::map(
                &self.file,
                &self.options,
                self.options.offset,
                len,
                capacity,
            )?);
            if self.options.mode == Mode::CopyOnWrite {
                grown.copy_private_pages_from(region, current.len, self.options.offset)?;
            }
            self.publish(&grown, len);
            regions.push(grown);
            return Ok(());
        }
        let lost = region.guard.lost_from();
        let zeroed = region.guard.zeroed_from();
        if lost != NOTHING_LOST || zeroed != NOTHING_LOST {
            // First a view that reaches no lost or zeroed byte, and wait until nobody reads an
            // older one; then the file goes back over the zeroed pages and the loss is forgotten.
            let first_bad = lost.min(zeroed).saturating_sub(self.options.offset);
            self.publish_and_wait(region, len.min(current.len).min(first_bad));
            if zeroed != NOTHING_LOST {
                region.remap_file(&self.file, &self.options, zeroed)?;
            }
            region.guard.clear_repaired(lost, zeroed);
        } else if len < current.len {
            self.publish_and_wait(region, len);
            return Ok(());
        }
        region.map_more(&self.file, &self.options, len)?;
        if self.view().len != len {
            self.publish(region, len);
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // Regions before the file: they unregister from the guard (which holds the fd) and unmap.
        self.regions
            .get_mut()
            .unwrap_or_else(|poison| poison.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length through the inline small-copy branches and past them, at odd alignments.
    #[test]
    fn copy_bytes_copies_exactly_len_bytes_for_every_small_length() {
        let source: Vec<u8> = (0..100u8).collect();
        for len in 0..=40usize {
            for offset in 0..3usize {
                let mut destination = vec![0xEEu8; 64];
                // SAFETY: both buffers hold offset + len (+ 1 guard byte) bytes; they are distinct.
                unsafe {
                    copy_bytes(
                        source.as_ptr().add(offset),
                        destination.as_mut_ptr().add(1),
                        len,
                    )
                };
                assert_eq!(
                    &destination[1..1 + len],
                    &source[offset..offset + len],
                    "len {len}"
                );
                assert_eq!(destination[0], 0xEE, "wrote before the start (len {len})");
                assert_eq!(destination[1 + len], 0xEE, "wrote past the end (len {len})");
            }
        }
    }

    #[test]
    fn check_range_accepts_the_end_and_refuses_overflow() {
        assert!(check_range(0, 0, 0).is_ok());
        assert!(check_range(10, 0, 10).is_ok());
        assert!(check_range(0, 10, 10).is_ok());
        assert!(check_range(11, 0, 10).is_err());
        assert!(check_range(1, 10, 10).is_err());
        assert!(check_range(u64::MAX, 1, u64::MAX).is_err());
        assert!(check_range(1, u64::MAX, u64::MAX).is_err());
    }
}
