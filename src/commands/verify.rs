//! `partseal verify`: a verdict for a scanned code.
//!
//! Offline, it checks the code against the authority key, the manufacturer certificates and the
//! revocation list given on the command line. Without the registry it cannot see custody history, so
//! it can tell genuine from forged but not a cloned label; online verification is the verifier service.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use serde_json::json;
use signer::{CheckTimes, SignedCode, Timestamp, TrustStore, VerifyError};

use super::files;

#[derive(Args)]
pub struct VerifyArgs {
    /// Check against local files only (required until the verifier service exists).
    #[arg(long)]
    offline: bool,
    /// Check a receipt of the public transparency log instead (a saved verdict with `receipt`,
    /// or the receipt alone), offline, with the log's key (`--log-key`).
    #[arg(
        long,
        value_name = "FILE",
        requires = "log_key",
        conflicts_with = "uri"
    )]
    receipt: Option<std::path::PathBuf>,
    /// The log's note verifier key (`partseal log key`, or the service's /log/key).
    #[arg(long, value_name = "KEY")]
    log_key: Option<String>,
    /// With --receipt: a witness whose valid cosignature its checkpoint must carry (its
    /// cosignature verifier key, `partseal witness key`). Repeat for several.
    #[arg(long = "witness", value_name = "KEY", requires = "receipt")]
    witnesses: Vec<String>,
    /// The authority's public key.
    #[arg(long, value_name = "FILE", required_unless_present = "receipt")]
    trust: Option<std::path::PathBuf>,
    /// A manufacturer certificate; repeat for several.
    #[arg(
        long = "cert",
        value_name = "FILE",
        required_unless_present = "receipt"
    )]
    certs: Vec<std::path::PathBuf>,
    /// The authority's revocation list.
    #[arg(long, value_name = "FILE")]
    revoked: Option<std::path::PathBuf>,
    /// Verify as of this time instead of now (2026-11-22 or RFC 3339).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
    /// The code: the URI from the QR label (or its /01/... path and query).
    #[arg(required_unless_present = "receipt")]
    uri: Option<String>,
}

/// An offline verdict: a stable machine code, whether it counts as genuine, and a sentence for people.
struct Verdict {
    code: &'static str,
    genuine: bool,
    message: String,
}

fn verdict(
    trust: &TrustStore,
    uri: &str,
    now: Timestamp,
) -> (Verdict, Option<SignedCode>, Option<String>) {
    let code = match SignedCode::parse(uri) {
        Ok(c) => c,
        Err(e) => {
            let v = Verdict {
                code: "data_error",
                genuine: false,
                message: format!("check the code: {e} (error {})", e.code()),
            };
            return (v, None, None);
        }
    };
    let (v, maker) = match trust.check_code(&code, CheckTimes::offline(now)) {
        Ok(ok) if ok.decertified.is_some() => (
            Verdict {
                code: "issuer_decertified",
                genuine: false,
                message: format!(
                    "authentic signature, but {} lost its certification; the registry decides about codes made before",
                    ok.certificate.body().legal_name
                ),
            },
            Some(ok.certificate.body().legal_name.clone()),
        ),
        Ok(ok) => (
            Verdict {
                code: "genuine",
                genuine: true,
                message: format!(
                    "genuine code signed by {} ({})",
                    ok.certificate.body().legal_name,
                    ok.certificate.body().manufacturer_id
                ),
            },
            Some(ok.certificate.body().legal_name.clone()),
        ),
        Err(e) => (
            Verdict {
                code: match e {
                    VerifyError::KeyCompromised { .. } => "revoked",
                    VerifyError::CertificateExpired { .. }
                    | VerifyError::CertificateNotYetValid { .. } => "certificate_invalid",
                    _ => "forged",
                },
                genuine: false,
                message: format!("{e} (reason {})", e.code()),
            },
            None,
        ),
    };
    (v, Some(code), maker)
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    if let (Some(file), Some(key)) = (&args.receipt, &args.log_key) {
        return super::receipt::run(file, key, &args.witnesses, args.json);
    }
    let (Some(trust), Some(uri)) = (&args.trust, &args.uri) else {
        bail!(
            "give the code and the trust files (--trust, --cert), or --receipt FILE --log-key KEY"
        );
    };
    if !args.offline {
        bail!(
            "online verification goes through the verifier service; for a local check pass --offline"
        );
    }
    let trust = files::trust_store(trust, &args.certs, args.revoked.as_deref())?;
    let now = super::given_time_or_now(args.at.as_deref())?;
    let (v, code, maker) = verdict(&trust, uri, now);
    if args.json {
        let part = code.as_ref().map(|c| {
            json!({
                "gtin": c.part.gtin.as_str(),
                "lot": c.part.lot.as_ref().map(|l| l.as_str()),
                "serial": c.part.serial.as_str(),
                "key_id": c.key_id.to_base64(),
            })
        });
        let out = json!({
            "verdict": v.code,
            "genuine": v.genuine,
            "message": v.message,
            "part": part,
            "manufacturer": maker,
            "checked_at": now.to_string(),
            "offline": true,
        });
        println!("{out}");
    } else {
        println!(
            "{}: {}",
            v.code.to_ascii_uppercase().replace('_', " "),
            v.message
        );
        if let Some(c) = &code {
            println!("  part {}", c.part.element_string());
        }
        println!(
            "  (offline check: signature and certificates only; custody history needs the registry)"
        );
    }
    Ok(if v.genuine {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
