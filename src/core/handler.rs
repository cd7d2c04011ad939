//! The SIGBUS handler: recovers faults on truncated pages of this library's mappings (zero
//! pages over what is lost, the sticky loss recorded in the registry entry) and hands every
//! other SIGBUS on exactly as the kernel would have delivered it to the previous disposition.
//!
//! Everything reachable from the handler is async-signal-safe: atomics, `fstat`, `mmap`,
//! `process_vm_readv`, `sigaction`, `raise`, and `grace::reading_mapping`, which finds the
//! thread's mark in static TLS on x86_64 glibc (initial-exec: the thread pointer plus a fixed
//! offset) and by its thread pointer in static memory on aarch64 Linux, so nothing is allocated
//! lazily even when the library was dlopen'ed; elsewhere a const thread-local without
//! destructor, read only after the fault was found in one of this library's mappings without
//! the raw guard, by which time a thread that made a guarded call has its block).

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use super::grace;
use super::registry::{
    page_size, Entry, Registry, CAUSE_IO, CAUSE_NONE, CAUSE_TRUNCATED, REGISTRY, SLOTS,
};

/// The disposition that was in place before ours: written once inside `INSTALL`, before our
/// handler can run, and only read afterwards.
struct Previous(std::cell::UnsafeCell<MaybeUninit<libc::sigaction>>);
// SAFETY: written exactly once, before the handler that reads it is installed (sigaction is a
// full barrier for the signal path); never written again.
unsafe impl Sync for Previous {}
static PREVIOUS: Previous = Previous(std::cell::UnsafeCell::new(MaybeUninit::zeroed()));
/// The previous handler had SA_RESETHAND and has run once: from then on it counts as SIG_DFL
/// (what the kernel would have made of it), while the library's own handler stays installed.
static PREVIOUS_RESET: AtomicBool = AtomicBool::new(false);

/// Installs the library's handler and saves the previous disposition. False when sigaction
/// refused (the caller then switches guarded calls to pread/pwrite).
pub(super) fn install_handler() -> bool {
    // SAFETY: a zeroed sigaction is a valid value; we fill in handler, flags and an empty mask.
    // PREVIOUS is written here, once, before the new handler is in place (see `Previous`).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        let previous = (*PREVIOUS.0.get()).as_mut_ptr();
        libc::sigaction(libc::SIGBUS, &action, previous) == 0
    }
}

