//! The one error type of the core. Every variant maps to exactly one C status code (see
//! `ffi::status`); `ErrorKind` is the bridge, so the core never names a C constant.

use std::io;

/// What went wrong, in the categories the C API reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidArgument,
    OutOfBounds,
    NotFound,
    Permission,
    Exists,
    ReadOnly,
    Truncated,
    Replaced,
    TimedOut,
    Misaligned,
    NoMemory,
    NoSpace,
    Unsupported,
    Io,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error("range [{offset}, {offset} + {len}) is outside the mapping of {mapping_len} bytes")]
    OutOfBounds {
        offset: u64,
        len: u64,
        mapping_len: u64,
    },

    #[error("{operation} needs a writable (READ_WRITE{also_cow}) mapping; this one is {mode}")]
    ReadOnly {
        operation: &'static str,
        mode: &'static str,
        also_cow: &'static str,
    },

    #[error("the file shrank under the mapping: {detail}")]
    Truncated { detail: String },

    #[error("timed out after {0} ns")]
    TimedOut(u64),

    #[error("the path no longer names the mapped file: {detail}")]
    Replaced { detail: String },

    #[error(
        "the {width}-byte atomic at file offset {file_offset} is not aligned to {width} bytes"
    )]
    Misaligned { file_offset: u64, width: u64 },

    #[error("{0}")]
    Unsupported(String),

    /// An operating-system failure; the status code follows the errno.
    #[error("{context}: {source}")]
    Os {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error("internal error: {0}")]
    Internal(String),

    /// A retry loop gave up (the file system kept changing under it): IO, errno EAGAIN.
    #[error("{0}")]
    GaveUp(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an OS error with what the library was doing, e.g. `"open(\"/x\")"`.
    pub fn os(context: impl Into<String>, source: io::Error) -> Error {
        Error::Os {
            context: context.into(),
            source,
        }
    }

    /// Names the file in an OS failure's context ("mmap of 10 bytes" + `the file "/x"` ->
    /// `mmap of 10 bytes of the file "/x"`); other errors are returned as they are.
    pub fn of(self, file: &str) -> Error {
        match self {
            Error::Os { context, source } => Error::Os {
                context: format!("{context} of {file}"),
                source,
            },
            other => other,
        }
    }

    /// The last OS error (errno) with context.
    pub fn last_os(context: impl Into<String>) -> Error {
        Error::os(context, io::Error::last_os_error())
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::OutOfBounds { .. } => ErrorKind::OutOfBounds,
            Error::ReadOnly { .. } => ErrorKind::ReadOnly,
            Error::Truncated { .. } => ErrorKind::Truncated,
            Error::Replaced { .. } => ErrorKind::Replaced,
            Error::TimedOut(_) => ErrorKind::TimedOut,
            Error::Misaligned { .. } => ErrorKind::Misaligned,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Internal(_) => ErrorKind::Internal,
            Error::GaveUp(_) => ErrorKind::Io,
            Error::Os { source, .. } => kind_of_errno(source.raw_os_error().unwrap_or(0)),
        }
    }

    /// The errno a C caller should see for this failure: the OS cause when there is one,
    /// otherwise a close POSIX equivalent so `perror` prints something sensible.
    pub fn errno(&self) -> i32 {
        match self {
            Error::Os { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
            Error::InvalidArgument(_) | Error::Misaligned { .. } => libc::EINVAL,
            Error::OutOfBounds { .. } => libc::ERANGE,
            Error::ReadOnly { .. } => libc::EBADF,
            Error::Truncated { .. } => libc::EFAULT,
            Error::Replaced { .. } => libc::ESTALE,
            Error::TimedOut(_) => libc::ETIMEDOUT,
            Error::Unsupported(_) => libc::ENOTSUP,
            Error::Internal(_) => libc::EIO,
            Error::GaveUp(_) => libc::EAGAIN,
        }
    }
}

/// One table from errno to category, used for every OS failure.
pub fn kind_of_errno(errno: i32) -> ErrorKind {
    match errno {
        libc::ENOENT | libc::ENOTDIR => ErrorKind::NotFound,
        libc::EACCES | libc::EPERM | libc::EROFS => ErrorKind::Permission,
        libc::EEXIST => ErrorKind::Exists,
        libc::ENOMEM | libc::EAGAIN => ErrorKind::NoMemory,
        libc::ENOSPC | libc::EDQUOT | libc::EFBIG => ErrorKind::NoSpace,
        libc::ENODEV | libc::EISDIR | libc::ENOTSUP | libc::ENXIO => ErrorKind::Unsupported,
        libc::EINVAL => ErrorKind::InvalidArgument,
        _ => ErrorKind::Io,
    }
}

/// `offset + len <= total`, without wrapping: the one bounds check of every range a caller gives.
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn errno_values_map_to_the_documented_categories() {
        assert_eq!(kind_of_errno(libc::ENOENT), ErrorKind::NotFound);
        for errno in [libc::EACCES, libc::EPERM, libc::EROFS] {
            assert_eq!(kind_of_errno(errno), ErrorKind::Permission);
        }
        assert_eq!(kind_of_errno(libc::EEXIST), ErrorKind::Exists);
        assert_eq!(kind_of_errno(libc::ENOMEM), ErrorKind::NoMemory);
        for errno in [libc::ENOSPC, libc::EDQUOT] {
            assert_eq!(kind_of_errno(errno), ErrorKind::NoSpace);
        }
        for errno in [libc::ENODEV, libc::EISDIR] {
            assert_eq!(kind_of_errno(errno), ErrorKind::Unsupported);
        }
        assert_eq!(kind_of_errno(libc::EIO), ErrorKind::Io);
        // The OS cause is what errno reports.
        let error = Error::os("x", std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(
            (error.kind(), error.errno()),
            (ErrorKind::NoSpace, libc::ENOSPC)
        );
    }
}
