//! `Mapping`: a window of a file mapped into memory. It ties the pieces together: the file
//! (`file.rs`), the regions that map it (`region.rs`), the current window (`view.rs`), guarded
//! access (`guarded.rs`, `atomics.rs`), durability (`flush.rs`); and owns what changes the
//! window: open, resize, refresh, and the repair of pages the guard zeroed.
//!
//! Regions are never unmapped before the mapping is dropped, so a pointer handed out by `slice`
//! stays valid until close even when a resize had to move the window (the old pages still map
//! the same file pages). New regions for growth get geometric headroom, so a file that keeps
//! growing costs O(log size) regions.

use std::os::fd::RawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::atomics::{self, AtomicOp, AtomicWord};
use super::error::{Error, Result};
use super::file::MappedFile;
use super::flush::{self, FlushState, Flushable, PolicyFlush};
use super::grace;
use super::guarded::{self, Guarded};
use super::options::{Advice, Disposition, FlushPolicy, Mode, Options};
use super::region::Region;
use super::registry::{self, NOTHING_LOST};
use super::view::{Seqlock, View, CLEAN, FULL_WRITES, SLOW};
use super::watch::{Changes, Watch};

/// Every region ever mapped for a handle (the current one included), unmapped on drop. Boxed so
/// that a region's address (published in the view) survives the Vec growing.
#[allow(clippy::vec_box)]
type Regions = Vec<Box<Region>>;

/// The longest read or write the fast path takes (longer ones are dominated by the copy).
const FAST_MAX: usize = 16;

/// `body(len)` for a length the fast path takes: 8 (a u64, a double, a pointer: the commonest
/// small access) as an instance of its own, where the length is a constant (no length tests,
/// one load and one store), and 1 to FAST_MAX as the general one; false for the others.
#[inline(always)]
fn by_fast_len(len: usize, body: impl Fn(usize) -> bool) -> bool {
    if len == 8 {
        body(8)
    } else if len.wrapping_sub(1) < FAST_MAX {
        body(len)
    } else {
        false
    }
}

/// What `Mapping::fast` did.
enum Fast<R> {
    /// The operation ran on intact memory.
    Done(R),
    /// Nothing ran: take the full path.
    Declined,
    /// The operation ran, and meanwhile the guard recorded a loss somewhere in the mapping
    /// (in the region whose window starts at this address, or in another).
    Alerted(R, *mut u8),
}

impl<R> Fast<R> {
    /// The result when the operation ran on intact memory; None otherwise (declined, or
    /// alerted: what it read may be zeros the handler put in, so the full path answers).
    #[inline(always)]
    fn done(self) -> Option<R> {
        match self {
            Fast::Done(result) => Some(result),
            _ => None,
        }
    }
}

/// A file (or a window of it) mapped into memory.
pub struct Mapping {
    /// The current window: (region, len).
    current: Seqlock<Region>,
    // Field order matters: regions are unmapped before the file is closed, because the guard
    // registry holds the file descriptor.
    /// The regions; its lock makes a resize or refresh the only writer of `current`.
    regions: Mutex<Regions>,
    file: MappedFile,
    options: Options,
    flush: FlushState,
    /// A caught panic left this mapping in an unknown state: every later call fails INTERNAL.
    poisoned: AtomicBool,
    /// The length a fixed-length window keeps across refresh (options.len, then what resize
    /// set); 0 for a window that follows the end of the file.
    requested_len: AtomicU64,
    /// The change watch, made by the first `watch_fd`.
    watch: Mutex<Option<Watch>>,
}

impl Mapping {
    /// Opens `path` per `options` and maps the window.
    pub fn open(path: &Path, options: &Options) -> Result<Arc<Mapping>> {
        let options = Mapping::admit(options)?;
        let (file, created, size) = MappedFile::open(path, &options)?;
        Mapping::map(file, created, size, options)
    }

    /// Maps the window of the caller's open descriptor `fd` (the mapping works on its own
    /// duplicate; the create fields of `options` are ignored).
    pub fn open_descriptor(fd: RawFd, options: &Options) -> Result<Arc<Mapping>> {
        let mut options = options.clone();
        options.disposition = Disposition::OpenExisting;
        let options = Mapping::admit(&options)?;
        let mode = options.mode;
        // The kernel checks the fd's access mode (EACCES from mmap, EBADF from mmap or pread);
        // a refusal is explained. A reservation (max_len) may map none of the file at open, so
        // it asks first.
        if options.max_len != 0 {
            if let Some(denied) = MappedFile::access_denied(fd, mode) {
                return Err(denied);
            }
        }
        let explain = |error: Error| match error.errno() {
            libc::EACCES | libc::EBADF => MappedFile::access_denied(fd, mode).unwrap_or(error),
            _ => error,
        };
        let (file, size) = MappedFile::from_descriptor(fd, mode).map_err(explain)?;
        Mapping::map(file, false, size, options).map_err(explain)
    }

