//! A cursor over fuzz input that makes small choices: the structured
//! generators read their decisions from it, so libFuzzer's byte mutations
//! become changes of shape. Past the end every choice is the first option,
//! so any input, even an empty one, makes a valid case.

/// Fuzz bytes read as choices.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// Reads choices from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The next byte, or 0 past the end.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        usize::from(self.byte()) % n
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One of `options` (`None` when there are none).
    pub fn pick<'b, T>(&mut self, options: &'b [T]) -> Option<&'b T> {
        options.get(self.below(options.len()))
    }

    /// Up to `max` of the remaining bytes, taken whole.
    pub fn take(&mut self, max: usize) -> &'a [u8] {
        let n = max.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
}
