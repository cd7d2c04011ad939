//! Tests of what C programs cannot observe: the panic boundary, flush-policy bookkeeping, and
//! how many mappings growth costs.

use std::io::Write;
use std::path::PathBuf;

use mapfile::core::{Disposition, FlushPolicy, Mapping, Mode, Options};
use mapfile::ffi::boundary::{boundary, with_mapping};
use mapfile::ffi::status::{mapfile_last_error_message, MAPFILE_ERR_INTERNAL, MAPFILE_OK};

mod support;

fn scratch_file(name: &str) -> PathBuf {
    support::scratch_dir("core").join(name)
}

fn last_message() -> String {
    // SAFETY: the library returns a valid NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(mapfile_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

/// A new READ_WRITE file of 4 KiB mapped with `policy`.
fn created_with_policy(name: &str, policy: FlushPolicy) -> std::sync::Arc<Mapping> {
    let mut options = Options::new(Mode::ReadWrite);
    options.disposition = Disposition::CreateNew;
    options.create_size = 4096;
    options.flush_policy = policy;
    Mapping::open(&scratch_file(name), &options).unwrap()
}

/// API.md 8: a Rust panic never crosses the boundary: the call returns MAPFILE_ERR_INTERNAL.
#[test]
fn a_panic_never_crosses_the_boundary() {
    let status = boundary(|| "mapfile_test", || panic!("deliberate test panic"));
    assert_eq!(status, MAPFILE_ERR_INTERNAL);
    assert!(
        last_message().contains("deliberate test panic"),
        "{}",
        last_message()
    );
}

/// A panic inside a call on a handle poisons it: later calls fail INTERNAL instead of running on
/// a mapping in an unknown state.
#[test]
fn a_panic_poisons_its_handle() {
    let path = scratch_file("poison");
    std::fs::write(&path, b"some bytes").unwrap();
    let mapping = Mapping::open(&path, &Options::new(Mode::ReadOnly)).unwrap();
    let mut bytes = [0u8; 8];
    mapping.read(0, &mut bytes).unwrap(); // the full path sets up this thread's mark
                                          // SAFETY (both): `bytes` holds 8 bytes.
    let fast_read = |bytes: &mut [u8; 8]| unsafe { mapping.read_fast(0, bytes.as_mut_ptr(), 8) };
    assert!(
        fast_read(&mut bytes),
        "the fast path declined a healthy handle"
    );
    assert_eq!(
        with_mapping(|| "first", Some(&mapping), |_| Ok(())),
        MAPFILE_OK
    );
    assert_eq!(
        with_mapping(|| "second", Some(&mapping), |_| panic!("inside")),
        MAPFILE_ERR_INTERNAL
    );
    assert_eq!(
        with_mapping(|| "third", Some(&mapping), |_| Ok(())),
        MAPFILE_ERR_INTERNAL
    );
    assert!(last_message().contains("unusable"), "{}", last_message());
    // The exports try the fast path before the poison check: it must step aside.
    assert!(
        !fast_read(&mut bytes),
        "the fast path served a poisoned handle"
    );
}

#[test]
fn every_writes_policy_flushes_after_n_writes() {
    let mapping = created_with_policy("policy", FlushPolicy::EveryWrites(3));
    mapping.write(0, b"a").unwrap();
    mapping.write(1, b"b").unwrap();
    assert_eq!(mapping.pending_writes(), 2);
    mapping.write(2, b"c").unwrap();
    assert_eq!(mapping.pending_writes(), 0, "the third write flushed");
    mapping.write(3, b"d").unwrap();
    assert_eq!(mapping.pending_writes(), 1);
    mapping.flush().unwrap();
    assert_eq!(mapping.pending_writes(), 0);
}

#[test]
fn every_bytes_policy_flushes_after_n_bytes() {
    let mapping = created_with_policy("policy-bytes", FlushPolicy::EveryBytes(100));
    mapping.write(0, &[1u8; 60]).unwrap();
    assert_eq!(mapping.pending_writes(), 1);
    mapping.write(60, &[1u8; 60]).unwrap();
    assert_eq!(mapping.pending_writes(), 0, "120 bytes >= 100 flushed");
}

/// Following a log that grows by small appends maps O(log size) regions, not one per refresh.
#[test]
fn following_a_growing_file_costs_logarithmic_mappings() {
    let path = scratch_file("growing-log");
    std::fs::write(&path, b"start\n").unwrap();
    let mapping = Mapping::open(&path, &Options::new(Mode::ReadOnly)).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    for i in 0..2000 {
        writeln!(file, "appended line number {i:05}").unwrap();
        mapping.refresh().unwrap();
        assert_eq!(mapping.len(), std::fs::metadata(&path).unwrap().len());
    }
    assert_eq!(mapping.count_byte(0, mapping.len(), b'\n').unwrap(), 2001);
    assert!(
        mapping.region_count() <= 16,
        "{} regions for 2000 refreshes",
        mapping.region_count()
    );
}

/// Writes through a pointer from slice_mut are invisible to the library: once one was handed out,
/// the mapping counts as written for good (close and the background flusher flush it).
#[test]
fn a_writable_pointer_keeps_the_mapping_flushed_on_close() {
    let mapping = created_with_policy("pointer", FlushPolicy::Manual);
    assert!(!mapping.was_written());
    let pointer = mapping.slice_mut(0, 10).unwrap();
    // SAFETY: 10 writable bytes of the mapping.
    unsafe { pointer.write(b'p') };
    mapping.flush().unwrap();
    assert!(mapping.was_written(), "the pointer can still write");
    let plain = created_with_policy("plain-write", FlushPolicy::Manual);
    plain.write(0, b"x").unwrap();
    assert!(plain.was_written());
    plain.flush().unwrap();
    assert!(!plain.was_written(), "a guarded write is flushed and done");
}