    /// Maps `size` bytes of zero-filled shared memory (READ_WRITE; see `MappedFile::memory`):
    /// named by `label` (its descriptor is `fd()`), or anonymous (shared with forked children
    /// only; `fd()` is -1). `options` gives the flags (populate, guard_raw, huge_pages).
    pub fn open_memory(
        label: &str,
        anonymous: bool,
        size: u64,
        options: &Options,
    ) -> Result<Arc<Mapping>> {
        let options = Mapping::admit(options)?;
        let (file, size) = MappedFile::memory(label, anonymous, size, options.huge_pages)?;
        Mapping::map(file, false, size, options)
    }

    /// Settles the SIGBUS mode, refuses what the options cannot combine, and gives the mapping
    /// its id.
    fn admit(options: &Options) -> Result<Options> {
        // The SIGBUS mode (MAPFILE_SIGBUS in the environment too) is settled before it decides
        // anything here; then the handle must have a route for its guarded calls (asked again
        // by `map` once the file is known: a sealed one has a route without a handler). Asked
        // here before a file is created, so that a refusal leaves nothing behind.
        super::guard::prepare();
        super::fork::prepare();
        if options.disposition != Disposition::OpenExisting {
            guarded::route(options)?;
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
        static NEXT_ID: AtomicUsize = AtomicUsize::new(0);
        let mut options = options.clone();
        // 1 ..= MAPPING_IDS - 1, wrapping (the id lives in the view's sequence word).
        options.id = NEXT_ID.fetch_add(1, Ordering::Relaxed) % (grace::MAPPING_IDS - 1) + 1;
        Ok(options)
    }

    /// Maps the window of `file` (of `size` bytes) per `options`.
    fn map(
        file: MappedFile,
        created: bool,
        size: u64,
        mut options: Options,
    ) -> Result<Arc<Mapping>> {
        options.sealed = file.sealed();
        // Without a mapping route every guarded call takes the full path (to the file).
        let to_file = guarded::route(&options)? == guarded::Route::File;
        let len = if options.len == 0 {
            super::error::check_range(options.offset, 0, size)?;
            size - options.offset
        } else {
            super::error::check_range(options.offset, options.len, size)?;
            options.len
        };
        let region = Box::new(
            Region::map(file.file(), &options, options.offset, len, len)
                .map_err(|e| e.of(&file.describe()))?,
        );
        region.guard.set_own_end(options.offset + len);
        if options.huge_pages && !file.hugetlb() && len != 0 {
            // A request, never a failure: a kernel without transparent huge pages says EINVAL.
            let _ = region.advise(Advice::HugePage, 0, len);
        }
        let every_millis = matches!(options.flush_policy, FlushPolicy::EveryMillis(_));
        // No mapping route: every call takes the full path. Writes under a policy that counts
        // them, or into read-only memory: they do.
        let fast_writes =
            options.mode.writable_memory() && options.flush_policy == FlushPolicy::Manual;
        let flags = if to_file { SLOW } else { 0 }
            | if fast_writes { 0 } else { FULL_WRITES }
            | FlushState::first_flags(options.mode.writes_reach_file());
        let mapping = Arc::new_cyclic(|weak_self: &Weak<Mapping>| {
            let owner: Weak<dyn Flushable> = weak_self.clone();
            Mapping {
                current: Seqlock::new(
                    &region,
                    region.window(),
                    len,
                    grace::first_sequence(options.id, flags),
                ),
                flush: FlushState::new(
                    options.flush_policy,
                    options.mode.writes_reach_file(),
                    created,
                    owner,
                ),
                regions: Mutex::new(vec![region]),
                file,
                requested_len: AtomicU64::new(options.len),
                options,
                poisoned: AtomicBool::new(false),
                watch: Mutex::new(None),
            }
        });
        for region in mapping.lock_regions().iter() {
            region.guard.set_alert(mapping.current.shared_word());
        }
        if every_millis {
            flush::start_flusher()?;
        }
        Ok(mapping)
    }

    pub fn flush_policy(&self) -> FlushPolicy {
        self.flush.policy()
    }

    /// Whether a guarded access (read, write, find, count, prefault, atomics) on this handle
    /// may make a system call that is a POSIX cancellation point: pread/pwrite (no mapping
    /// route: MAPFILE_SIGBUS_OFF) or a flush its policy asks for after a write. Otherwise the
    /// accesses make none (ffi/boundary.rs `on_access` holds cancellation off only then).
    pub fn access_makes_system_calls(&self) -> bool {
        self.flush.policy() != FlushPolicy::Manual
            || !matches!(guarded::route(&self.options), Ok(guarded::Route::Memory))
    }

    /// Marks the mapping unusable after a caught panic.
    pub fn poison(&self) {
        self.poisoned.store(true, Ordering::SeqCst);
        self.current.alert(); // the fast path steps aside; the full path reports it
    }

    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Relaxed)
    }

    /// A consistent snapshot of the current window (lock-free, no shared writes).
    #[inline]
    fn view(&self) -> View<'_> {
        let (region, len) = self.current.read();
        // SAFETY: every published region is owned by `self.regions` until drop.
        let region = unsafe { &*region };
        View { region, len }
    }

    /// Marks this thread as a reader of this mapping (see `grace`), then takes the view: a
    /// resize or refresh that publishes a newer view waits for the returned `Reading` to drop
    /// before it cuts the file or repairs pages. A sealed mapping takes the mark too, though
    /// nothing waits for its readers (its file cannot be cut, none of its pages lost): the
    /// mark's `read` is also what refills the thread's count of fast calls (`grace::enter`), so
    /// a thread that only uses sealed handles takes the fast path as well.
    #[inline(always)]
    fn guarded(&self) -> (grace::Reading, Guarded<'_>) {
        let reading = grace::read(self.current.word());
        let access = Guarded {
            view: self.view(),
            file: &self.file,
            options: &self.options,
        };
        (reading, access)
    }

    /// The guarded fast path: `operation` on the address of window byte `offset`, when nothing
    /// needs the full path (`guarded` + `Guarded`). One load of the view's sequence word says
    /// that nothing in the window is lost, the handle is not poisoned and has a mapping route
    /// (SLOW clear), and none of the caller's `decline` flags is set (FULL_WRITES, CLEAN for a
    /// write); `grace::enter` tests them together with the thread's fast-call count, and sets
    /// the thread's grace mark in a store (no mask to look at, no fences); then the range
    /// check, the access, and the word again: SLOW set meanwhile
    /// (the handler recorded a loss during the access) gives `Alerted`, for the caller to check
    /// its range (`Guarded::kept`); a `decline_after` flag set meanwhile (CLEAN: a flush ran)
    /// gives `Declined` after the access, for the caller to do it again on the full path.
    /// `operation` gets the address and the window's bytes from there on, and may decline too
    /// (None). Cannot panic: the exports call it outside their panic boundary.
    #[inline(always)]
    fn fast<R>(
        &self,
        offset: u64,
        len: u64,
        decline: u64,
        decline_after: u64,
        operation: impl FnOnce(*mut u8, u64) -> Option<R>,
    ) -> Fast<R> {
        let word = self.current.word();
        let Some(entered) = grace::enter(word, decline) else {
            return Fast::Declined;
        };
        let (start, window) = self.current.pair_under_mark();
        // offset + len <= window, asked as offset <= window - len (no overflow to test, and
        // for a constant length one subtraction).
        let fits = window.checked_sub(len).is_some_and(|last| offset <= last);
        if !fits {
            grace::leave(entered);
            return Fast::Declined;
        }
        // SAFETY: `window` bytes at `start` lie inside a published region, which `self.regions`
        // owns until drop (see `pair_under_mark`), and offset + len <= window.
        let address = unsafe { start.add(offset as usize) };
        let Some(result) = registry::guarded_span(|| operation(address, window - offset)) else {
            grace::leave(entered);
            return Fast::Declined;
        };
        #[cfg(test)]
        test_hooks::run_between_access_and_second_look();
        let after = self.current.word();
        grace::leave(entered);
        if after & (SLOW | decline_after) != 0 {
            if after & SLOW != 0 {
                return Fast::Alerted(result, start);
            }
            return Fast::Declined;
        }
        Fast::Done(result)
    }

    /// `read_into` of 1 to 16 bytes on the fast path; false: nothing was done, call `read_into`.
    ///
    /// # Safety
    /// As `read_into`.
    #[inline(always)]
    pub unsafe fn read_fast(&self, offset: u64, destination: *mut u8, len: usize) -> bool {
        // SAFETY: as this function's.
        by_fast_len(len, |len| unsafe {
            self.read_fast_of(offset, destination, len)
        })
    }

    /// `read_fast` for more than 16 bytes, out of line (the exports try it in their full
    /// path, before the full call: the copy, libc's memcpy, dwarfs the call; the full path's
    /// machinery costs about 10 ns more than this); false for 16 bytes or fewer.
    ///
    /// # Safety
    /// As `read_into`.
    #[inline(never)]
    pub unsafe fn read_fast_long(&self, offset: u64, destination: *mut u8, len: usize) -> bool {
        // SAFETY: as this function's.
        len > FAST_MAX && unsafe { self.read_fast_of(offset, destination, len) }
    }

    /// The fast read of `len` bytes (`read_fast`, `read_fast_long`).
    ///
    /// # Safety
    /// As `read_into`.
    #[inline(always)]
    unsafe fn read_fast_of(&self, offset: u64, destination: *mut u8, len: usize) -> bool {
        let done = self.fast(offset, len as u64, SLOW, 0, |source, _| {
            // SAFETY: `source` points at `len` mapped bytes; the caller's buffer holds `len`.
            unsafe { guarded::copy_bytes(source, destination, len) };
            Some(())
        });
        done.done().is_some()
    }

    /// `write_from` of 1 to 16 bytes on the fast path; false: call `write_from` (which writes
    /// again: the same bytes, so a write the fast path began is harmlessly repeated). The first
    /// write after a flush is one of those (CLEAN set before or after the access): marking the
    /// handle dirty is the full path's (after the bytes are written, as
    /// `FlushState::mark_dirty` asks).
    ///
    /// # Safety
    /// As `write_from`.
    #[inline(always)]
    pub unsafe fn write_fast(&self, offset: u64, source: *const u8, len: usize) -> bool {
        // SAFETY: as this function's.
        by_fast_len(len, |len| unsafe {
            self.write_fast_of(offset, source, len)
        })
    }

    /// `write_fast` for more than 16 bytes, out of line (see `read_fast_long`); false for 16
    /// bytes or fewer.
    ///
    /// # Safety
    /// As `write_from`.
    #[inline(never)]
    pub unsafe fn write_fast_long(&self, offset: u64, source: *const u8, len: usize) -> bool {
        // SAFETY: as this function's.
        len > FAST_MAX && unsafe { self.write_fast_of(offset, source, len) }
    }

    /// The fast write of `len` bytes (`write_fast`, `write_fast_long`).
    ///
    /// # Safety
    /// As `write_from`.
    #[inline(always)]
    unsafe fn write_fast_of(&self, offset: u64, source: *const u8, len: usize) -> bool {
        let done = self.fast(
            offset,
            len as u64,
            SLOW | FULL_WRITES | CLEAN,
            CLEAN,
            |target, _| {
                // SAFETY: `target` points at `len` writable mapped bytes; `source` holds `len`.
                unsafe { guarded::copy_bytes(source, target, len) };
                Some(())
            },
        );
        done.done().is_some()
    }

    /// `find` on the fast path (the search of one line's end, one call per line, costs about
    /// what the full path's machinery does); None: nothing was done, call `find`. A needle that
    /// cannot fit is absent, its bytes never read; an empty one is left to `find`.
    ///
    /// # Safety
    /// `needle` points at `needle_len` readable bytes when `needle_len` is at most the window.
    #[inline(always)]
    pub unsafe fn find_fast(
        &self,
        from: u64,
        needle: *const u8,
        needle_len: usize,
    ) -> Option<Option<u64>> {
        // SAFETY: as this function's.
        unsafe {
            self.searched_fast(from, None, needle, needle_len, |haystack, needle| {
                guarded::search(haystack, needle).map(|p| from + p as u64)
            })
        }
    }

    /// `rfind` on the fast path (see `find_fast`): the last `needle` lying wholly in `[0, end)`.
    ///
    /// # Safety
    /// As `find_fast`.
    #[inline(always)]
    pub unsafe fn rfind_fast(
        &self,
        end: u64,
        needle: *const u8,
        needle_len: usize,
    ) -> Option<Option<u64>> {
        // SAFETY: as this function's.
        unsafe {
            self.searched_fast(0, Some(end), needle, needle_len, |haystack, needle| {
                guarded::search_back(haystack, needle).map(|p| p as u64)
            })
        }
    }

    /// The fast search of `find_fast` and `rfind_fast`: `search` runs on the `len` window bytes
    /// at `offset` (None: all from `offset` to the window's end).
    ///
    /// # Safety
    /// As `find_fast`.
    #[inline(always)]
    unsafe fn searched_fast(
        &self,
        offset: u64,
        len: Option<u64>,
        needle: *const u8,
        needle_len: usize,
        search: impl FnOnce(&[u8], &[u8]) -> Option<u64>,
    ) -> Option<Option<u64>> {
        if needle_len == 0 {
            return None; // found where the search starts: the full path says so
        }
        let done = self.fast(offset, len.unwrap_or(0), SLOW, 0, |start, available| {
            let room = len.unwrap_or(available);
            if needle_len as u64 > room {
                return Some(None);
            }
            // SAFETY: `room` mapped bytes at `start` (the fast path checked offset + len against
            // the window; `available` is what the window holds from `offset`); the caller's
            // needle holds `needle_len` bytes, at most the window.
            let (haystack, needle) = unsafe {
                (
                    std::slice::from_raw_parts(start.cast_const(), room as usize),
                    std::slice::from_raw_parts(needle, needle_len),
                )
            };
            Some(search(haystack, needle))
        });
        done.done()
    }

    /// `count_byte` on the fast path; None: nothing was done, call `count_byte`.
    #[inline(always)]
    pub fn count_byte_fast(&self, offset: u64, len: u64, byte: u8) -> Option<u64> {
        let done = self.fast(offset, len, SLOW, 0, |start, _| {
            // SAFETY: `len` mapped bytes at `start` (the fast path checked the range).
            let bytes = unsafe { std::slice::from_raw_parts(start.cast_const(), len as usize) };
            Some(bytecount::count(bytes, byte) as u64)
        });
        done.done()
    }

    /// `atomic` on the fast path; None: nothing was done (or a load that the full path may
    /// repeat), call `atomic`. An update is not repeated: once it ran, the answer is its value
    /// or the loss of its bytes.
    #[inline(always)]
    pub fn atomic_fast<T: AtomicWord>(
        &self,
        offset: u64,
        operation: AtomicOp<T>,
    ) -> Option<Result<T>> {
        if operation.mutating() && !self.options.mode.writable_memory() {
            return None;
        }
        let done = self.fast(offset, T::WIDTH, SLOW, 0, |address, _| {
            // Misaligned: the full path says so. (The address is aligned exactly when the file
            // position is: mappings start at page boundaries of the file.)
            if address as usize % T::WIDTH as usize != 0 {
                return None;
            }
            // SAFETY: WIDTH mapped bytes, aligned to WIDTH; other processes use them only
            // atomically (the API contract).
            Some(unsafe { T::apply(address, operation) })
        });
        let (value, alerted) = match done {
            Fast::Declined => return None,
            Fast::Done(value) => (value, None),
            // A load may be repeated: the full path does it again.
            Fast::Alerted(..) if !operation.mutating() => return None,
            Fast::Alerted(value, start) => (value, Some(start)),
        };
        if operation.mutating() {
            self.flush.mark_dirty(self.current.shared_word());
        }
        Some(match alerted {
            None => Ok(value),
            Some(start) => self
                .kept_after_alert(start, offset, T::WIDTH)
                .map(|()| value),
        })
    }

    /// After an alert during a fast access at window byte `offset` of the region whose window
    /// starts at `start`: were its bytes lost? (Cannot panic, as the fast path.)
    #[cold]
    #[inline(never)]
    fn kept_after_alert(&self, start: *mut u8, offset: u64, len: u64) -> Result<()> {
        let found = self
            .lock_regions()
            .iter()
            .find(|region| region.window() == start)
            .map(|region| &**region as *const Region);
        let view = View {
            // SAFETY: regions are owned by `self.regions` until drop. (The region is always
            // found: `start` was published from one; the current view is the fallback.)
            region: found.map_or_else(|| self.view().region, |region| unsafe { &*region }),
            len: offset + len, // at least the bytes `kept` asks about (it reads only the region)
        };
        Guarded {
            view,
            file: &self.file,
            options: &self.options,
        }
        .kept(offset, len)
    }

    /// Current window length in bytes.
    #[inline]
    pub fn len(&self) -> u64 {
        self.view().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pointer to `len` bytes at `offset` of the window (zero-copy).
    pub fn slice(&self, offset: u64, len: u64) -> Result<*const u8> {
        let view = self.view();
        view.check(offset, len)?;
        Ok(view.at(offset))
    }

    /// Pointer to the whole window and its length, from one view.
    pub fn window(&self) -> (*const u8, u64) {
        let view = self.view();
        (view.at(0), view.len)
    }

    /// The next chunk of an iteration: a pointer to window byte `cursor` and the length of
    /// `[cursor, min(cursor + chunk_len, len))` (0 at the end), from one view.
    pub fn chunk(&self, cursor: u64, chunk_len: u64) -> Result<(*const u8, u64)> {
        if chunk_len == 0 {
            return Err(Error::InvalidArgument("chunk_len is 0".into()));
        }
        let view = self.view();
        view.check(cursor, 0)?;
        Ok((view.at(cursor), chunk_len.min(view.len - cursor)))
    }

    /// The mapping's own descriptor; -1 for anonymous shared memory (whose descriptor stays
    /// the library's, so that no other process can map it).
    pub fn fd(&self) -> RawFd {
        if self.file.is_anonymous() {
            return -1;
        }
        self.file.raw_fd()
    }

    /// Whether the window is really backed by huge pages now: what /proc/self/smaps says of
    /// its mapping (explicit huge pages, or transparent ones in use), else whether the memory
    /// was made of explicit huge pages.
    pub fn huge_pages(&self) -> bool {
        let view = self.view();
        if view.len == 0 {
            return false;
        }
        view.region
            .huge_pages()
            .unwrap_or_else(|| self.file.hugetlb())
    }

    /// Window offset of the first byte the guard saw lost (a fault past the end of the file, or
    /// an I/O error), if it lies in the window. No system call: what faults recorded, not what
    /// `check` would find.
    pub fn lost_from(&self) -> Option<u64> {
        let view = self.view();
        let lost = view.region.guard.lost_from();
        if lost == NOTHING_LOST {
            return None;
        }
        let in_window = lost.saturating_sub(self.options.offset);
        (in_window < view.len).then_some(in_window)
    }

    /// Writable pointer to `len` bytes at `offset` (READ_WRITE or COPY_ON_WRITE).
    pub fn slice_mut(&self, offset: u64, len: u64) -> Result<*mut u8> {
        let view = self.view();
        view.check(offset, len)?;
        if !self.options.mode.writable_memory() {
            return Err(Error::ReadOnly {
                operation: "a mutable slice",
                mode: self.options.mode.name(),
                also_cow: " or COPY_ON_WRITE",
            });
        }
        self.flush.pointer_handed_out();
        Ok(view.at(offset))
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
        let (_reading, access) = self.guarded();
        // SAFETY: per this function's contract.
        unsafe { access.read_into(offset, destination, len) }
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
        let (_reading, access) = self.guarded();
        // SAFETY: per this function's contract.
        let (touched, result) = unsafe { access.write_from(offset, source, len) };
        if touched {
            // Also after TRUNCATED: bytes in kept pages were written.
            self.flush.mark_dirty(self.current.shared_word());
        }
        result?;
        if len != 0 {
            self.after_write(offset, len as u64);
        }
        Ok(())
    }

    /// First position `>= from` where `needle` starts, or None (guarded; see `Guarded::find`).
    pub fn find(&self, from: u64, needle: &[u8]) -> Result<Option<u64>> {
        self.guarded().1.find(from, needle)
    }

    /// Last position where `needle` lies wholly in `[0, end)`, or None (guarded; see
    /// `Guarded::rfind`).
    pub fn rfind(&self, end: u64, needle: &[u8]) -> Result<Option<u64>> {
        self.guarded().1.rfind(end, needle)
    }

    /// Number of bytes equal to `byte` in `[offset, offset + len)` (guarded).
    pub fn count_byte(&self, offset: u64, len: u64, byte: u8) -> Result<u64> {
        self.guarded().1.count_byte(offset, len, byte)
    }

    /// Touches every page of the range now, so later accesses do not fault (guarded).
    pub fn prefault(&self, offset: u64, len: u64) -> Result<()> {
        self.guarded().1.prefault(offset, len)
    }

    /// Runs an atomic operation on the `T` at window `offset` (guarded); returns the value found.
    pub fn atomic<T: AtomicWord>(&self, offset: u64, operation: AtomicOp<T>) -> Result<T> {
        let (_reading, access) = self.guarded();
        let (touched, result) = atomics::run(&access, offset, operation);
        if touched {
            self.flush.mark_dirty(self.current.shared_word());
        }
        result
    }

    /// Futex wait on the u32 at window `offset` while it holds `expected` (see
    /// `atomics::futex_wait`). The grace mark is dropped before sleeping, so a resize or refresh
    /// never waits for a sleeper (the word's address stays mapped until close).
    pub fn atomic_u32_wait(&self, offset: u64, expected: u32, timeout_ns: u64) -> Result<()> {
        let (word, private) = self.futex_word(offset)?;
        atomics::futex_wait(word, private, expected, timeout_ns)
    }

    /// Wakes up to `count` waiters on the u32 at window `offset`; how many were woken.
    pub fn atomic_u32_wake(&self, offset: u64, count: u32) -> Result<u32> {
        let (word, private) = self.futex_word(offset)?;
        atomics::futex_wake(word, private, count)
    }

    /// The checked futex word at `offset` (see `atomics::futex_word`); the grace mark ends here.
    fn futex_word(&self, offset: u64) -> Result<(*mut u32, bool)> {
        let (_reading, access) = self.guarded();
        atomics::futex_word(&access, offset)
    }

    /// Runs the flush policy after a successful write (best effort: a failure stays visible to
    /// the next explicit flush, which repeats the msync and reports it).
    #[inline]
    fn after_write(&self, offset: u64, len: u64) {
        let _ = match self.flush.after_write(offset, len) {
            None => Ok(()),
            Some(PolicyFlush::Range(offset, len)) => self.flush_range(offset, len),
            Some(PolicyFlush::Window) => self.flush(),
        };
    }

    // --- durability and hints --------------------------------------------------------------------

    /// Synchronous, durable flush of the whole window (msync MS_SYNC, then fdatasync after a size
    /// change). A no-op for READ_ONLY and COPY_ON_WRITE.
    pub fn flush(&self) -> Result<()> {
        let view = self.view();
        self.flush.flush_window(
            self.current.shared_word(),
            view.region,
            &self.file,
            view.len,
        )
    }

    /// Synchronous, durable flush of `[offset, offset + len)` (checked on every mode).
    pub fn flush_range(&self, offset: u64, len: u64) -> Result<()> {
        let view = self.view();
        view.check(offset, len)?;
        self.flush.flush_range(view.region, &self.file, offset, len)
    }

    /// Starts write-back of the whole window and returns (msync MS_ASYNC).
    pub fn flush_async(&self) -> Result<()> {
        let view = self.view();
        self.flush.flush_async(view.region, view.len)
    }

    /// Writes by `write` since the last flush (what the EVERY_WRITES policy counts).
    pub fn pending_writes(&self) -> u64 {
        self.flush.pending_writes()
    }

    /// Written since the last whole-window flush, or a writable pointer was ever handed out.
    pub fn was_written(&self) -> bool {
        self.flush.was_written(self.current.shared_word())
    }

    /// madvise over `[offset, offset + len)` of the window.
    pub fn advise(&self, advice: Advice, offset: u64, len: u64) -> Result<()> {
        let view = self.view();
        view.check(offset, len)?;
        if len == 0 {
            return Ok(());
        }
        view.region.advise(advice, offset, len)
    }

    /// mlock / munlock over `[offset, offset + len)`.
    pub fn lock(&self, offset: u64, len: u64, lock: bool) -> Result<()> {
        let view = self.view();
        view.check(offset, len)?;
        if len == 0 {
            return Ok(());
        }
        view.region.lock(offset, len, lock)
    }

    /// How many mappings this handle holds (the current one and those kept for old pointers).
    pub fn region_count(&self) -> usize {
        self.lock_regions().len()
    }

    // --- size and truncation ---------------------------------------------------------------------

    /// OK, or TRUNCATED once the file is shorter than the window (or bytes were lost to a fault).
    pub fn check(&self) -> Result<()> {
        let (_reading, access) = self.guarded();
        if access.view.region.guard.lost_from() != NOTHING_LOST {
            return Err(access.loss_error());
        }
        let size = self.file.size()?;
        let needed = self.options.offset + access.view.len;
        if size < needed {
            return Err(Error::Truncated {
                detail: format!(
                    "{} is {size} bytes, the mapping needs {needed}; mapfile_refresh adopts the new length",
                    self.file.describe()
                ),
            });
        }
        if self.file.replaced()? {
            return Err(Error::Replaced {
                detail: format!(
                    "{} was renamed over or deleted; reopen the path for the new file",
                    self.file.describe()
                ),
            });
        }
        Ok(())
    }

    /// The descriptor of the change watch (made at the first call, owned by the mapping).
    pub fn watch_fd(&self) -> Result<RawFd> {
        let mut watch = self.lock_watch();
        if watch.is_none() {
            *watch = Some(Watch::new(&self.file)?);
        }
        Ok(watch.as_ref().expect("made above").fd())
    }

    /// Drains the change watch; what changed since the last ack. Fails INVALID_ARG before
    /// `watch_fd`.
    pub fn watch_ack(&self) -> Result<Changes> {
        match self.lock_watch().as_mut() {
            Some(watch) => watch.ack(&self.file),
            None => Err(Error::InvalidArgument(
                "no watch yet: call mapfile_watch_fd first".into(),
            )),
        }
    }

    fn lock_watch(&self) -> MutexGuard<'_, Option<Watch>> {
        self.watch
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
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
        let current = self.file.size()?;
        let old_len = self.view().len;
        self.sizes_allowed(current, new_size)?;
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
            self.file
                .grow(current, target)
                .map_err(|e| Error::os(format!("growing the file to {target} bytes"), e))?;
            self.flush.size_changed();
        }
        self.adopt_len(&mut regions, new_len)?;
        if self.options.len != 0 {
            self.requested_len.store(new_len, Ordering::Release);
        }
        if target < current {
            // After adopt_len's grace period: no guarded call still reads the bytes cut here.
            if let Err(error) = self.file.cut(target) {
                let _ = self.adopt_len(&mut regions, old_len);
                return Err(Error::os(
                    format!("cutting the file to {target} bytes"),
                    error,
                ));
            }
            self.flush.size_changed();
        }
        Ok(())
    }

    /// UNSUPPORTED when the file's seals forbid going from `current` to `new_size` bytes (only
    /// a memfd carries seals; for one, F_GET_SEALS is asked now, since another process may add
    /// some; for a file with a name, no system call).
    fn sizes_allowed(&self, current: u64, new_size: u64) -> Result<()> {
        let seals = self.file.seals();
        let forbidden = if new_size < current && seals & libc::F_SEAL_SHRINK != 0 {
            "shrinking (F_SEAL_SHRINK: so that nothing mapping it can fault)"
        } else if new_size > current && seals & libc::F_SEAL_GROW != 0 {
            "growing (F_SEAL_GROW; huge-page memory keeps its size)"
        } else {
            return Ok(());
        };
        Err(Error::Unsupported(format!(
            "{} is {current} bytes and sealed against {forbidden}; it cannot become {new_size} bytes",
            self.file.describe()
        )))
    }

    /// Follows the file's current length: grows the window after appends, shrinks it after a
    /// truncation and clears the TRUNCATED state (a fixed-length window never grows past its
    /// length).
    pub fn refresh(&self) -> Result<()> {
        let mut regions = self.lock_regions();
        let available = self.file.size()?.saturating_sub(self.options.offset);
        let target = match self.requested_len.load(Ordering::Acquire) {
            0 => available,
            fixed => available.min(fixed),
        };
        self.adopt_len(&mut regions, target)
    }

    fn lock_regions(&self) -> MutexGuard<'_, Regions> {
        // A panic while holding it leaves the list consistent (push is the only change).
        self.regions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Publishes (region, len) as the current window; the regions guard proves the caller is
    /// the only writer. Returns the new view sequence.
    fn publish(&self, regions: &MutexGuard<'_, Regions>, region: &Region, len: u64) -> u64 {
        let end = self.options.offset + len;
        region.guard.set_own_end(end);
        region.guard.set_alert(self.current.shared_word());
        // The fast path stays off while the window reaches lost or zeroed bytes, the handle is
        // poisoned, or it has no mapping route.
        let slow = || {
            self.is_poisoned()
                || region.guard.lost_from() < end
                || region.guard.zeroed_from() < end
                || !matches!(guarded::route(&self.options), Ok(guarded::Route::Memory))
        };
        self.current
            .publish(regions, region, region.window(), len, slow)
    }

    /// Publishes (region, len) and waits until no guarded call still uses an older view.
    fn publish_and_wait(&self, regions: &MutexGuard<'_, Regions>, region: &Region, len: u64) {
        let sequence = self.publish(regions, region, len);
        grace::wait_for_readers(sequence);
    }

    /// Publishes a window of `len` bytes. Within the current region's capacity the region is
    /// reused, repaired first if the guard zeroed pages of it (so the mapping count stays
    /// bounded and the base never moves); beyond it a new region gets geometric headroom. A
    /// shrink waits for the guarded calls that may still read the old length (see `grace`).
    fn adopt_len(&self, regions: &mut MutexGuard<'_, Regions>, len: u64) -> Result<()> {
        let current = self.view();
        let region = current.region;
        let file = self.file.file();
        if len > region.capacity {
            let capacity = len.max(region.capacity.saturating_mul(2));
            let grown = Box::new(Region::map(
                file,
                &self.options,
                self.options.offset,
                len,
                capacity,
            )?);
            if self.options.mode == Mode::CopyOnWrite {
                grown.copy_private_pages_from(region, current.len, self.options.offset)?;
            }
            self.publish(regions, &grown, len);
            regions.push(grown);
            return Ok(());
        }
        let lost = region.guard.lost_from();
        let zeroed = region.guard.zeroed_from();
        if lost != NOTHING_LOST || zeroed != NOTHING_LOST {
            // First a view that reaches no lost or zeroed byte, and wait until nobody reads an
            // older one; then the file goes back over the zeroed pages and the loss is forgotten.
            let first_bad = lost.min(zeroed).saturating_sub(self.options.offset);
            self.publish_and_wait(regions, region, len.min(current.len).min(first_bad));
            if zeroed != NOTHING_LOST {
                region.remap_file(file, &self.options, zeroed)?;
            }
            region.guard.clear_repaired(lost, zeroed);
        } else if len < current.len {
            self.publish_and_wait(regions, region, len);
            return Ok(());
        }
        region.map_more(file, &self.options, len)?;
        if self.view().len != len {
            self.publish(regions, region, len);
        }
        Ok(())
    }
}

