//! Change notification for a mapped file: an inotify descriptor for the caller's poll loop (the
//! file itself, and its directory for the name), and the ack that drains it and says what
//! changed. Sizes come from fstat at the ack, replacement from the path (`MappedFile::replaced`),
//! so the answer is what holds now, not a replay of every event.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::error::{Error, Result};
use super::file::MappedFile;

/// What changed since the previous ack (or since the watch was made).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    pub grew: bool,
    pub shrank: bool,
    /// Written through write(2) or truncated (inotify IN_MODIFY; stores through another
    /// process's mapping raise no event).
    pub modified: bool,
    /// The path now names another file or none, or the file was deleted; reported once.
    pub replaced: bool,
}

/// Events on the file itself: content, link count (unlink), rename, deletion.
const FILE_EVENTS: u32 =
    libc::IN_MODIFY | libc::IN_ATTRIB | libc::IN_MOVE_SELF | libc::IN_DELETE_SELF;
/// Events on its directory that may change what the path names.
const NAME_EVENTS: u32 =
    libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_MOVED_FROM | libc::IN_DELETE;

pub(super) struct Watch {
    inotify: OwnedFd,
    file_watch: i32,
    directory_watch: Option<i32>,
    /// The last component of the path the file was opened by.
    name: Option<OsString>,
    last_size: u64,
    replaced_reported: bool,
}

impl Watch {
    pub(super) fn new(file: &MappedFile) -> Result<Watch> {
        // SAFETY: inotify_init1 takes flags only.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(Error::last_os("inotify_init1 (a watch descriptor)"));
        }
        // SAFETY: `fd` was just created and is ours alone.
        let inotify = unsafe { OwnedFd::from_raw_fd(fd) };
        // The open file itself, through its /proc link (so a path replaced since the open does
        // not matter); the path where /proc is missing.
        let by_fd = format!("/proc/self/fd/{}", file.raw_fd());
        let file_watch = match add_watch(&inotify, Path::new(&by_fd), FILE_EVENTS) {
            Ok(watch) => watch,
            Err(error) => match file.path() {
                Some(path) if error.raw_os_error() == Some(libc::ENOENT) => {
                    add_watch(&inotify, path, FILE_EVENTS)
                        .map_err(|e| Error::os("inotify_add_watch", e).of(&file.describe()))?
                }
                _ => return Err(Error::os("inotify_add_watch", error).of(&file.describe())),
            },
        };
        let (directory_watch, name) = match file.path() {
            Some(path) => {
                let directory = match path.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => parent,
                    _ => Path::new("."),
                };
                let watch = add_watch(&inotify, directory, NAME_EVENTS | libc::IN_ONLYDIR)
                    .map_err(|e| {
                        Error::os(
                            format!("inotify_add_watch on the directory {directory:?}"),
                            e,
                        )
                    })?;
                (Some(watch), path.file_name().map(|n| n.to_os_string()))
            }
            None => (None, None),
        };
        Ok(Watch {
            inotify,
            file_watch,
            directory_watch,
            name,
            last_size: file.size()?,
            replaced_reported: false,
        })
    }

    /// The descriptor to poll (readable when an event is queued).
    pub(super) fn fd(&self) -> RawFd {
        self.inotify.as_raw_fd()
    }

    /// Drains the queued events without blocking and says what changed since the last ack.
    pub(super) fn ack(&mut self, file: &MappedFile) -> Result<Changes> {
        let mut changes = Changes::default();
        let mut any = false;
        let mut identity_may_have_changed = false;
        // inotify_event needs 4-byte alignment: a u32 buffer gives it.
        let mut buffer = [0u32; 1024];
        loop {
            // SAFETY: reads into our own buffer of that many bytes.
            let got = unsafe {
                libc::read(
                    self.inotify.as_raw_fd(),
                    buffer.as_mut_ptr().cast(),
                    std::mem::size_of_val(&buffer),
                )
            };
            if got < 0 {
                let error = io::Error::last_os_error();
                match error.raw_os_error() {
                    Some(libc::EAGAIN) => break,
                    Some(libc::EINTR) => continue,
                    _ => return Err(Error::os("reading the watch descriptor", error)),
                }
            }
            // SAFETY: the kernel wrote `got` bytes of whole events into the buffer.
            let bytes =
                unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), got as usize) };
            for_each_event(bytes, |wd, mask, name| {
                any = true;
                if mask & libc::IN_Q_OVERFLOW != 0 {
                    changes.modified = true;
                    identity_may_have_changed = true;
                } else if wd == self.file_watch {
                    changes.modified |= mask & libc::IN_MODIFY != 0;
                    identity_may_have_changed |= mask & !libc::IN_MODIFY != 0;
                } else if Some(wd) == self.directory_watch {
                    let ours = self.name.as_deref().map(|n| n.as_bytes()) == Some(name);
                    identity_may_have_changed |= ours || mask & libc::IN_IGNORED != 0;
                }
            });
        }
        if !any {
            return Ok(changes);
        }
        let now = file
            .file()
            .metadata()
            .map_err(|e| Error::os("fstat of the mapped file", e))?;
        changes.grew = now.len() > self.last_size;
        changes.shrank = now.len() < self.last_size;
        self.last_size = now.len();
        if identity_may_have_changed && !self.replaced_reported {
            changes.replaced = now.nlink() == 0 || file.replaced()?;
            self.replaced_reported = changes.replaced;
        }
        Ok(changes)
    }
}

fn add_watch(inotify: &OwnedFd, path: &Path, mask: u32) -> io::Result<i32> {
    let path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: valid descriptor and C string.
    let watch = unsafe { libc::inotify_add_watch(inotify.as_raw_fd(), path.as_ptr(), mask) };
    if watch < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(watch)
}

/// Calls `visit(wd, mask, name)` for each inotify event in `bytes` (name without its NUL padding).
fn for_each_event(bytes: &[u8], mut visit: impl FnMut(i32, u32, &[u8])) {
    const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
    let mut at = 0;
    while at + HEADER <= bytes.len() {
        let field = |i: usize| {
            u32::from_ne_bytes(
                bytes[at + 4 * i..at + 4 * i + 4]
                    .try_into()
                    .expect("4 bytes"),
            )
        };
        let (wd, mask, name_len) = (field(0) as i32, field(1), field(3) as usize);
        let name_end = (at + HEADER + name_len).min(bytes.len());
        let name = &bytes[at + HEADER..name_end];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        visit(wd, mask, name);
        at = name_end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_split_with_their_names() {
        let mut bytes = Vec::new();
        for (wd, mask, name) in [
            (1, libc::IN_MODIFY, &b""[..]),
            (2, libc::IN_CREATE, b"log\0\0\0\0\0"),
        ] {
            for value in [wd as u32, mask, 0, name.len() as u32] {
                bytes.extend_from_slice(&value.to_ne_bytes());
            }
            bytes.extend_from_slice(name);
        }
        let mut seen = Vec::new();
        for_each_event(&bytes, |wd, mask, name| {
            seen.push((wd, mask, name.to_vec()))
        });
        assert_eq!(
            seen,
            vec![
                (1, libc::IN_MODIFY, vec![]),
                (2, libc::IN_CREATE, b"log".to_vec())
            ]
        );
    }
}
