//! Grace periods: a writer that changes a mapping's window (resize, refresh) waits until every
//! guarded operation that may still be using an older view of it has finished. Only then may it
//! cut the file or repair pages, so a guarded call always runs entirely before or entirely after
//! each change (API.md 6), and the handle's own shrink never makes a call fault.
//!
//! Readers pay no shared write: each thread has a `Mark` (registered once, in a global table)
//! where a guarded operation stores the view sequence word it started from (which names the
//! mapping too: its id is in the word's top bits), and clears it at the end. The writer
//! publishes the new view, issues a process-wide memory barrier (`membarrier`, so readers need
//! only compiler fences; a full fence on both sides where the kernel lacks it), then waits until
//! no mark names the mapping with an older sequence. This is the userspace-RCU scheme, scoped to
//! one mapping. The sequence word's layout is defined here (`SEQUENCE_*`).

use std::cell::{Cell, UnsafeCell};
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{
    compiler_fence, fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8,
};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::thread_key::ThreadKey;

/// How many threads can hold a mark at once; more fall back to a shared counter.
const MARKS: usize = 4096;

// The view sequence word (view.rs `Seqlock`), one u64 that guarded calls read before and after
// their access and store in their mark: from the top, the mapping's id (24 bits), the publish
// count (36 bits), and four flags.
/// A publish is under way (the seqlock's own: readers of `Seqlock::read` retry).
pub(crate) const SEQUENCE_WRITING: u64 = 1 << 0;
/// Guarded calls take their full path: something in the window is lost or zeroed (the SIGBUS
/// handler sets it after it recorded a loss), the handle is poisoned, or it has no mapping
/// route. Every publish recomputes it; the fast path needs it clear before and after its access.
pub(crate) const SEQUENCE_SLOW: u64 = 1 << 1;
/// Guarded writes (not reads) take their full path: set at creation when a write needs more
/// than the fast path does (a flush policy that counts writes, memory that is not writable).
pub(crate) const SEQUENCE_FULL_WRITES: u64 = 1 << 2;
/// Nothing was written since the last whole-window flush (flush.rs keeps it; only for handles
/// whose writes reach the file): a write must then mark the handle dirty, which is the full
/// path's, so the fast path declines a write that finds it set before or after its access.
pub(crate) const SEQUENCE_CLEAN: u64 = 1 << 3;
/// The low bits of a view sequence word that are flags, not part of the count.
pub(crate) const SEQUENCE_FLAG_BITS: u32 = 4;
const _: () = assert!(
    (SEQUENCE_WRITING | SEQUENCE_SLOW | SEQUENCE_FULL_WRITES | SEQUENCE_CLEAN)
        >> SEQUENCE_FLAG_BITS
        == 0
);
/// Where a view sequence word keeps its mapping's id: the bits above the publish count. The
/// count (36 bits) wraps within its bits (`view::Seqlock::publish` never carries into the id),
/// and counts are compared modulo its size (`older`): a reader is never billions of publishes
/// behind.
const SEQUENCE_ID_SHIFT: u32 = 40;
/// The id bits of a view sequence word.
pub(crate) const SEQUENCE_ID_BITS: u64 = !((1 << SEQUENCE_ID_SHIFT) - 1);
/// How many publish counts there are before the count wraps.
const COUNTS: u64 = 1 << (SEQUENCE_ID_SHIFT - SEQUENCE_FLAG_BITS);
/// Mapping ids are what fits there; they wrap. Two live mappings sharing an id cost at most a
/// wait for a guarded call of the other (a grace period), or a fault in one met as guarded
/// while this thread is inside a guarded call on the other: both harmless.
pub(crate) const MAPPING_IDS: usize = 1 << (64 - SEQUENCE_ID_SHIFT);

/// The first sequence word of mapping `id` (1 ..= MAPPING_IDS - 1), flags `flags`.
pub(crate) fn first_sequence(id: usize, flags: u64) -> u64 {
    debug_assert!(id != 0 && id < MAPPING_IDS && flags >> SEQUENCE_FLAG_BITS == 0);
    (id as u64) << SEQUENCE_ID_SHIFT | flags
}

/// The mapping a sequence word belongs to.
fn mapping_of(word: u64) -> usize {
    (word >> SEQUENCE_ID_SHIFT) as usize
}

/// Whether view sequence word `word` comes from an earlier publish than `than` (of the same
/// mapping): fewer publishes, modulo the count's wrap.
fn older(word: u64, than: u64) -> bool {
    let count = |word: u64| (word & !SEQUENCE_ID_BITS) >> SEQUENCE_FLAG_BITS;
    let behind = count(than).wrapping_sub(count(word)) % COUNTS;
    behind != 0 && behind < COUNTS / 2
}

/// One thread's reader state. Never freed: a thread that ends hands it back for reuse.
pub struct Mark {
    /// The view sequence word the guarded operation started from (its mapping's id included);
    /// 0: not inside a guarded operation.
    word: AtomicU64,
    /// Taken by a live thread.
    owned: AtomicBool,
    /// Whether SIGBUS was blocked when this thread's signal mask was last looked at
    /// (`SIGBUS_BLOCKED`), whether readers need real fences (`NEEDS_FENCES`), and while either
    /// is set, the calls until the next look (low bits). Written by the owner only.
    mask_check: AtomicU32,
    /// Calls the fast path (`enter`) may make before the mask is looked at again: one
    /// subtraction a call, and a borrow sends the call to `read`, which looks and refills it.
    /// Kept at 0 while a flag of `mask_check` is set, so the fast path always steps aside then.
    /// Read and written by the owner only (a plain integer). Unused where the count lives in
    /// the thread's TLS block instead (`slot::calls`).
    #[cfg_attr(mapfile_grace_slot = "initial_exec_tls", allow(dead_code))]
    fast_calls: UnsafeCell<u32>,
    /// Where the owner's fast path stores its word instead of `word` (the `word` of its TLS
    /// block, `slot::store_word`); null when the owner has none. Waiters read both.
    #[cfg(mapfile_grace_slot = "initial_exec_tls")]
    fast_word: AtomicPtr<AtomicU64>,
    /// Waiters reading `fast_word`'s pointee now: a thread that ends detaches `fast_word`,
    /// then waits for this to be 0, so that no waiter reads its TLS block once it is gone.
    #[cfg(mapfile_grace_slot = "initial_exec_tls")]
    fast_word_readers: AtomicU32,
}

