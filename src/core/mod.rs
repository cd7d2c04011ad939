//! The safe Rust core: mapping, flushing, the truncation guard, errors. No C types here.
//! Files are listed from the bottom of the dependency order up; each uses only files above it
//! (see docs/ARCHITECTURE.md).

pub mod atomics;
pub mod error;
mod fallback;
mod file;
mod flush;
mod fork;
pub mod grace;
pub mod guard;
mod guarded;
mod handler;
pub mod mapping;
pub mod options;
mod region;
mod registry;
#[cfg(test)]
mod test_support;
mod thread_key;
mod view;
pub mod watch;

pub use atomics::{AtomicOp, AtomicWord};
pub use error::{check_range, Error, ErrorKind, Result};
pub use guard::SigbusMode;
pub use mapping::Mapping;
pub use options::{Advice, Disposition, FlushPolicy, Mode, Options};
pub use registry::page_size;
pub use thread_key::ThreadKey;
pub use watch::Changes;
