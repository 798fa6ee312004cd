//! The Rust declaration of `struct xutmp_record` must match the C compiler's, field
//! by field, and every constant of xutmp.h must have its C value. The C side
//! reports its own layout through xutmp_field_offset and its constants through
//! xutmp_constants, so this checks whichever library was linked, static or shared.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::mem::{align_of, offset_of, size_of};

use utmps_sys::*;

#[test]
fn record_size_and_alignment_match_c() {
    // SAFETY: these functions take no arguments and return constants.
    unsafe {
        assert_eq!(xutmp_abi_version(), XUTMP_ABI_VERSION);
        assert_eq!(xutmp_record_size(), size_of::<xutmp_record>());
        assert_eq!(xutmp_record_align(), align_of::<xutmp_record>());
    }
}

#[test]
fn every_field_offset_matches_c() {
    let rust = [
        (XUTMP_FIELD_TV_SEC, offset_of!(xutmp_record, tv_sec)),
        (XUTMP_FIELD_TV_USEC, offset_of!(xutmp_record, tv_usec)),
        (XUTMP_FIELD_TYPE, offset_of!(xutmp_record, type_)),
        (XUTMP_FIELD_PID, offset_of!(xutmp_record, pid)),
        (XUTMP_FIELD_SESSION, offset_of!(xutmp_record, session)),
        (XUTMP_FIELD_EXIT_TERMINATION, offset_of!(xutmp_record, exit_termination)),
        (XUTMP_FIELD_EXIT_STATUS, offset_of!(xutmp_record, exit_status)),
        (XUTMP_FIELD_ADDR_V6, offset_of!(xutmp_record, addr_v6)),
        (XUTMP_FIELD_LINE, offset_of!(xutmp_record, line)),
        (XUTMP_FIELD_ID, offset_of!(xutmp_record, id)),
        (XUTMP_FIELD_USER, offset_of!(xutmp_record, user)),
        (XUTMP_FIELD_HOST, offset_of!(xutmp_record, host)),
        (XUTMP_FIELD_RESERVED, offset_of!(xutmp_record, reserved)),
    ];
    assert_eq!(rust.len(), XUTMP_FIELD_COUNT as usize, "every field is checked");
    for (field, offset) in rust {
        // SAFETY: pure function of its argument.
        let c = unsafe { xutmp_field_offset(field) };
        assert_eq!(c, offset, "field {field}");
    }
    // SAFETY: as above; an unknown field must say so rather than return garbage.
    assert_eq!(unsafe { xutmp_field_offset(XUTMP_FIELD_COUNT) }, usize::MAX);
}

#[test]
fn linkage_reports_mode_and_flavour() {
    let linkage = linkage();
    assert!(matches!(linkage.flavour, XUTMP_FLAVOUR_LIBC | XUTMP_FLAVOUR_UTMPS));
    // CI sets this to the mode it asked for, so a silent switch of modes fails here.
    if let Ok(expected) = std::env::var("UTMPS_SYS_EXPECT_MODE") {
        let expected = match expected.as_str() {
            "static" => LinkMode::Static,
            "dynamic" => LinkMode::Dynamic,
            other => panic!("UTMPS_SYS_EXPECT_MODE={other}"),
        };
        assert_eq!(linkage.mode, expected);
    }
    println!("linked: {linkage:?}");
}

#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
#[test]
fn platform_record_is_glibcs_384_bytes_in_the_libc_flavour() {
    if linkage().flavour == XUTMP_FLAVOUR_LIBC {
        // SAFETY: returns a constant.
        assert_eq!(unsafe { xutmp_platform_record_size() }, 384);
    }
}

/// Name and value of each Rust declaration, the name taken from the identifier
/// itself so that it cannot be misspelt.
macro_rules! named {
    ($($name:ident),* $(,)?) => {
        BTreeMap::from([$((stringify!($name).to_string(), $name as i64)),*])
    };
}

fn rust_constants() -> BTreeMap<String, i64> {
    named!(
        XUTMP_ABI_VERSION,
        XUTMP_FLAVOUR_LIBC,
        XUTMP_FLAVOUR_UTMPS,
        XUTMP_LINE_SIZE,
        XUTMP_ID_SIZE,
        XUTMP_USER_SIZE,
        XUTMP_HOST_SIZE,
        XUTMP_EMPTY,
        XUTMP_RUN_LVL,
        XUTMP_BOOT_TIME,
        XUTMP_NEW_TIME,
        XUTMP_OLD_TIME,
        XUTMP_INIT_PROCESS,
        XUTMP_LOGIN_PROCESS,
        XUTMP_USER_PROCESS,
        XUTMP_DEAD_PROCESS,
        XUTMP_ACCOUNTING,
        XUTMP_ERR_END,
        XUTMP_ERR_ID_TAKEN,
        XUTMP_ERR_NOT_RECORDS,
        XUTMP_FIELD_TV_SEC,
        XUTMP_FIELD_TV_USEC,
        XUTMP_FIELD_TYPE,
        XUTMP_FIELD_PID,
        XUTMP_FIELD_SESSION,
        XUTMP_FIELD_EXIT_TERMINATION,
        XUTMP_FIELD_EXIT_STATUS,
        XUTMP_FIELD_ADDR_V6,
        XUTMP_FIELD_LINE,
        XUTMP_FIELD_ID,
        XUTMP_FIELD_USER,
        XUTMP_FIELD_HOST,
        XUTMP_FIELD_RESERVED,
        XUTMP_FIELD_COUNT,
    )
}

/// The linked library's table, by name; a name given twice fails.
fn c_constants() -> BTreeMap<String, i64> {
    // SAFETY: returns a pointer to a static table that ends with a NULL name.
    let table = unsafe { xutmp_constants() };
    assert!(!table.is_null());
    let mut out = BTreeMap::new();
    for i in 0.. {
        assert!(i < 1000, "the table has no end");
        // SAFETY: every entry up to and including the NULL-named one is in the table.
        let entry = unsafe { *table.add(i) };
        if entry.name.is_null() {
            break;
        }
        // SAFETY: the library's names are NUL-terminated static strings.
        let name = unsafe { CStr::from_ptr(entry.name) }.to_str().expect("ASCII name").to_string();
        assert!(out.insert(name.clone(), entry.value).is_none(), "{name} twice");
    }
    out
}

/// Every name the bundled header defines: `#define XUTMP_NAME value` lines and
/// the enumerators of `enum xutmp_field` (the include guard has no value).
fn header_names() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/xutmp/xutmp.h");
    let header = std::fs::read_to_string(path).expect("the bundled xutmp.h");
    let mut names = Vec::new();
    for line in header.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        if let (Some("#define"), Some(name), Some(_value)) = (words.next(), words.next(), words.next()) {
            if name.starts_with("XUTMP_") {
                names.push(name.to_string());
            }
        } else if line.starts_with("XUTMP_FIELD_") {
            let end = line.find([' ', '=', ',']).unwrap_or(line.len());
            names.push(line[..end].to_string());
        }
    }
    names
}

#[test]
fn every_constant_matches_c() {
    assert_eq!(rust_constants(), c_constants());
}

#[test]
fn the_constant_table_covers_the_header() {
    let table = c_constants();
    let names = header_names();
    // The scan itself must have found the header's constants, not nothing.
    assert!(names.len() >= XUTMP_FIELD_COUNT as usize, "{names:?}");
    for name in names {
        assert!(table.contains_key(&name), "{name} is in xutmp.h but not in xutmp_constants()");
    }
}
