//! Gives the shared library its soname, libmapfile.so.MAJOR, and the link name that soname needs
//! beside it in the target directory, so `-Ltarget/release -lmapfile` programs run from there.
//! Also marks it `-z nodelete`: once its SIGBUS handler is installed, a dlclose must never unmap
//! the handler's code. And chooses how a thread finds its grace mark (`grace_slot`).

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
    let soname = format!("libmapfile.so.{major}");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
        // OUT_DIR is <target>/<profile>/build/mapfile-<hash>/out: the library lands in <profile>.
        if let Some(profile_dir) = std::env::var_os("OUT_DIR")
            .map(std::path::PathBuf::from)
            .and_then(|out| out.ancestors().nth(3).map(|p| p.to_path_buf()))
        {
            let link = profile_dir.join(&soname);
            let _ = std::fs::remove_file(&link);
            #[cfg(unix)]
            let _ = std::os::unix::fs::symlink("libmapfile.so", &link);
        }
    }
    grace_slot();
    println!("cargo:rerun-if-changed=build.rs");
}

/// How a thread finds its grace mark (src/core/grace.rs, `mod slot`), as the cfg
/// `mapfile_grace_slot`: "initial_exec_tls" on x86_64 glibc, "thread_pointer" (a hash of the
/// thread pointer) on aarch64, "thread_local" elsewhere. MAPFILE_GRACE_SLOT picks another one
/// where it can run, so that the tests run every variant on this platform
/// (scripts/test-grace-slots.sh): thread_pointer needs x86_64 or aarch64 Linux.
fn grace_slot() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let linux = os == "linux";
    let native = match (linux, arch.as_str(), env.as_str()) {
        (true, "x86_64", "gnu") => "initial_exec_tls",
        (true, "aarch64", _) => "thread_pointer",
        _ => "thread_local",
    };
    println!("cargo:rerun-if-env-changed=MAPFILE_GRACE_SLOT");
    let chosen = std::env::var("MAPFILE_GRACE_SLOT").unwrap_or_else(|_| native.to_string());
    let possible = match chosen.as_str() {
        "initial_exec_tls" => native == "initial_exec_tls",
        "thread_pointer" => linux && (arch == "x86_64" || arch == "aarch64"),
        "thread_local" => true,
        _ => false,
    };
    if !possible {
        panic!("MAPFILE_GRACE_SLOT={chosen}: not a grace slot for {arch}-{os}-{env} (initial_exec_tls: x86_64 glibc; thread_pointer: x86_64 or aarch64 Linux; thread_local: any)");
    }
    println!("cargo:rustc-check-cfg=cfg(mapfile_grace_slot, values(\"initial_exec_tls\", \"thread_pointer\", \"thread_local\"))");
    println!("cargo:rustc-cfg=mapfile_grace_slot=\"{chosen}\"");
}