/// One fast call off `calls`; false (and `calls` left at 0) when there was none left. (x86_64
/// glibc counts in assembly: `slot::fast`.)
#[cfg(not(mapfile_grace_slot = "initial_exec_tls"))]
#[inline(always)]
fn count_down(calls: &mut u32) -> bool {
    let (left, ran_out) = calls.overflowing_sub(1);
    *calls = left;
    if ran_out {
        *calls = 0;
    }
    !ran_out
}

// SAFETY: `fast_calls` is touched only by the thread that owns the mark (`owned`, handed over
// with Release/Acquire); every other field is atomic.
unsafe impl Sync for Mark {}

/// How often (in guarded calls) a thread's signal mask is looked at again.
const MASK_RECHECK: u32 = 1024;
const SIGBUS_BLOCKED: u32 = 1 << 31;
const NEEDS_FENCES: u32 = 1 << 30;
const COUNT: u32 = NEEDS_FENCES - 1;

static TABLE: [AtomicPtr<Mark>; MARKS] = [const { AtomicPtr::new(ptr::null_mut()) }; MARKS];
/// Guarded operations of threads that found no free mark (counted instead, for any mapping).
static UNMARKED_READERS: AtomicUsize = AtomicUsize::new(0);

const BARRIER_UNKNOWN: u8 = 0;
const BARRIER_MEMBARRIER: u8 = 1;
const BARRIER_FENCES: u8 = 2;
static BARRIER: AtomicU8 = AtomicU8::new(BARRIER_UNKNOWN);

/// How a thread finds its own mark on every guarded call, and the SIGBUS handler finds it too.
///
/// x86_64 Linux with glibc: in a 24-byte block of initial-exec thread-local storage (the mark's
/// address, the fast-call count, and the fast path's own word, which the mark points at for
/// waiters), defined and read in assembly (stable Rust has no `#[thread_local]` and no
/// TLS-model choice): the address is the thread pointer plus an offset the dynamic linker fixes
/// once in the GOT, and the fast path addresses the block through the fs segment with that
/// offset alone; no `__tls_get_addr` call (a shared library's ordinary thread-locals cost one
/// per access) and nothing allocated lazily, so the SIGBUS handler may read it. The cost: the
/// library is marked `STATIC_TLS`, so its whole thread-local block (128 bytes, std's included)
/// is static TLS, and a `dlopen` takes it from the reserve glibc keeps for such libraries
/// (`glibc.rtld.optional_static_tls`, 512 bytes by default). Invariant: that block stays small
/// (no large thread-locals: the error message buffer is on the heap), which
/// `the_thread_local_block_fits_the_static_tls_reserve_of_dlopen` checks; dlopen_only.c loads
/// the library that way and takes a fault through the fast path.
///
/// aarch64 Linux: by the thread pointer (`tpidr_el0`), read with one instruction and hashed into
/// a table of (thread pointer, mark) slots in static memory; a slot is claimed at the thread's
/// first guarded call and given back by its thread-exit destructor; a live thread pointer is
/// unique, so a slot's owner is the only thread that can match it.
///
/// Elsewhere (musl's loader keeps no static TLS for dlopen): a const `thread_local!`.
mod slot {
    use super::Mark;

    #[cfg(mapfile_grace_slot = "initial_exec_tls")]
    mod by_initial_exec_tls {
        use super::Mark;
        use std::ptr;
        use std::sync::atomic::{AtomicU64, Ordering};

        /// This thread's block: 24 bytes of zero-initialised TLS (`.tbss`), hidden (not
        /// exported). Invariant: `fast_calls` is 0 whenever `mark` is null or its `fast_word`
        /// does not point at `word` (`set` makes both before the count is refilled; `clear`
        /// zeroes the count first). `word` is the fast path's grace mark: the view word of the
        /// call under way, 0 between calls (stored in place, without the mark pointer's load).
        #[repr(C)]
        struct ThreadBlock {
            mark: *const Mark,
            fast_calls: u32,
            word: AtomicU64,
        }

        std::arch::global_asm!(
            ".pushsection .tbss,\"awT\",@nobits",
            ".p2align 3",
            ".globl mapfile_grace_thread",
            ".hidden mapfile_grace_thread",
            ".type mapfile_grace_thread,@object",
            ".size mapfile_grace_thread,24",
            "mapfile_grace_thread:",
            ".zero 24",
            ".popsection",
        );

        /// The address of this thread's block: the thread pointer (the TCB's self pointer at
        /// fs:0) plus the block's offset from it, which the dynamic linker put in the GOT.
        #[inline(always)]
        fn block() -> *mut ThreadBlock {
            let block: *mut ThreadBlock;
            // SAFETY: two loads (fs:0 and the GOT entry) and an add; nothing is written.
            unsafe {
                std::arch::asm!(
                    "mov {b}, qword ptr fs:0",
                    "add {b}, qword ptr [rip + mapfile_grace_thread@GOTTPOFF]",
                    b = out(reg) block,
                    options(pure, readonly, nostack)
                );
            }
            block
        }

        #[inline(always)]
        pub(in super::super) fn get() -> *const Mark {
            // SAFETY: this thread's own block, alive as long as the thread.
            unsafe { (*block()).mark }
        }

        // `fast`, `store_word` and `clear_word` address the fields by these offsets.
        const _: () = assert!(
            std::mem::offset_of!(ThreadBlock, mark) == 0
                && std::mem::offset_of!(ThreadBlock, fast_calls) == 8
                && std::mem::offset_of!(ThreadBlock, word) == 16
                && std::mem::size_of::<ThreadBlock>() == 24
        );

