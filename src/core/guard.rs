//! The truncation guard: a file shrunk under a live mapping never kills the program.
//!
//! Three files, dependencies pointing one way: this one (who answers SIGBUS: the mode, set once
//! before the first mapping, and the lazy install) -> `handler.rs` (the handler: recover or
//! chain) -> `registry.rs` (the mappings the handler knows, and their sticky loss state).
//! A guarded call marks its thread as reading its mapping (`grace.rs`); a fault in a registered
//! mapping is recovered when that mark names the mapping or the mapping has the raw guard. The
//! handler then maps zero pages over what is lost, the instruction runs again on zeros, and the
//! call, once done, sees the sticky state and returns TRUNCATED (or IO). Faults it does not own
//! go to the previous disposition, exactly as if the library were absent.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Once;

use super::error::{Error, Result};
use super::handler::install_handler;
use super::registry::page_size;

pub use super::handler::handle_sigbus;
pub use super::registry::registered_count;

/// Who answers SIGBUS: see [`set_sigbus_mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigbusMode {
    /// The library installs its handler at the first mapping (default).
    Install = 0,
    /// The host owns SIGBUS and calls [`handle_sigbus`] from its own handler.
    HostChains = 1,
    /// No handler at all: guarded operations use pread/pwrite and never touch the mapping.
    Off = 2,
}

static MODE: AtomicU32 = AtomicU32::new(SigbusMode::Install as u32);
/// Set once the mode can no longer change (a mapping was registered).
static MODE_FROZEN: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Chooses who answers SIGBUS. Only before the first mapping; afterwards only the same mode.
pub fn set_sigbus_mode(mode: SigbusMode) -> Result<()> {
    if MODE_FROZEN.load(Ordering::SeqCst) {
        if MODE.load(Ordering::SeqCst) == mode as u32 {
            return Ok(());
        }
        return Err(Error::InvalidArgument(
            "the SIGBUS mode can only be changed before the first mapping is opened".into(),
        ));
    }
    MODE.store(mode as u32, Ordering::SeqCst);
    Ok(())
}

pub fn sigbus_mode() -> SigbusMode {
    match MODE.load(Ordering::SeqCst) {
        0 => SigbusMode::Install,
        1 => SigbusMode::HostChains,
        _ => SigbusMode::Off,
    }
}

/// Freezes the mode (the environment variable `MAPFILE_SIGBUS=off|host` can set it for programs
/// that cannot call the function) and installs the handler if the mode asks for it.
/// Idempotent; `Mapping::open` calls it before any decision that depends on the mode.
pub fn prepare() {
    INSTALL.call_once(|| {
        page_size(); // before the handler can run: it must not call sysconf
        if let Ok(value) = std::env::var("MAPFILE_SIGBUS") {
            match value.as_str() {
                "off" => MODE.store(SigbusMode::Off as u32, Ordering::SeqCst),
                "host" => MODE.store(SigbusMode::HostChains as u32, Ordering::SeqCst),
                _ => {}
            }
        }
        MODE_FROZEN.store(true, Ordering::SeqCst);
        if sigbus_mode() == SigbusMode::Install && !install_handler() {
            // Without a handler we cannot guard: guarded operations use pread/pwrite instead.
            MODE.store(SigbusMode::Off as u32, Ordering::SeqCst);
        }
    });
}

/// True when guarded operations may touch the mapping (a handler, ours or the host's, recovers
/// from faults); false in `Off` mode, where they must use pread/pwrite.
pub fn faults_recoverable() -> bool {
    MODE.load(Ordering::Relaxed) != SigbusMode::Off as u32
}
