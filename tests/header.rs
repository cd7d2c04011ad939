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
        "\n/** Version of this header: equal to mapfile_version() of the library it ships with. @ingroup errors */\n\
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
    c89_clean(&String::from_utf8(out).expect("the header is UTF-8"))
}

/// Two fixes to what cbindgen writes, so the header builds as C89 (legacy code bases):
/// `#define MAPFILE_ERR_NULL_ARG -1` becomes `(-1)`, so that `x-MAPFILE_ERR_NULL_ARG` or
/// `sizeof MAPFILE_ERR_NULL_ARG` mean what they say; and its `// __cplusplus` trailers become
/// `/* __cplusplus */` (C89 has no `//` comments).
fn c89_clean(header: &str) -> String {
    header
        .lines()
        .map(|line| {
            let mut words = line.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("#define"), Some(name), Some(value)) if value.starts_with('-') => {
                    format!("#define {name} ({value})\n")
                }
                _ => match line.split_once("//") {
                    Some((code, comment)) if !line.trim_start().starts_with('*') => {
                        format!("{code}/* {} */\n", comment.trim())
                    }
                    _ => format!("{line}\n"),
                },
            }
        })
        .collect()
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

/// Header hygiene: every name the header defines is the library's own (`mapfile_`/`MAPFILE_`);
/// no internal Rust constant leaks into a C program's namespace.
#[test]
fn header_defines_only_prefixed_names() {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/mapfile.h"))
            .expect("reading include/mapfile.h");
    let mut foreign = Vec::new();
    for line in header.lines() {
        let name = if let Some(rest) = line.strip_prefix("#define ") {
            rest.split_whitespace().next()
        } else if line.starts_with("typedef ") || line.starts_with("struct ") {
            line.trim_end_matches([';', '{', ' '])
                .rsplit([' ', '*'])
                .next()
        } else if let Some(open) = line
            .find('(')
            .filter(|_| !line.starts_with(' ') && !line.starts_with('#'))
        {
            line[..open].rsplit([' ', '*']).next()
        } else {
            None
        };
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            let ours =
                name.starts_with("mapfile_") || name.starts_with("MAPFILE_") || name == "MAPFILE_H";
            if !ours {
                foreign.push(line.to_string());
            }
        }
    }
    assert!(
        foreign.is_empty(),
        "names without the mapfile prefix in the header: {foreign:#?}"
    );
}

/// The header is the manual: every function's comment names its group (`@ingroup`), documents
/// every parameter with its direction (`@param[in]` / `@param[out]`), and says what it returns
/// (`@return`, the statuses for a mapfile_status); every group it names is defined in the
/// header's introduction.
#[test]
fn header_documents_every_function_as_a_manual() {
    // The generated text (equal to the committed file when header_is_current passes).
    let header = generate();
    let mut problems = Vec::new();
    let mut functions = 0;
    let mut rest = header.as_str();
    while let Some(end) = rest.find("*/") {
        let comment = &rest[..end];
        let after = rest[end + 2..].trim_start();
        rest = &rest[end + 2..];
        let Some(open) = after.find('(') else { break };
        let head = &after[..open];
        if head.starts_with('#') || head.contains(';') || head.contains('{') || head.contains("*/")
        {
            continue;
        }
        let Some(name) = head
            .rsplit([' ', '*'])
            .next()
            .filter(|n| n.starts_with("mapfile_"))
        else {
            continue;
        };
        functions += 1;
        let close = after.find(");").expect("a declaration ends with );");
        let parameters: Vec<&str> = after[open + 1..close]
            .split(',')
            .map(|p| p.trim().rsplit([' ', '*']).next().unwrap_or(""))
            .filter(|p| !p.is_empty() && *p != "void")
            .collect();
        if !comment.contains("@ingroup ") {
            problems.push(format!("{name}: no @ingroup"));
        }
        for parameter in &parameters {
            let documented = ["@param[in] ", "@param[out] ", "@param[in,out] "]
                .iter()
                .any(|tag| comment.contains(&format!("{tag}{parameter} ")));
            if !documented {
                problems.push(format!(
                    "{name}: parameter {parameter} has no @param[in|out]"
                ));
            }
        }
        let returns_void = head.trim_start().starts_with("void ");
        if !returns_void && !comment.contains("@return") {
            problems.push(format!("{name}: no @return"));
        }
        if head.contains("mapfile_status")
            && !comment.contains("MAPFILE_OK")
            && !comment.contains("@return as ")
        {
            problems.push(format!("{name}: @return does not list the statuses"));
        }
    }
    for group in header.split("@ingroup ").skip(1) {
        let group = group.split_whitespace().next().unwrap_or("");
        if !header.contains(&format!("@defgroup {group} ")) {
            problems.push(format!("group {group} is used but not defined"));
        }
    }
    assert!(
        functions >= 38,
        "found only {functions} functions in the header"
    );
    assert!(
        problems.is_empty(),
        "the header is not yet the manual: {problems:#?}"
    );
}