        /// The fast path's entry: one fast call counted off this thread's count; None when
        /// `word` has a flag of `decline`, or the count ran out (ask `read`). Some: the block's
        /// offset from the thread pointer, for `store_word` and `clear_word`.
        ///
        /// One assembly block addresses the count through the fs segment (the block's offset
        /// from the GOT, without loading the thread pointer as `block()` does); the
        /// subtraction's borrow comes out as a mask (stable `asm!` cannot branch out), all ones
        /// on a borrow, which joins the word's flags so that one test answers both. Against the
        /// thread-pointer form with its own branch, as many instructions and faster (an 8-byte
        /// atomic load about 10% and a read about 5% less time on random memory; both measured
        /// in one process, docs/ARCHITECTURE.md "What a guarded call costs"). The count is
        /// taken before the flags are known: a declined call counts twice (here and in
        /// `read`), which only makes the mask looked at a little sooner.
        #[inline(always)]
        pub(in super::super) fn fast(word: u64, decline: u64) -> Option<usize> {
            let offset: usize;
            let ran_out: u64;
            // SAFETY: this thread's own block (alive as long as the thread; only this thread
            // writes its count): one subtraction from the count.
            unsafe {
                std::arch::asm!(
                    "mov {offset}, qword ptr [rip + mapfile_grace_thread@GOTTPOFF]",
                    "sub dword ptr fs:[{offset} + 8], 1",
                    "sbb {ran_out}, {ran_out}",
                    offset = out(reg) offset,
                    ran_out = out(reg) ran_out,
                    options(nostack)
                );
            }
            if (word | ran_out) & decline != 0 {
                // SAFETY: this thread's own block.
                let calls = unsafe { &mut (*block()).fast_calls };
                if *calls == u32::MAX {
                    // The count borrowed (a refill is far below u32::MAX): back to 0, for
                    // `read` to look at the mask and refill it. (Asked of the count, not of
                    // `ran_out`, which then need not outlive the test: one register copy
                    // less.)
                    *calls = 0;
                }
                return None;
            }
            Some(offset)
        }

        /// Stores the fast path's grace mark: `word` into this thread's block (`offset` from
        /// `fast`), in place. No fence: the writer's membarrier orders it before the view
        /// loads that follow (the assembly is a compiler barrier: it may touch memory).
        #[inline(always)]
        pub(in super::super) fn store_word(offset: usize, word: u64) {
            // SAFETY: `offset` is this thread's block's (from `fast`); one 8-byte store into
            // its `word`, which waiters only read.
            unsafe {
                std::arch::asm!(
                    "mov qword ptr fs:[{offset} + 16], {word}",
                    offset = in(reg) offset,
                    word = in(reg) word,
                    options(nostack, preserves_flags)
                );
            }
        }

        /// Clears the fast path's grace mark (the call is over).
        #[inline(always)]
        pub(in super::super) fn clear_word(offset: usize) {
            // SAFETY: as in `store_word`.
            unsafe {
                std::arch::asm!(
                    "mov qword ptr fs:[{offset} + 16], 0",
                    offset = in(reg) offset,
                    options(nostack, preserves_flags)
                );
            }
        }

        /// The fast path's grace mark of this thread (0: no fast call under way).
        /// Async-signal-safe (the SIGBUS handler asks).
        pub(in super::super) fn own_word() -> u64 {
            // SAFETY: this thread's own block.
            unsafe { (*block()).word.load(Ordering::Relaxed) }
        }

        /// Where this thread's fast-call count lives (`own` is its mark).
        pub(in super::super) fn calls(_own: &Mark) -> *mut u32 {
            // SAFETY: this thread's own block.
            unsafe { ptr::addr_of_mut!((*block()).fast_calls) }
        }

        /// Gives this thread `mark`, and the mark the address of this thread's fast-path word
        /// (waiters read it there); never fails.
        pub(in super::super) fn set(mark: *const Mark) -> bool {
            let block = block();
            // SAFETY: this thread's own block; `mark` is published (never freed) and this
            // thread owns it.
            unsafe {
                let word = ptr::addr_of!((*block).word).cast_mut();
                (*mark).fast_word.store(word, Ordering::SeqCst);
                (*block).mark = mark;
            }
            true
        }

        /// Forgets this thread's mark (thread exit), its count first; detaches the mark from
        /// this thread's fast-path word and waits until no waiter is reading it (this
        /// thread's TLS block goes when the thread ends; waiters read it only while they
        /// count themselves in `fast_word_readers`, for one look at one mark at a time).
        pub(in super::super) fn clear() {
            let block = block();
            // SAFETY: this thread's own block; its mark, if any, is published (never freed).
            unsafe {
                (*block).fast_calls = 0;
                let mark = (*block).mark;
                if !mark.is_null() {
                    (*mark).fast_word.store(ptr::null_mut(), Ordering::SeqCst);
                    while (*mark).fast_word_readers.load(Ordering::SeqCst) != 0 {
                        std::hint::spin_loop();
                    }
                }
                (*block).mark = ptr::null();
            }
        }
    }

    #[cfg(mapfile_grace_slot = "initial_exec_tls")]
    pub(super) use by_initial_exec_tls::{
        calls, clear, clear_word, fast, get, own_word, set, store_word,
    };

    /// After a fork, in the child: forgets the slots of the threads that did not come along
    /// (only `by_thread_pointer` keeps them outside their threads' own storage).
    #[cfg(not(mapfile_grace_slot = "thread_pointer"))]
    pub(super) fn forget_other_threads() {}

    #[cfg(mapfile_grace_slot = "thread_pointer")]
    mod by_thread_pointer {
        use super::Mark;
        use std::ptr;
        use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

        const BITS: u32 = 13;
        const SLOTS: usize = 1 << BITS;
        /// How far from its home slot a thread may land (past that it goes unmarked).
        const PROBES: usize = 64;

        struct Slot {
            /// The owning thread's thread pointer (0: free).
            thread: AtomicUsize,
            mark: AtomicPtr<Mark>,
        }

        static TABLE: [Slot; SLOTS] = [const {
            Slot {
                thread: AtomicUsize::new(0),
                mark: AtomicPtr::new(ptr::null_mut()),
            }
        }; SLOTS];

