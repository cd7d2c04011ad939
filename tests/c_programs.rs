//! Compiles every C test program (tests/c/*.c) and every example (examples-c/*.c) with the system C
//! compiler against include/mapfile.h, links it against the cdylib cargo just built, and runs it.
//! C tests print one line per test and "N passed, N failed"; examples are run on generated data
//! and their output is compared with what Rust computes from the same data.

mod support;

use support::*;

#[test]
fn c_contract_tests() {
    run_c_test("test_contract");
}

#[test]
fn c_lifecycle_tests() {
    run_c_test("test_lifecycle");
}

#[test]
fn c_access_tests() {
    run_c_test("test_access");
}

#[test]
fn c_size_and_durability_tests() {
    run_c_test("test_size_durability");
}

#[test]
fn c_hostile_input_tests() {
    run_c_test("test_hostile");
}

#[test]
fn c_resize_race_tests() {
    run_c_test("test_resize_races");
}

#[test]
fn c_thread_tests() {
    run_c_test("test_threads");
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

#[test]
fn c_truncation_tests() {
    run_c_test("test_truncation");
}

#[test]
fn c_sigbus_mode_tests() {
    run_c_test("test_sigbus_modes");
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

#[test]
fn c_full_disk_tests() {
    run_c_test("test_full_disk");
}
