//! Helpers of the core's unit tests (compiled into the unit tests' build only).

/// Forks; the child runs `child` under a 5 s alarm (a child that hangs dies of SIGALRM) and
/// exits 0 when it answers true. Returns the child's wait status; see `exited_cleanly`.
pub(crate) fn in_a_child(child: impl FnOnce() -> bool) -> i32 {
    // SAFETY: the child runs `child` (which takes no lock another thread may hold, but the
    // library's own) and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: alarm and _exit take no pointers.
        unsafe {
            libc::alarm(5);
            libc::_exit(if child() { 0 } else { 1 });
        }
    }
    assert!(pid > 0, "fork failed");
    let mut status = 0;
    // SAFETY: a local status word.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    status
}

/// Whether a wait status from `in_a_child` says the child answered true.
pub(crate) fn exited_cleanly(status: i32) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}
