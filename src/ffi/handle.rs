//! The opaque `mapfile_t` pointer is `Arc::into_raw(Arc<Mapping>)`.

use std::sync::Arc;

use super::types::mapfile_t;
use crate::core::Mapping;

pub fn into_handle(mapping: Arc<Mapping>) -> *mut mapfile_t {
    Arc::into_raw(mapping) as *mut mapfile_t
}

/// Borrows the mapping behind a handle (None for NULL).
///
/// # Safety
/// `handle` is NULL or a live handle from `into_handle` not yet passed to `mapfile_close`.
pub unsafe fn borrow<'a>(handle: *const mapfile_t) -> Option<&'a Mapping> {
    // SAFETY: per the contract, a non-null handle points to a live `Mapping` inside an Arc.
    unsafe { (handle as *const Mapping).as_ref() }
}

/// Takes back ownership of a handle (None for NULL).
///
/// # Safety
/// As for `borrow`; the handle must not be used afterwards.
pub unsafe fn take(handle: *mut mapfile_t) -> Option<Arc<Mapping>> {
    if handle.is_null() {
        return None;
    }
    // SAFETY: per the contract, the pointer came from `Arc::into_raw` and is released once.
    Some(unsafe { Arc::from_raw(handle as *const Mapping) })
}
