//! A random batch after a stored chain: resuming agrees with replaying, and only the true continuation passes.
//! The property is `sealtrail_fuzz::ingest_batch`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sealtrail_fuzz::ingest_batch::check(data));
