//! Runs every program in examples-c/ on generated data and checks its output against what Rust
//! computes from the same data.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;

fn build(example: &str) -> PathBuf {
    compile(
        &format!("example-{example}"),
        &[root().join(format!("examples-c/{example}.c"))],
        &[],
        "c",
    )
}

/// Runs an example and returns its stdout; it must exit 0.
fn run(example: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let exe = build(example);
    let mut command = Command::new(&exe);
    for arg in args {
        command.arg(arg);
    }
    let output = run_with_timeout(&mut command, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{example} failed ({:?}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs an example that must fail; returns its stderr.
fn run_failing(example: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let mut command = Command::new(build(example));
    for arg in args {
        command.arg(arg);
    }
    let output = run_with_timeout(&mut command, Duration::from_secs(60));
    assert!(!output.status.success(), "{example} should have failed");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A log of `lines` lines, some of them containing "ERROR".
fn make_log(path: &Path, lines: usize) -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0..lines {
        let level = if i % 37 == 5 {
            "ERROR"
        } else if i % 5 == 0 {
            "WARN"
        } else {
            "INFO"
        };
        text.extend_from_slice(
            format!(
                "2026-11-22T10:{:02}:{:02} {level} request {i} took {} ms\n",
                i / 60 % 60,
                i % 60,
                i * 13 % 997
            )
            .as_bytes(),
        );
    }
    std::fs::write(path, &text).unwrap();
    text
}

#[test]
fn example_first_bytes() {
    let dir = scratch_dir("ex-first");
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 256) as u8).collect();
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    let out = run("first_bytes", &[&dir.join("data.bin")]);
    assert_eq!(
        out,
        format!(
            "first byte: {}\nbyte at offset 1000: {}\n",
            data[0], data[1000]
        )
    );
    std::fs::write(dir.join("short.bin"), b"abc").unwrap();
    let out = run("first_bytes", &[&dir.join("short.bin")]);
    assert_eq!(
        out,
        "first byte: 97\nno byte at offset 1000: the file has 3 bytes\n"
    );
}

#[test]
fn example_count_lines() {
    let dir = scratch_dir("ex-count");
    let text = make_log(&dir.join("app.log"), 12345);
    let expected = text.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(
        run("count_lines", &[&dir.join("app.log")]),
        format!("{expected} lines\n")
    );
    std::fs::write(dir.join("empty"), b"").unwrap();
    assert_eq!(run("count_lines", &[&dir.join("empty")]), "0 lines\n");
}

#[test]
fn example_find_pattern() {
    let dir = scratch_dir("ex-find");
    let mut data = vec![b'.'; 100_000];
    for &at in &[17usize, 4094, 65_536, 99_990] {
        data[at..at + 6].copy_from_slice(b"MAGIC!");
    }
    std::fs::write(dir.join("blob"), &data).unwrap();
    let out = run("find_pattern", &[&dir.join("blob"), &"MAGIC!"]);
    assert_eq!(
        out,
        "found at offset 17\nfound at offset 4094\nfound at offset 65536\nfound at offset 99990\n"
    );
    assert_eq!(
        run("find_pattern", &[&dir.join("blob"), &"absent"]),
        "not found\n"
    );
}

#[test]
fn example_grep_log() {
    let dir = scratch_dir("ex-grep");
    let text = make_log(&dir.join("app.log"), 3000);
    let mut expected = String::new();
    let mut offset = 0;
    for line in text.split(|&b| b == b'\n') {
        if line.windows(5).any(|w| w == b"ERROR") {
            expected.push_str(&format!("{offset}: {}\n", String::from_utf8_lossy(line)));
        }
        offset += line.len() + 1;
    }
    assert!(expected.lines().count() > 50);
    assert_eq!(run("grep_log", &[&dir.join("app.log"), &"ERROR"]), expected);
}

#[test]
fn example_records() {
    let dir = scratch_dir("ex-records");
    // struct record { uint32_t id; double value; }: 4 bytes id, 4 bytes padding, 8 bytes value.
    let mut bytes = Vec::new();
    let mut sum = 0.0f64;
    let count = 1000u32;
    for id in 0..count {
        let value = id as f64 * 1.5 + 0.25;
        sum += value;
        bytes.extend_from_slice(&id.to_ne_bytes());
        bytes.extend_from_slice(&[0u8; 4]);
        bytes.extend_from_slice(&value.to_ne_bytes());
    }
    std::fs::write(dir.join("records.bin"), &bytes).unwrap();
    let out = run("records", &[&dir.join("records.bin")]);
    let last = (count - 1) as f64 * 1.5 + 0.25;
    assert_eq!(
        out,
        format!("{count} records\nfirst id 0 value 0.250\nlast id {} value {last:.3}\nsum of values {sum:.3}\n", count - 1)
    );
    // A file that is not a whole number of records is refused, not misread.
    std::fs::write(dir.join("broken.bin"), &bytes[..bytes.len() - 3]).unwrap();
    assert!(run_failing("records", &[&dir.join("broken.bin")]).contains("not a whole number"));
}

#[test]
fn example_patch_in_place() {
    let dir = scratch_dir("ex-patch");
    let file = dir.join("config.txt");
    std::fs::write(&file, b"mode=slow;retries=3;").unwrap();
    assert_eq!(
        run("patch_in_place", &[&file, &"5", &"fast"]),
        "patched 4 bytes at offset 5\n"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"mode=fast;retries=3;");
    // Past the end: an error, and the file is unchanged.
    assert!(run_failing("patch_in_place", &[&file, &"18", &"xyz"]).contains("outside the mapping"));
    assert_eq!(std::fs::read(&file).unwrap(), b"mode=fast;retries=3;");
}

#[test]
fn example_hello_create() {
    let dir = scratch_dir("ex-hello");
    let file = dir.join("hello.bin");
    assert_eq!(run("hello_create", &[&file]), "verified: Hello, mmap!\n");
    let data = std::fs::read(&file).unwrap();
    assert_eq!(data.len(), 1 << 20);
    assert_eq!(&data[100..112], b"Hello, mmap!");
    assert!(data[..100].iter().all(|&b| b == 0));
    // Creating it again refuses to clobber it.
    assert!(run_failing("hello_create", &[&file]).contains("File exists"));
}

#[test]
fn example_random_access() {
    let dir = scratch_dir("ex-random");
    let data: Vec<u8> = (0..(4u64 << 20))
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    let out = run("random_access", &[&dir.join("data.bin"), &"20000"]);
    // Compute the expected checksum in Rust with the same offset sequence.
    let (mut state, mut sum) = (42u64, 0u64);
    for _ in 0..20000 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let at = ((state >> 17) % (data.len() as u64 - 7)) as usize;
        sum = sum.wrapping_add(u64::from_ne_bytes(data[at..at + 8].try_into().unwrap()));
    }
    assert!(
        out.contains(&format!("mapfile_read checksum {sum}\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!("fseek+fread checksum {sum}\n")),
        "{out}"
    );
    assert!(out.contains("checksums match"));
}

/// The seed's SIGBUS example: with its handler it survives by siglongjmp; without, it dies.
#[test]
fn example_sigbus_raw_needs_a_handler_or_dies() {
    let dir = scratch_dir("ex-sigbus-raw");
    let out = run("sigbus_raw", &[&dir.join("data")]);
    assert_eq!(
        out,
        "byte 0: x\ncaught SIGBUS reading the last byte: the file shrank under the mapping\n"
    );
    let output = Command::new(build("sigbus_raw"))
        .arg(dir.join("data2"))
        .arg("--no-handler")
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGBUS),
        "{:?}",
        output.status
    );
}

