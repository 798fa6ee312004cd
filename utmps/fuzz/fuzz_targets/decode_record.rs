//! Any bytes, cut to a record's size, decode in both layouts without panicking;
//! whatever decodes and can be encoded again reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use utmps::layout::Layout;

fuzz_target!(|data: &[u8]| {
    for layout in [Layout::Glibc, Layout::Utmps] {
        let size = layout.record_size();
        // A wrong size is an error, never a panic.
        let _ = layout.decode(&data[..data.len().min(size)]);
        let Some(bytes) = data.get(..size) else { continue };
        let record = layout.decode(bytes).expect("any bytes of the right size decode");
        let _ = record.addr();
        let _ = record.time();
        let _ = format!("{} {} {} {}", record.line, record.id, record.user, record.host);
        if let Ok(again) = layout.encode(&record) {
            assert_eq!(layout.decode(&again).expect("re-decode"), record);
        }
    }
});
