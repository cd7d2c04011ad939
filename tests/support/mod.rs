//! Shared by the integration tests that build and run C programs: where the library is, how C is
//! compiled (one set of flags for everything), scratch directories, and running with a timeout.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// target/<profile>/deps: where `cargo test` builds the cdylib (it refreshes the copy in
/// target/<profile> only on `cargo build`). The soname link libmapfile.so.MAJOR is made beside it.
pub fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().expect("target/<profile>/deps").to_path_buf();
    assert!(
        dir.join("libmapfile.so").exists(),
        "libmapfile.so is not in {}: cargo should build the cdylib with the tests",
        dir.display()
    );
    let soname = dir.join(format!("libmapfile.so.{}", env!("CARGO_PKG_VERSION_MAJOR")));
    if std::fs::symlink_metadata(&soname).is_err() {
        let _ = std::os::unix::fs::symlink("libmapfile.so", &soname);
    }
    dir
}

/// The C compiler: $CC or cc.
pub fn c_compiler(language: &str) -> String {
    if language == "c++" {
        std::env::var("CXX").unwrap_or_else(|_| "c++".into())
    } else {
        std::env::var("CC").unwrap_or_else(|_| "cc".into())
    }
}

/// A fresh scratch directory under the target's tmp dir.
pub fn scratch_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch dir");
    dir
}

/// Compiles C sources into an executable linked against libmapfile, with the project's flags.
pub fn compile(name: &str, sources: &[PathBuf], extra: &[&str], language: &str) -> PathBuf {
    compile_with(name, sources, extra, language, true)
}

/// As `compile`; `link_mapfile` false builds a program with no link-time dependency on it.
pub fn compile_with(
    name: &str,
    sources: &[PathBuf],
    extra: &[&str],
    language: &str,
    link_mapfile: bool,
) -> PathBuf {
    let lib = library_dir();
    let out_dir = lib.join("c-programs");
    std::fs::create_dir_all(&out_dir).expect("creating the C output dir");
    let exe = out_dir.join(name);
    let mut command = Command::new(c_compiler(language));
    if language == "c" {
        command.arg("-std=c99");
    }
    command
        .args(include_str!("../../c-warnings.txt").split_whitespace())
        .args(["-O1", "-g"])
        .args(extra)
        .arg("-I")
        .arg(root().join("include"))
        .arg("-I")
        .arg(root().join("tests/c"))
        .args(sources)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()));
    if link_mapfile {
        command.arg("-lmapfile");
    }
    command.args(["-lpthread", "-ldl"]);
    let output = command.output().expect("running the C compiler");
    assert!(
        output.status.success(),
        "compiling {name} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

/// Runs a program with a timeout (a hang is a failure, not a stuck test run).
/// LD_LIBRARY_PATH is removed: cargo points it at target/<profile>, whose libmapfile.so is only
/// refreshed by `cargo build`; the programs find the fresh one through their rpath.
pub fn run_with_timeout(command: &mut Command, timeout: Duration) -> Output {
    let mut child = command
        .env_remove("LD_LIBRARY_PATH")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the program");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("waiting").is_some() {
            return child.wait_with_output().expect("collecting output");
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let output = child.wait_with_output().expect("collecting output");
            panic!(
                "{command:?} did not finish within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Compiles tests/c/<name>.c, runs it with a scratch dir, and requires every test in it to pass.
pub fn run_c_test(name: &str) {
    let exe = compile(name, &[root().join(format!("tests/c/{name}.c"))], &[], "c");
    let scratch = scratch_dir(name);
    let output = run_with_timeout(Command::new(&exe).arg(&scratch), Duration::from_secs(300));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        output.status.success(),
        "C test program {name} failed ({:?}):\n{stdout}\n{stderr}",
        output.status
    );
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .unwrap_or("");
    assert!(
        summary.contains(" passed, 0 failed") && !summary.starts_with("0 passed"),
        "{name}: unexpected summary {summary:?}"
    );
    report_skipped(name, &stdout, &stderr);
    let _ = std::fs::remove_dir_all(&scratch);
}

/// Skipped C tests are never silent: their lines (and the reasons printed on stderr) are appended
/// to target/skipped-tests.txt, which `make test` prints at the end.
pub fn report_skipped(name: &str, stdout: &str, stderr: &str) {
    let lines: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|line| line.contains("SKIPPED"))
        .collect();
    if lines.is_empty() {
        return;
    }
    let path = root().join("target/skipped-tests.txt");
    let text: String = lines
        .iter()
        .map(|line| format!("{name}: {}\n", line.trim()))
        .collect();
    eprint!("{text}");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = std::io::Write::write_all(&mut file, text.as_bytes());
    }
}

/// Compiles a standalone source with extra flags and runs it (for header checks).
pub fn compile_and_run_snippet(name: &str, source: &str, extra: &[&str], language: &str) {
    let tag = extra
        .iter()
        .map(|f| f.trim_start_matches('-').replace(['=', '+'], ""))
        .collect::<Vec<_>>()
        .join("-");
    let exe = compile(
        &format!("{name}-{tag}"),
        &[root().join(source)],
        extra,
        language,
    );
    let output = run_with_timeout(&mut Command::new(&exe), Duration::from_secs(60));
    assert!(
        output.status.success(),
        "{name} {extra:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