/// The same job with mapfile: no handler, the process lives, the status says what happened.
#[test]
fn example_sigbus_mapfile_survives_without_a_handler() {
    let dir = scratch_dir("ex-sigbus-mapfile");
    let out = run("sigbus_mapfile", &[&dir.join("data")]);
    assert_eq!(
        out,
        "byte 0: success x\n\
         last byte: the file shrank under the mapping; the bytes asked for are gone\n\
         check: the file shrank under the mapping; the bytes asked for are gone\n\
         after refresh: 4096 bytes, check: success\n"
    );
}

/// The C example in the README's "Usage" section compiles as it stands and does what it says.
#[test]
fn readme_usage_example_compiles_and_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let usage = &readme[readme.find("## Usage").expect("a Usage section")..];
    let start = usage.find("```c\n").expect("a C block in Usage") + 5;
    let code = &usage[start..start + usage[start..].find("```").unwrap()];
    assert!(
        code.lines().count() <= 25,
        "the usage example should stay short"
    );
    let dir = scratch_dir("readme");
    let source = dir.join("readme_usage.c");
    std::fs::write(&source, code).unwrap();
    let exe = compile("readme-usage", &[source], &[], "c");
    let log = dir.join("app.log");
    std::fs::write(&log, "ok\nstill ok\nERROR disk\nok\n").unwrap();
    let output = run_with_timeout(Command::new(&exe).arg(&log), Duration::from_secs(30));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "ERROR at 12\n4 lines\n"
    );
}

