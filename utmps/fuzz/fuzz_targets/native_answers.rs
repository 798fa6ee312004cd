//! A stream of utmpd answers as a pipelining client reads it: status bytes and
//! records in any order, cut anywhere.
#![no_main]

use libfuzzer_sys::fuzz_target;
use utmps::__fuzz::{decode_answers, Answer};
use utmps::layout::UTMPS_RECORD_SIZE;

fuzz_target!(|data: &[u8]| {
    let decoded = decode_answers(data);
    let used: usize = decoded
        .answers
        .iter()
        .map(|a| match a {
            Answer::Record(_) => 1 + UTMPS_RECORD_SIZE,
            Answer::Status(_) => 1,
        })
        .sum();
    assert_eq!(used + decoded.trailing, data.len());
    assert!(decoded.trailing <= UTMPS_RECORD_SIZE, "a whole answer was left undecoded");
});
