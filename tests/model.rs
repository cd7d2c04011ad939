//! A stateful model test: random sequences of C API calls (open/close/read/write/find/count/
//! resize/refresh/flush/check/atomics) mixed with changes made to the file from outside the handle
//! (truncate, extend, pwrite), each answer checked against an in-memory model of the file and the
//! handle. Many seeds for a bounded time (MAPFILE_MODEL_SECONDS, default 30; MAPFILE_MODEL_SEED
//! replays one seed). A failing sequence is shrunk to a minimal one and printed as a C snippet.
//!
//! The model is exact where the library promises exactness and says so where the kernel leaves a
//! byte unspecified (bytes written through the mapping into the last page past the file's end).
//! COPY_ON_WRITE handles are modelled with their private pages, which survive refreshes.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mapfile::ffi::access::*;
use mapfile::ffi::atomics::*;
use mapfile::ffi::durability::*;
use mapfile::ffi::lifecycle::*;
use mapfile::ffi::size::*;
use mapfile::ffi::status::*;
use mapfile::ffi::types::*;

mod support;

const PAGE: u64 = 4096;

#[derive(Debug, Clone)]
enum Op {
    Open { mode: u32, offset: u64 },
    Close,
    Read { offset: u64, len: u64 },
    Write { offset: u64, len: u64, seed: u8 },
    Find { from: u64, at: u64, len: u64 },
    Count { offset: u64, len: u64, byte: u8 },
    Resize { len: u64 },
    Refresh,
    Flush,
    Check,
    FetchAdd { offset: u64, delta: u64 },
    OutsideSetLen { size: u64 },
    OutsidePwrite { offset: u64, len: u64, seed: u8 },
    VerifyFile,
}

fn data(seed: u8, len: u64) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_mul(31).wrapping_add(i as u8 ^ 0x5a))
        .collect()
}

/// The handle as the model sees it.
struct HandleModel {
    mode: u32,
    offset: u64,
    len: u64,
    /// Window offset of the first byte lost to a truncation fault.
    lost_from: Option<u64>,
    /// COPY_ON_WRITE: privately written pages (file page index -> bytes).
    private: std::collections::HashMap<u64, Vec<u8>>,
}

impl HandleModel {
    /// The window becomes `len` bytes long (a COPY_ON_WRITE handle keeps its private pages, also
    /// when the library has to map the window anew).
    fn adopt(&mut self, len: u64) {
        self.len = len;
        self.lost_from = None;
    }
}

/// The file (None = unspecified byte) and the open handle, if any.
struct Model {
    file: Vec<Option<u8>>,
    /// File positions written through the mapping past the file's end (inside its last page):
    /// unspecified once the file grows over them.
    written_past_end: Vec<u64>,
    handle: Option<HandleModel>,
}

impl Model {
    fn file_len(&self) -> u64 {
        self.file.len() as u64
    }

    fn set_len(&mut self, size: u64) {
        // Truncation unmaps even private (COW) pages wholly past the new end: they are lost too.
        let kept_pages = size.div_ceil(PAGE);
        if let Some(handle) = self.handle.as_mut() {
            handle.private.retain(|&page, _| page < kept_pages);
        }
        self.file.resize(size as usize, Some(0));
        let size = self.file_len();
        for &position in &self.written_past_end {
            if position < size {
                self.file[position as usize] = None;
            }
        }
        self.written_past_end.retain(|&p| p >= size);
    }

    /// The byte a mapped read sees at file position `p` (None: unspecified).
    fn mapped_byte(&self, handle: &HandleModel, p: u64) -> Option<u8> {
        if let Some(page) = handle.private.get(&(p / PAGE)) {
            return Some(page[(p % PAGE) as usize]);
        }
        if p < self.file_len() {
            self.file[p as usize]
        } else if self.written_past_end.contains(&p) {
            None
        } else {
            Some(0)
        }
    }

