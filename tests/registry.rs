//! The truncation-guard registry releases every slot when handles close (its own test binary,
//! because the registry is process-wide and other tests would open mappings in parallel).

use mapfile::core::guard::registered_count;
use mapfile::core::{Mapping, Mode, Options};

mod support;

#[test]
fn closing_handles_releases_their_registry_slots() {
    let path = support::scratch_dir("registry").join("file");
    std::fs::write(&path, vec![7u8; 100_000]).unwrap();
    let before = registered_count();
    let mut handles = Vec::new();
    for _ in 0..500 {
        handles.push(Mapping::open(&path, &Options::new(Mode::ReadWrite)).unwrap());
    }
    for (i, handle) in handles.iter().enumerate() {
        handle.resize(200_000 + i as u64).unwrap(); // a second region for each
    }
    assert!(registered_count() >= before + 1000);
    drop(handles);
    assert_eq!(registered_count(), before);
}
