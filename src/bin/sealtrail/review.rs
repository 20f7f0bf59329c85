//! What reviewers read from verified chains: the alert rules' findings and
//! a FHIR R4 export; and the record pseudonyms an access report asks for.

use std::path::{Path, PathBuf};

use sealtrail::alerts::{scan, Finding};
use sealtrail::fhir::{self, BundleType};
use sealtrail::page::RecordKey;
use serde_json::json;

use super::chain::verified_events;
use super::policy::load_policy;
use super::{out, pretty, Stop};

pub fn alerts(files: &[PathBuf], policy_path: &Path, json: bool) -> Result<(), Stop> {
    let policy = load_policy(policy_path)?;
    let events = verified_events(files)?;
    let doc = policy.doc();
    let findings = scan(
        doc.alerts.clone(),
        doc.break_glass.roles.iter().cloned(),
        &events,
    )
    .map_err(|e| {
        Stop::Input(format!(
            "policy `{}`: at `/alerts`: {e}",
            policy_path.display()
        ))
    })?;
    if json {
        let v = json!({
            "policy": policy.hash(),
            "chains": files.len(),
            "events": events.len(),
            "findings": findings,
        });
        out(pretty(&v)?.as_bytes());
    } else {
        out(format!(
            "{} findings in {} events from {} chain(s)\n",
            findings.len(),
            events.len(),
            files.len()
        )
        .as_bytes());
        for f in &findings {
            out(describe(f).as_bytes());
        }
    }
    Ok(())
}

/// One finding as a line for people.
fn describe(f: &Finding) -> String {
    let proof: Vec<String> = f
        .events
        .iter()
        .map(|e| {
            let c = e.chain.as_str();
            format!("{}…#{}", c.get(..8).unwrap_or(c), e.seq)
        })
        .collect();
    format!(
        "{:<8} {:<24} {}  [{}]\n",
        f.severity.as_str().to_uppercase(),
        f.rule.as_str(),
        f.summary,
        proof.join(" ")
    )
}

pub fn fhir_export(files: &[PathBuf], searchset: bool) -> Result<(), Stop> {
    let events = verified_events(files)?;
    let kind = if searchset {
        BundleType::Searchset
    } else {
        BundleType::Collection
    };
    let bundle = fhir::bundle(&events, kind);
    out(pretty(&bundle)?.as_bytes());
    Ok(())
}

/// Prints the pseudonym of each record under the key in `key_file`.
pub fn pseudonyms(records: &[String], key_file: &Path) -> Result<(), Stop> {
    let text = std::fs::read_to_string(key_file)
        .map_err(|e| Stop::Input(format!("cannot read `{}`: {e}", key_file.display())))?;
    let key = RecordKey::from_hex(text.trim())
        .map_err(|e| Stop::Input(format!("key file `{}`: {e}", key_file.display())))?;
    let mut lines = String::new();
    for record in records {
        lines.push_str(&key.pseudonym(record));
        lines.push('\n');
    }
    out(lines.as_bytes());
    Ok(())
}