    /// What a guarded read-only access of `len` bytes at `offset` answers: OUT_OF_BOUNDS past
    /// the window, OK for nothing, else as `guarded_access`.
    fn read_access(&mut self, offset: u64, len: u64, window_len: u64) -> Result<(), i32> {
        if offset + len > window_len {
            Err(MAPFILE_ERR_OUT_OF_BOUNDS)
        } else if len == 0 {
            Ok(())
        } else {
            self.guarded_access(offset, offset + len)
        }
    }

    /// What a guarded access of window bytes [a, b) does: Err(TRUNCATED) when bytes are known
    /// lost or the access faults on a page past the end of the file (recording the loss).
    fn guarded_access(&mut self, a: u64, b: u64) -> Result<(), i32> {
        let file_len = self.file_len();
        let handle = self.handle.as_mut().unwrap();
        if handle.lost_from.is_some_and(|lost| lost < b) {
            return Err(MAPFILE_ERR_TRUNCATED);
        }
        let faulting_from = file_len.div_ceil(PAGE) * PAGE;
        let touches_lost = (handle.offset + a..handle.offset + b)
            .any(|p| p >= faulting_from && !handle.private.contains_key(&(p / PAGE)));
        if touches_lost {
            let lost = file_len.saturating_sub(handle.offset);
            handle.lost_from = Some(handle.lost_from.map_or(lost, |l| l.min(lost)));
            return Err(MAPFILE_ERR_TRUNCATED);
        }
        Ok(())
    }

    /// Bytes [a, b) of the window as a mapped read sees them.
    fn window_bytes(&self, a: u64, b: u64) -> Vec<Option<u8>> {
        let handle = self.handle.as_ref().unwrap();
        (a..b)
            .map(|w| self.mapped_byte(handle, handle.offset + w))
            .collect()
    }

    /// Stores a mapped write of `bytes` at window offset `a` (for the pages that were kept).
    fn store(&mut self, a: u64, bytes: &[u8]) {
        let file_len = self.file_len();
        let kept_pages_end = file_len.div_ceil(PAGE) * PAGE;
        let handle = self.handle.as_mut().unwrap();
        let offset = handle.offset;
        for (i, &byte) in bytes.iter().enumerate() {
            let p = offset + a + i as u64;
            if handle.mode == MAPFILE_MODE_COPY_ON_WRITE {
                let page_index = p / PAGE;
                let file = &self.file;
                let page = handle.private.entry(page_index).or_insert_with(|| {
                    (page_index * PAGE..(page_index + 1) * PAGE)
                        .map(|q| {
                            if q < file_len {
                                file[q as usize].unwrap_or(0)
                            } else {
                                0
                            }
                        })
                        .collect()
                });
                page[(p % PAGE) as usize] = byte;
            } else if p < file_len {
                self.file[p as usize] = Some(byte);
            } else if p < kept_pages_end && !self.written_past_end.contains(&p) {
                self.written_past_end.push(p);
            }
        }
    }
}

/// What went wrong at which step.
struct Mismatch {
    step: usize,
    detail: String,
}

fn status_name(status: i32) -> String {
    // SAFETY: strerror returns a static NUL-terminated string.
    let text = unsafe { std::ffi::CStr::from_ptr(mapfile_strerror(status)) };
    format!("{status} ({})", text.to_string_lossy())
}

fn expect_status(got: i32, want: i32, what: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        // SAFETY: the library returns a valid NUL-terminated string.
        let message = unsafe { std::ffi::CStr::from_ptr(mapfile_last_error_message()) };
        Err(format!(
            "{what}: got {}, model says {} (last error: {})",
            status_name(got),
            status_name(want),
            message.to_string_lossy()
        ))
    }
}

fn compare(got: &[u8], want: &[Option<u8>], what: &str) -> Result<(), String> {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if let Some(w) = w {
            if g != w {
                return Err(format!("{what}: byte {i} is {g:#04x}, model says {w:#04x}"));
            }
        }
    }
    Ok(())
}

