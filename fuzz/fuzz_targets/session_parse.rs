//! The session parser: never panics, errors point into the input.
//! The property is `sealtrail_fuzz::session_parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sealtrail_fuzz::session_parse::check(data));