impl Flushable for Mapping {
    fn flush(&self) -> Result<()> {
        Mapping::flush(self)
    }

    fn flush_state(&self) -> &FlushState {
        &self.flush
    }

    fn was_written(&self) -> bool {
        Mapping::was_written(self)
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

/// Test-only hooks into the fast path (compiled into the unit tests' build only).
#[cfg(test)]
pub(crate) mod test_hooks {
    use std::cell::RefCell;

    type Hook = Box<dyn FnOnce()>;

    thread_local! {
        static BETWEEN_ACCESS_AND_SECOND_LOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
    }

    /// Runs `hook` once, in this thread's next fast-path call, between its access and its
    /// second look at the view word.
    pub(crate) fn between_access_and_second_look(hook: impl FnOnce() + 'static) {
        BETWEEN_ACCESS_AND_SECOND_LOOK.with(|cell| *cell.borrow_mut() = Some(Box::new(hook)));
    }

    /// Whether the hook set by `between_access_and_second_look` is still waiting to run.
    pub(crate) fn hook_pending() -> bool {
        BETWEEN_ACCESS_AND_SECOND_LOOK.with(|cell| cell.borrow().is_some())
    }

    pub(super) fn run_between_access_and_second_look() {
        if let Some(hook) = BETWEEN_ACCESS_AND_SECOND_LOOK.with(|cell| cell.borrow_mut().take()) {
            hook();
        }
    }
}