/// Runs `ops` on a fresh file; Err at the first answer that differs from the model.
fn run(ops: &[Op], path: &Path, initial: &[u8]) -> Result<(), Mismatch> {
    std::fs::write(path, initial).expect("writing the initial file");
    let c_path = CString::new(path.to_str().unwrap()).unwrap();
    let mut model = Model {
        file: initial.iter().map(|&b| Some(b)).collect(),
        written_past_end: Vec::new(),
        handle: None,
    };
    let mut m: *mut mapfile_t = std::ptr::null_mut();
    let outside = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let result = (|| {
        for (step, op) in ops.iter().enumerate() {
            step_once(op, &mut model, &mut m, &c_path, &outside, path)
                .map_err(|detail| Mismatch { step, detail })?;
        }
        Ok(())
    })();
    mapfile_close(m);
    result
}

fn step_once(
    op: &Op,
    model: &mut Model,
    m: &mut *mut mapfile_t,
    c_path: &CString,
    outside: &std::fs::File,
    path: &Path,
) -> Result<(), String> {
    let open = model.handle.is_some();
    let window_len = model.handle.as_ref().map_or(0, |h| h.len);
    match *op {
        Op::Open { mode, offset } => {
            if open {
                return Ok(());
            }
            let mut options = std::mem::MaybeUninit::<mapfile_options>::uninit();
            mapfile_options_init(options.as_mut_ptr());
            // SAFETY: initialised by mapfile_options_init.
            let mut options = unsafe { options.assume_init() };
            options.mode = mode;
            options.offset = offset;
            let status = mapfile_open_with(c_path.as_ptr(), &options, m);
            let want = if offset > model.file_len() {
                MAPFILE_ERR_OUT_OF_BOUNDS
            } else {
                MAPFILE_OK
            };
            expect_status(status, want, "open")?;
            if status == MAPFILE_OK {
                model.handle = Some(HandleModel {
                    mode,
                    offset,
                    len: model.file_len() - offset,
                    lost_from: None,
                    private: Default::default(),
                });
            }
        }
        Op::Close if open => {
            let status = mapfile_close(*m);
            *m = std::ptr::null_mut();
            model.handle = None;
            expect_status(status, MAPFILE_OK, "close")?;
        }
        Op::Read { offset, len } if open => {
            let mut buffer = vec![0u8; len as usize];
            let status = mapfile_read(*m, offset, buffer.as_mut_ptr().cast(), len as usize);
            let want = model.read_access(offset, len, window_len);
            expect_status(status, want.err().unwrap_or(MAPFILE_OK), "read")?;
            if status == MAPFILE_OK {
                compare(&buffer, &model.window_bytes(offset, offset + len), "read")?;
            }
        }
        Op::Write { offset, len, seed } if open => {
            let bytes = data(seed, len);
            let status = mapfile_write(*m, offset, bytes.as_ptr().cast(), len as usize);
            let mode = model.handle.as_ref().unwrap().mode;
            let want = if offset + len > window_len {
                Err(MAPFILE_ERR_OUT_OF_BOUNDS)
            } else if mode == MAPFILE_MODE_READ_ONLY {
                Err(MAPFILE_ERR_READ_ONLY)
            } else if len == 0 {
                Ok(())
            } else {
                let known_lost = model
                    .handle
                    .as_ref()
                    .unwrap()
                    .lost_from
                    .is_some_and(|lost| lost < offset + len);
                let access = model.guarded_access(offset, offset + len);
                if !known_lost {
                    // The copy ran (on zero pages past the end): the kept bytes are written.
                    let kept = (model.file_len().div_ceil(PAGE) * PAGE)
                        .saturating_sub(model.handle.as_ref().unwrap().offset);
                    let stored = (offset + len).min(kept).saturating_sub(offset) as usize;
                    model.store(offset, &bytes[..stored]);
                }
                access
            };
            expect_status(status, want.err().unwrap_or(MAPFILE_OK), "write")?;
        }
        Op::Find { from, at, len } if open => {
            // The needle is taken from the model's bytes at `at`, so it is often present.
            if at + len > window_len || from > window_len {
                return Ok(());
            }
            let needle = model.window_bytes(at, at + len);
            if needle.iter().any(Option::is_none) {
                return Ok(());
            }
            let needle: Vec<u8> = needle.into_iter().map(Option::unwrap).collect();
            // Deterministic only while the search cannot fault: the window lies in the file.
            let handle = model.handle.as_ref().unwrap();
            if handle.offset + window_len > model.file_len() || handle.lost_from.is_some() {
                return Ok(());
            }
            let haystack = model.window_bytes(from, window_len);
            if haystack.iter().any(Option::is_none) {
                return Ok(());
            }
            let haystack: Vec<u8> = haystack.into_iter().map(Option::unwrap).collect();
            let want = if needle.is_empty() {
                Some(from)
            } else {
                haystack
                    .windows(needle.len())
                    .position(|w| w == needle.as_slice())
                    .map(|p| from + p as u64)
            };
            let mut position = 0u64;
            let status = mapfile_find(
                *m,
                from,
                needle.as_ptr().cast(),
                needle.len(),
                &mut position,
            );
            expect_status(status, MAPFILE_OK, "find")?;
            let got = (position != MAPFILE_NPOS).then_some(position);
            if got != want {
                return Err(format!("find: got {got:?}, model says {want:?}"));
            }
        }
        Op::Count { offset, len, byte } if open => {
            let mut count = 0u64;
            let status = mapfile_count_byte(*m, offset, len, byte, &mut count);
            let want = model.read_access(offset, len, window_len);
            expect_status(status, want.err().unwrap_or(MAPFILE_OK), "count_byte")?;
            let bytes = model.window_bytes(offset, offset + len);
            if status == MAPFILE_OK && bytes.iter().all(Option::is_some) {
                let expected = bytes.iter().filter(|b| **b == Some(byte)).count() as u64;
                if count != expected {
                    return Err(format!("count_byte: got {count}, model says {expected}"));
                }
            }
        }
        Op::FetchAdd { offset, delta } if open => {
            let mut old = 0u64;
            let status = mapfile_atomic_u64_fetch_add(*m, offset, delta, &mut old);
            let handle = model.handle.as_ref().unwrap();
            let want = if offset + 8 > window_len {
                Err(MAPFILE_ERR_OUT_OF_BOUNDS)
            } else if (handle.offset + offset) % 8 != 0 {
                Err(MAPFILE_ERR_MISALIGNED)
            } else if handle.mode == MAPFILE_MODE_READ_ONLY {
                Err(MAPFILE_ERR_READ_ONLY)
            } else {
                model.guarded_access(offset, offset + 8)
            };
            expect_status(status, want.err().unwrap_or(MAPFILE_OK), "fetch_add")?;
            if status == MAPFILE_OK {
                let before = model.window_bytes(offset, offset + 8);
                if before.iter().all(Option::is_some) {
                    let value = u64::from_ne_bytes(std::array::from_fn(|i| before[i].unwrap()));
                    if value != old {
                        return Err(format!("fetch_add: old value {old}, model says {value}"));
                    }
                    model.store(offset, &value.wrapping_add(delta).to_ne_bytes());
                } else {
                    // Unspecified before, so unspecified after.
                    model.store(offset, &old.wrapping_add(delta).to_ne_bytes());
                }
            }
        }
        Op::Resize { len } if open => {
            let status = mapfile_resize(*m, len);
            let handle = model.handle.as_ref().unwrap();
            if handle.mode != MAPFILE_MODE_READ_WRITE {
                return expect_status(status, MAPFILE_ERR_READ_ONLY, "resize");
            }
            expect_status(status, MAPFILE_OK, "resize")?;
            // Windows here follow the end of the file (len 0): resize always sets the file's
            // size to the window's new end (the header's rule for a tail window).
            model.set_len(handle.offset + len);
            model.handle.as_mut().unwrap().adopt(len);
        }
        Op::Refresh if open => {
            let status = mapfile_refresh(*m);
            expect_status(status, MAPFILE_OK, "refresh")?;
            let file_len = model.file_len();
            let handle = model.handle.as_mut().unwrap();
            handle.adopt(file_len.saturating_sub(handle.offset));
        }
        Op::Flush if open => {
            expect_status(mapfile_flush(*m), MAPFILE_OK, "flush")?;
        }
        Op::Check if open => {
            let handle = model.handle.as_ref().unwrap();
            let want =
                if handle.lost_from.is_some() || model.file_len() < handle.offset + handle.len {
                    MAPFILE_ERR_TRUNCATED
                } else {
                    MAPFILE_OK
                };
            expect_status(mapfile_check(*m), want, "check")?;
        }
        Op::OutsideSetLen { size } => {
            outside.set_len(size).unwrap();
            model.set_len(size);
        }
        Op::OutsidePwrite { offset, len, seed } => {
            let bytes = data(seed, len);
            outside.write_all_at(&bytes, offset).unwrap();
            if len > 0 && offset + len > model.file_len() {
                model.set_len(offset + len);
            }
            for (i, &b) in bytes.iter().enumerate() {
                model.file[offset as usize + i] = Some(b);
            }
        }
        Op::VerifyFile => {
            let actual = std::fs::read(path).unwrap();
            if actual.len() as u64 != model.file_len() {
                return Err(format!(
                    "file is {} bytes, model says {}",
                    actual.len(),
                    model.file_len()
                ));
            }
            compare(&actual, &model.file, "file contents (read from outside)")?;
        }
        _ => {} // an operation on a handle while none is open
    }
    Ok(())
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    /// A position or length near page boundaries more often than not.
    fn size(&mut self, max: u64) -> u64 {
        match self.below(3) {
            0 => self.below(max + 1),
            _ => (self.below(max / PAGE + 1) * PAGE + self.below(3))
                .saturating_sub(1)
                .min(max),
        }
    }
}

