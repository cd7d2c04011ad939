//! For hosts that own SIGBUS (JVM, Go runtime, crash reporters): who answers the signal.

use std::ffi::{c_int, c_void};

use super::boundary::{boundary, this_function};
use super::convert::sigbus_mode_from_c;
use super::status::mapfile_status;
use crate::core::guard;

/// mapfile_sigbus_mode: the library installs its SIGBUS handler at the first mapping (default).
/// @ingroup signals
pub const MAPFILE_SIGBUS_INSTALL: u32 = 0;
/// mapfile_sigbus_mode: the host owns SIGBUS and calls mapfile_sigbus_handle from its own
/// handler first; guarded operations keep their fast path.
/// @ingroup signals
pub const MAPFILE_SIGBUS_HOST_CHAINS: u32 = 1;
/// mapfile_sigbus_mode: no handler at all; guarded operations use pread/pwrite on the file instead
/// of touching the mapping (slower, same results); MAPFILE_FLAG_GUARD_RAW is MAPFILE_ERR_UNSUPPORTED.
/// @ingroup signals
pub const MAPFILE_SIGBUS_OFF: u32 = 2;

/// Chooses who answers SIGBUS. Call it before the first mapping is opened; afterwards only the
/// mode already in force is accepted. The environment variable MAPFILE_SIGBUS=host or =off does the
/// same for programs that cannot call this.
///
///
/// @param[in] mode A mode value.
/// @return MAPFILE_OK; MAPFILE_ERR_INVALID_ARG (unknown mode, or too late to change it).
/// Thread safety: call it once, before other threads open mappings.
/// @ingroup signals
#[no_mangle]
pub extern "C" fn mapfile_sigbus_mode(mode: u32) -> mapfile_status {
    boundary(this_function!(), || {
        Ok(guard::set_sigbus_mode(sigbus_mode_from_c(mode)?)?)
    })
}

/// For hosts in MAPFILE_SIGBUS_HOST_CHAINS mode, to call first thing in their SIGBUS handler with the
/// handler's arguments (`info` is the `siginfo_t *`). Returns 1 when the fault was a truncation of a
/// libmapfile mapping that the library recovered: return from the handler at once, the faulting
/// instruction then runs again on zeros. Returns 0 when the signal is not the library's: handle
/// it as if the library were absent. Async-signal-safe.
///
/// @param[in] signal The signal number the host's handler received.
/// @param[in] info The handler's `siginfo_t *` (NULL: returns 0).
/// @param[in] context The handler's `ucontext_t *` (not used; pass it through).
/// @return 1: recovered, return from the handler; 0: not the library's signal.
/// @ingroup signals
#[no_mangle]
pub extern "C" fn mapfile_sigbus_handle(
    signal: c_int,
    info: *mut c_void,
    context: *mut c_void,
) -> c_int {
    let _ = context;
    if signal != libc::SIGBUS {
        return 0;
    }
    // SAFETY: per the contract, `info` is the siginfo_t of this SIGBUS (or NULL).
    c_int::from(unsafe { guard::handle_sigbus(info as *const libc::siginfo_t) })
}
