//! The Rust declaration of `struct xutmp_record` must match the C compiler's, field
//! by field. The C side reports its own layout through xutmp_field_offset, so this
//! checks whichever library was linked, static or shared.

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
