//! The safe Rust core: mapping, flushing, the truncation guard, errors. No C types here.

pub mod error;
pub mod flush;
pub mod grace;
pub mod guard;
pub mod mapping;

pub use error::{Error, ErrorKind, Result};
pub use flush::FlushPolicy;
pub use guard::SigbusMode;
pub use mapping::{check_range, Advice, Disposition, Mapping, Mode, Options};
