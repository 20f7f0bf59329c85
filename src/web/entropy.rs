//! The core's [`Entropy`] from `crypto.getRandomValues`.

use crate::entropy::{Entropy, EntropyError};

/// Random bytes from the browser's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct CryptoEntropy;

impl Entropy for CryptoEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        let crypto = web_sys::window()
            .ok_or_else(|| EntropyError::Unavailable("no window".into()))?
            .crypto()
            .map_err(|e| EntropyError::Unavailable(super::error::describe(&e)))?;
        // getRandomValues takes at most 65536 bytes per call.
        for chunk in buf.chunks_mut(65_536) {
            crypto
                .get_random_values_with_u8_array(chunk)
                .map_err(|e| EntropyError::Unavailable(super::error::describe(&e)))?;
        }
        Ok(())
    }
}

/// A uniformly random number in `0..bound` (for backoff jitter).
pub fn below(bound: u32) -> u32 {
    let mut b = [0u8; 4];
    if bound == 0 || CryptoEntropy.fill(&mut b).is_err() {
        return 0;
    }
    u32::from_le_bytes(b) % bound
}
