//! include/mapfile.h is generated from the Rust sources; this test regenerates it in memory and
//! fails on any difference. `MAPFILE_BLESS=1 cargo test --test header` rewrites it.

use std::path::Path;

fn generate() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let (major, minor, patch) = (
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    );
    config.after_includes = Some(format!(
        "\n/** Version of this header: equal to mapfile_version() of the library it ships with. */\n\
         #define MAPFILE_VERSION_MAJOR {major}\n\
         #define MAPFILE_VERSION_MINOR {minor}\n\
         #define MAPFILE_VERSION_PATCH {patch}\n\
         #define MAPFILE_VERSION \"{major}.{minor}.{patch}\""
    ));
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn header_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/mapfile.h");
    let generated = generate();
    if std::env::var_os("MAPFILE_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("writing include/mapfile.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "(length differs)".to_string(),
                |n| format!("first difference at line {}", n + 1),
            );
        panic!(
            "include/mapfile.h is out of date with src/ffi ({line}); run `MAPFILE_BLESS=1 cargo test --test header` and commit it"
        );
    }
}