        /// This thread's thread pointer: never 0, unique among live threads. (x86_64 uses
        /// this variant only when the tests ask for it, MAPFILE_GRACE_SLOT=thread_pointer.)
        #[inline(always)]
        fn thread_pointer() -> usize {
            let pointer: usize;
            // SAFETY: reads the tpidr_el0 register; nothing is written.
            #[cfg(target_arch = "aarch64")]
            unsafe {
                std::arch::asm!("mrs {}, tpidr_el0", out(reg) pointer,
                    options(pure, nomem, nostack, preserves_flags));
            }
            // SAFETY: loads the thread control block's pointer to itself at fs:0 (the x86_64
            // TLS ABI), which lives as long as the thread; nothing is written.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                std::arch::asm!("mov {}, qword ptr fs:0", out(reg) pointer,
                    options(pure, readonly, nostack, preserves_flags));
            }
            pointer
        }

        /// The slot a thread looks at first (Fibonacci hashing of its thread pointer).
        #[inline(always)]
        fn home(thread: usize) -> usize {
            (thread as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) as usize >> (usize::BITS - BITS)
        }

        #[inline(always)]
        pub(in super::super) fn get() -> *const Mark {
            match get_home() {
                Some(mark) => mark,
                None => probe(thread_pointer()),
            }
        }

        /// `get` for the fast path: the home slot only (None: ask `get`).
        #[inline(always)]
        pub(in super::super) fn get_home() -> Option<&'static Mark> {
            let thread = thread_pointer();
            let slot = &TABLE[home(thread)];
            if slot.thread.load(Ordering::Relaxed) != thread {
                return None;
            }
            let mark = slot.mark.load(Ordering::Relaxed);
            // SAFETY: a slot's owner stored its mark before it could match (`set`, same
            // thread); marks are never freed.
            // (Said to the compiler too, so that no null test follows.)
            unsafe {
                if mark.is_null() {
                    std::hint::unreachable_unchecked();
                }
                Some(&*mark)
            }
        }

        /// The slots a thread may hold: its home and the PROBES - 1 after it.
        fn neighbourhood(thread: usize) -> impl Iterator<Item = &'static Slot> {
            let first = home(thread);
            (0..PROBES).map(move |i| &TABLE[(first + i) % SLOTS])
        }

        /// The slot `thread` holds, if any.
        fn held(thread: usize) -> Option<&'static Slot> {
            neighbourhood(thread).find(|slot| slot.thread.load(Ordering::Relaxed) == thread)
        }

        /// `get` past the home slot (a collision), or null for a thread without a slot.
        #[cold]
        fn probe(thread: usize) -> *const Mark {
            held(thread).map_or(ptr::null(), |slot| slot.mark.load(Ordering::Relaxed))
        }

        /// Gives this thread's slot `mark` (claiming a free one); false when none is free near
        /// its home.
        pub(in super::super) fn set(mark: *const Mark) -> bool {
            let thread = thread_pointer();
            for slot in neighbourhood(thread) {
                let owner = slot.thread.load(Ordering::Relaxed);
                let ours = owner == thread
                    || owner == 0
                        && slot
                            .thread
                            .compare_exchange(0, thread, Ordering::AcqRel, Ordering::Relaxed)
                            .is_ok();
                if ours {
                    slot.mark.store(mark.cast_mut(), Ordering::Relaxed);
                    return true;
                }
            }
            false
        }

        /// Gives this thread's slot back (thread exit).
        pub(in super::super) fn clear() {
            if let Some(slot) = held(thread_pointer()) {
                give_back(slot);
            }
        }

        fn give_back(slot: &Slot) {
            slot.mark.store(ptr::null_mut(), Ordering::Relaxed);
            slot.thread.store(0, Ordering::Release);
        }

        /// Gives back every slot but this thread's (in the child of a fork: a thread created
        /// there may get the thread pointer of one that did not come along).
        pub(in super::super) fn forget_other_threads() {
            let own = thread_pointer();
            for slot in &TABLE {
                let owner = slot.thread.load(Ordering::Relaxed);
                if owner != 0 && owner != own {
                    give_back(slot);
                }
            }
        }
    }

    #[cfg(mapfile_grace_slot = "thread_pointer")]
    pub(super) use by_thread_pointer::{clear, forget_other_threads, get, get_home, set};

    /// The fast path's mark where the count lives in the mark: this thread's, with one fast
    /// call counted off (None: `word` has a flag of `decline`, no mark in its home slot, or
    /// none left: ask `read`).
    #[cfg(not(mapfile_grace_slot = "initial_exec_tls"))]
    #[inline(always)]
    pub(super) fn fast(word: u64, decline: u64) -> Option<&'static Mark> {
        if word & decline != 0 {
            return None;
        }
        let mark = get_home()?;
        // SAFETY: this thread owns the mark (see `Mark::fast_calls`).
        super::count_down(unsafe { &mut *mark.fast_calls.get() }).then_some(mark)
    }

    /// Where this thread's fast-call count lives (`own` is its mark).
    #[cfg(not(mapfile_grace_slot = "initial_exec_tls"))]
    pub(super) fn calls(own: &Mark) -> *mut u32 {
        own.fast_calls.get()
    }

    #[cfg(mapfile_grace_slot = "thread_local")]
    mod by_thread_local {
        use super::Mark;
        use std::cell::Cell;

        thread_local! {
            static MARK: Cell<*const Mark> = const { Cell::new(std::ptr::null()) };
        }

        #[inline(always)]
        pub(in super::super) fn get() -> *const Mark {
            MARK.with(Cell::get)
        }

        #[inline(always)]
        pub(in super::super) fn get_home() -> Option<&'static Mark> {
            // SAFETY: marks are never freed.
            unsafe { get().as_ref() }
        }

        pub(in super::super) fn set(mark: *const Mark) -> bool {
            MARK.try_with(|cell| cell.set(mark)).is_ok()
        }

        pub(in super::super) fn clear() {
            let _ = MARK.try_with(|cell| cell.set(std::ptr::null()));
        }
    }

    #[cfg(mapfile_grace_slot = "thread_local")]
    pub(super) use by_thread_local::{clear, get, get_home, set};
}

thread_local! {
    /// The mapping read by a thread that found no free mark (the rare fallback path).
    static UNMARKED: Cell<usize> = const { Cell::new(0) };
}

