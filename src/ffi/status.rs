//! Status codes, their texts, the per-thread failure message, and errno.

use std::ffi::{c_char, c_void};

use super::boundary::FunctionName;
use crate::core::{Error, ErrorKind, ThreadKey};

/// Result of every fallible call: 0 (MAPFILE_OK) on success, a negative MAPFILE_ERR_* otherwise.
/// @ingroup errors
pub type mapfile_status = i32;

/// Success.
/// @ingroup errors
pub const MAPFILE_OK: mapfile_status = 0;
/// A required pointer argument was NULL.
/// @ingroup errors
pub const MAPFILE_ERR_NULL_ARG: mapfile_status = -1;
/// Unknown mode/advice/flag value, bad options version, or a meaningless combination.
/// @ingroup errors
pub const MAPFILE_ERR_INVALID_ARG: mapfile_status = -2;
/// offset/len outside the mapping, or offset + len overflows.
/// @ingroup errors
pub const MAPFILE_ERR_OUT_OF_BOUNDS: mapfile_status = -3;
/// The path does not exist.
/// @ingroup errors
pub const MAPFILE_ERR_NOT_FOUND: mapfile_status = -4;
/// Permission denied (EACCES / EPERM / EROFS).
/// @ingroup errors
pub const MAPFILE_ERR_PERMISSION: mapfile_status = -5;
/// `mapfile_create` on a path that already exists.
/// @ingroup errors
pub const MAPFILE_ERR_EXISTS: mapfile_status = -6;
/// A write, mutable slice, resize or atomic store on a mapping that cannot do it.
/// @ingroup errors
pub const MAPFILE_ERR_READ_ONLY: mapfile_status = -7;
/// The file shrank under the mapping; the bytes asked for are gone.
/// @ingroup errors
pub const MAPFILE_ERR_TRUNCATED: mapfile_status = -8;
/// Atomic access at an offset not aligned to its width.
/// @ingroup errors
pub const MAPFILE_ERR_MISALIGNED: mapfile_status = -9;
/// Out of memory or address space, or over the mlock limit.
/// @ingroup errors
pub const MAPFILE_ERR_NO_MEMORY: mapfile_status = -10;
/// No space left (ENOSPC / EDQUOT / EFBIG) while creating or growing a file.
/// @ingroup errors
pub const MAPFILE_ERR_NO_SPACE: mapfile_status = -11;
/// The object cannot be mapped (directory, pipe, device) or the feature is absent here.
/// @ingroup errors
pub const MAPFILE_ERR_UNSUPPORTED: mapfile_status = -12;
/// Any other operating-system failure (errno tells which).
/// @ingroup errors
pub const MAPFILE_ERR_IO: mapfile_status = -13;
/// A bug inside the library was caught at the API boundary (never a crash).
/// @ingroup errors
pub const MAPFILE_ERR_INTERNAL: mapfile_status = -14;
/// `mapfile_check` on a handle opened by path: the path now names another file or none (renamed
/// over, deleted); the mapping still shows the old file. (TRUNCATED wins when both hold.)
/// @ingroup errors
pub const MAPFILE_ERR_REPLACED: mapfile_status = -15;
/// `mapfile_atomic_u32_wait`: the timeout passed before a wake-up.
/// @ingroup errors
pub const MAPFILE_ERR_TIMED_OUT: mapfile_status = -16;

/// A failure at the C boundary: the core's errors plus the one only C has.
#[derive(Debug)]
pub enum Failure {
    /// Which argument was NULL.
    NullArgument(&'static str),
    Core(Error),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Core(error)
    }
}

pub fn status_of_kind(kind: ErrorKind) -> mapfile_status {
    match kind {
        ErrorKind::InvalidArgument => MAPFILE_ERR_INVALID_ARG,
        ErrorKind::OutOfBounds => MAPFILE_ERR_OUT_OF_BOUNDS,
        ErrorKind::NotFound => MAPFILE_ERR_NOT_FOUND,
        ErrorKind::Permission => MAPFILE_ERR_PERMISSION,
        ErrorKind::Exists => MAPFILE_ERR_EXISTS,
        ErrorKind::ReadOnly => MAPFILE_ERR_READ_ONLY,
        ErrorKind::Truncated => MAPFILE_ERR_TRUNCATED,
        ErrorKind::Misaligned => MAPFILE_ERR_MISALIGNED,
        ErrorKind::NoMemory => MAPFILE_ERR_NO_MEMORY,
        ErrorKind::NoSpace => MAPFILE_ERR_NO_SPACE,
        ErrorKind::Unsupported => MAPFILE_ERR_UNSUPPORTED,
        ErrorKind::Io => MAPFILE_ERR_IO,
        ErrorKind::Internal => MAPFILE_ERR_INTERNAL,
        ErrorKind::Replaced => MAPFILE_ERR_REPLACED,
        ErrorKind::TimedOut => MAPFILE_ERR_TIMED_OUT,
    }
}

