//! The mapped file's descriptor and every system call on it: open and create (race-free), size,
//! growth with blocks reserved, cut, fdatasync, and positioned reads and writes (one EINTR loop);
//! a caller's descriptor (duplicated); shared memory (a sealed memfd); pseudo-file snapshots;
//! whether the path was replaced.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use super::options::{Disposition, Mode, Options};

/// Where a mapped file came from: what messages call it, and what `replaced` compares with.
enum Origin {
    /// Opened by the library from a path.
    Path(PathBuf),
    /// A duplicate of the caller's descriptor (`mapfile_open_fd`); the number is the caller's.
    Descriptor(RawFd),
    /// Shared memory the library made (a memfd): named (`mapfile_open_memfd`, the label) or
    /// anonymous (`mapfile_open_anonymous`, whose descriptor is not handed out).
    Memory { label: String, anonymous: bool },
}

/// The open file behind a mapping, where it came from, and the identity (device, inode) of the
/// file the caller named (for a pseudo-file snapshot: the pseudo-file's, not the copy's).
pub(super) struct MappedFile {
    file: File,
    origin: Origin,
    identity: (u64, u64),
    /// The identity of what `file` itself is open on (the copy's for a snapshot): `size`, the
    /// fstat before every resize, refresh, check and pread/pwrite write, refuses a descriptor
    /// that names anything else now (closed behind the library's back and its number reused),
    /// so that a resize never cuts an unrelated file.
    descriptor_identity: (u64, u64),
    /// Had no name at open (nlink 0: a memfd, an unlinked file): only such a file can carry
    /// seals, so only its seals are ever asked for.
    unnamed: bool,
    /// Sealed against shrinking (F_SEAL_SHRINK, which can never be removed): no page of it can
    /// be lost, so nothing mapping it can fault.
    sealed: bool,
    /// Backed by explicit huge pages (hugetlbfs).
    hugetlb: bool,
}

/// How many bytes shared memory may be asked for (what `off_t` holds).
const MEMORY_MAX: u64 = i64::MAX as u64;

impl MappedFile {
    /// Opens (or creates) `path` per `options`; refuses anything but a regular file. Returns the
    /// file, whether this call created it, and its size.
    pub(super) fn open(path: &Path, options: &Options) -> Result<(MappedFile, bool, u64)> {
        let (file, created) = open_file(path, options)?;
        let (file, size) = MappedFile::adopt(
            file,
            Origin::Path(path.to_path_buf()),
            options.mode,
            !created,
        )?;
        Ok((file, created, size))
    }

