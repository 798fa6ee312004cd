//! utmpd's answers to `e`, `i` and `l`: one status byte, then a 400-byte record
//! only when the status is 0. Pipelined answers arrive back to back, so each one
//! must be parsed in order from whatever bytes have arrived; nothing here trusts
//! the peer or can panic on what it sends.

use super::RECORD_SIZE;
use crate::layout::Layout;
use crate::record::Record;

/// One answer to a request that returns a record.
// Answers live one at a time on the way into a Vec<Record>; boxing the record
// would cost an allocation per entry read.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Status 0, and the record that followed it.
    Record(Record),
    /// A non-zero status: an errno value, ESRCH (3) at the end of the file.
    Status(u8),
}

/// What [`decode_answers`] made of a byte stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The whole answers, in order.
    pub answers: Vec<Answer>,
    /// Bytes at the end that do not yet form a whole answer.
    pub trailing: usize,
}

/// Parses the answer at the start of `buf`: `None` while it is incomplete,
/// otherwise the answer and how many bytes it took. Any 400 bytes are a record,
/// so nothing here can fail.
pub fn parse_record_answer(buf: &[u8]) -> Option<(Answer, usize)> {
    let (&status, rest) = buf.split_first()?;
    if status != 0 {
        return Some((Answer::Status(status), 1));
    }
    let bytes: &[u8; RECORD_SIZE] = rest.get(..RECORD_SIZE)?.try_into().ok()?;
    Some((Answer::Record(Layout::decode_utmps(bytes)), 1 + RECORD_SIZE))
}

/// Decodes a stream of answers to `e`/`i`/`l` requests, as a pipelining client
/// reads them.
pub fn decode_answers(mut bytes: &[u8]) -> Decoded {
    let mut answers = Vec::new();
    while let Some((answer, used)) = parse_record_answer(bytes) {
        answers.push(answer);
        bytes = &bytes[used..];
    }
    Decoded { answers, trailing: bytes.len() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ESRCH;
    use crate::record::{Field, RecordType};

    #[test]
    fn statuses_records_and_partial_answers() {
        let rec = Record {
            record_type: RecordType::USER_PROCESS,
            line: Field(*b"pts/9\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
            ..Record::default()
        };
        let mut stream = vec![0u8];
        stream.extend(Layout::Utmps.encode(&rec).unwrap());
        stream.extend([ESRCH, 32, 0]);
        stream.extend([7u8; 10]);
        let d = decode_answers(&stream);
        assert_eq!(d.answers, vec![Answer::Record(rec), Answer::Status(3), Answer::Status(32)]);
        assert_eq!(d.trailing, 11);
        assert_eq!(decode_answers(&[]), Decoded { answers: vec![], trailing: 0 });
    }
}
