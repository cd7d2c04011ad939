//! Guarded access: THE one decision between touching the mapping and reading the file (`route`),
//! and the guarded read/write/find/count/prefault and atomic access over one consistent view.
//! On the mapping path every access runs inside the truncation guard and is checked against the
//! registry's sticky loss state before and after; on the file path it goes to `fallback.rs`.

use std::io;

use super::error::{Error, Result};
use super::fallback;
use super::file::MappedFile;
use super::guard;
use super::options::{Advice, Mode, Options};
use super::registry::{guarded_span, page_size, LossCause};
use super::view::View;

/// Where a guarded call gets its bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// A SIGBUS handler (the library's or the host's) recovers faults: touch the mapping.
    Memory,
    /// No handler (MAPFILE_SIGBUS_OFF): a fault would kill, so read and write the file instead.
    File,
}

/// First position of `needle` in `haystack`. A one-byte needle (a line's end: the common case,
/// one call per line) goes straight to libc's memchr: memmem builds a searcher on every call
/// (about half the cost of a short search), and the memchr crate's own memchr passes through
/// three calls of CPU dispatch where glibc's was resolved once, at load.
#[inline(always)]
pub(super) fn search(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [byte] => {
            // SAFETY: `haystack.len()` readable bytes at its pointer.
            let found =
                unsafe { libc::memchr(haystack.as_ptr().cast(), i32::from(*byte), haystack.len()) };
            (!found.is_null()).then(|| found as usize - haystack.as_ptr() as usize)
        }
        _ => memchr::memmem::find(haystack, needle),
    }
}

/// Last position of `needle` in `haystack` (as `search`, from the end).
#[inline(always)]
pub(super) fn search_back(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [byte] => {
            // SAFETY: as in `search`.
            let found = unsafe {
                libc::memrchr(haystack.as_ptr().cast(), i32::from(*byte), haystack.len())
            };
            (!found.is_null()).then(|| found as usize - haystack.as_ptr() as usize)
        }
        _ => memchr::memmem::rfind(haystack, needle),
    }
}

/// The one mapping-or-file decision, mode-aware: without a handler, what only the mapping can
/// serve is refused (a COPY_ON_WRITE handle's private bytes exist only in memory; the raw guard
/// is the handler). `Mapping::open` asks it first, so an open handle always has a route.
#[inline(always)]
pub(super) fn route(options: &Options) -> Result<Route> {
    // A sealed file cannot lose a page: its mapping never faults, handler or not.
    if options.sealed || guard::faults_recoverable() {
        return Ok(Route::Memory);
    }
    let needs_handler = if options.guard_raw {
        Some("GUARD_RAW")
    } else if options.mode == Mode::CopyOnWrite {
        Some("COPY_ON_WRITE")
    } else {
        None
    };
    match needs_handler {
        Some(what) => Err(needs_the_handler(what)),
        None => Ok(Route::File),
    }
}

#[cold]
fn needs_the_handler(what: &str) -> Error {
    Error::Unsupported(format!(
        "{what} needs the SIGBUS handler, which is switched off (MAPFILE_SIGBUS_OFF)"
    ))
}

/// One guarded call's view of a mapping: the window it started from, the file, the options.
/// The caller holds a `grace::Reading` for as long as this lives.
pub(super) struct Guarded<'a> {
    pub(super) view: View<'a>,
    pub(super) file: &'a MappedFile,
    pub(super) options: &'a Options,
}