    /// Works on a duplicate (close-on-exec) of the caller's open descriptor `fd`. A negative or
    /// closed `fd` is INVALID_ARG. Whether its access mode allows the mapping's mode is left to
    /// the kernel (mmap, pread) and explained by `access_denied` when it refuses: one system call
    /// less per open. Returns the file and its size.
    pub(super) fn from_descriptor(fd: RawFd, mode: Mode) -> Result<(MappedFile, u64)> {
        let not_open = || Error::InvalidArgument(format!("fd {fd} is not an open file descriptor"));
        if fd < 0 {
            return Err(not_open());
        }
        // SAFETY: duplicates a descriptor (fails with EBADF when it is not open); the new one is
        // owned by nobody else.
        let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if copy < 0 {
            let error = io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::EBADF) {
                return Err(not_open());
            }
            return Err(Error::os(format!("duplicating fd {fd}"), error));
        }
        // SAFETY: `copy` was just created and is ours alone.
        let file = unsafe { File::from_raw_fd(copy) };
        MappedFile::adopt(file, Origin::Descriptor(fd), mode, true)
    }

    /// Makes `size` bytes of zero-filled shared memory: a memfd sealed against shrinking
    /// (F_SEAL_SHRINK; growth stays possible, so F_SEAL_SEAL is not added: see the header's
    /// mapfile_open_memfd). With `huge_pages`, hugetlbfs pages allocated now (the size rounded
    /// up to whole huge pages, sealed against any size change since huge pages cannot grow by
    /// less), or normal pages when the system has too few reserved. Returns the file and its
    /// size.
    pub(super) fn memory(
        label: &str,
        anonymous: bool,
        size: u64,
        huge_pages: bool,
    ) -> Result<(MappedFile, u64)> {
        if size == 0 || size > MEMORY_MAX {
            return Err(Error::InvalidArgument(format!(
                "shared memory of {size} bytes: the size must be 1 to {MEMORY_MAX} bytes"
            )));
        }
        let name = CString::new(label)
            .map_err(|_| Error::InvalidArgument("the memfd name contains a NUL byte".into()))?;
        let origin = || Origin::Memory {
            label: label.to_string(),
            anonymous,
        };
        if huge_pages {
            if let Some(file) = huge_page_memfd(&name, size) {
                let (mut mapped, size) = MappedFile::adopt(file, origin(), Mode::ReadWrite, false)?;
                mapped.hugetlb = true;
                return Ok((mapped, size));
            }
        }
        let file = memfd(&name, 0).map_err(|e| creating_memory(label, e))?;
        file.set_len(size).map_err(|e| creating_memory(label, e))?;
        add_seals(&file, libc::F_SEAL_SHRINK).map_err(|e| creating_memory(label, e))?;
        MappedFile::adopt(file, origin(), Mode::ReadWrite, false)
    }

    /// PERMISSION (errno EACCES) when `fd`'s access mode does not allow `mode`: O_RDONLY or
    /// O_RDWR for reading, O_RDWR for READ_WRITE; O_PATH allows nothing. None when it does (or
    /// the flags cannot be read).
    pub(super) fn access_denied(fd: RawFd, mode: Mode) -> Option<Error> {
        // SAFETY: F_GETFL reads the descriptor's flags; any integer is safe to ask about.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return None;
        }
        let opened = match flags & libc::O_ACCMODE {
            _ if flags & libc::O_PATH != 0 => "O_PATH",
            libc::O_RDWR => return None,
            libc::O_RDONLY if mode != Mode::ReadWrite => return None,
            libc::O_RDONLY => "O_RDONLY",
            _ => "O_WRONLY",
        };
        let needs = if mode == Mode::ReadWrite {
            "O_RDWR"
        } else {
            "O_RDONLY or O_RDWR"
        };
        Some(Error::os(
            format!(
                "fd {fd} is open {opened}; mode {} needs {needs}",
                mode.name()
            ),
            io::Error::from_raw_os_error(libc::EACCES),
        ))
    }

    /// Checks that `file` is a regular file and records its identity; a pseudo-file (procfs,
    /// sysfs: size 0 but content) is replaced by a private snapshot of its content when
    /// `may_have_content` (a file this call created has none).
    fn adopt(
        file: File,
        origin: Origin,
        mode: Mode,
        may_have_content: bool,
    ) -> Result<(MappedFile, u64)> {
        let mut mapped = MappedFile {
            file,
            origin,
            identity: (0, 0),
            descriptor_identity: (0, 0),
            unnamed: false,
            sealed: false,
            hugetlb: false,
        };
        let metadata = mapped
            .file
            .metadata()
            .map_err(|e| Error::os("fstat", e).of(&mapped.describe()))?;
        if !metadata.file_type().is_file() {
            return Err(Error::Unsupported(format!(
                "{} is not a regular file and cannot be mapped",
                mapped.describe()
            )));
        }
        mapped.identity = (metadata.dev(), metadata.ino());
        mapped.descriptor_identity = mapped.identity;
        // Only a file with no name (a memfd, an unlinked file) can carry seals: one fcntl for
        // those, none for the files of a directory.
        mapped.unnamed = metadata.nlink() == 0;
        mapped.sealed = mapped.seals() & libc::F_SEAL_SHRINK != 0;
        let mut size = metadata.len();
        if size == 0 && may_have_content {
            if let Some((copy, len)) = mapped.snapshot_if_pseudo(mode)? {
                let copied = copy
                    .metadata()
                    .map_err(|e| Error::os("fstat of the snapshot", e).of(&mapped.describe()))?;
                mapped.descriptor_identity = (copied.dev(), copied.ino());
                mapped.file = copy;
                size = len;
            }
        }
        Ok((mapped, size))
    }

    /// A regular file that reports size 0 but yields bytes (procfs, sysfs) cannot be mapped:
    /// its content is copied into a memfd, which is mapped instead (READ_ONLY and COPY_ON_WRITE;
    /// READ_WRITE is UNSUPPORTED). None for a really empty file (one pread of 0 bytes).
    fn snapshot_if_pseudo(&self, mode: Mode) -> Result<Option<(File, u64)>> {
        let reading = |e| Error::os("reading", e).of(&self.describe());
        let mut buffer = vec![0u8; 64 * 1024];
        let mut got = pread_once(&self.file, &mut buffer, 0).map_err(reading)?;
        if got == 0 {
            return Ok(None);
        }
        if mode == Mode::ReadWrite {
            return Err(Error::Unsupported(format!(
                "{} reports size 0 but has content (a /proc or /sys file): it opens READ_ONLY, as a private snapshot, not READ_WRITE",
                self.describe()
            )));
        }
        let mut copy = memfd(&CString::from(c"mapfile-snapshot"), 0)
            .map_err(|e| Error::os("memfd_create for a snapshot", e).of(&self.describe()))?;
        let mut len = 0u64;
        while got > 0 {
            copy.write_all(&buffer[..got])
                .map_err(|e| Error::os("writing the snapshot", e).of(&self.describe()))?;
            len += got as u64;
            got = pread_once(&self.file, &mut buffer, len).map_err(reading)?;
        }
        Ok(Some((copy, len)))
    }

    /// The descriptor the mapping uses (the library's own).
    pub(super) fn raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// Anonymous shared memory: its descriptor is the library's secret.
    pub(super) fn is_anonymous(&self) -> bool {
        matches!(
            self.origin,
            Origin::Memory {
                anonymous: true,
                ..
            }
        )
    }

    /// Sealed against shrinking: no page of it can be lost (see the field).
    pub(super) fn sealed(&self) -> bool {
        self.sealed
    }

    /// Backed by explicit huge pages (hugetlbfs).
    pub(super) fn hugetlb(&self) -> bool {
        self.hugetlb
    }

    /// The file's seals now (F_GET_SEALS); 0, without a system call, for a file that had a
    /// name at open (a file created by open() cannot be sealed).
    pub(super) fn seals(&self) -> libc::c_int {
        if !self.unnamed {
            return 0;
        }
        // SAFETY: F_GET_SEALS reads the seals of our own descriptor (EINVAL when it has none).
        unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_GET_SEALS) }.max(0)
    }

    /// The path the file was opened by (None for a descriptor handed in).
    pub(super) fn path(&self) -> Option<&Path> {
        match &self.origin {
            Origin::Path(path) => Some(path),
            Origin::Descriptor(_) | Origin::Memory { .. } => None,
        }
    }

    /// Whether the path the file was opened by now names another file or none (renamed over,
    /// deleted). Always false for a descriptor handed in (it has no name to lose).
    pub(super) fn replaced(&self) -> Result<bool> {
        let Some(path) = self.path() else {
            return Ok(false);
        };
        match std::fs::metadata(path) {
            Ok(now) => Ok((now.dev(), now.ino()) != self.identity),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
                Ok(true)
            }
            Err(e) => Err(Error::os(format!("stat({})", describe(path)), e)),
        }
    }

    pub(super) fn file(&self) -> &File {
        &self.file
    }

    /// What messages call the file: `the file "/x"` or `the file of fd 5`.
    pub(super) fn describe(&self) -> String {
        match &self.origin {
            Origin::Path(path) => format!("the file {}", describe(path)),
            Origin::Descriptor(fd) => format!("the file of fd {fd}"),
            Origin::Memory {
                anonymous: true, ..
            } => "the anonymous shared memory".to_string(),
            Origin::Memory { label, .. } => format!("the shared memory {label:?}"),
        }
    }

    /// The file's current size (fstat), after checking that the descriptor still names the
    /// mapped file (`descriptor_identity`; IO, errno EBADF, if not).
    pub(super) fn size(&self) -> Result<u64> {
        let metadata = self
            .file
            .metadata()
            .map_err(|e| Error::os("fstat of the mapped file", e))?;
        if (metadata.dev(), metadata.ino()) != self.descriptor_identity {
            return Err(descriptor_replaced(self.file.as_raw_fd(), &self.describe()));
        }
        Ok(metadata.len())
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
            let got = pread_once(&self.file, &mut buffer[filled..], at + filled as u64)?;
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

#[cold]
fn descriptor_replaced(fd: RawFd, file: &str) -> Error {
    Error::os(
        format!(
            "the handle's descriptor {fd} no longer names {file} (closed behind the library's \
             back and its number reused: mapfile_fd's descriptor must not be closed); nothing \
             was done"
        ),
        io::Error::from_raw_os_error(libc::EBADF),
    )
}

/// A new memfd (close-on-exec, sealable, plus `extra` MFD_* flags).
fn memfd(name: &CString, extra: libc::c_uint) -> io::Result<File> {
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING | extra;
    // SAFETY: a valid C string name; memfd_create has no other preconditions.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and is ours alone.
    Ok(unsafe { File::from_raw_fd(fd) })
}

fn add_seals(file: &File, seals: libc::c_int) -> io::Result<()> {
    // SAFETY: F_ADD_SEALS on our own sealable memfd.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cold]
fn creating_memory(label: &str, error: io::Error) -> Error {
    Error::os(format!("creating the shared memory {label:?}"), error)
}

/// A hugetlbfs memfd of `size` bytes rounded up to whole huge pages, allocated now (fallocate)
/// and sealed against any size change; None when the system cannot give that many huge pages
/// (none reserved, too few free, no hugetlbfs): the caller falls back to normal pages.
fn huge_page_memfd(name: &CString, size: u64) -> Option<File> {
    let file = memfd(name, libc::MFD_HUGETLB).ok()?;
    // SAFETY: fstatfs writes one statfs into our local.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above, on our own descriptor.
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut fs) } != 0 || fs.f_bsize <= 0 {
        return None;
    }
    let huge_page = fs.f_bsize as u64;
    let rounded = size.div_ceil(huge_page).checked_mul(huge_page)?;
    if rounded > MEMORY_MAX {
        return None;
    }
    // SAFETY: fallocate on our own descriptor: allocates the huge pages now (ENOSPC when the
    // pool has too few), so no later fault needs one.
    if unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, rounded as libc::off_t) } != 0 {
        return None;
    }
    add_seals(
        &file,
        libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL,
    )
    .ok()?;
    Some(file)
}

/// One pread (retried on EINTR): up to `buffer.len()` bytes at `at`; 0 at the end of the file.
fn pread_once(file: &File, buffer: &mut [u8], at: u64) -> io::Result<usize> {
    // SAFETY: `buffer` is writable for its length.
    retry_interrupted(|| unsafe {
        libc::pread(
            file.as_raw_fd(),
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            at as libc::off_t,
        )
    })
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
