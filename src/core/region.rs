//! Address space: one mapping of the file (memmap2, or a reservation for `max_len`), its place
//! in the truncation guard's registry, and the page-range calls on it (msync, madvise, mlock,
//! mapping the file again over repaired pages). Every raw mmap of the file lives here.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{MmapMut, MmapOptions, MmapRaw};

use super::error::{Error, Result};
use super::guard;
use super::options::{Advice, Mode, Options};
use super::registry::{page_size, Registration};

/// One mapping of the file (memmap2, or a reservation for `max_len`) and its place in the
/// truncation-guard registry.
pub(super) struct Region {
    // Field order matters: the registration is dropped (unregistered, handlers drained) before
    // the memory is unmapped.
    /// The registry entry: what the guard lost of this region, and its sticky state.
    pub(super) guard: Registration,
    storage: Storage,
    /// Byte 0 of the window inside this mapping.
    window: *mut u8,
    /// How many window bytes this region can cover without moving.
    pub(super) capacity: u64,
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
    pub(super) fn map(
        file: &File,
        options: &Options,
        offset: u64,
        len: u64,
        capacity: u64,
    ) -> Result<Region> {
        let page = page_size() as u64;
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
        let page = page_size() as u64;
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
        // The SIGBUS mode is settled (and the handler installed) before anything registers.
        guard::prepare();
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
    pub(super) fn map_more(&self, file: &File, options: &Options, len: u64) -> Result<()> {
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
        let page = page_size() as u64;
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
    pub(super) fn remap_file(
        &self,
        file: &File,
        options: &Options,
        zeroed_from: u64,
    ) -> Result<()> {
        let page = page_size() as u64;
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
    pub(super) fn copy_private_pages_from(
        &self,
        old: &Region,
        len: u64,
        window_file_offset: u64,
    ) -> Result<()> {
        const PRESENT: u64 = 1 << 63;
        const SWAPPED: u64 = 1 << 62;
        const FILE_PAGE: u64 = 1 << 61;
        let page = page_size();
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
        let page = page_size();
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

    /// Whether the kernel backs this region with huge pages now, per /proc/self/smaps: its
    /// mapping's page size is larger than the base page (hugetlbfs), or transparent huge pages
    /// map part of it. None when smaps cannot be read.
    pub(super) fn huge_pages(&self) -> Option<bool> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        Some(smaps_says_huge(&smaps, self.window as usize))
    }

    /// madvise of window bytes `[offset, offset + len)`: UNSUPPORTED where the kernel lacks
    /// the advice (EINVAL), else the OS error.
    pub(super) fn advise(&self, advice: Advice, offset: u64, len: u64) -> Result<()> {
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
        if unsafe { libc::madvise(address, length, code) } == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        Err(if error.raw_os_error() == Some(libc::EINVAL) {
            Error::Unsupported(format!(
                "the advice {advice:?} is not supported here ({error})"
            ))
        } else {
            Error::os(format!("madvise({advice:?})"), error)
        })
    }

    /// mlock (or munlock) of window bytes `[offset, offset + len)`.
    pub(super) fn lock(&self, offset: u64, len: u64, lock: bool) -> Result<()> {
        let (address, length) = self.page_range(offset, len);
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

    /// Byte 0 of the window inside this region.
    #[inline(always)]
    pub(super) fn window(&self) -> *mut u8 {
        self.window
    }
}

/// Whether the mapping of `smaps` (the text of /proc/PID/smaps) that contains `address` is
/// backed by huge pages: a kernel page size above the base page, or a non-zero count of
/// transparent huge pages (AnonHugePages, ShmemPmdMapped, FilePmdMapped).
fn smaps_says_huge(smaps: &str, address: usize) -> bool {
    let base_kib = (page_size() / 1024) as u64;
    let mut inside = false;
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        if let Some((start, end)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                if inside {
                    return false; // the next mapping: ours had no huge pages
                }
                inside = (start..end).contains(&address);
                continue;
            }
        }
        if !inside {
            continue;
        }
        let kib: u64 = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let huge = match first {
            "KernelPageSize:" => kib > base_kib,
            "AnonHugePages:" | "ShmemPmdMapped:" | "FilePmdMapped:" => kib > 0,
            _ => false,
        };
        if huge {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::smaps_says_huge;

    const SMAPS: &str = "\
7f0000000000-7f0000200000 rw-s 00000000 00:0f 12 /memfd:a (deleted)
Size:               2048 kB
KernelPageSize:        4 kB
ShmemPmdMapped:        0 kB
VmFlags: rd wr sh mr mw me ms
7f0000200000-7f0000400000 rw-s 00000000 00:10 13 /memfd:b (deleted)
Size:               2048 kB
KernelPageSize:     2048 kB
VmFlags: rd wr sh mr mw me ms ht
7f0000400000-7f0000600000 r--s 00000000 08:01 14 /data/file
KernelPageSize:        4 kB
FilePmdMapped:      2048 kB
";

    #[test]
    fn smaps_huge_pages_per_mapping() {
        assert!(!smaps_says_huge(SMAPS, 0x7f0000000000));
        assert!(!smaps_says_huge(SMAPS, 0x7f00001fffff));
        assert!(smaps_says_huge(SMAPS, 0x7f0000200000));
        assert!(smaps_says_huge(SMAPS, 0x7f0000400010));
        assert!(!smaps_says_huge(SMAPS, 0x7f0000600000));
    }
}
