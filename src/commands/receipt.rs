//! `partseal verify --receipt FILE --log-key KEY [--witness KEY]...`: a receipt of the public
//! transparency log, checked offline (with each given witness's cosignature on its checkpoint),
//! saying what it proves and what it does not.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use registry::{CodeKey, Event};
use signer::SignedCode;
use tlog::witness::CosignatureVerifier;
use tlog::{LogVerifier, Receipt, TlogError};

pub fn run(
    file: &Path,
    log_key: &str,
    witnesses: &[String],
    json: bool,
) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the receipt {}", file.display()))?;
    // A saved verdict with its receipt, or the receipt alone.
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let receipt_json = value.get("receipt").unwrap_or(&value);
    let receipt = Receipt::from_json(&receipt_json.to_string())
        .with_context(|| format!("{} holds no receipt", file.display()))?;
    let log = LogVerifier::parse(log_key.trim())?;
    let witnesses = witnesses
        .iter()
        .map(|k| {
            CosignatureVerifier::parse(k.trim())
                .with_context(|| "--witness: a witness's cosignature key (`partseal witness key`)")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let code = SignedCode::parse(&receipt.code)
        .map_err(|e| anyhow::anyhow!("the receipt's code `{}`: {e}", receipt.code))?;
    let key = CodeKey::of(&code.part);
    let checked = receipt
        .check(&log, key.as_bytes(), &code.signature.to_bytes())
        .and_then(|checked| {
            // Each witness named must have cosigned the very checkpoint the entry is proven in.
            for witness in &witnesses {
                witness.cosigned(&receipt.checkpoint).map_err(|_| {
                    TlogError::Receipt(format!(
                        "its checkpoint carries no valid cosignature of the witness {}",
                        witness.name()
                    ))
                })?;
            }
            Ok(checked)
        });
    let cosigners: Vec<&str> = witnesses.iter().map(|w| w.name()).collect();
    match checked {
        Ok(checked) => {
            let event = Event::decode(&checked.event)
                .map_err(|e| anyhow::anyhow!("the opened event does not decode: {e}"))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "valid": true,
                        "log": log.origin(),
                        "tree_size": checked.checkpoint.size,
                        "index": receipt.index,
                        "part": code.part.element_string(),
                        "seq": event.seq,
                        "step": event.step().as_str(),
                        "at": event.at.to_string(),
                        "actor": event.actor.as_str(),
                        "witnesses": cosigners,
                    })
                );
            } else {
                println!(
                    "VALID RECEIPT: the log {} holds this event of this code",
                    log.origin()
                );
                println!("  part {}", code.part.element_string());
                println!(
                    "  event #{} {} at {} by {}",
                    event.seq,
                    event.step().as_str(),
                    event.at,
                    event.actor.as_str()
                );
                println!(
                    "  entry {} of the tree of {} entries the checkpoint signs",
                    receipt.index, checked.checkpoint.size
                );
                for name in &cosigners {
                    println!("  cosigned by the witness {name}");
                }
                println!(
                    "  It proves: the registry recorded this history for this code in a public, \
                     append-only log, and cannot show anyone a different one without it showing."
                );
                println!(
                    "  It does not prove: that the part in your hand is the labelled one (a copied \
                     label carries the same code), nor that the event happened as recorded."
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"valid": false, "reason": e.to_string()})
                );
            } else {
                println!("INVALID RECEIPT: {e}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
