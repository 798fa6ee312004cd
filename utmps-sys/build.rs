//! Decides how libxutmp is linked: statically from the bundled sources, or
//! dynamically against an installed `libxutmp.so`. With nothing asked for, an
//! installed copy is used when one is found and the bundled sources otherwise, so
//! that a dependency builds on a machine that has never heard of libxutmp. The
//! environment wins over cargo features, because features are additive and only
//! the environment can undo one.

use std::env;
use std::path::{Path, PathBuf};

/// What the features and the environment ask for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Request {
    Static,
    Dynamic,
    /// Nothing asked: an installed copy if there is one, else the bundled sources.
    Either,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Flavour {
    Libc,
    Utmps,
}

impl Flavour {
    fn name(self) -> &'static str {
        match self {
            Flavour::Libc => "libc",
            Flavour::Utmps => "utmps",
        }
    }
}

/// Reads a build-affecting variable and makes cargo rerun when it changes.
fn env(name: &str) -> Option<String> {
    println!("cargo:rerun-if-env-changed={name}");
    env::var(name).ok().filter(|v| !v.is_empty())
}

fn fail(msg: &str) -> ! {
    eprintln!("\nerror: utmps-sys: {msg}\n");
    std::process::exit(1);
}

/// Says why a mode was chosen, in the build script's output (`cargo build -vv`
/// shows it): a fallback is normal, so it is no `cargo:warning`.
fn note(msg: &str) {
    // One line: cargo would read a line of it that began with `cargo:`.
    println!("utmps-sys: {}", msg.split_whitespace().collect::<Vec<_>>().join(" "));
}

fn main() {
    println!("cargo:rustc-check-cfg=cfg(xutmp_static)");
    // Read in every mode, so that setting it reruns this script in any.
    let flavour = env("XUTMP_FLAVOUR");
    match requested() {
        Request::Static => build_static(choose_flavour(flavour.as_deref())),
        Request::Dynamic => {
            reject_flavour(flavour.as_deref());
            link_installed().unwrap_or_else(|e| fail(&not_installed(&e)))
        }
        // An installed copy has the flavour it was built with; only the bundled
        // sources can honour a flavour asked for.
        Request::Either if flavour.is_some() => {
            note("XUTMP_FLAVOUR is set: building the bundled sources");
            build_static(choose_flavour(flavour.as_deref()))
        }
        Request::Either => {
            if let Err(e) = link_installed() {
                note(&format!("{}: building the bundled sources", summary(&e)));
                build_static(choose_flavour(None))
            }
        }
    }
}

fn requested() -> Request {
    match env("UTMPS_SYS_STATIC").as_deref() {
        Some("1") => return Request::Static,
        Some("0") => return Request::Dynamic,
        Some(other) => fail(&format!("UTMPS_SYS_STATIC must be 0 or 1, not {other:?}")),
        None => {}
    }
    let static_feature = env::var_os("CARGO_FEATURE_STATIC").is_some();
    let dynamic_feature = env::var_os("CARGO_FEATURE_DYNAMIC").is_some();
    match (static_feature, dynamic_feature) {
        // Both, because features add up across a dependency graph: the bundled
        // sources satisfy both askers and cannot be missing; UTMPS_SYS_STATIC=0
        // is there for a binary that must link the installed copy.
        (true, _) => Request::Static,
        (false, true) => Request::Dynamic,
        (false, false) => Request::Either,
    }
}

fn reject_flavour(flavour: Option<&str>) {
    if let Some(flavour) = flavour {
        fail(&format!(
            "XUTMP_FLAVOUR={flavour} is set, but libxutmp is linked dynamically (feature `dynamic` or \
             UTMPS_SYS_STATIC=0): an installed libxutmp.so has the flavour it was built with \
             (`utmps_sys::linkage()` reports it at run time). Unset XUTMP_FLAVOUR, or build the bundled \
             sources with it: feature `static`, UTMPS_SYS_STATIC=1, or no linking feature at all"
        ))
    }
}

/// One line for the build output; the full pkg-config report is for errors.
fn summary(e: &pkg_config::Error) -> String {
    match e {
        pkg_config::Error::EnvNoPkgConfig(var) => format!("{var} is set, so pkg-config was not asked"),
        pkg_config::Error::CrossCompilation => "pkg-config is not asked when cross-compiling".to_string(),
        pkg_config::Error::Command { cause, .. } => format!("pkg-config could not run ({cause})"),
        _ => "pkg-config found no module `xutmp` >= 0.1.1".to_string(),
    }
}