/// Room for one message, NUL included; longer messages are cut at a character boundary.
const MESSAGE_CAPACITY: usize = 1024;

/// This thread's last failure message, NUL-terminated, rewritten in place: a buffer made at
/// the thread's first failure (or first look at the message) and freed when the thread ends, so
/// the pointer handed out by `mapfile_last_error_message` stays valid for the life of the
/// thread: the worst a caller can see is a newer message, never freed memory. Kept under a
/// pthread key (core::ThreadKey): failures in other libraries' key destructors keep their
/// messages too, and nothing takes room in the library's static TLS block.
static MESSAGE: ThreadKey = ThreadKey::new(free_message);

/// One thread's message.
#[repr(C)]
struct Message {
    text: [u8; MESSAGE_CAPACITY],
    /// Rounds of key destructors the message has lived through (see `free_message`).
    rounds: u8,
}

/// How many rounds of key destructors glibc runs at most (PTHREAD_DESTRUCTOR_ITERATIONS).
const DESTRUCTOR_ROUNDS: u8 = 4;

/// MESSAGE's destructor. The message is set again until the last round, then freed: other
/// libraries' key destructors run in the same rounds (glibc repeats them while a value is set
/// again), and a pointer their thread fetched earlier must stay valid while they run.
unsafe extern "C" fn free_message(message: *mut c_void) {
    let message = message.cast::<Message>();
    // SAFETY: MESSAGE holds only messages made by `message_buffer`; glibc cleared the value
    // before this call, so the message is ours alone until it is set again.
    unsafe {
        if (*message).rounds + 1 < DESTRUCTOR_ROUNDS && MESSAGE.set(message.cast()) {
            (*message).rounds += 1;
            return;
        }
        drop(Box::from_raw(message));
    }
}

/// This thread's message buffer (None: no pthread key could hold it).
fn message_buffer() -> Option<*mut [u8; MESSAGE_CAPACITY]> {
    let current = MESSAGE.get().cast::<Message>();
    let message = if current.is_null() {
        let fresh = Box::into_raw(Box::new(Message {
            text: [0; MESSAGE_CAPACITY],
            rounds: 0,
        }));
        // SAFETY: a message made here is what `free_message` takes.
        if !unsafe { MESSAGE.set(fresh.cast()) } {
            // SAFETY: made just above, never handed out.
            drop(unsafe { Box::from_raw(fresh) });
            return None;
        }
        fresh
    } else {
        current
    };
    // SAFETY: a live message of this thread's.
    Some(unsafe { std::ptr::addr_of_mut!((*message).text) })
}