/// A random sequence of operations.
fn generate(rng: &mut Rng, steps: usize) -> Vec<Op> {
    const MAX: u64 = 6 * PAGE;
    let mut ops = Vec::with_capacity(steps);
    for _ in 0..steps {
        let op = match rng.below(16) {
            0 => Op::Open {
                mode: [
                    MAPFILE_MODE_READ_ONLY,
                    MAPFILE_MODE_READ_WRITE,
                    MAPFILE_MODE_READ_WRITE,
                    MAPFILE_MODE_COPY_ON_WRITE,
                ][rng.below(4) as usize],
                offset: if rng.below(2) == 0 {
                    0
                } else {
                    rng.size(2 * PAGE)
                },
            },
            1 => Op::Close,
            2 | 3 => Op::Read {
                offset: rng.size(MAX),
                len: rng.size(2 * PAGE),
            },
            4 | 5 => Op::Write {
                offset: rng.size(MAX),
                len: rng.size(2 * PAGE),
                seed: rng.next() as u8,
            },
            6 => Op::Find {
                from: rng.size(MAX),
                at: rng.size(MAX),
                len: rng.below(12),
            },
            7 => Op::Count {
                offset: rng.size(MAX),
                len: rng.size(MAX),
                byte: rng.next() as u8,
            },
            8 => Op::Resize { len: rng.size(MAX) },
            9 => Op::Refresh,
            10 => Op::Flush,
            11 => Op::Check,
            12 => Op::FetchAdd {
                offset: rng.below(MAX / 8) * 8 + if rng.below(8) == 0 { 4 } else { 0 },
                delta: rng.next(),
            },
            13 => Op::OutsideSetLen {
                size: rng.size(MAX),
            },
            14 => Op::OutsidePwrite {
                offset: rng.size(MAX),
                len: rng.size(PAGE),
                seed: rng.next() as u8,
            },
            _ => Op::VerifyFile,
        };
        ops.push(op);
    }
    ops.push(Op::Close);
    ops.push(Op::VerifyFile);
    ops
}

