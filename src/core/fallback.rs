//! The pread/pwrite path: what guarded calls do when no SIGBUS handler can recover a fault
//! (MAPFILE_SIGBUS_OFF). Same answers as the mapping path, read from and written to the file.
//! `base` is the file offset of window byte 0.

use super::error::{Error, Result};
use super::file::MappedFile;
use super::guarded::{search, search_back};

/// Reads window bytes `[offset, offset + destination.len())`; TRUNCATED if the file ends first.
pub(super) fn read(
    file: &MappedFile,
    base: u64,
    offset: u64,
    destination: &mut [u8],
) -> Result<()> {
    for_each_chunk(
        file,
        base,
        offset,
        destination.len() as u64,
        0,
        |chunk, at| {
            let start = (at - offset) as usize;
            destination[start..start + chunk.len()].copy_from_slice(chunk);
            false // never stop early: a short read must stay TRUNCATED
        },
    )
}

/// Counts `byte` in window bytes `[offset, offset + len)`.
pub(super) fn count(file: &MappedFile, base: u64, offset: u64, len: u64, byte: u8) -> Result<u64> {
    let mut count = 0u64;
    for_each_chunk(file, base, offset, len, 0, |chunk, _| {
        count += bytecount::count(chunk, byte) as u64;
        false
    })?;
    Ok(count)
}

/// First window position in `[from, from + len)` where `needle` (non-empty) starts.
pub(super) fn find(
    file: &MappedFile,
    base: u64,
    from: u64,
    len: u64,
    needle: &[u8],
) -> Result<Option<u64>> {
    if (needle.len() as u64) > len {
        return Ok(None);
    }
    let mut found = None;
    for_each_chunk(file, base, from, len, needle.len() - 1, |chunk, at| {
        found = search(chunk, needle).map(|p| at + p as u64);
        found.is_some()
    })?;
    Ok(found)
}

/// Last window position in `[0, end)` where `needle` (non-empty, at most `end` bytes) lies
/// wholly. Reads forward (the last match of the last chunk that has one).
pub(super) fn rfind(file: &MappedFile, base: u64, end: u64, needle: &[u8]) -> Result<Option<u64>> {
    let mut found = None;
    for_each_chunk(file, base, 0, end, needle.len() - 1, |chunk, at| {
        if let Some(p) = search_back(chunk, needle) {
            found = Some(at + p as u64);
        }
        false // a short read must stay TRUNCATED
    })?;
    Ok(found)
}

/// Writes `source` at window `offset`, refusing to write past the file's end (pwrite would grow
/// the file back): checked before and after, since the file may shrink in between.
pub(super) fn write(file: &MappedFile, base: u64, offset: u64, source: &[u8]) -> Result<()> {
    let end = base + offset + source.len() as u64;
    let shrank = || Error::Truncated {
        detail: format!("{} is shorter than the bytes written", file.describe()),
    };
    if file.size()? < end {
        return Err(shrank());
    }
    file.write_at(source, base + offset)
        .map_err(|e| Error::os("pwrite", e))?;
    if file.size()? < end {
        return Err(shrank());
    }
    Ok(())
}

/// Prefault without touching: TRUNCATED when the file no longer holds the range (as the guarded
/// touch would answer); the caller then asks the kernel to read the pages in.
pub(super) fn check_present(file: &MappedFile, base: u64, offset: u64, len: u64) -> Result<()> {
    let end = base + offset + len;
    let size = file.size()?;
    if size < end {
        return Err(Error::Truncated {
            detail: format!("{} now ends at byte {size}", file.describe()),
        });
    }
    Ok(())
}

/// Reads window bytes `[offset, offset + len)` in chunks that overlap by `overlap` bytes;
/// `visit(chunk, window_offset)` returns true to stop. A short read means the file shrank: the
/// bytes read so far are visited, then it is TRUNCATED unless `visit` stopped.
fn for_each_chunk(
    file: &MappedFile,
    base: u64,
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
        let got = file
            .read_at(&mut buffer[..want], base + position)
            .map_err(|e| Error::os("pread", e))?;
        if got < want {
            if visit(&buffer[..got], position) {
                return Ok(());
            }
            return Err(Error::Truncated {
                detail: format!(
                    "{} now ends at byte {}",
                    file.describe(),
                    base + position + got as u64
                ),
            });
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
