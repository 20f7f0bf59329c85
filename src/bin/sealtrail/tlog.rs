//! `sealtrail checkpoint verify`, `sealtrail proof verify` and `verify
//! --proof`: holding a collector to its signed transparency log, offline.

use std::path::{Path, PathBuf};

use sealtrail::event::ChainId;
use sealtrail::tlog::checkpoint::decode_hashes;
use sealtrail::tlog::ed25519;
use sealtrail::tlog::proof_file::ProofFile;
use sealtrail::tlog::{verify_consistency, verify_inclusion, Leaf, Trust, Verified, VerifierKey};
use sealtrail::Digest;
use serde_json::Value;

use super::{out, read, Stop};

/// The keys a checkpoint must be signed with.
#[derive(clap::Args)]
pub struct TrustArgs {
    /// The collector's log key (`<name>+<id>+<base64>`, or a file holding it).
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// A witness's cosignature key (repeatable).
    #[arg(long = "witness", value_name = "KEY")]
    witnesses: Vec<String>,
    /// How many of the witnesses must have cosigned (default: all given).
    #[arg(long, value_name = "N")]
    quorum: Option<usize>,
}

impl TrustArgs {
    fn trust(&self) -> Result<Trust, Stop> {
        let log = self
            .key
            .as_deref()
            .ok_or_else(|| Stop::Input("`--key` is required: the collector's log key".into()))?;
        let witnesses = self
            .witnesses
            .iter()
            .map(|w| key(w, "--witness"))
            .collect::<Result<Vec<_>, _>>()?;
        let quorum = self.quorum.unwrap_or(witnesses.len());
        if quorum > witnesses.len() {
            return Err(Stop::Input(format!(
                "`--quorum` {quorum} is more than the {} witness key(s) given",
                witnesses.len()
            )));
        }
        Ok(Trust {
            log: key(log, "--key")?,
            witnesses,
            quorum,
        })
    }

    /// Reads and verifies a signed checkpoint; an invalid one is reported (exit 1).
    fn verified(&self, signed: &str, what: &str) -> Result<Verified, Stop> {
        self.trust()?
            .verify(signed, ed25519::verify)
            .map_err(|e| invalid(&format!("{what}: {e}")))
    }
}

/// A verifier key given inline or in a file.
fn key(arg: &str, flag: &str) -> Result<VerifierKey, Stop> {
    match VerifierKey::parse(arg) {
        Ok(k) => Ok(k),
        Err(inline) => match std::fs::read_to_string(arg) {
            Ok(text) => VerifierKey::parse(&text)
                .map_err(|e| Stop::Input(format!("`{flag}` file `{arg}`: {e}"))),
            Err(_) => Err(Stop::Input(format!("`{flag}`: {inline}"))),
        },
    }
}

/// Prints the report of an invalid thing and stops with exit 1.
fn invalid(report: &str) -> Stop {
    out(format!("invalid: {report}\n").as_bytes());
    Stop::Invalid
}

fn text(path: &Path) -> Result<String, Stop> {
    String::from_utf8(read(path)?)
        .map_err(|_| Stop::Input(format!("`{}` is not UTF-8 text", path.display())))
}

fn describe(v: &Verified) -> String {
    let c = &v.checkpoint;
    let mut s = format!(
        "checkpoint of `{}`, size {}, root {}",
        c.origin,
        c.size,
        c.root.to_hex()
    );
    for (w, t) in &v.witnesses {
        s.push_str(&format!(", cosigned by `{w}` at {t}"));
    }
    s
}

/// `sealtrail checkpoint verify`.
pub fn checkpoint_verify(path: &Path, trust: &TrustArgs) -> Result<(), Stop> {
    let v = trust.verified(&text(path)?, &path.display().to_string())?;
    out(format!("valid: {}\n", describe(&v)).as_bytes());
    Ok(())
}

/// `sealtrail proof verify`: one `tlog-proof` file and `--event`, or two
/// checkpoints (old, new) and `--consistency`.
pub fn proof_verify(
    files: &[PathBuf],
    event: Option<&Path>,
    consistency: Option<&Path>,
    trust: &TrustArgs,
) -> Result<(), Stop> {
    match (files, event, consistency) {
        ([proof], Some(event), None) => {
            let leaf = leaf_of(&text(event)?, event)?;
            let (v, index) = inclusion(proof, &leaf, trust)?;
            out(format!(
                "valid: event {} #{} is leaf {index} of the {}\n",
                leaf.chain,
                leaf.seq,
                describe(&v)
            )
            .as_bytes());
            Ok(())
        }
        ([old, new], None, proof) => {
            let o = trust.verified(&text(old)?, &old.display().to_string())?;
            let n = trust.verified(&text(new)?, &new.display().to_string())?;
            let hashes = match proof {
                Some(p) => hashes(&text(p)?, p)?,
                None => Vec::new(),
            };
            let (oc, nc) = (&o.checkpoint, &n.checkpoint);
            verify_consistency(oc.size, nc.size, &oc.root, &nc.root, &hashes)
                .map_err(|e| invalid(&format!("`{}` does not extend `{}`: {e}", new.display(), old.display())))?;
            out(format!(
                "valid: size {} extends size {} of `{}`\n",
                nc.size, oc.size, oc.origin
            )
            .as_bytes());
            Ok(())
        }
        _ => Err(Stop::Input(
            "give one `tlog-proof` file with `--event`, or two checkpoints (old, new) with `--consistency`".into(),
        )),
    }
}

/// Checks a `tlog-proof` file proves `leaf`; returns the checkpoint and index.
pub fn inclusion(proof: &Path, leaf: &Leaf, trust: &TrustArgs) -> Result<(Verified, u64), Stop> {
    let file = ProofFile::parse(&text(proof)?)
        .map_err(|e| Stop::Input(format!("`{}`: {e}", proof.display())))?;
    let v = trust.verified(&file.checkpoint, &proof.display().to_string())?;
    let c = &v.checkpoint;
    verify_inclusion(file.index, c.size, &leaf.hash(), &file.proof, &c.root).map_err(|e| {
        invalid(&format!(
            "event {} #{} is not leaf {} of the checkpoint in `{}`: {e}",
            leaf.chain,
            leaf.seq,
            file.index,
            proof.display()
        ))
    })?;
    Ok((v, file.index))
}

/// The leaf of the last event in `text` (one event, or a chain file).
pub fn leaf_of(text: &str, path: &Path) -> Result<Leaf, Stop> {
    let bad = |m: &str| Stop::Input(format!("`{}`: {m}", path.display()));
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .ok_or_else(|| bad("holds no event"))?;
    let v: Value = serde_json::from_str(line).map_err(|e| bad(&format!("not JSON: {e}")))?;
    let chain = v
        .get("chain")
        .and_then(Value::as_str)
        .and_then(|c| ChainId::parse(c).ok())
        .ok_or_else(|| bad("expected a chain id at `/chain`"))?;
    let seq = v
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("expected an integer at `/seq`"))?;
    let hash = v
        .get("hash")
        .and_then(Value::as_str)
        .and_then(|h| Digest::parse(h).ok())
        .ok_or_else(|| bad("expected 64 hex characters at `/hash`"))?;
    Ok(Leaf { chain, seq, hash })
}

/// Base64 hashes, one a line.
fn hashes(text: &str, path: &Path) -> Result<Vec<Digest>, Stop> {
    decode_hashes(text).map_err(|line| {
        Stop::Input(format!(
            "`{}` line {line}: expected a base64 SHA-256 hash",
            path.display()
        ))
    })
}