/// Hands a thread's mark back when the thread ends (set at its first guarded call): a pthread
/// key (thread_key.rs), so that a guarded call from another library's key destructor, after
/// the thread-local destructors, gets a mark that is still given back.
static RELEASE: ThreadKey = ThreadKey::new(release_mark);

/// RELEASE's destructor: forgets the exiting thread's mark and hands it back for reuse.
unsafe extern "C" fn release_mark(mark: *mut c_void) {
    slot::clear();
    // SAFETY: RELEASE holds only published marks, which are never freed.
    unsafe { (*mark.cast::<Mark>()).owned.store(false, Ordering::Release) };
}

/// While alive, this thread counts as reading its mapping from the view of `word` (see `read`).
pub struct Reading {
    mark: *const Mark,
    /// SIGBUS was blocked in this thread and is unblocked for the call: block it again after.
    reblock: bool,
}

impl Drop for Reading {
    #[inline(always)]
    fn drop(&mut self) {
        if self.reblock {
            set_sigbus_blocked(true);
        }
        if self.mark.is_null() {
            UNMARKED.with(|cell| cell.set(0));
            UNMARKED_READERS.fetch_sub(1, Ordering::Release);
        } else {
            // SAFETY: this thread's own mark, never freed.
            unsafe { (*self.mark).word.store(0, Ordering::Release) };
        }
    }
}

/// The mapping id this thread is inside a guarded call on (0: none). Async-signal-safe: the
/// SIGBUS handler asks it (the thread's slot, then one atomic load; the fallback thread-local
/// is const, without destructor).
pub fn reading_mapping() -> usize {
    #[cfg(mapfile_grace_slot = "initial_exec_tls")]
    {
        let word = slot::own_word();
        if word != 0 {
            return mapping_of(word);
        }
    }
    let mark = slot::get();
    if mark.is_null() {
        return UNMARKED.with(Cell::get);
    }
    // SAFETY: marks are never freed.
    mapping_of(unsafe { (*mark).word.load(Ordering::Relaxed) })
}

/// What `enter` gives and `leave` takes: where the fast call's word is (the offset of the
/// thread's TLS block on x86_64 glibc, else its mark).
pub struct Entered(EnteredAt);
#[cfg(mapfile_grace_slot = "initial_exec_tls")]
type EnteredAt = usize;
#[cfg(not(mapfile_grace_slot = "initial_exec_tls"))]
type EnteredAt = &'static Mark;

/// The fast path's grace mark, set to `word` (the view sequence word the call starts from)
/// like `read` does, when nothing needs the full path: the thread has a mark, its signal mask
/// needs no look and SIGBUS no unblocking, and membarrier spares the reader its fence
/// (`slot::fast`: one count a call), and `word` has none of the flags of `decline` (SLOW
/// always among them). None sends the caller to `read`. On x86_64 glibc the word goes into
/// the thread's TLS block, in place (`slot::store_word`: the mark's `fast_word` points there
/// for waiters); elsewhere into the mark. End it with `leave`.
#[inline(always)]
pub fn enter(word: u64, decline: u64) -> Option<Entered> {
    debug_assert!(decline & SEQUENCE_SLOW != 0);
    #[cfg(mapfile_grace_slot = "initial_exec_tls")]
    {
        let offset = slot::fast(word, decline)?;
        slot::store_word(offset, word);
        Some(Entered(offset))
    }
    #[cfg(not(mapfile_grace_slot = "initial_exec_tls"))]
    {
        let mark = slot::fast(word, decline)?;
        mark.word.store(word, Ordering::Relaxed);
        // The writer's membarrier orders this store before our view load.
        compiler_fence(Ordering::SeqCst);
        Some(Entered(mark))
    }
}

/// Ends what `enter` began.
#[inline(always)]
pub fn leave(entered: Entered) {
    #[cfg(mapfile_grace_slot = "initial_exec_tls")]
    slot::clear_word(entered.0);
    #[cfg(not(mapfile_grace_slot = "initial_exec_tls"))]
    entered.0.word.store(0, Ordering::Release);
}

/// Marks this thread as reading the mapping of view sequence word `word` from that view until
/// the returned value drops. Call it BEFORE taking the view; a writer that published a newer
/// view after `word` waits. The full path: it also looks at the signal mask (and unblocks
/// SIGBUS for the call), claims a mark for a new thread, and fences where membarrier is missing.
pub fn read(word: u64) -> Reading {
    let mark = slot::get();
    let mark = if mark.is_null() { own_mark() } else { mark };
    if mark.is_null() {
        UNMARKED.with(|cell| cell.set(mapping_of(word)));
        UNMARKED_READERS.fetch_add(1, Ordering::SeqCst);
        let reblock = sigbus_blocked_now() && set_sigbus_blocked(false);
        return Reading { mark, reblock };
    }
    // SAFETY: this thread's own mark, never freed.
    let own = unsafe { &*mark };
    // A fault in a thread that blocks SIGBUS is forced to the default action (death) by the
    // kernel: such a thread gets SIGBUS unblocked for the length of the call. The mask is looked
    // at on the thread's first call and every MASK_RECHECK calls after (a system call).
    // Without a flag the count is the fast-call count (0: a new mark, or the fast path ran
    // out); with one it is in `mask_check`, and the fast-call count stays 0.
    // SAFETY: this thread's own count (see `slot::calls`).
    let calls = unsafe { &mut *slot::calls(own) };
    let mut check = own.mask_check.load(Ordering::Relaxed);
    let flagged = check & !COUNT != 0;
    let look = if flagged {
        check & COUNT == 0
    } else {
        *calls == 0
    };
    if look {
        check = MASK_RECHECK
            | if sigbus_blocked_now() {
                SIGBUS_BLOCKED
            } else {
                0
            }
            | if BARRIER.load(Ordering::Relaxed) == BARRIER_MEMBARRIER {
                0
            } else {
                NEEDS_FENCES
            };
        *calls = MASK_RECHECK;
    }
    if check & !COUNT != 0 {
        own.mask_check.store(check - 1, Ordering::Relaxed);
        *calls = 0;
    } else {
        own.mask_check.store(0, Ordering::Relaxed);
        *calls -= 1; // this call counts too
    }
    let reblock = check & SIGBUS_BLOCKED != 0 && set_sigbus_blocked(false);
    own.word.store(word, Ordering::Relaxed);
    if BARRIER.load(Ordering::Relaxed) == BARRIER_MEMBARRIER {
        // The writer's membarrier orders these stores before our view load.
        compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
    Reading { mark, reblock }
}

/// Whether this thread blocks SIGBUS now (one system call).
#[cold]
fn sigbus_blocked_now() -> bool {
    // SAFETY: pthread_sigmask only writes the local set; sigismember reads it.
    unsafe {
        let mut mask: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_SETMASK, ptr::null(), &mut mask) == 0
            && libc::sigismember(&mask, libc::SIGBUS) == 1
    }
}

