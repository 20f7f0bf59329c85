//! Sealing a random record for a random session shows nothing the reference classification restricts.
//! The property is `sealtrail_fuzz::seal_leak`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sealtrail_fuzz::seal_leak::check(data));