/// The library's SIGBUS handler.
extern "C" fn on_sigbus(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: errno is thread-local; reading and restoring it is what a handler must do.
    let saved_errno = unsafe { *libc::__errno_location() };
    // SAFETY: `info` comes from the kernel (or a sigqueue caller) for an SA_SIGINFO handler.
    let handled = unsafe { handle_sigbus(info) };
    if !handled {
        // SAFETY: chaining calls the disposition that was installed before ours.
        unsafe { chain(signal, info, context) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved_errno };
}

/// Recovers a SIGBUS caused by truncation of one of this library's mappings, if this thread is
/// inside a guarded operation on it or the mapping has the raw guard. Returns true when recovered
/// (return from the handler: the instruction runs again on zeros), false when the signal is not
/// ours (chain to the previous handler). Async-signal-safe; hosts call it from their own handler.
///
/// # Safety
/// `info` must be null or point to a valid `siginfo_t` for a SIGBUS.
pub unsafe fn handle_sigbus(info: *const libc::siginfo_t) -> bool {
    if info.is_null() {
        return false;
    }
    // SAFETY: valid per the caller's contract.
    let (code, address) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    // Sent signals (si_code <= 0), misalignment, hardware poison: never ours.
    if code != libc::BUS_ADRERR {
        return false;
    }
    let registry = &REGISTRY;
    registry.in_handler.fetch_add(1, Ordering::SeqCst);
    let handled = recover(registry, address);
    registry.in_handler.fetch_sub(1, Ordering::SeqCst);
    handled
}

fn recover(registry: &Registry, address: usize) -> bool {
    let high_water = registry.high_water.load(Ordering::SeqCst);
    let Some(entry) = registry.slots[..high_water.min(SLOTS)]
        .iter()
        .map(|slot| slot.load(Ordering::SeqCst))
        .filter(|entry| !entry.is_null())
        // SAFETY: a published entry stays alive while `in_handler` is non-zero (see Drop).
        .map(|entry| unsafe { &*entry })
        .find(|entry| entry.start <= address && address < entry.end)
    else {
        return false;
    };
    // Raw guard first: it needs no mark at all.
    if !entry.raw_guard && grace::reading_mapping() != entry.owner {
        return false;
    }
    // Only a real fault is acted on: a SIGBUS forged with a fault's si_code (sigqueue to itself)
    // at an intact page must not replace file pages with anonymous memory.
    if !address_faults(address) {
        return false;
    }
    let page = page_size();
    let fault_page = address & !(page - 1);
    // SAFETY: zeroed stat is valid; fstat writes it. fstat is async-signal-safe.
    let mut status: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the fd stays open while the entry is registered.
    let file_size = if unsafe { libc::fstat(entry.fd, &mut status) } == 0 {
        status.st_size.max(0) as u64
    } else {
        u64::MAX
    };
    let (cause, lost_from, mut zero_from, zero_to) = lost_range(
        entry.start,
        entry.end,
        entry.file_offset,
        page,
        fault_page,
        file_size,
        entry.own_end.load(Ordering::Acquire),
    );
    // The loss is recorded (and the mapping alerted) BEFORE zeros go in: a call in another
    // thread that reads those zeros looks at the loss state after its access, so it must find
    // the loss there.
    record_loss(entry, cause, lost_from);
    if !zero_pages(entry, zero_from, zero_to) {
        // Out of mappings (vm.max_map_count): the kernel refuses every new mapping. Unmapping
        // the whole registered range frees one, and zeros go back in its place, at the price of
        // every byte of it: all of it counts as lost (calls answer TRUNCATED until a refresh
        // maps the file again).
        record_loss(entry, CAUSE_TRUNCATED, entry.file_offset);
        if !replace_with_zeros(entry) {
            return false;
        }
        zero_from = entry.start;
    }
    let zeroed_file_offset = entry.file_offset + (zero_from - entry.start) as u64;
    entry
        .zeroed_from
        .fetch_min(zeroed_file_offset, Ordering::AcqRel);
    true
}

/// Records that the file's bytes from `lost_from` are gone (`cause`; CAUSE_NONE: past the
/// handle's own end, zeros but not a loss, nothing to record), then sets the owning mapping's
/// SLOW flag: its guarded fast path takes the full path from now on, and a call that was inside
/// its access sees the flag when it looks again after it.
fn record_loss(entry: &Entry, cause: u32, lost_from: u64) {
    if cause == CAUSE_NONE {
        return;
    }
    // First cause wins; later faults never move the first lost offset.
    if entry
        .cause
        .compare_exchange(CAUSE_NONE, cause, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        entry.lost_from.store(lost_from, Ordering::Release);
    } else {
        entry.lost_from.fetch_min(lost_from, Ordering::AcqRel);
    }
    let alert = entry.alert.load(Ordering::Acquire);
    if !alert.is_null() {
        // SAFETY: the word is the owning mapping's, which outlives this entry's registration
        // (and we are counted in `in_handler`, which unregistration drains).
        unsafe { &*alert }.fetch_or(grace::SEQUENCE_SLOW, Ordering::Release);
    }
}

/// Maps anonymous zero pages (the mapping's protection) over `[from, to)` of `entry`.
fn zero_pages(entry: &Entry, from: usize, to: usize) -> bool {
    // SAFETY: [from, to) lies inside this registered mapping (which cannot be unmapped while we
    // are counted in `in_handler`); MAP_FIXED replaces exactly those pages.
    let remapped = unsafe {
        libc::mmap(
            from as *mut libc::c_void,
            to - from,
            entry.prot,
            libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    remapped != libc::MAP_FAILED
}

/// Unmaps all of `entry` and maps zero pages at the same place. MAP_FIXED_NOREPLACE: should
/// another thread map something into the hole meanwhile, it fails rather than overwrite it.
fn replace_with_zeros(entry: &Entry) -> bool {
    let len = entry.end - entry.start;
    // SAFETY: the range is this registered mapping's own, which nobody else uses; the fault
    // repeats on return only if the zeros are in place again (else the caller chains).
    unsafe {
        if libc::munmap(entry.start as *mut libc::c_void, len) != 0 {
            return false;
        }
        let placed = libc::mmap(
            entry.start as *mut libc::c_void,
            len,
            entry.prot,
            libc::MAP_FIXED_NOREPLACE | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if placed != libc::MAP_FAILED && placed as usize != entry.start {
            libc::munmap(placed, len); // a kernel that took the flag as a hint
            return false;
        }
        placed != libc::MAP_FAILED
    }
}

/// Which pages a fault at `fault_page` loses, for a mapping of `[start, end)` at `file_offset`
/// over a file of `file_size` bytes whose handle claims bytes up to `own_end`:
/// (cause, first lost file offset, first and last+1 address to replace with zeros). A page past
/// the end of the file is a truncation: everything from the first page past the end goes. A page
/// inside the file is an I/O error: that page goes. Past `own_end` (the handle's own shrink)
/// the pages are replaced all the same, but the cause is CAUSE_NONE: nothing the handle claims
/// is lost. Pure: unit-tested below.
fn lost_range(
    start: usize,
    end: usize,
    file_offset: u64,
    page: usize,
    fault_page: usize,
    file_size: u64,
    own_end: u64,
) -> (u32, u64, usize, usize) {
    let fault_file_offset = file_offset + (fault_page - start) as u64;
    if fault_file_offset >= file_size {
        let kept = file_size.saturating_sub(file_offset);
        let kept_pages_end = (kept.div_ceil(page as u64) * page as u64).min((end - start) as u64);
        let cause = if file_size < own_end {
            CAUSE_TRUNCATED
        } else {
            CAUSE_NONE
        };
        (
            cause,
            file_size.max(file_offset),
            start + kept_pages_end as usize,
            end,
        )
    } else {
        (CAUSE_IO, fault_file_offset, fault_page, fault_page + page)
    }
}

/// True when reading the byte at `address` faults, i.e. a SIGBUS there is a real fault and not a
/// signal sent by someone with a fault's si_code. process_vm_readv reads through the kernel's
/// fault path without raising a signal: it fails with EFAULT exactly when the access would fault.
/// Async-signal-safe (one system call); errno is restored by the caller.
fn address_faults(address: usize) -> bool {
    let mut byte = 0u8;
    let local = libc::iovec {
        iov_base: (&mut byte as *mut u8).cast(),
        iov_len: 1,
    };
    let remote = libc::iovec {
        iov_base: address as *mut libc::c_void,
        iov_len: 1,
    };
    // SAFETY: reads one byte of this process into a local; no memory is written but `byte`.
    let read = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    // SAFETY: errno is this thread's own variable.
    read != 1 && unsafe { *libc::__errno_location() } == libc::EFAULT
}

/// Hands a signal we do not own to the disposition that was in place before ours.
///
/// # Safety
/// Called only from the SIGBUS handler with its arguments.
unsafe fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: PREVIOUS was written before our handler was installed and never changes.
    let previous = unsafe { (*PREVIOUS.0.get()).assume_init_ref() };
    let handler = if PREVIOUS_RESET.load(Ordering::SeqCst) {
        libc::SIG_DFL
    } else {
        previous.sa_sigaction
    };
    // A signal sent with kill/raise/sigqueue (si_code <= 0, or a fault's code at an address that
    // does not fault): no instruction will fault again, so the default action must be raised.
    // SAFETY: `info` is valid for this signal.
    let sent = info.is_null()
        || unsafe { (*info).si_code } <= 0
        || !address_faults(unsafe { (*info).si_addr() } as usize);
    match handler {
        libc::SIG_DFL => {
            reset_to_default(signal);
            if sent {
                // Blocked while we run: delivered, with the default action, when we return.
                // SAFETY: raise is async-signal-safe.
                unsafe { libc::raise(signal) };
            }
            // A fault repeats on return and now kills the process, exactly as without us.
        }
        libc::SIG_IGN => {
            if !sent {
                // An ignored hardware fault would spin forever; the kernel's answer is death.
                reset_to_default(signal);
            }
        }
        // SAFETY: the program installed this handler for SIGBUS with these flags and mask.
        _ => unsafe { call_as_the_kernel_would(previous, signal, info, context) },
    }
}

/// Calls the program's previous handler the way the kernel delivers to it: with its `sa_mask`
/// blocked on top of the mask at the fault (and the signal itself unless SA_NODEFER), reset to
/// SIG_DFL first if SA_RESETHAND, with `siginfo` only for SA_SIGINFO handlers. The mask is
/// restored when it returns (a handler that siglongjmps restores its own).
///
/// # Safety
/// `previous` is the disposition saved at install time and holds a handler function.
unsafe fn call_as_the_kernel_would(
    previous: &libc::sigaction,
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: sigset operations on locals; the context, when given, is the kernel's ucontext
    // for this delivery; pthread_sigmask is async-signal-safe in glibc.
    unsafe {
        let mut mask: libc::sigset_t = std::mem::zeroed();
        if context.is_null() {
            libc::pthread_sigmask(libc::SIG_SETMASK, ptr::null(), &mut mask);
        } else {
            mask = (*context.cast::<libc::ucontext_t>()).uc_sigmask;
        }
        for other in 1..libc::SIGRTMAX() {
            if libc::sigismember(&previous.sa_mask, other) == 1 {
                libc::sigaddset(&mut mask, other);
            }
        }
        if previous.sa_flags & libc::SA_NODEFER == 0 {
            libc::sigaddset(&mut mask, signal);
        } else {
            libc::sigdelset(&mut mask, signal);
        }
        if previous.sa_flags & libc::SA_RESETHAND != 0 {
            PREVIOUS_RESET.store(true, Ordering::SeqCst);
        }
        let mut saved: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_SETMASK, &mask, &mut saved);
        if previous.sa_flags & libc::SA_SIGINFO != 0 {
            let function: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(previous.sa_sigaction);
            function(signal, info, context);
        } else {
            let function: extern "C" fn(libc::c_int) = std::mem::transmute(previous.sa_sigaction);
            function(signal);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &saved, ptr::null_mut());
    }
}

fn reset_to_default(signal: libc::c_int) {
    // SAFETY: a zeroed sigaction with SIG_DFL (0) is valid; sigaction is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(signal, &action, ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_range_of_truncation_io_and_own_shrink() {
        let (start, page) = (0x10000usize, 4096usize);
        let end = start + 8 * page;
        // File cut to 5000 bytes under a mapping at file offset 0: pages from 8192 are zeroed.
        assert_eq!(
            lost_range(start, end, 0, page, start + 3 * page, 5000, 8 * 4096),
            (CAUSE_TRUNCATED, 5000, start + 2 * page, end)
        );
        // A mapping at file offset 8192 over a file of 5000: everything is lost, from the start.
        assert_eq!(
            lost_range(start, end, 8192, page, start, 5000, 8192 + 4096),
            (CAUSE_TRUNCATED, 8192, start, end)
        );
        // A fault on a page inside the file: an I/O error on that page only.
        assert_eq!(
            lost_range(start, end, 0, page, start + page, 5000, 5000),
            (CAUSE_IO, 4096, start + page, start + 2 * page)
        );
        // The handle itself shrank to 5000 bytes: zeros past it, but nothing it claims is lost.
        assert_eq!(
            lost_range(start, end, 0, page, start + 4 * page, 5000, 5000),
            (CAUSE_NONE, 5000, start + 2 * page, end)
        );
    }

    /// A readable address does not fault; a PROT_NONE one does (what tells forged from real).
    #[test]
    fn address_faults_only_where_an_access_would() {
        let page = page_size();
        // SAFETY: a fresh anonymous mapping of two pages, the second made inaccessible.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        // SAFETY: the second page of our own mapping.
        let protected =
            unsafe { libc::mprotect(base.cast::<u8>().add(page).cast(), page, libc::PROT_NONE) };
        assert_eq!(protected, 0);
        assert!(!address_faults(base as usize));
        assert!(address_faults(base as usize + page));
        // SAFETY: unmapping what we mapped.
        unsafe { libc::munmap(base, 2 * page) };
    }
}
