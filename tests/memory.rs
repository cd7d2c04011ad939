//! PERFORMANCE.md: "a handle costs at most a few hundred bytes of heap plus the mapping".
//! A counting global allocator measures the live heap bytes that open handles hold (its own test
//! binary, so nothing else allocates in between).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use mapfile::core::{Mapping, Mode, Options};

mod support;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(pointer, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn a_handle_costs_a_few_hundred_bytes_of_heap() {
    let path = support::scratch_dir("memory").join("f");
    std::fs::write(&path, vec![1u8; 8192]).unwrap();
    let options = Options::new(Mode::ReadOnly);
    // Warm up lazily allocated process-wide state (the guard's first registration).
    drop(Mapping::open(&path, &options).unwrap());
    const HANDLES: isize = 1000;
    let mut handles = Vec::with_capacity(HANDLES as usize);
    let before = LIVE.load(Ordering::SeqCst);
    for _ in 0..HANDLES {
        handles.push(Mapping::open(&path, &options).unwrap());
    }
    let per_handle = (LIVE.load(Ordering::SeqCst) - before) / HANDLES;
    let path_len = path.as_os_str().len() as isize;
    println!("heap per handle: {per_handle} bytes (path {path_len} bytes)");
    assert!(
        per_handle - path_len <= 512,
        "{per_handle} bytes per handle"
    );
    drop(handles);
    assert!(
        LIVE.load(Ordering::SeqCst) <= before,
        "closing every handle frees its heap"
    );
}
