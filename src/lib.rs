//! mapfile: memory-mapped files for C and every language that can call C.
//!
//! * [`core`]: the safe Rust mapping core on memmap2 (window mapping, guarded access, flush,
//!   resize/refresh, and the truncation guard: a SIGBUS handler plus a registry of mappings).
//! * [`ffi`]: the C ABI (`mapfile_*` functions over an opaque `mapfile_t`), from which cbindgen
//!   generates `include/mapfile.h`.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod core;
pub mod ffi;
