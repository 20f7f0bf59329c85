//! Randomness for chain ids and commitment salts, supplied by the host.
//!
//! The core does not know where random bytes come from: natively it is the
//! operating system (`getrandom`), in the browser `crypto.getRandomValues`
//! (wired in `src/web/`). Tests pass a fixed source to get repeatable output.

/// A source of cryptographically secure random bytes.
pub trait Entropy {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError>;
}

/// Why random bytes could not be had.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EntropyError {
    /// The platform's random source failed; nothing random can be made safely.
    #[error("the platform's secure random source is unavailable: {0}")]
    Unavailable(String),
}

/// The operating system's random source.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

#[cfg(not(target_arch = "wasm32"))]
impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        getrandom::fill(buf).map_err(|e| EntropyError::Unavailable(e.to_string()))
    }
}

/// A deterministic source for tests and reproducible fixtures: bytes from a
/// counter-mode SHA-256 stream. Never use it for real sealing.
#[derive(Debug, Clone)]
pub struct SeededEntropy {
    seed: [u8; 32],
    counter: u64,
}

impl SeededEntropy {
    /// A stream determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed: crate::Digest::of(&seed.to_le_bytes()).0,
            counter: 0,
        }
    }
}

impl Entropy for SeededEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        for chunk in buf.chunks_mut(32) {
            let block = crate::Digest::of_parts(&[&self.seed, &self.counter.to_le_bytes()]);
            self.counter = self.counter.wrapping_add(1);
            for (dst, src) in chunk.iter_mut().zip(block.0.iter()) {
                *dst = *src;
            }
        }
        Ok(())
    }
}
