//! The C ABI. Every exported function is a few lines: check pointers, convert integers, run the
//! core call inside `boundary` (panics become MAPFILE_ERR_INTERNAL), report the status.
//! One file per API area, as the header groups them.

#![allow(non_camel_case_types)]
// Exported functions take raw pointers from C by design; their validity is the documented C
// contract (NULL is checked, everything else cannot be), so they are safe `extern "C"` fns.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

// Declared in the header's (the manual's) order: cbindgen emits items in this order.
pub mod status;
pub mod types;
pub mod lifecycle;
pub mod access;
pub mod durability;
pub mod size;
pub mod atomics;
pub mod sigbus;

pub mod boundary;
pub mod convert;
pub mod handle;
#[cfg(test)]
mod test_support;
