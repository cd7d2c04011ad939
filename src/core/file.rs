//! The mapped file's descriptor and every system call on it: open and create (race-free), size,
//! growth with blocks reserved, cut, fdatasync, and positioned reads and writes (one EINTR loop).

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use super::options::{Disposition, Mode, Options};

/// The open file behind a mapping and the path it was opened by (for messages).
pub(super) struct MappedFile {
    file: File,
    path: PathBuf,
}

impl MappedFile {
    /// Opens (or creates) `path` per `options`; refuses anything but a regular file. Returns the
    /// file, whether this call created it, and its size.
    pub(super) fn open(path: &Path, options: &Options) -> Result<(MappedFile, bool, u64)> {
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
        let file = MappedFile {
            file,
            path: path.to_path_buf(),
        };
        Ok((file, created, metadata.len()))
    }

    pub(super) fn file(&self) -> &File {
        &self.file
    }

    /// The path, quoted, for messages.
    pub(super) fn describe(&self) -> String {
        describe(&self.path)
    }

    /// The file's current size (fstat).
    pub(super) fn size(&self) -> Result<u64> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| Error::os("fstat of the mapped file", e))
    }

    /// Grows the file from `current` to `size` bytes with blocks reserved (see `reserve_size`).
    pub(super) fn grow(&self, current: u64, size: u64) -> io::Result<()> {
        reserve_size(&self.file, current, size)
    }

    /// Cuts the file to `size` bytes.
    pub(super) fn cut(&self, size: u64) -> io::Result<()> {
        self.file.set_len(size)
    }

    /// fdatasync: makes a size change durable.
    pub(super) fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Reads up to `buffer.len()` bytes at file offset `at`; fewer only at the end of the file.
    pub(super) fn read_at(&self, buffer: &mut [u8], at: u64) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buffer.len() {
            let rest = &mut buffer[filled..];
            // SAFETY: `rest` is writable for its length.
            let got = retry_interrupted(|| unsafe {
                libc::pread(
                    self.file.as_raw_fd(),
                    rest.as_mut_ptr().cast(),
                    rest.len(),
                    (at + filled as u64) as libc::off_t,
                )
            })?;
            if got == 0 {
                break;
            }
            filled += got;
        }
        Ok(filled)
    }

    /// Writes all of `source` at file offset `at`.
    pub(super) fn write_at(&self, source: &[u8], at: u64) -> io::Result<()> {
        let mut written = 0;
        while written < source.len() {
            let rest = &source[written..];
            // SAFETY: `rest` is readable for its length.
            written += retry_interrupted(|| unsafe {
                libc::pwrite(
                    self.file.as_raw_fd(),
                    rest.as_ptr().cast(),
                    rest.len(),
                    (at + written as u64) as libc::off_t,
                )
            })?;
        }
        Ok(())
    }
}

/// The one EINTR loop: runs a system call returning a byte count (or -1 with errno) until it is
/// not interrupted.
fn retry_interrupted(mut call: impl FnMut() -> isize) -> io::Result<usize> {
    loop {
        let done = call();
        if done >= 0 {
            return Ok(done as usize);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::InvalidArgument("the path contains a NUL byte".into()))
}

fn describe(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
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
