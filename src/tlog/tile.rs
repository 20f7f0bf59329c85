//! Tile and entry-bundle paths in the C2SP `tlog-tiles` layout:
//! `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, with `<N>` in
//! zero-padded 3-digit groups, all but the last starting with `x`
//! (1234067 is `x001/x234/067`).

use std::fmt;

use crate::tlog::decimal;

/// What a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Hashes at tile level `L` (0 to 63).
    Hashes(u8),
    /// The leaves of one level-0 tile.
    Entries,
}

/// A parsed tile path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TilePath {
    /// Hashes or entries.
    pub kind: TileKind,
    /// The tile's index in its level.
    pub index: u64,
    /// How many hashes or entries: 256 for a full tile, 1 to 255 for a partial one.
    pub width: u16,
}

/// Why a path is not a tile path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TilePathError {
    /// Not of the form `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    #[error("expected `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, found `{0}`")]
    Malformed(String),
}

impl TilePath {
    /// Parses a path, with or without a leading `/`.
    pub fn parse(path: &str) -> Result<Self, TilePathError> {
        let bad = || TilePathError::Malformed(path.to_owned());
        let rest = path
            .trim_start_matches('/')
            .strip_prefix("tile/")
            .ok_or_else(bad)?;
        let (head, rest) = rest.split_once('/').ok_or_else(bad)?;
        let kind = if head == "entries" {
            TileKind::Entries
        } else {
            let level = decimal(head).ok_or_else(bad)?;
            TileKind::Hashes(
                u8::try_from(level)
                    .ok()
                    .filter(|l| *l < 64)
                    .ok_or_else(bad)?,
            )
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((n, w)) => {
                let w = decimal(w)
                    .and_then(|w| u16::try_from(w).ok())
                    .filter(|w| (1..256).contains(w))
                    .ok_or_else(bad)?;
                (n, w)
            }
            None => (rest, 256),
        };
        let mut groups = index.split('/').peekable();
        let mut n: u64 = 0;
        while let Some(g) = groups.next() {
            let last = groups.peek().is_none();
            let digits = if last { Some(g) } else { g.strip_prefix('x') };
            let d = digits
                .filter(|d| d.len() == 3 && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse::<u64>().ok())
                .ok_or_else(bad)?;
            n = n
                .checked_mul(1000)
                .and_then(|n| n.checked_add(d))
                .ok_or_else(bad)?;
        }
        let tile = Self {
            kind,
            index: n,
            width,
        };
        // One spelling per tile: no extra leading `x000/` groups.
        if tile.to_string() != path.trim_start_matches('/') {
            return Err(bad());
        }
        Ok(tile)
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes(l) => write!(f, "tile/{l}/")?,
            TileKind::Entries => f.write_str("tile/entries/")?,
        }
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        for (i, g) in groups.iter().rev().enumerate() {
            let last = i + 1 == groups.len();
            write!(
                f,
                "{}{g:03}{}",
                if last { "" } else { "x" },
                if last { "" } else { "/" }
            )?;
        }
        if self.width < 256 {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c2sp_examples() {
        let t = TilePath::parse("tile/0/x001/x234/067").unwrap();
        assert_eq!(t.kind, TileKind::Hashes(0));
        assert_eq!((t.index, t.width), (1_234_067, 256));
        let p = TilePath::parse("tile/entries/001.p/17").unwrap();
        assert_eq!((p.kind, p.index, p.width), (TileKind::Entries, 1, 17));
        assert_eq!(p.to_string(), "tile/entries/001.p/17");
        assert_eq!(
            TilePath::parse("/tile/2/000").unwrap().to_string(),
            "tile/2/000"
        );
    }

    #[test]
    fn rejects_other_spellings() {
        for bad in [
            "tile/0/1",
            "tile/0/x000/001",
            "tile/01/000",
            "tile/64/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/05",
            "tile/0/001/002",
            "tile/entries/",
            "tiles/0/000",
            "tile/0/x18446744073709551/615",
        ] {
            assert!(TilePath::parse(bad).is_err(), "{bad}");
        }
    }
}