fn not_installed(e: &pkg_config::Error) -> String {
    format!(
        "an installed libxutmp was asked for (feature `dynamic` or UTMPS_SYS_STATIC=0) but none was found.\n\
         - install it: `make -C xutmp install PREFIX=/usr/local` from the utmps-rs repository, \
           then make sure PKG_CONFIG_PATH finds xutmp.pc;\n\
         - or point XUTMP_LIB_DIR (and XUTMP_INCLUDE_DIR) at an installed copy;\n\
         - or build the bundled sources instead: feature `static`, UTMPS_SYS_STATIC=1, or neither \
           linking feature (the default: an installed copy if found, else the bundled sources).\n\
         pkg-config said: {e}"
    )
}

fn choose_flavour(requested: Option<&str>) -> Flavour {
    match requested {
        Some("libc") => return Flavour::Libc,
        Some("utmps") => return Flavour::Utmps,
        Some(other) => fail(&format!("XUTMP_FLAVOUR must be `libc` or `utmps`, not {other:?}")),
        None => {}
    }
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" && target_env == "musl" {
        // musl's own utmpx functions are stubs that report success and do nothing.
        Flavour::Utmps
    } else if target_env == "gnu" {
        Flavour::Libc
    } else {
        fail(&format!(
            "no known utmpx backend for target_os={target_os} target_env={target_env}; \
             set XUTMP_FLAVOUR=utmps (with libutmps installed) or XUTMP_FLAVOUR=libc"
        ))
    }
}

fn build_static(flavour: Flavour) {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let src = root.join("xutmp");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let include = out.join("include");
    std::fs::create_dir_all(&include).unwrap_or_else(|e| fail(&format!("creating {}: {e}", include.display())));
    std::fs::copy(src.join("xutmp.h"), include.join("xutmp.h"))
        .unwrap_or_else(|e| fail(&format!("copying xutmp.h: {e}")));
    // The common file and the flavour's own; the flavour is the file compiled.
    let flavour_file = format!("xutmp-{}.c", flavour.name());
    let sources = ["xutmp.c", flavour_file.as_str()];
    for name in sources.iter().chain(&["xutmp.h", "xutmp-internal.h", "xutmp-utmpx.h"]) {
        println!("cargo:rerun-if-changed={}", src.join(name).display());
    }

    let mut build = cc::Build::new();
    build
        .files(sources.iter().map(|name| src.join(name)))
        .include(&src)
        .define("_GNU_SOURCE", None)
        .flag_if_supported("-std=c11")
        .warnings(true)
        .extra_warnings(true);
    if flavour == Flavour::Utmps {
        let libutmps = pkg_config::Config::new().statik(true).probe("libutmps").unwrap_or_else(|e| {
            fail(&format!(
                "the utmps flavour needs libutmps (pkg-config module `libutmps`); \
                 install utmps and skalibs development files. pkg-config said: {e}"
            ))
        });
        for path in &libutmps.include_paths {
            build.include(path);
        }
    }
    build.compile("xutmp");
    println!("cargo:rustc-cfg=xutmp_static");
    println!("cargo:static=1");
    note(&format!("compiled the bundled sources, flavour {}", flavour.name()));
    println!("cargo:flavour={}", flavour.name());
    println!("cargo:root={}", out.display());
    println!("cargo:include={}", include.display());
}

/// Links an installed libxutmp: the one in XUTMP_LIB_DIR when set (a hard error
/// if it is not there, since it was named), else the one pkg-config finds.
fn link_installed() -> Result<(), pkg_config::Error> {
    if let Some(lib_dir) = env("XUTMP_LIB_DIR") {
        let lib_dir = Path::new(&lib_dir);
        if !lib_dir.join("libxutmp.so").exists() {
            fail(&format!("XUTMP_LIB_DIR={} holds no libxutmp.so", lib_dir.display()));
        }
        println!("cargo:rustc-link-search=native={}", lib_dir.display());
        println!("cargo:rustc-link-lib=dylib=xutmp");
        if let Some(include) = env("XUTMP_INCLUDE_DIR") {
            println!("cargo:include={include}");
        }
        println!("cargo:root={}", lib_dir.display());
        println!("cargo:static=0");
        note(&format!("linking the installed libxutmp in XUTMP_LIB_DIR={}", lib_dir.display()));
        return Ok(());
    }
    let lib = pkg_config::Config::new().atleast_version("0.1.1").statik(false).probe("xutmp")?;
    if let Some(include) = lib.include_paths.first() {
        println!("cargo:include={}", include.display());
    }
    if let Some(dir) = lib.link_paths.first() {
        println!("cargo:root={}", dir.display());
    }
    println!("cargo:static=0");
    note(&format!("linking the installed libxutmp {} found by pkg-config", lib.version));
    Ok(())
}
