//! One line of a chain file: never panics, and the fast path agrees with parsing.
//! The property is `sealtrail_fuzz::verify_line`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sealtrail_fuzz::verify_line::check(data));
