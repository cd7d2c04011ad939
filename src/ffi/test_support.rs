//! Helpers of the unit tests that call the exports (compiled into the unit tests' build only).

use std::ffi::CString;
use std::path::PathBuf;

use super::lifecycle::mapfile_create;
use super::status::MAPFILE_OK;
use super::types::mapfile_t;

/// A new file of `size` bytes in the temporary directory (named after the test and this
/// process), created and mapped by mapfile_create; remove the path after mapfile_close.
pub(crate) fn created(name: &str, size: u64) -> (PathBuf, *mut mapfile_t) {
    let path = std::env::temp_dir().join(format!("mapfile-unit-{}-{name}", std::process::id()));
    let c_path = CString::new(path.to_str().unwrap()).unwrap();
    let mut m: *mut mapfile_t = std::ptr::null_mut();
    assert_eq!(mapfile_create(c_path.as_ptr(), size, &mut m), MAPFILE_OK);
    (path, m)
}
