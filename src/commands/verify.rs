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
    #[command(flatten)]
    trust: files::TrustFiles,
    /// Verify as of this time instead of now (2026-11-22 or RFC 3339).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
    /// The code: the URI from the QR label (or its /01/... path and query).
    uri: String,
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
    if !args.offline {
        bail!(
            "online verification goes through the verifier service; for a local check pass --offline"
        );
    }
    let trust = args.trust.load()?;
    let now = super::given_time_or_now(args.at.as_deref())?;
    let (v, code, maker) = verdict(&trust, &args.uri, now);
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
