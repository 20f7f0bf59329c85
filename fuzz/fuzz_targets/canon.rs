//! Canonical JSON: never panics, a fixed point, and the event writer agrees.
//! The property is `sealtrail_fuzz::canon`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sealtrail_fuzz::canon::check(data));