/// Blocks or unblocks SIGBUS (only) in this thread; true when it did.
#[cold]
fn set_sigbus_blocked(blocked: bool) -> bool {
    // SAFETY: a local set holding SIGBUS; pthread_sigmask changes only this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGBUS);
        let how = if blocked {
            libc::SIG_BLOCK
        } else {
            libc::SIG_UNBLOCK
        };
        libc::pthread_sigmask(how, &set, ptr::null_mut()) == 0
    }
}

/// Takes a free mark (or makes one) for this thread. Null when the table is full.
#[cold]
fn own_mark() -> *const Mark {
    choose_barrier();
    let mut found: *const Mark = ptr::null();
    for slot in &TABLE {
        let existing = slot.load(Ordering::Acquire);
        if existing.is_null() {
            let fresh = Box::into_raw(Box::new(Mark {
                word: AtomicU64::new(0),
                owned: AtomicBool::new(true),
                mask_check: AtomicU32::new(0),
                fast_calls: UnsafeCell::new(0),
                #[cfg(mapfile_grace_slot = "initial_exec_tls")]
                fast_word: AtomicPtr::new(ptr::null_mut()),
                #[cfg(mapfile_grace_slot = "initial_exec_tls")]
                fast_word_readers: AtomicU32::new(0),
            }));
            match slot.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    found = fresh;
                    break;
                }
                // SAFETY: never published; still ours.
                Err(_) => drop(unsafe { Box::from_raw(fresh) }),
            }
        } else if
        // SAFETY: published marks are never freed.
        unsafe { &*existing }
            .owned
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            // SAFETY: published marks are never freed; this thread owns it now.
            unsafe { &*existing }.mask_check.store(0, Ordering::Relaxed);
            // SAFETY: as above; the previous owner is gone (`owned` was false).
            unsafe { *(*existing).fast_calls.get() = 0 };
            found = existing;
            break;
        }
    }
    if found.is_null() {
        return found;
    }
    // The slot, and the key that hands both back at thread exit. Without either: give the mark
    // back and go unmarked (counted readers).
    // SAFETY: a published mark is what `release_mark` takes.
    if !slot::set(found) || !unsafe { RELEASE.set(found.cast_mut().cast()) } {
        slot::clear();
        // SAFETY: published marks are never freed.
        unsafe { &*found }.owned.store(false, Ordering::Release);
        return ptr::null();
    }
    found
}

/// In the child of a fork, before anything else runs there: only the forking thread lives on.
/// Every other thread's mark would say forever what that thread was doing when the process
/// forked (a guarded call under way would keep every grace wait in the child spinning), and
/// waiters counted on a mark would keep `slot::clear` waiting: each other mark is handed back
/// with its words cleared, the counts of waiters and unmarked readers start again from this
/// thread's own share. (Atomics only: no lock, no allocation.)
pub fn after_fork_in_child() {
    let own = slot::get();
    for slot in &TABLE {
        let mark = slot.load(Ordering::Acquire);
        if mark.is_null() {
            break; // slots fill in order and are never emptied
        }
        // SAFETY: published marks are never freed.
        let mark = unsafe { &*mark };
        // No waiter lives on (this thread is inside fork, not inside `wait_for_readers`).
        #[cfg(mapfile_grace_slot = "initial_exec_tls")]
        mark.fast_word_readers.store(0, Ordering::SeqCst);
        if ptr::eq(mark, own) {
            continue;
        }
        mark.word.store(0, Ordering::SeqCst);
        // Its owner's TLS block belongs to a thread that no longer runs.
        #[cfg(mapfile_grace_slot = "initial_exec_tls")]
        mark.fast_word.store(ptr::null_mut(), Ordering::SeqCst);
        mark.owned.store(false, Ordering::Release);
    }
    slot::forget_other_threads();
    let own_unmarked = UNMARKED.with(|cell| cell.get() != 0);
    UNMARKED_READERS.store(usize::from(own_unmarked), Ordering::SeqCst);
}

/// Registers the process for expedited membarrier once; without it, both sides use fences.
fn choose_barrier() {
    if BARRIER.load(Ordering::Acquire) != BARRIER_UNKNOWN {
        return;
    }
    const REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;
    // SAFETY: membarrier registration takes no pointers.
    let registered =
        unsafe { libc::syscall(libc::SYS_membarrier, REGISTER_PRIVATE_EXPEDITED, 0, 0) } == 0;
    let choice = if registered {
        BARRIER_MEMBARRIER
    } else {
        BARRIER_FENCES
    };
    let _ = BARRIER.compare_exchange(BARRIER_UNKNOWN, choice, Ordering::AcqRel, Ordering::Acquire);
}