impl Guarded<'_> {
    /// Runs `operation` on the address of window byte `offset` inside the truncation guard.
    /// Fails with TRUNCATED (or IO) if any byte of `[offset, offset + len)` is lost, before or
    /// during. The range was checked against the view. A sealed mapping loses nothing: the
    /// operation runs bare.
    #[inline]
    pub(super) fn touch<R>(
        &self,
        offset: u64,
        len: u64,
        operation: impl FnOnce(*mut u8) -> R,
    ) -> Result<R> {
        if self.options.sealed {
            return Ok(operation(self.view.at(offset)));
        }
        self.kept(offset, len)?;
        let start = self.view.at(offset);
        let result = guarded_span(|| operation(start));
        self.kept(offset, len)?;
        Ok(result)
    }

    /// TRUNCATED (or IO) if the guard recorded any byte of `[offset, offset + len)` lost.
    #[inline(always)]
    pub(super) fn kept(&self, offset: u64, len: u64) -> Result<()> {
        if self.view.region.guard.lost_from() < self.options.offset + offset + len {
            return Err(self.loss_error());
        }
        Ok(())
    }

    /// TRUNCATED or IO, per the cause the guard recorded for this view's region.
    #[cold]
    #[inline(never)]
    pub(super) fn loss_error(&self) -> Error {
        let guard = &self.view.region.guard;
        let lost_from = guard.lost_from();
        match guard.loss_cause() {
            Some(LossCause::Io) => Error::os(
                format!(
                    "accessing the mapped page at file offset {lost_from} of {}",
                    self.file.describe()
                ),
                io::Error::from_raw_os_error(libc::EIO),
            ),
            _ => Error::Truncated {
                detail: format!(
                    "{} now ends at or before byte {lost_from}; the bytes asked for are gone",
                    self.file.describe()
                ),
            },
        }
    }

    /// READ_ONLY if the handle may not write.
    pub(super) fn require_writable(&self, operation: &'static str) -> Result<()> {
        if !self.options.mode.writable_memory() {
            return Err(Error::ReadOnly {
                operation,
                mode: self.options.mode.name(),
                also_cow: " or COPY_ON_WRITE",
            });
        }
        Ok(())
    }

    /// Copies `len` window bytes at `offset` into `destination`. The range is checked before
    /// anything is built from `destination`, so any `len` is answered.
    ///
    /// # Safety
    /// When the range lies in the window, `destination` is valid for `len` writes.
    #[inline]
    pub(super) unsafe fn read_into(
        &self,
        offset: u64,
        destination: *mut u8,
        len: usize,
    ) -> Result<()> {
        self.view.check(offset, len as u64)?;
        if len == 0 {
            return Ok(()); // touches nothing, so nothing can be lost
        }
        match route(self.options)? {
            Route::Memory => self.touch(offset, len as u64, |source| {
                // SAFETY: `source` points at `len` mapped bytes; `destination` is a distinct buffer.
                unsafe { copy_bytes(source, destination, len) }
            }),
            Route::File => {
                // SAFETY: in range, so the caller's buffer holds `len` bytes (<= the window).
                let destination = unsafe { std::slice::from_raw_parts_mut(destination, len) };
                fallback::read(self.file, self.options.offset, offset, destination)
            }
        }
    }

    /// Copies `len` bytes from `source` into the window at `offset`. Returns whether the mapping's
    /// memory may have been written (also when the result is TRUNCATED: bytes in kept pages were).
    ///
    /// # Safety
    /// When the range lies in the window, `source` is valid for `len` reads.
    #[inline]
    pub(super) unsafe fn write_from(
        &self,
        offset: u64,
        source: *const u8,
        len: usize,
    ) -> (bool, Result<()>) {
        let checked = self
            .view
            .check(offset, len as u64)
            .and_then(|()| self.require_writable("writing"))
            .and_then(|()| route(self.options));
        match checked {
            Err(error) => (false, Err(error)),
            Ok(_) if len == 0 => (false, Ok(())), // touches nothing, so nothing can be lost
            Ok(Route::Memory) => {
                let copied = self.touch(offset, len as u64, |target| {
                    // SAFETY: `target` points at `len` writable mapped bytes; `source` is a
                    // distinct buffer.
                    unsafe { copy_bytes(source, target, len) }
                });
                (true, copied)
            }
            Ok(Route::File) => {
                // SAFETY: in range, so the caller's buffer holds `len` bytes (<= the window).
                let source = unsafe { std::slice::from_raw_parts(source, len) };
                (
                    false,
                    fallback::write(self.file, self.options.offset, offset, source),
                )
            }
        }
    }

    /// First position `>= from` where `needle` starts, or None. An empty needle is found at
    /// `from`. A match that lies wholly before bytes lost to truncation is returned (it depends
    /// only on bytes still in the file); "not found", or a match reaching lost bytes, is TRUNCATED.
    pub(super) fn find(&self, from: u64, needle: &[u8]) -> Result<Option<u64>> {
        self.view.check(from, 0)?;
        if needle.is_empty() {
            return Ok(Some(from));
        }
        let len = self.view.len - from;
        if route(self.options)? == Route::File {
            return fallback::find(self.file, self.options.offset, from, len, needle);
        }
        let guard = &self.view.region.guard;
        let lost_in_window = |lost_from: u64| lost_from.saturating_sub(self.options.offset);
        // Search only what is not known to be lost.
        let searchable = len.min(lost_in_window(guard.lost_from()).saturating_sub(from));
        let start = self.view.at(from);
        let found = guarded_span(|| {
            // SAFETY: `searchable` mapped bytes at `start`; the slice lives only for this search.
            let haystack = unsafe { std::slice::from_raw_parts(start, searchable as usize) };
            search(haystack, needle)
        });
        let intact_end = lost_in_window(guard.lost_from());
        match found {
            Some(position) if from + position as u64 + needle.len() as u64 <= intact_end => {
                Ok(Some(from + position as u64))
            }
            None if searchable == len && from + len <= intact_end => Ok(None),
            _ => Err(self.loss_error()),
        }
    }

    /// Last position where `needle` lies wholly in `[0, end)`, or None. An empty needle is found
    /// at `end`. Any byte of `[0, end)` lost to truncation is TRUNCATED: a later match may have
    /// been in it, so no answer is known.
    pub(super) fn rfind(&self, end: u64, needle: &[u8]) -> Result<Option<u64>> {
        self.view.check(0, end)?;
        if needle.is_empty() {
            return Ok(Some(end));
        }
        if needle.len() as u64 > end {
            return Ok(None);
        }
        match route(self.options)? {
            Route::Memory => self.touch(0, end, |start| {
                // SAFETY: `end` mapped bytes at `start`; the slice lives only for this search.
                let haystack = unsafe { std::slice::from_raw_parts(start, end as usize) };
                search_back(haystack, needle).map(|p| p as u64)
            }),
            Route::File => fallback::rfind(self.file, self.options.offset, end, needle),
        }
    }

    /// Number of bytes equal to `byte` in `[offset, offset + len)`.
    pub(super) fn count_byte(&self, offset: u64, len: u64, byte: u8) -> Result<u64> {
        self.view.check(offset, len)?;
        if len == 0 {
            return Ok(0); // touches nothing, so nothing can be lost
        }
        match route(self.options)? {
            Route::Memory => self.touch(offset, len, |start| {
                // SAFETY: `len` mapped bytes at `start`; the slice lives only for this count.
                let bytes = unsafe { std::slice::from_raw_parts(start, len as usize) };
                bytecount::count(bytes, byte) as u64
            }),
            Route::File => fallback::count(self.file, self.options.offset, offset, len, byte),
        }
    }

    /// Touches every page of the range now, so later accesses do not fault. On the file path it
    /// cannot touch: it answers TRUNCATED as the touch would, then asks the kernel to read ahead.
    pub(super) fn prefault(&self, offset: u64, len: u64) -> Result<()> {
        self.view.check(offset, len)?;
        if len == 0 {
            return Ok(());
        }
        if route(self.options)? == Route::File {
            fallback::check_present(self.file, self.options.offset, offset, len)?;
            return self.view.region.advise(Advice::WillNeed, offset, len);
        }
        let page = page_size();
        self.touch(offset, len, |start| {
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
}

/// Copies `len` bytes; small copies (the common random-access case) inline, without a call to
/// memcpy, so a guarded 8-byte read stays a handful of instructions.
///
/// # Safety
/// `source` and `destination` are valid for `len` bytes and do not overlap.
#[inline(always)]
pub(super) unsafe fn copy_bytes(source: *const u8, destination: *mut u8, len: usize) {
    // SAFETY: (all branches) both ranges hold `len` bytes; the reads and writes below stay
    // inside them (the 8/4-byte pairs overlap each other when len is not a multiple).
    unsafe {
        // 8..=16 first: the common 8-byte read takes one compare to reach its copy.
        if len > 16 {
            std::ptr::copy_nonoverlapping(source, destination, len);
        } else if len >= 8 {
            let head = source.cast::<u64>().read_unaligned();
            let tail = source.add(len - 8).cast::<u64>().read_unaligned();
            destination.cast::<u64>().write_unaligned(head);
            destination.add(len - 8).cast::<u64>().write_unaligned(tail);
        } else if len >= 4 {
            let head = source.cast::<u32>().read_unaligned();
            let tail = source.add(len - 4).cast::<u32>().read_unaligned();
            destination.cast::<u32>().write_unaligned(head);
            destination.add(len - 4).cast::<u32>().write_unaligned(tail);
        } else if len > 0 {
            *destination = *source;
            *destination.add(len / 2) = *source.add(len / 2);
            *destination.add(len - 1) = *source.add(len - 1);
        }
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
}
