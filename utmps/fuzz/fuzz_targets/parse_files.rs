//! A utmp or wtmp file of any content: `files::parse` in either layout and with
//! detection, then `last::pair` over what it read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use utmps::layout::Layout;

fuzz_target!(|data: &[u8]| {
    for layout in [None, Some(Layout::Glibc), Some(Layout::Utmps)] {
        let got = utmps::files::parse(data, layout);
        assert_eq!(got.records.len() * got.layout.record_size() + got.trailing, data.len());
        for session in utmps::last::pair(&got.records) {
            let _ = session.duration();
        }
    }
});
