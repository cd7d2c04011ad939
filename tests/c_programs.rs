//! Compiles every C test program (tests/c/*.c) and every example (examples-c/*.c) with the system C
//! compiler against include/mapfile.h, links it against the cdylib cargo just built, and runs it.
//! C tests print one line per test and "N passed, N failed"; examples are run on generated data
//! and their output is compared with what Rust computes from the same data.

mod support;

use support::*;

/// Every tests/c/test_*.c program (the directory is the one list of them), built and run in
/// parallel; each failure names its program.
#[test]
fn every_c_test_program_passes() {
    let mut names: Vec<String> = std::fs::read_dir(root().join("tests/c"))
        .expect("reading tests/c")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("test_") && name.ends_with(".c"))
        .map(|name| name.trim_end_matches(".c").to_string())
        .collect();
    names.sort();
    assert!(names.len() >= 10, "found only {names:?}");
    let failed: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = names
            .iter()
            .map(|name| {
                let name = name.clone();
                scope.spawn(move || {
                    (
                        std::panic::catch_unwind(|| run_c_test(&name)).is_err(),
                        name,
                    )
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("a runner thread"))
            .filter(|(failed, _)| *failed)
            .map(|(_, name)| name)
            .collect()
    });
    assert!(
        failed.is_empty(),
        "C test programs failed: {failed:?} (their output is above)"
    );
}

/// Header hygiene: C89 and gnu89 under -pedantic (legacy code bases), parenthesised status macros.
#[test]
fn header_compiles_as_c_and_cxx_and_twice() {
    for standard in ["-std=c89", "-std=gnu89", "-std=c99", "-std=c11"] {
        compile_and_run_snippet("header_c", "tests/c/header_twice.c", &[standard], "c");
    }
    for standard in ["-std=c++11", "-std=c++17"] {
        compile_and_run_snippet(
            "header_cxx",
            "tests/c/header_twice.c",
            &[standard, "-x", "c++"],
            "c++",
        );
    }
}

/// The C++ wrapper (include/mapfile.hpp) under C++17 (its own span stand-in) and C++20
/// (std::span), -Wall -Wextra -Werror -pedantic: RAII, moves, views, exceptions, try_* variants.
#[test]
fn cxx_wrapper_works_under_cxx17_and_cxx20() {
    run_wrapper_test("test_wrapper", &[]);
}

/// The C++ wrapper under -fno-exceptions: the header compiles without its throwing calls, and
/// every call has a noexcept try_* form returning the status.
#[test]
fn cxx_wrapper_works_without_exceptions() {
    run_wrapper_test("test_wrapper_no_exceptions", &["-fno-exceptions"]);
}

/// Builds tests/cpp/`name`.cpp under C++17 and C++20 with `flags` and runs it in a scratch dir.
fn run_wrapper_test(name: &str, flags: &[&str]) {
    for standard in ["-std=c++17", "-std=c++20"] {
        let tag = standard.trim_start_matches("-std=").replace('+', "x");
        let exe = compile(
            &format!("{name}-{tag}"),
            &[root().join(format!("tests/cpp/{name}.cpp"))],
            &[&[standard], flags].concat(),
            "c++",
        );
        let dir = scratch_dir(&format!("{name}-{tag}"));
        let output = run_with_timeout(
            std::process::Command::new(&exe).arg(&dir),
            std::time::Duration::from_secs(60),
        );
        assert!(
            output.status.success(),
            "{name} {standard} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// On x86_64 the library's thread-local block is static TLS (the grace mark is an initial-exec
/// variable, grace.rs), so a dlopen takes it from glibc's reserve for such libraries
/// (`glibc.rtld.optional_static_tls`, 512 bytes by default; a dlopen that finds no room fails):
/// it must stay well inside that. A large thread-local (the 1 KiB message buffer was one) fails
/// this test.
#[test]
fn the_thread_local_block_fits_the_static_tls_reserve_of_dlopen() {
    let library = library_dir().join("libmapfile.so");
    let headers = std::process::Command::new("readelf")
        .arg("-lW")
        .arg(&library)
        .output()
        .expect("readelf");
    let text = String::from_utf8_lossy(&headers.stdout);
    let tls = text
        .lines()
        .find(|line| line.trim_start().starts_with("TLS "))
        .unwrap_or_else(|| panic!("no TLS segment in {}:\n{text}", library.display()));
    // Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align
    let size = tls.split_whitespace().nth(5).expect("MemSiz");
    let size = u64::from_str_radix(size.trim_start_matches("0x"), 16).expect("hex MemSiz");
    assert!(
        size <= 256,
        "the library's thread-local block is {size} bytes (at most 256: half of glibc's default reserve)"
    );
}

/// A program that only dlopens the library (no -lmapfile) uses it, survives a truncation, and
/// after dlclose a SIGBUS of its own still gets the default action (the library is -z nodelete).
#[test]
fn dlopen_only_program_uses_the_library() {
    let exe = compile_with(
        "dlopen_only",
        &[root().join("tests/c/dlopen_only.c")],
        &[],
        "c",
        false,
    );
    let needed = std::process::Command::new("readelf")
        .arg("-d")
        .arg(&exe)
        .output()
        .expect("readelf");
    assert!(
        !String::from_utf8_lossy(&needed.stdout).contains("libmapfile"),
        "dlopen_only must not link libmapfile"
    );
    let scratch = scratch_dir("dlopen");
    let library = library_dir().join("libmapfile.so");
    let output = run_with_timeout(
        std::process::Command::new(&exe).arg(&library).arg(&scratch),
        std::time::Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout,
        "after dlclose with the handler installed: still mapped\n\
         read after truncation: the file shrank under the mapping; the bytes asked for are gone\n\
         own fault after dlclose: default action (SIGBUS)\n"
    );
}
