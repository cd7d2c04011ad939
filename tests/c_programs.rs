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
fn c_thread_tests() {
    run_c_test("test_threads");
}

#[test]
fn header_compiles_as_c_and_cxx_and_twice() {
    for standard in ["-std=c99", "-std=c11"] {
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
