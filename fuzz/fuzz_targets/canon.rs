//! Canonical JSON: never panics, and the canonical form is a fixed point.
//! The property is `sealtrail_fuzz::canon`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sealtrail_fuzz::canon::check(data));
