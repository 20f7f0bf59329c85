//! The policy parser: never panics, errors point into the input, accepted policies read back.
//! The property is `sealtrail_fuzz::policy_parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sealtrail_fuzz::policy_parse::check(data));
