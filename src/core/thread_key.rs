//! Per-thread values that must be cleaned up when their thread ends, kept under pthread keys
//! rather than in Rust thread-locals with destructors. glibc runs key destructors after the
//! thread-local ones, so a call into the library from another library's key destructor (a C
//! library's per-thread cleanup) still finds its state, and what such a call sets again is
//! cleaned up again (glibc repeats the destructors, up to PTHREAD_DESTRUCTOR_ITERATIONS rounds).
//! A Rust thread-local with a destructor touched at that point panics (its destructor ran) or
//! registers a destructor that never runs (a leak). Keys also take no thread-local storage
//! (the library's block is static TLS, grace.rs).

use std::ffi::c_void;
use std::ptr;
use std::sync::OnceLock;

/// One pthread key, created at first use, whose destructor gets each thread's non-null value.
pub struct ThreadKey {
    key: OnceLock<Option<libc::pthread_key_t>>,
    destructor: unsafe extern "C" fn(*mut c_void),
}

impl ThreadKey {
    pub const fn new(destructor: unsafe extern "C" fn(*mut c_void)) -> ThreadKey {
        ThreadKey {
            key: OnceLock::new(),
            destructor,
        }
    }

    /// The key (None: the process is out of keys, PTHREAD_KEYS_MAX).
    fn key(&self) -> Option<libc::pthread_key_t> {
        *self.key.get_or_init(|| {
            let mut key: libc::pthread_key_t = 0;
            // SAFETY: pthread_key_create writes the new key; the destructor is a plain function.
            (unsafe { libc::pthread_key_create(&mut key, Some(self.destructor)) } == 0)
                .then_some(key)
        })
    }

    /// This thread's value (null: none).
    pub fn get(&self) -> *mut c_void {
        match self.key() {
            // SAFETY: a key this process created.
            Some(key) => unsafe { libc::pthread_getspecific(key) },
            None => ptr::null_mut(),
        }
    }

    /// Sets this thread's value; false when it could not be kept (then nothing cleans it up).
    ///
    /// # Safety
    /// `value`, if not null, is what the destructor takes: it gets it when the thread ends.
    pub unsafe fn set(&self, value: *mut c_void) -> bool {
        // SAFETY: a key this process created.
        self.key()
            .is_some_and(|key| unsafe { libc::pthread_setspecific(key, value) } == 0)
    }
}