/// Removes operations one at a time while the sequence still fails.
fn shrink(mut ops: Vec<Op>, path: &Path, initial: &[u8]) -> (Vec<Op>, Mismatch) {
    let mut failure = run(&ops, path, initial).expect_err("the sequence fails");
    ops.truncate(failure.step + 1);
    let mut i = 0;
    while i < ops.len() {
        let mut candidate = ops.clone();
        candidate.remove(i);
        match run(&candidate, path, initial) {
            Err(found) => {
                candidate.truncate(found.step + 1);
                ops = candidate;
                failure = found;
            }
            Ok(()) => i += 1,
        }
    }
    (ops, failure)
}

/// The sequence as C code against the public API.
fn c_snippet(ops: &[Op], initial_len: usize) -> String {
    let mut c = format!(
        "/* file \"f\" starts with {initial_len} bytes: byte i = (i * 7 + 3) % 251 */\n\
         mapfile_t *m = NULL; mapfile_options o; uint8_t buf[16384]; uint64_t r = 0;\n\
         int fd = open(\"f\", O_RDWR);\n"
    );
    for op in ops {
        let line = match op {
            Op::Open { mode, offset } => format!(
                "mapfile_options_init(&o); o.mode = {mode}; o.offset = {offset}; mapfile_open_with(\"f\", &o, &m);"
            ),
            Op::Close => "mapfile_close(m); m = NULL;".into(),
            Op::Read { offset, len } => format!("mapfile_read(m, {offset}, buf, {len});"),
            Op::Write { offset, len, seed } => {
                format!("mapfile_write(m, {offset}, data({seed}, {len}), {len});")
            }
            Op::Find { from, at, len } => format!(
                "mapfile_find(m, {from}, /* the {len} bytes at window offset {at} */ needle, {len}, &r);"
            ),
            Op::Count { offset, len, byte } => {
                format!("mapfile_count_byte(m, {offset}, {len}, {byte}, &r);")
            }
            Op::Resize { len } => format!("mapfile_resize(m, {len});"),
            Op::Refresh => "mapfile_refresh(m);".into(),
            Op::Flush => "mapfile_flush(m);".into(),
            Op::Check => "mapfile_check(m);".into(),
            Op::FetchAdd { offset, delta } => {
                format!("mapfile_atomic_u64_fetch_add(m, {offset}, {delta}ull, &r);")
            }
            Op::OutsideSetLen { size } => format!("ftruncate(fd, {size});"),
            Op::OutsidePwrite { offset, len, seed } => {
                format!("pwrite(fd, data({seed}, {len}), {len}, {offset});")
            }
            Op::VerifyFile => "/* compare the file with the model */".into(),
        };
        c.push_str(&line);
        c.push('\n');
    }
    c
}

