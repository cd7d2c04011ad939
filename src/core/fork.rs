//! What a fork does to the library's process-wide state. Only the forking thread lives on in
//! the child; everything another thread was doing at that instant stays frozen in the copy:
//! its grace mark (a guarded call under way, which every grace wait in the child would wait
//! for forever), a SIGBUS handler it was running (which closing a handle waits for), the
//! flusher thread (gone, its queue still full), a lock it held. pthread_atfork handlers,
//! registered once at the first open, put the child's state right before anything else runs
//! there (grace.rs, registry.rs, flush.rs each reset their own), and keep the flusher's queue
//! locked across the fork so that no other thread holds it then. Per-handle locks (a resize,
//! refresh or close under way in another thread) are not taken: a handle that another thread
//! was resizing at the fork stays unusable in the child, as any lock another thread held does.

use std::sync::Once;

use super::{flush, grace, registry};

/// Registers the fork handlers (once per process; they stay for its life: the library is
/// never unloaded, build.rs links it `-z nodelete`).
pub(super) fn prepare() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: three functions without arguments that live as long as the process. A
        // failure (ENOMEM) leaves forks as they were before this library handled them.
        unsafe {
            libc::pthread_atfork(Some(before), Some(in_parent), Some(in_child));
        }
    });
}

extern "C" fn before() {
    flush::before_fork();
}

extern "C" fn in_parent() {
    flush::after_fork_in_parent();
}

extern "C" fn in_child() {
    grace::after_fork_in_child();
    registry::after_fork_in_child();
    flush::after_fork_in_child();
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::{flush, registry};
    use crate::core::test_support::{exited_cleanly, in_a_child};

    /// A lock that another thread holds at the instant of a fork stays held forever in the
    /// child. The flusher's queue is taken by the forking thread before the fork (`before`), so
    /// the fork waits for a thread holding it, and the child can take it afterwards.
    #[test]
    fn a_fork_waits_for_the_flusher_queue_so_that_the_child_can_take_it() {
        super::prepare();
        let (held, is_held) = mpsc::channel();
        let holder = std::thread::spawn(move || {
            flush::tests::with_queue_locked(|| {
                held.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(300));
            })
        });
        is_held.recv().unwrap();
        let status = in_a_child(|| {
            flush::tests::with_queue_locked(|| {});
            true
        });
        holder.join().unwrap();
        assert!(
            exited_cleanly(status),
            "the child could not take the flusher's queue (wait status {status:#x})"
        );
    }

    /// A SIGBUS handler that another thread was running at the fork never finishes in the
    /// child: closing a handle there must not wait for it (`Registration`'s drop waits until no
    /// handler is counted).
    #[test]
    fn a_child_waits_for_no_sigbus_handler_of_a_thread_that_did_not_come_along() {
        super::prepare();
        let in_handler = &registry::REGISTRY.in_handler;
        in_handler.fetch_add(1, Ordering::SeqCst); // as the handler counts itself in
        let status = in_a_child(|| in_handler.load(Ordering::SeqCst) == 0);
        in_handler.fetch_sub(1, Ordering::SeqCst);
        assert!(
            exited_cleanly(status),
            "the child still counts a handler (wait status {status:#x})"
        );
    }

    /// A handle that the parent's flusher had taken out of its queue to flush when the process
    /// forked is flushed in the child too (by the child's own flusher).
    #[test]
    fn a_child_flushes_the_handle_the_flusher_was_flushing_at_the_fork() {
        super::prepare();
        let handle = flush::tests::counted();
        flush::tests::in_flight(Some(&handle));
        let status = in_a_child(|| {
            for _ in 0..2000 {
                if handle.flushes.load(Ordering::SeqCst) > 0 {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            false
        });
        flush::tests::in_flight(None);
        assert!(
            exited_cleanly(status),
            "the child did not flush it (wait status {status:#x})"
        );
    }
}
