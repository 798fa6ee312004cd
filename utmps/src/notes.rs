//! Background that the code and the tests refer to, as prose: no items.

#[doc = include_str!("../docs/protocol.md")]
pub mod protocol {}
#[doc = include_str!("../docs/reliability.md")]
pub mod reliability {}