#[test]
fn model_random_sequences_match_the_model() {
    let seconds: u64 = std::env::var("MAPFILE_MODEL_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let only_seed: Option<u64> = std::env::var("MAPFILE_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    let dir: PathBuf = support::scratch_dir("model");
    let path = dir.join("f");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut seeds, mut steps) = (0u64, 0usize);
    let mut seed = only_seed.unwrap_or(1);
    loop {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let initial_len = rng.size(5 * PAGE) as usize;
        let initial: Vec<u8> = (0..initial_len)
            .map(|i| ((i * 7 + 3) % 251) as u8)
            .collect();
        let ops = generate(&mut rng, 80);
        steps += ops.len();
        seeds += 1;
        if let Err(first) = run(&ops, &path, &initial) {
            let (minimal, failure) = shrink(ops, &path, &initial);
            panic!(
                "seed {seed} (MAPFILE_MODEL_SEED={seed} replays it) failed at step {}: {}\n\
                 shrunk to {} steps, failing at step {}: {}\n{}",
                first.step,
                first.detail,
                minimal.len(),
                failure.step,
                failure.detail,
                c_snippet(&minimal, initial_len)
            );
        }
        if only_seed.is_some() || Instant::now() >= deadline {
            break;
        }
        seed += 1;
    }
    println!("model: {seeds} sequences, {steps} steps, all matched the model");
    assert!(seeds > 0);
}
