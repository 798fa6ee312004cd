//! Decides how libxutmp is linked: statically from the bundled sources, or
//! dynamically against an installed `libxutmp.so`. The environment wins over cargo
//! features, because features are additive and only the environment can undo one.

use std::env;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Static,
    Dynamic,
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

fn main() {
    println!("cargo:rustc-check-cfg=cfg(xutmp_static)");
    // Read in both modes, so that setting it reruns this script in either.
    let flavour = env("XUTMP_FLAVOUR");
    match choose_mode() {
        Mode::Static => build_static(choose_flavour(flavour.as_deref())),
        Mode::Dynamic => {
            if let Some(flavour) = flavour {
                fail(&format!(
                    "XUTMP_FLAVOUR={flavour} is set, but libxutmp is linked dynamically: an installed \
                     libxutmp.so has the flavour it was built with (`utmps_sys::linkage()` reports it at \
                     run time). Unset XUTMP_FLAVOUR, or build the bundled sources with it: feature \
                     `static` or UTMPS_SYS_STATIC=1"
                ))
            }
            link_dynamic()
        }
    }
}

fn choose_mode() -> Mode {
    let static_feature = env::var_os("CARGO_FEATURE_STATIC").is_some();
    let dynamic_feature = env::var_os("CARGO_FEATURE_DYNAMIC").is_some();
    match env("UTMPS_SYS_STATIC").as_deref() {
        Some("1") => return Mode::Static,
        Some("0") => return Mode::Dynamic,
        Some(other) => fail(&format!("UTMPS_SYS_STATIC must be 0 or 1, not {other:?}")),
        None => {}
    }
    match (static_feature, dynamic_feature) {
        (true, false) => Mode::Static,
        (false, true) => Mode::Dynamic,
        (true, true) => fail(
            "both features `static` and `dynamic` are enabled (features add up across the \
             dependency graph); set UTMPS_SYS_STATIC=1 or UTMPS_SYS_STATIC=0 to choose",
        ),
        // Neither was asked for: a system library is the only thing we may use
        // without building code the user did not request.
        (false, false) => Mode::Dynamic,
    }
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
    println!("cargo:rerun-if-changed={}", src.join("xutmp.c").display());
    println!("cargo:rerun-if-changed={}", src.join("xutmp.h").display());

    let mut build = cc::Build::new();
    build
        .file(src.join("xutmp.c"))
        .include(&src)
        .define("_GNU_SOURCE", None)
        .flag_if_supported("-std=c11")
        .warnings(true)
        .extra_warnings(true);
    if flavour == Flavour::Utmps {
        build.define("XUTMP_BUILD_UTMPS", None);
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
    println!("cargo:flavour={}", flavour.name());
    println!("cargo:root={}", out.display());
    println!("cargo:include={}", include.display());
}

fn link_dynamic() {
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
        return;
    }
    match pkg_config::Config::new().atleast_version("0.1.0").statik(false).probe("xutmp") {
        Ok(lib) => {
            if let Some(include) = lib.include_paths.first() {
                println!("cargo:include={}", include.display());
            }
            if let Some(dir) = lib.link_paths.first() {
                println!("cargo:root={}", dir.display());
            }
            println!("cargo:static=0");
        }
        Err(e) => fail(&format!(
            "dynamic linking was chosen (feature `dynamic`, UTMPS_SYS_STATIC=0, or no feature at all) \
             but no libxutmp.so was found.\n\
             - install it: `make -C xutmp install PREFIX=/usr/local` from the utmps repository, \
               then make sure PKG_CONFIG_PATH finds xutmp.pc;\n\
             - or point XUTMP_LIB_DIR (and XUTMP_INCLUDE_DIR) at an installed copy;\n\
             - or build the bundled sources instead: feature `static` or UTMPS_SYS_STATIC=1.\n\
             pkg-config said: {e}"
        )),
    }
}