/// Writes `text` into this thread's message buffer (cut to fit; a NUL inside shows as `?`).
fn set_last_error(text: &str) {
    let mut end = text.len().min(MESSAGE_CAPACITY - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let Some(buffer) = message_buffer() else {
        return;
    };
    // SAFETY: the buffer is this thread's own, and no reference into it is alive: C callers
    // hold only a raw pointer, which sees the bytes change (the documented behaviour).
    let buffer = unsafe { &mut *buffer };
    for (slot, &byte) in buffer.iter_mut().zip(&text.as_bytes()[..end]) {
        *slot = if byte == 0 { b'?' } else { byte };
    }
    buffer[end] = 0;
}

/// Records `failure` for this thread, sets errno, and returns its status code.
#[cold]
#[inline(never)]
pub fn report(function: FunctionName, failure: Failure) -> mapfile_status {
    let function = function();
    let (status, errno, text) = match &failure {
        Failure::NullArgument(argument) => (
            MAPFILE_ERR_NULL_ARG,
            libc::EINVAL,
            format!("{function}: the argument `{argument}` is NULL"),
        ),
        Failure::Core(error) => (
            status_of_kind(error.kind()),
            error.errno(),
            format!("{function}: {error}"),
        ),
    };
    set_last_error(&text);
    // Last, so nothing above can clobber it.
    // SAFETY: errno is this thread's own variable.
    unsafe { *libc::__errno_location() = errno };
    status
}

/// Text of this thread's last failure ("" if none).
pub fn last_error_message() -> *const c_char {
    message_buffer().map_or(c"".as_ptr(), |buffer| buffer.cast::<c_char>().cast_const())
}

/// Static text of a status code.
pub fn describe(code: mapfile_status) -> &'static str {
    match code {
        MAPFILE_OK => "success\0",
        MAPFILE_ERR_NULL_ARG => "a required pointer argument was NULL\0",
        MAPFILE_ERR_INVALID_ARG => {
            "invalid argument (unknown mode, advice, flag, options version or combination)\0"
        }
        MAPFILE_ERR_OUT_OF_BOUNDS => "offset or length outside the mapping\0",
        MAPFILE_ERR_NOT_FOUND => "no such file\0",
        MAPFILE_ERR_PERMISSION => "permission denied\0",
        MAPFILE_ERR_EXISTS => "the file already exists\0",
        MAPFILE_ERR_READ_ONLY => "the mapping is not writable for this operation\0",
        MAPFILE_ERR_TRUNCATED => {
            "the file shrank under the mapping; the bytes asked for are gone\0"
        }
        MAPFILE_ERR_MISALIGNED => "atomic access not aligned to its width\0",
        MAPFILE_ERR_NO_MEMORY => "out of memory or address space\0",
        MAPFILE_ERR_NO_SPACE => "no space left on the device\0",
        MAPFILE_ERR_UNSUPPORTED => "not supported for this file or on this platform\0",
        MAPFILE_ERR_IO => "input/output error\0",
        MAPFILE_ERR_INTERNAL => "internal error in libmapfile (please report it)\0",
        MAPFILE_ERR_TIMED_OUT => "timed out\0",
        MAPFILE_ERR_REPLACED => {
            "the path now names another file or none; the mapping shows the old one\0"
        }
        _ => "unknown mapfile status code\0",
    }
}

/// Static, human-readable text for a status code; unknown codes get a text too. Never NULL, never
/// to be freed. Thread safety: may be called from any thread.
///
/// @param[in] code A status code (any value; unknown ones get a generic text).
/// @return The text, e.g. "the file shrank under the mapping" for MAPFILE_ERR_TRUNCATED.
/// @ingroup errors
#[no_mangle]
pub extern "C" fn mapfile_strerror(code: mapfile_status) -> *const c_char {
    describe(code).as_ptr().cast()
}

/// This thread's last failure in words, naming the function and the cause (for example
/// "mapfile_open: open(\"/x\"): No such file or directory (os error 2)"); "" if this thread has
/// had no failure. Never NULL. The pointer stays valid for the life of the calling thread: each
/// failure on this thread rewrites the text in place (at most 1023 bytes; longer messages are
/// cut), so it is safe to fetch it in the same expression as the failing call. Copy the text to
/// keep it past the thread's next failure. Thread safety: per thread; other threads' failures
/// never show here.
///
/// @return This thread's message buffer (owned by the library, never NULL).
/// @ingroup errors
#[no_mangle]
pub extern "C" fn mapfile_last_error_message() -> *const c_char {
    last_error_message()
}

/// The library's version, "MAJOR.MINOR.PATCH", equal to MAPFILE_VERSION of the header it was built
/// with. Static storage; never NULL. Thread safety: may be called from any thread.
///
/// @return The version string (static, never NULL).
/// @ingroup errors
#[no_mangle]
pub extern "C" fn mapfile_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The ABI version (the MAJOR of the soname, libmapfile.so.MAJOR). Programs that dlopen the library
/// compare it with MAPFILE_ABI_VERSION from the header they were compiled with.
/// @return MAPFILE_ABI_VERSION of the header the library was built with.
/// @ingroup errors
#[no_mangle]
pub extern "C" fn mapfile_abi_version() -> u32 {
    super::types::MAPFILE_ABI_VERSION
}
