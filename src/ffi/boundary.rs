//! The panic boundary and the handle helpers every exported function goes through.

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::handle::borrow;
use super::status::{mapfile_status, report, Failure, MAPFILE_OK};
use super::types::mapfile_t;
use crate::core::{Error, Mapping};

/// The name of an exported function, for its failure messages: computed from the function's own
/// path (`this_function!()`), so no export retypes its name, and only when a call fails.
pub type FunctionName = fn() -> &'static str;

/// The `FunctionName` of the exported function this is written in (directly in its body, not in
/// a closure).
macro_rules! this_function {
    () => {{
        fn name() -> &'static str {
            fn here() {}
            // "mapfile::ffi::access::mapfile_read::name::here" -> "mapfile_read"; the full path
            // of an export with a fast path is its nested `fn full` (see `fast_export!`).
            let path = std::any::type_name_of_val(&here);
            let path = path.strip_suffix("::name::here").unwrap_or(path);
            let path = path.strip_suffix("::full").unwrap_or(path);
            path.rsplit("::").next().unwrap_or(path)
        }
        name as $crate::ffi::boundary::FunctionName
    }};
}
pub(crate) use this_function;

/// POSIX's pthread_setcancelstate, not in the libc crate for Linux (and not for the header:)
/// cbindgen:ignore
mod posix {
    use std::ffi::c_int;

    extern "C" {
        pub fn pthread_setcancelstate(state: c_int, old_state: *mut c_int) -> c_int;
    }
}
use posix::pthread_setcancelstate;

/// glibc's and musl's value.
const PTHREAD_CANCEL_DISABLE: c_int = 1;

/// Thread cancellation (pthread_cancel) held off while it lives. A call may reach system calls
/// that are cancellation points (open, close, msync, fdatasync, fallocate, pread, pwrite, read):
/// a cancellation acted on there would unwind the C thread through the library's Rust frames,
/// which aborts the process. Held off, it is acted on at the caller's next cancellation point
/// after the call returns. (About 7 ns a call, 1% of a 4 KiB write: `boundary` and `on` pay
/// it; the guarded accesses only when they make such calls, `on_access`; the fast path and the
/// plain queries never.)
struct NoCancel(c_int);

impl NoCancel {
    #[inline(always)]
    fn new() -> NoCancel {
        let mut old = PTHREAD_CANCEL_DISABLE;
        // SAFETY: writes the thread's previous state into a local.
        unsafe { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut old) };
        NoCancel(old)
    }
}

impl Drop for NoCancel {
    #[inline(always)]
    fn drop(&mut self) {
        let mut ignored = 0;
        // SAFETY: as in `new`.
        unsafe { pthread_setcancelstate(self.0, &mut ignored) };
    }
}

/// Runs `body`; its failure or panic becomes a status code (with the thread's message and errno).
#[inline(always)]
pub fn boundary(
    function: FunctionName,
    body: impl FnOnce() -> Result<(), Failure>,
) -> mapfile_status {
    let _no_cancel = NoCancel::new();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => MAPFILE_OK,
        Ok(Err(failure)) => report(function, failure),
        Err(panic) => report(function, Failure::Core(Error::Internal(panic_text(&panic)))),
    }
}

/// Like `boundary`, for a call on an open handle: a poisoned handle fails at once, and a panic
/// poisons it (its state is unknown afterwards). Inlined into every exported function, so the
/// success path costs a few instructions; failures leave through the cold `report`.
#[inline(always)]
pub fn with_mapping(
    function: FunctionName,
    mapping: Option<&Mapping>,
    body: impl FnOnce(&Mapping) -> Result<(), Failure>,
) -> mapfile_status {
    let _no_cancel = NoCancel::new();
    with_mapping_cancellable(function, mapping, body)
}

/// `with_mapping` without holding off cancellation: for bodies that make no system call.
#[inline(always)]
fn with_mapping_cancellable(
    function: FunctionName,
    mapping: Option<&Mapping>,
    body: impl FnOnce(&Mapping) -> Result<(), Failure>,
) -> mapfile_status {
    let Some(mapping) = mapping else {
        return report(function, Failure::NullArgument("m"));
    };
    if mapping.is_poisoned() {
        return report(
            function,
            Failure::Core(Error::Internal(
                "this handle is unusable after an earlier internal error; close it".into(),
            )),
        );
    }
    match catch_unwind(AssertUnwindSafe(|| body(mapping))) {
        Ok(Ok(())) => MAPFILE_OK,
        Ok(Err(failure)) => report(function, failure),
        Err(panic) => {
            mapping.poison();
            report(function, Failure::Core(Error::Internal(panic_text(&panic))))
        }
    }
}

#[cold]
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("caught a panic: {detail}")
}