/// Waits until no guarded operation on the mapping of view sequence word `sequence` that started
/// from an older view is still running. Called by the one writer (regions lock held) after
/// publishing. Sequences are the view's sequence words: their publish counts are compared.
pub fn wait_for_readers(sequence: u64) {
    let mapping = mapping_of(sequence);
    choose_barrier();
    if BARRIER.load(Ordering::Acquire) == BARRIER_MEMBARRIER {
        const PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
        // SAFETY: membarrier takes no pointers.
        if unsafe { libc::syscall(libc::SYS_membarrier, PRIVATE_EXPEDITED, 0, 0) } != 0 {
            fence(Ordering::SeqCst);
        }
    } else {
        fence(Ordering::SeqCst);
    }
    let mut spins = 0u32;
    let mut pause = || {
        spins += 1;
        if spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    };
    for slot in &TABLE {
        let mark = slot.load(Ordering::Acquire);
        if mark.is_null() {
            break; // slots fill in order and are never emptied
        }
        // SAFETY: published marks are never freed.
        let mark = unsafe { &*mark };
        let done = |word: u64| word == 0 || mapping_of(word) != mapping || !older(word, sequence);
        while !done(mark.word.load(Ordering::Acquire)) {
            pause();
        }
        // The owner's fast-path word, in its TLS block: read only while counted in
        // `fast_word_readers`, which a thread that ends waits to see at 0 after it detached
        // `fast_word` (`slot::clear`); both sides SeqCst, so either this load sees null or the
        // owner sees this waiter counted.
        #[cfg(mapfile_grace_slot = "initial_exec_tls")]
        {
            mark.fast_word_readers.fetch_add(1, Ordering::SeqCst);
            let fast = mark.fast_word.load(Ordering::SeqCst);
            #[cfg(test)]
            tests::pause_after_fast_word_load(mark);
            if !fast.is_null() {
                // SAFETY: the owner is alive until it sees `fast_word_readers` at 0.
                while !done(unsafe { &*fast }.load(Ordering::Acquire)) {
                    pause();
                }
            }
            mark.fast_word_readers.fetch_sub(1, Ordering::SeqCst);
        }
    }
    while UNMARKED_READERS.load(Ordering::Acquire) != 0 {
        pause();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Each thread finds its own mark (what the SIGBUS handler asks answers per thread), no two
    /// live threads share one, and a thread that ends gives its mark and slot back: 2,000
    /// short-lived threads, 16 at a time (glibc reuses their thread pointers).
    #[test]
    fn every_thread_finds_its_own_mark_and_gives_it_back() {
        for round in 0..125usize {
            let together = Arc::new(std::sync::Barrier::new(16));
            let threads: Vec<_> = (0..16usize)
                .map(|i| {
                    let together = together.clone();
                    std::thread::spawn(move || {
                        let id = 0x10_0000 + round * 16 + i;
                        assert_eq!(reading_mapping(), 0);
                        let reading = read(first_sequence(id, 0));
                        assert!(!reading.mark.is_null(), "this thread found no mark");
                        // SAFETY: marks are never freed.
                        let owned = unsafe { &*reading.mark }.owned.load(Ordering::SeqCst);
                        assert!(owned, "this thread uses a mark it does not own");
                        together.wait(); // all 16 inside a guarded call at once
                        assert_eq!(reading_mapping(), id);
                        let mark = reading.mark as usize;
                        together.wait();
                        drop(reading);
                        assert_eq!(reading_mapping(), 0);
                        mark
                    })
                })
                .collect();
            let mut marks: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            marks.sort_unstable();
            marks.dedup();
            assert_eq!(marks.len(), 16, "two live threads shared a mark");
        }
        let made = TABLE
            .iter()
            .filter(|mark| !mark.load(Ordering::Acquire).is_null())
            .count();
        assert!(made < 64, "{made} marks made: ended threads gave none back");
    }

    /// The writer waits for a reader that started from an older view, and not for one that
    /// started from the new view: a full-path reader (`read`) or a fast-path one (`enter`).
    fn writer_waits_only_for_readers_of_older_views_in(fast: bool, mapping: usize) {
        // The view word after `n` publishes of mapping `id`.
        let view = |id: usize, n: u64| first_sequence(id, 0) + (n << SEQUENCE_FLAG_BITS);
        let inside = Arc::new(AtomicBool::new(false));
        let release = Arc::new(AtomicBool::new(false));
        let reader = {
            let (inside, release) = (inside.clone(), release.clone());
            std::thread::spawn(move || {
                let word = view(mapping, 1);
                let (reading, entered) = if fast {
                    drop(read(word)); // the thread's mark, and its count of fast calls
                    let entered = enter(word, SEQUENCE_SLOW)
                        .expect("the fast path declined (no membarrier here?)");
                    (None, Some(entered))
                } else {
                    (Some(read(word)), None)
                };
                assert_eq!(reading_mapping(), mapping);
                inside.store(true, Ordering::SeqCst);
                while !release.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                drop(reading);
                if let Some(entered) = entered {
                    leave(entered);
                }
                assert_eq!(reading_mapping(), 0);
            })
        };
        while !inside.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        // A reader of view 1 does not hold up a writer whose new view is 1 (or older).
        wait_for_readers(view(mapping, 1));
        // Nor a writer of another mapping.
        wait_for_readers(view(mapping + 1, 100));
        let waited = Arc::new(AtomicBool::new(false));
        let writer = {
            let waited = waited.clone();
            std::thread::spawn(move || {
                wait_for_readers(view(mapping, 2)); // one publish later
                waited.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waited.load(Ordering::SeqCst), "the writer did not wait");
        release.store(true, Ordering::SeqCst);
        writer.join().unwrap();
        assert!(waited.load(Ordering::SeqCst));
        reader.join().unwrap();
    }

    /// In the child of a fork, only the forking thread lives on: what the other threads were
    /// doing at that instant (guarded calls on the full and the fast path, an unmarked call, a
    /// waiter reading a fast word) is not waited for there, and a thread the child creates
    /// gets a mark and gives it back.
    #[test]
    fn a_child_waits_for_no_call_of_a_thread_that_did_not_come_along() {
        const MAPPING: usize = 0x4000;
        let view = |n: u64| first_sequence(MAPPING, 0) + (n << SEQUENCE_FLAG_BITS);
        let (inside, release) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let readers: Vec<_> = [false, true]
            .into_iter()
            .map(|fast| {
                let (inside, release) = (inside.clone(), release.clone());
                std::thread::spawn(move || {
                    let mut reading = Some(read(view(1)));
                    let entered = fast.then(|| {
                        drop(reading.take());
                        enter(view(1), SEQUENCE_SLOW).expect("the fast path declined")
                    });
                    inside.fetch_add(1, Ordering::SeqCst);
                    while !release.load(Ordering::SeqCst) {
                        std::thread::yield_now();
                    }
                    if let Some(entered) = entered {
                        leave(entered);
                    }
                    drop(reading);
                })
            })
            .collect();
        while inside.load(Ordering::SeqCst) != 2 {
            std::thread::yield_now();
        }
        // A call of a thread without a mark, and a waiter looking at every mark's fast word.
        UNMARKED_READERS.fetch_add(1, Ordering::SeqCst);
        #[cfg(mapfile_grace_slot = "initial_exec_tls")]
        let marks: Vec<&Mark> = TABLE
            .iter()
            .map(|mark| mark.load(Ordering::Acquire))
            .take_while(|mark| !mark.is_null())
            // SAFETY: published marks are never freed.
            .map(|mark| unsafe { &*mark })
            .collect();
        #[cfg(mapfile_grace_slot = "initial_exec_tls")]
        for mark in &marks {
            mark.fast_word_readers.fetch_add(1, Ordering::SeqCst);
        }
        let status = crate::core::test_support::in_a_child(|| {
            // What fork.rs's child handler runs (again, when another test registered it).
            after_fork_in_child();
            // Not a pause another test may have asked of the parent's waiters.
            #[cfg(mapfile_grace_slot = "initial_exec_tls")]
            PAUSE_AT.store(0, Ordering::SeqCst);
            wait_for_readers(view(2));
            // (It may get the thread pointer of one that did not come along: glibc reuses their
            // stacks. Its mark must be its own all the same.)
            let thread = std::thread::spawn(move || {
                let reading = read(view(2));
                assert!(
                    reading.mark.is_null()
                        // SAFETY: marks are never freed.
                        || unsafe { &*reading.mark }.owned.load(Ordering::SeqCst)
                );
            });
            thread.join().is_ok()
        });
        UNMARKED_READERS.fetch_sub(1, Ordering::SeqCst);
        #[cfg(mapfile_grace_slot = "initial_exec_tls")]
        for mark in &marks {
            mark.fast_word_readers.fetch_sub(1, Ordering::SeqCst);
        }
        release.store(true, Ordering::SeqCst);
        for reader in readers {
            reader.join().unwrap();
        }
        assert!(
            crate::core::test_support::exited_cleanly(status),
            "the child waited for a call that was not its own (wait status {status:#x})"
        );
    }

    #[test]
    fn writer_waits_only_for_readers_of_older_views() {
        writer_waits_only_for_readers_of_older_views_in(false, 0x1000);
    }

    #[test]
    fn writer_waits_for_fast_path_readers_too() {
        writer_waits_only_for_readers_of_older_views_in(true, 0x2000);
    }

    /// The mark whose fast-word look `wait_for_readers` pauses after (0: none), and the
    /// handshake: LOADED when it paused, GO to go on. (Only the initial-exec TLS slot has a
    /// fast word.)
    #[cfg(mapfile_grace_slot = "initial_exec_tls")]
    static PAUSE_AT: AtomicUsize = AtomicUsize::new(0);
    #[cfg(mapfile_grace_slot = "initial_exec_tls")]
    static LOADED: AtomicBool = AtomicBool::new(false);
    #[cfg(mapfile_grace_slot = "initial_exec_tls")]
    static GO: AtomicBool = AtomicBool::new(false);

    /// `wait_for_readers`'s test hook: pauses the waiter that has just loaded the fast word
    /// pointer of the mark at PAUSE_AT (once).
    #[cfg(mapfile_grace_slot = "initial_exec_tls")]
    pub(super) fn pause_after_fast_word_load(mark: &Mark) {
        let at = mark as *const Mark as usize;
        if PAUSE_AT
            .compare_exchange(at, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            LOADED.store(true, Ordering::SeqCst);
            while !GO.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
        }
    }

    /// A thread that ends does not let its TLS block go while a waiter is between loading
    /// the address of its fast-path word and reading it (`slot::clear` waits for
    /// `fast_word_readers`).
    #[cfg(mapfile_grace_slot = "initial_exec_tls")]
    #[test]
    fn a_thread_that_ends_waits_for_a_waiter_reading_its_fast_word() {
        let (marked, go_on) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let reader = {
            let (marked, go_on) = (marked.clone(), go_on.clone());
            std::thread::spawn(move || {
                drop(read(first_sequence(0x3000, 0)));
                marked.store(slot::get() as usize, Ordering::SeqCst);
                while !go_on.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                // ends: its mark is given back by a key destructor (`release_mark`)
            })
        };
        while marked.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        PAUSE_AT.store(marked.load(Ordering::SeqCst), Ordering::SeqCst);
        let waiter = std::thread::spawn(|| wait_for_readers(first_sequence(0x3000, 0)));
        while !LOADED.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        go_on.store(true, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(100));
        // SAFETY: published marks are never freed.
        let mark = unsafe { &*(marked.load(Ordering::SeqCst) as *const Mark) };
        // Inside `slot::clear`, waiting: the fast word detached, the mark not yet handed back.
        // (A mark handed back may be taken at once by another test's thread, which sets its
        // own fast word: both looks together tell the waiting exit from either.)
        assert!(
            mark.fast_word.load(Ordering::SeqCst).is_null() && mark.owned.load(Ordering::SeqCst),
            "the thread ended while a waiter was about to read its TLS block"
        );
        GO.store(true, Ordering::SeqCst);
        waiter.join().unwrap();
        reader.join().unwrap();
    }

    #[test]
    fn counts_compare_across_their_wrap() {
        let view = |count: u64| first_sequence(7, 0) + ((count % COUNTS) << SEQUENCE_FLAG_BITS);
        assert!(older(view(3), view(4)));
        assert!(!older(view(4), view(3)));
        assert!(!older(view(4), view(4)));
        assert!(
            older(view(COUNTS - 1), view(COUNTS)),
            "a reader just before the wrap"
        );
        assert!(older(view(COUNTS - 2), view(COUNTS + 1)));
        assert!(!older(view(COUNTS), view(COUNTS - 1)));
        // Flags do not count.
        assert!(!older(view(4) | SEQUENCE_SLOW, view(4)));
    }
}
