//! Every conversion of a C value into a core value: enumerations (unknown values are
//! MAPFILE_ERR_INVALID_ARG, with the value in the message), the options struct, paths.

use std::ffi::{c_char, CStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::sigbus::{MAPFILE_SIGBUS_HOST_CHAINS, MAPFILE_SIGBUS_INSTALL, MAPFILE_SIGBUS_OFF};
use super::status::Failure;
use super::types::*;
use crate::core::{Advice, Disposition, Error, FlushPolicy, Mode, Options, SigbusMode};

/// Converts a C mode value (unknown values are INVALID_ARG).
pub fn mode_from_c(mode: u32) -> Result<Mode, Failure> {
    match mode {
        MAPFILE_MODE_READ_ONLY => Ok(Mode::ReadOnly),
        MAPFILE_MODE_READ_WRITE => Ok(Mode::ReadWrite),
        MAPFILE_MODE_COPY_ON_WRITE => Ok(Mode::CopyOnWrite),
        other => Err(Error::InvalidArgument(format!(
            "unknown mode {other} (expected a MAPFILE_MODE_* value)"
        ))
        .into()),
    }
}

/// Sets the options of the MAPFILE_FLAG_* bits `flags` (unknown bits are INVALID_ARG).
pub fn flags_from_c(flags: u32, options: &mut Options) -> Result<(), Failure> {
    if flags & !MAPFILE_FLAG_ALL != 0 {
        return Err(Error::InvalidArgument(format!(
            "unknown flag bits {:#x}",
            flags & !MAPFILE_FLAG_ALL
        ))
        .into());
    }
    options.populate = flags & MAPFILE_FLAG_POPULATE != 0;
    options.guard_raw = flags & MAPFILE_FLAG_GUARD_RAW != 0;
    options.huge_pages = flags & MAPFILE_FLAG_HUGE_PAGES != 0;
    Ok(())
}

/// Converts a C options struct into core options (all enumerated values are checked here).
pub fn options_from_c(c: &mapfile_options) -> Result<Options, Failure> {
    let invalid =
        |text: String| -> Result<Options, Failure> { Err(Error::InvalidArgument(text).into()) };
    if c.version != MAPFILE_OPTIONS_VERSION {
        return invalid(format!(
            "options version {} is not supported (expected {MAPFILE_OPTIONS_VERSION}); call mapfile_options_init",
            c.version
        ));
    }
    let mut options = Options::new(mode_from_c(c.mode)?);
    flags_from_c(c.flags, &mut options)?;
    options.disposition = match c.create {
        MAPFILE_CREATE_NEVER => Disposition::OpenExisting,
        MAPFILE_CREATE_NEW => Disposition::CreateNew,
        MAPFILE_CREATE_IF_MISSING => Disposition::OpenOrCreate,
        other => {
            return invalid(format!(
                "unknown create disposition {other} (expected a MAPFILE_CREATE_* value)"
            ))
        }
    };
    let every = c.flush_every;
    options.flush_policy =
        match (c.flush_policy, every) {
            (MAPFILE_FLUSH_MANUAL, _) => FlushPolicy::Manual,
            (MAPFILE_FLUSH_ALWAYS, _) => FlushPolicy::Always,
            (
                MAPFILE_FLUSH_EVERY_BYTES | MAPFILE_FLUSH_EVERY_WRITES | MAPFILE_FLUSH_EVERY_MILLIS,
                0,
            ) => return invalid(
                "flush policies EVERY_BYTES, EVERY_WRITES and EVERY_MILLIS need flush_every > 0"
                    .into(),
            ),
            (MAPFILE_FLUSH_EVERY_BYTES, n) => FlushPolicy::EveryBytes(n),
            (MAPFILE_FLUSH_EVERY_WRITES, n) => FlushPolicy::EveryWrites(n),
            (MAPFILE_FLUSH_EVERY_MILLIS, n) => FlushPolicy::EveryMillis(n),
            (other, _) => {
                return invalid(format!(
                    "unknown flush policy {other} (expected a MAPFILE_FLUSH_* value)"
                ))
            }
        };
    if c.max_len != 0 {
        if c.len != 0 && c.max_len < c.len {
            return invalid(format!(
                "max_len {} is smaller than len {}",
                c.max_len, c.len
            ));
        }
        options.max_len = c.max_len;
    }
    options.offset = c.offset;
    options.len = c.len;
    options.create_size = c.create_size;
    Ok(options)
}

/// # Safety
/// `path` is NULL-checked by the caller and NUL-terminated.
pub unsafe fn path_from_c<'a>(path: *const c_char) -> &'a Path {
    // SAFETY: per the contract.
    Path::new(std::ffi::OsStr::from_bytes(
        unsafe { CStr::from_ptr(path) }.to_bytes(),
    ))
}

/// Converts a C advice value.
pub fn advice_from_c(advice: u32) -> Result<Advice, Failure> {
    Ok(match advice {
        MAPFILE_ADVICE_NORMAL => Advice::Normal,
        MAPFILE_ADVICE_RANDOM => Advice::Random,
        MAPFILE_ADVICE_SEQUENTIAL => Advice::Sequential,
        MAPFILE_ADVICE_WILL_NEED => Advice::WillNeed,
        MAPFILE_ADVICE_DONT_NEED => Advice::DontNeed,
        MAPFILE_ADVICE_HUGE_PAGE => Advice::HugePage,
        MAPFILE_ADVICE_NO_HUGE_PAGE => Advice::NoHugePage,
        other => {
            return Err(Error::InvalidArgument(format!(
                "unknown advice {other} (expected a MAPFILE_ADVICE_* value)"
            ))
            .into())
        }
    })
}

/// Converts a C SIGBUS mode value.
pub fn sigbus_mode_from_c(mode: u32) -> Result<SigbusMode, Failure> {
    match mode {
        MAPFILE_SIGBUS_INSTALL => Ok(SigbusMode::Install),
        MAPFILE_SIGBUS_HOST_CHAINS => Ok(SigbusMode::HostChains),
        MAPFILE_SIGBUS_OFF => Ok(SigbusMode::Off),
        other => Err(Error::InvalidArgument(format!("unknown SIGBUS mode {other}")).into()),
    }
}