/// `tail -f` on libmapfile: appends, a copytruncate rotation and a rotation by rename, each
/// followed through the watch descriptor; every line comes out once, in order.
#[test]
fn example_follow_log() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::sync::mpsc;

    let dir = scratch_dir("ex-follow");
    let log = dir.join("app.log");
    let lines: Vec<String> = (1..=12)
        .map(|i| format!("line {i}: request took {} ms\n", i * 7))
        .collect();
    std::fs::write(&log, lines[..3].concat()).unwrap();
    let mut child = Command::new(build("follow_log"))
        .arg(&log)
        .arg("12")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Both outputs arrive line by line on one channel: ("out"|"err", line).
    let (sender, received) = mpsc::channel::<(&str, String)>();
    for (name, stream) in [
        (
            "out",
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        ),
        ("err", Box::new(child.stderr.take().unwrap())),
    ] {
        let sender = sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let _ = sender.send((name, line.unwrap_or_default()));
            }
        });
    }
    let mut printed = Vec::new();
    let mut diagnostics = Vec::new();
    let mut wait_until = |done: &dyn Fn(&[String], &[String]) -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !done(&printed, &diagnostics) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match received.recv_timeout(left) {
                Ok(("out", line)) => printed.push(line),
                Ok((_, line)) => diagnostics.push(line),
                Err(_) => panic!("follow_log stalled: printed {printed:?}, said {diagnostics:?}"),
            }
        }
    };
    let append = |text: &str| {
        let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        file.write_all(text.as_bytes()).unwrap();
    };
    wait_until(&|out, _| out.len() == 3);
    for line in &lines[3..6] {
        append(line);
    }
    wait_until(&|out, _| out.len() == 6);
    // copytruncate: copy away, then cut the live file to 0; the logger goes on appending.
    std::fs::copy(&log, dir.join("app.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    wait_until(&|_, err| err.iter().any(|l| l.contains("file truncated")));
    append(&lines[6..9].concat());
    wait_until(&|out, _| out.len() == 9);
    // Rotation by rename: the old file moves away, a new one appears under the name.
    std::fs::rename(&log, dir.join("app.log.2")).unwrap();
    std::fs::write(&log, lines[9..].concat()).unwrap();
    wait_until(&|out, _| out.len() == 12);
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "follow_log exited {status:?}; said {diagnostics:?}"
    );
    let expected: Vec<String> = lines.iter().map(|l| l.trim_end().to_string()).collect();
    assert_eq!(printed, expected, "said {diagnostics:?}");
    assert!(
        diagnostics.iter().any(|l| l.contains("has been replaced")),
        "{diagnostics:?}"
    );
}

