//! Helpers of the unit tests that call the exports (compiled into the unit tests' build only).

use std::ffi::CString;
use std::path::PathBuf;

use super::access::mapfile_count_byte;
use super::atomics::mapfile_atomic_u64_load;
use super::lifecycle::{mapfile_close, mapfile_create};
use super::status::{MAPFILE_ERR_TRUNCATED, MAPFILE_OK};
use super::types::mapfile_t;
use crate::core::mapping::test_hooks;

/// A new file of `size` bytes in the temporary directory (named after the test and this
/// process), created and mapped by mapfile_create; remove the path after mapfile_close.
pub(crate) fn created(name: &str, size: u64) -> (PathBuf, *mut mapfile_t) {
    let path = std::env::temp_dir().join(format!("mapfile-unit-{}-{name}", std::process::id()));
    let c_path = CString::new(path.to_str().unwrap()).unwrap();
    let mut m: *mut mapfile_t = std::ptr::null_mut();
    assert_eq!(mapfile_create(c_path.as_ptr(), size, &mut m), MAPFILE_OK);
    (path, m)
}

pub(crate) const PAGE: u64 = 4096;

/// Runs `call` on a new 3-page file with a fast path ready in this thread; between its access
/// and its second look, another "process" truncates the file to one page and a guarded call
/// records the loss (the SLOW flag the second look then finds). Returns the call's status, and
/// the u64 at window offset 0 after it.
pub(crate) fn truncated_during_a_fast_call(
    name: &str,
    call: impl FnOnce(*mut mapfile_t) -> i32,
) -> (i32, u64) {
    let (path, m) = created(name, 3 * PAGE);
    let mut value = 0;
    // The thread's first call takes the full path; the next ones may take the fast path.
    assert_eq!(mapfile_atomic_u64_load(m, 0, &mut value), MAPFILE_OK);
    let (address, truncated) = (m as usize, path.clone());
    test_hooks::between_access_and_second_look(move || {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&truncated)
            .unwrap();
        file.set_len(PAGE).unwrap();
        let mut count = 0;
        let status = mapfile_count_byte(address as *mut mapfile_t, 2 * PAGE, 1, 0, &mut count);
        assert_eq!(status, MAPFILE_ERR_TRUNCATED);
    });
    let status = call(m);
    assert!(
        !test_hooks::hook_pending(),
        "the call did not take the fast path"
    );
    assert_eq!(mapfile_atomic_u64_load(m, 0, &mut value), MAPFILE_OK);
    assert_eq!(mapfile_close(m), MAPFILE_OK);
    std::fs::remove_file(&path).unwrap();
    (status, value)
}
