//! Gives the shared library its soname, libmapfile.so.MAJOR, and the link name that soname needs
//! beside it in the target directory, so `-Ltarget/release -lmapfile` programs run from there.
//! Also marks it `-z nodelete`: once its SIGBUS handler is installed, a dlclose must never unmap
//! the handler's code.

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
    println!("cargo:rerun-if-changed=build.rs");
}