/// The porting recipe (docs/MIGRATION.md): several files, each opened by the program and mapped
/// by descriptor, matching lines printed with their numbers; a directory among them is skipped
/// by the program's own fstat check, as legacy scanners do.
#[test]
fn example_scan_fd() {
    let dir = scratch_dir("ex-scan-fd");
    let mut expected = String::new();
    let mut args: Vec<std::ffi::OsString> = vec!["ERROR".into()];
    for name in ["a.log", "b.log"] {
        let path = dir.join(name);
        let text = make_log(&path, 500 + name.len() * 100);
        for (number, line) in String::from_utf8(text).unwrap().lines().enumerate() {
            if line.contains("ERROR") {
                expected.push_str(&format!("{}:{}:{line}\n", path.display(), number + 1));
            }
        }
        args.push(path.into_os_string());
    }
    // A last line without its newline is printed whole (the window's last byte counts).
    let unterminated = dir.join("c.log");
    std::fs::write(&unterminated, "first\nlast line, ERROR without a newline").unwrap();
    expected.push_str(&format!(
        "{}:2:last line, ERROR without a newline\n",
        unterminated.display()
    ));
    args.push(unterminated.into_os_string());
    args.insert(2, dir.clone().into_os_string()); // not a regular file: skipped
    let arguments: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|a| a as _).collect();
    assert!(expected.lines().count() > 20);
    assert_eq!(run("scan_fd", &arguments), expected);
    // The first bytes of a file count too: the lines of the first ten seconds.
    let first = dir.join("a.log");
    let text = std::fs::read_to_string(&first).unwrap();
    let expected: String = text
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains("2026-11-22T10:00:0"))
        .map(|(number, line)| format!("{}:{}:{line}\n", first.display(), number + 1))
        .collect();
    assert!(expected.starts_with(&format!("{}:1:2026", first.display())));
    assert_eq!(run("scan_fd", &[&"2026-11-22T10:00:0", &first]), expected);
}

#[test]
fn example_shared_counter() {
    // Six processes on anonymous shared memory: exact only when the memory is really shared and
    // every add is atomic.
    assert_eq!(
        run("shared_counter", &[&"6", &"50000"]),
        "total 300000 (expected 300000)\n"
    );
}

#[test]
fn example_spsc_ring() {
    // What the producer sends, computed here from the same generator: lengths, bytes, FNV-1a.
    let messages = 20_000u32;
    let (mut bytes, mut sum, mut random) = (0u64, 0u64, 12345u32);
    for i in 0..messages {
        random = random.wrapping_mul(1103515245).wrapping_add(12345);
        let len = (random >> 8) % 1001;
        let mut hash = 2166136261u32;
        for b in 0..len {
            let byte = i.wrapping_mul(31).wrapping_add(b.wrapping_mul(7)) as u8;
            hash = (hash ^ u32::from(byte)).wrapping_mul(16777619);
        }
        bytes += u64::from(len);
        sum += u64::from(hash);
    }
    // A ring barely larger than the largest message: it wraps and fills all the time.
    let output = run("spsc_ring", &[&messages.to_string(), &"1100"]);
    let mut lines: Vec<&str> = output.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            format!("received {messages} messages, {bytes} bytes, sum {sum}, bad 0"),
            format!("sent {messages} messages, {bytes} bytes, sum {sum}"),
        ]
    );
}

#[test]
fn example_cpp_grep_log() {
    // The C++ example on the wrapper: numbered matching lines, a match on the last unterminated
    // line, two matches on one line printed once.
    let exe = compile(
        "example-grep_log-cpp",
        &[root().join("examples-cpp/grep_log.cpp")],
        &["-std=c++17"],
        "c++",
    );
    let dir = scratch_dir("cpp-grep");
    let log = dir.join("app.log");
    let text = "a ERROR x\nok\nERROR two ERROR\nfine\nlast ERROR";
    std::fs::write(&log, text).unwrap();
    let mut expected = String::new();
    for (number, line) in text.lines().enumerate() {
        if line.contains("ERROR") {
            expected.push_str(&format!("{}:{line}\n", number + 1));
        }
    }
    expected.push_str("3 matching lines\n");
    let output = run_with_timeout(
        Command::new(&exe).arg("ERROR").arg(&log),
        Duration::from_secs(60),
    );
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    // A missing file is the library's message on stderr and exit 1, not a crash.
    let output = run_with_timeout(
        Command::new(&exe).arg("ERROR").arg(dir.join("missing")),
        Duration::from_secs(60),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("No such file"));
}