/// Whether a query's body makes system calls (then cancellation is held off: see `NoCancel`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SystemCalls {
    None,
    Some,
}

/// For the queries that return a value instead of a status (mapfile_len, mapfile_fd,
/// mapfile_lost_from, mapfile_huge_pages): `get(mapping)`, or `default` for NULL (the
/// documented answer, without a message) and for a poisoned handle (whose message
/// `with_mapping` writes).
#[inline(always)]
pub fn value_of<T>(
    function: FunctionName,
    m: *const mapfile_t,
    default: T,
    calls: SystemCalls,
    get: impl FnOnce(&Mapping) -> T,
) -> T {
    let mut value = default;
    if !m.is_null() {
        let _no_cancel = (calls == SystemCalls::Some).then(NoCancel::new);
        // SAFETY: per the C contract, m is NULL or a live handle.
        with_mapping_cancellable(function, unsafe { borrow(m) }, |mapping| {
            value = get(mapping);
            Ok(())
        });
    }
    value
}

/// Fails with NULL_ARG unless `pointer` is non-null.
pub fn non_null<T>(pointer: *const T, name: &'static str) -> Result<(), Failure> {
    if pointer.is_null() {
        Err(Failure::NullArgument(name))
    } else {
        Ok(())
    }
}

/// The body of an export with a fast path (see `Mapping::fast`), given the export's arguments
/// (the handle first), `fast`: `|mapping| -> Option<mapfile_status>` (Some: the whole call is
/// done; it cannot panic, and the poison flag, like every other reason to stop, makes it
/// answer None), optionally `long: ...`, a second fast attempt of the same form made out of
/// line (reads and writes of more than 16 bytes), and `full`: the call done the long way,
/// through `on`. `full` becomes a nested `#[cold] extern "C" fn full` of the export's own
/// arguments, reached by a jump, so the export's frame holds only the fast path
/// (`this_function!()` in it names the export).
macro_rules! fast_export {
    (($m:ident: $handle:ty $(, $argument:ident: $type:ty)*), $fast:expr, $full:expr) => {
        $crate::ffi::boundary::fast_export!(
            ($m: $handle $(, $argument: $type)*), $fast, long: |_| None, $full
        )
    };
    (($m:ident: $handle:ty $(, $argument:ident: $type:ty)*), $fast:expr, long: $long:expr, $full:expr) => {{
        #[cold]
        #[inline(never)]
        extern "C" fn full($m: $handle $(, $argument: $type)*) -> $crate::ffi::status::mapfile_status {
            if let Some(status) = $crate::ffi::boundary::fast_attempt($m, $long) {
                return status;
            }
            $full
        }
        $crate::ffi::boundary::fast_or_full($m, $fast, || full($m $(, $argument)*))
    }};
}
pub(crate) use fast_export;

/// `fast(mapping)` for a handle, None for NULL (`fast_export!`'s fast attempts).
#[inline(always)]
pub fn fast_attempt(
    m: *const mapfile_t,
    fast: impl FnOnce(&Mapping) -> Option<mapfile_status>,
) -> Option<mapfile_status> {
    // SAFETY: per the C contract, m is NULL or a live handle.
    unsafe { borrow(m) }.and_then(fast)
}

/// The fast path of `fast_export!`, then `full()`.
#[inline(always)]
pub fn fast_or_full(
    m: *const mapfile_t,
    fast: impl FnOnce(&Mapping) -> Option<mapfile_status>,
    full: impl FnOnce() -> mapfile_status,
) -> mapfile_status {
    fast_attempt(m, fast).unwrap_or_else(full)
}

/// `on` for the guarded accesses (read, write, find, count, prefault, atomics), which make no
/// system call that is a cancellation point unless the handle's route or flush policy says so
/// (`Mapping::access_makes_system_calls`): cancellation is held off only then, so that a
/// plain guarded copy does not pay `NoCancel`.
#[inline(always)]
pub fn on_access(
    function: FunctionName,
    m: *const mapfile_t,
    body: impl FnOnce(&Mapping) -> Result<(), Failure>,
) -> mapfile_status {
    // SAFETY: per the C contract, m is NULL or a live handle.
    let mapping = unsafe { borrow(m) };
    let _no_cancel = mapping
        .is_some_and(Mapping::access_makes_system_calls)
        .then(NoCancel::new);
    with_mapping_cancellable(function, mapping, body)
}

/// `with_mapping` for a raw C handle: the one path from an exported function to its mapping.
#[inline(always)]
pub fn on(
    function: FunctionName,
    m: *const mapfile_t,
    body: impl FnOnce(&Mapping) -> Result<(), Failure>,
) -> mapfile_status {
    // SAFETY: per the C contract, m is NULL or a live handle.
    with_mapping(function, unsafe { borrow(m) }, body)
}
