//! Policy files: load one for another command, or check it.

use std::path::Path;

use sealtrail::policy::Policy;

use super::{out, read, Stop};

pub fn load_policy(path: &Path) -> Result<Policy, Stop> {
    let bytes = read(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Stop::Input(format!("`{}` is not UTF-8 text", path.display())))?;
    Policy::parse(&text).map_err(|e| Stop::Input(format!("policy `{}`: {e}", path.display())))
}

pub fn check(path: &Path) -> Result<(), Stop> {
    let bytes = read(path)?;
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(Stop::Input(format!(
            "`{}` is not UTF-8 text",
            path.display()
        )));
    };
    match Policy::parse(&text) {
        Ok(p) => {
            out(format!("valid: policy `{}` {}\n", path.display(), p.hash()).as_bytes());
            Ok(())
        }
        Err(e) => {
            eprintln!("invalid: policy `{}`: {e}", path.display());
            Err(Stop::Invalid)
        }
    }
}
