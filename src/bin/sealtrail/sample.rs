//! `sealtrail sample`: the demo's realistic chains written as files.

use std::path::Path;

use super::policy::load_policy;
use super::{now, out, Stop};
use sealtrail::sample::Week;

pub fn sample(
    dir: &Path,
    policy: Option<&Path>,
    routine: Option<u64>,
    as_written: bool,
) -> Result<(), Stop> {
    let hash = match policy {
        Some(p) => Some(load_policy(p)?.hash().to_owned()),
        None => None,
    };
    let week = if as_written {
        Week::AsWritten
    } else {
        Week::Before(now()?)
    };
    let mut chains = sealtrail::sample::evening(hash.as_deref(), week)
        .map_err(|e| Stop::Input(format!("cannot make the sample: {e}")))?;
    if let Some(n) = routine {
        chains.push(sealtrail::sample::SampleChain {
            name: "routine.jsonl",
            events: sealtrail::sample::routine(n, 7, hash.as_deref())
                .map_err(|e| Stop::Input(format!("cannot make the sample: {e}")))?,
        });
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Stop::Input(format!("cannot create `{}`: {e}", dir.display())))?;
    for c in chains {
        let mut text = String::with_capacity(c.events.len() * 800);
        for e in &c.events {
            let line = sealtrail::chain::to_line(e)
                .map_err(|e| Stop::Input(format!("cannot write the sample: {e}")))?;
            text.push_str(&line);
            text.push('\n');
        }
        let path = dir.join(c.name);
        std::fs::write(&path, text)
            .map_err(|e| Stop::Input(format!("cannot write `{}`: {e}", path.display())))?;
        out(format!("{} ({} events)\n", path.display(), c.events.len()).as_bytes());
    }
    Ok(())
}
