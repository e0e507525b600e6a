//! `partseal authority ...`: the certification authority's offline operations.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use rand::Rng;
use signer::{
    Certificate, CertificateBody, CompanyPrefix, KeyId, Revocation, RevocationList,
    RevocationReason, Timestamp, keys,
};

use super::files;

#[derive(Subcommand)]
pub enum AuthorityCommand {
    /// Create the authority's root key: DIR/authority.key (mode 0600) and DIR/authority.pub.
    Init {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Protect the root key with a passphrase (asked on the terminal, or PARTSEAL_KEY_PASSPHRASE).
        #[arg(long)]
        encrypt: bool,
    },
    /// Certify a manufacturer's public key for one or more GS1 company prefixes.
    Certify(CertifyArgs),
    /// Revoke a certificate: creates the signed revocation list, or extends it with the next sequence number.
    Revoke {
        #[arg(long, value_name = "DIR")]
        authority: PathBuf,
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
        /// key_compromise: no code of this key is trusted any more; decertified: no new codes may be registered.
        #[arg(long)]
        reason: RevocationReason,
        /// The revocation list to create or extend.
        #[arg(long, value_name = "FILE")]
        list: PathBuf,
        /// When the revocation takes effect (2026-11-22 or RFC 3339); defaults to now.
        #[arg(long, value_name = "TIME")]
        effective: Option<String>,
    },
    /// Print a certificate or revocation list in readable form.
    Show { file: PathBuf },
}

/// `authority certify`'s arguments.
#[derive(Args)]
pub struct CertifyArgs {
    /// The authority's folder (from `authority init`).
    #[arg(long, value_name = "DIR")]
    authority: PathBuf,
    /// The manufacturer's public key (from `keys generate`).
    #[arg(long, value_name = "FILE")]
    public_key: PathBuf,
    /// The manufacturer's registered legal name (any script).
    #[arg(long)]
    name: String,
    /// A short stable manufacturer id (letters, digits, . _ -); defaults to `mfr-<key id>`.
    #[arg(long)]
    id: Option<String>,
    /// A GS1 company prefix the manufacturer may sign for (3 to 12 digits); repeat for several.
    #[arg(long = "prefix", value_name = "DIGITS", required = true)]
    prefixes: Vec<String>,
    /// How long the certificate is valid, from --not-before.
    #[arg(long, value_name = "N")]
    valid_days: u32,
    /// Start of validity (2026-11-22 or RFC 3339); defaults to now.
    #[arg(long, value_name = "TIME")]
    not_before: Option<String>,
    /// Certificate serial number; defaults to a random one.
    #[arg(long)]
    serial: Option<u64>,
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn run(cmd: AuthorityCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuthorityCommand::Init { out, encrypt } => init(&out, encrypt),
        AuthorityCommand::Certify(args) => {
            let cert = certify(&CertifyRequest {
                authority: &args.authority,
                public_key: &args.public_key,
                name: args.name,
                id: args.id,
                prefixes: args.prefixes,
                valid_days: args.valid_days,
                not_before: super::given_time_or_now(args.not_before.as_deref())?,
                serial: args.serial,
            })?;
            keys::write_new_file(&args.out, cert.to_pem().as_bytes())?;
            println!("wrote {}: {cert}", args.out.display());
            Ok(ExitCode::SUCCESS)
        }
        AuthorityCommand::Revoke {
            authority,
            cert,
            reason,
            list,
            effective,
        } => {
            let effective_at = super::given_time_or_now(effective.as_deref())?;
            revoke(
                &authority,
                &files::certificate(&cert)?,
                reason,
                effective_at,
                &list,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        AuthorityCommand::Show { file } => show(&file),
    }
}

pub fn authority_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("authority.key"), dir.join("authority.pub"))
}

pub fn init(dir: &Path, encrypt: bool) -> anyhow::Result<ExitCode> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (secret, public) = authority_paths(dir);
    let key = super::keys::generate_pair(&secret, &public, encrypt)?;
    println!(
        "authority root key {} in {} (keep authority.key offline; give authority.pub to every verifier)",
        KeyId::of(&key.verifying_key()),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub struct CertifyRequest<'a> {
    pub authority: &'a Path,
    pub public_key: &'a Path,
    pub name: String,
    pub id: Option<String>,
    pub prefixes: Vec<String>,
    pub valid_days: u32,
    pub not_before: Timestamp,
    pub serial: Option<u64>,
}

pub fn certify(req: &CertifyRequest) -> anyhow::Result<Certificate> {
    let (secret, _) = authority_paths(req.authority);
    let authority = files::signing_key(&secret)?;
    let public_key = files::public_key(req.public_key)?;
    if req.valid_days == 0 {
        bail!("--valid-days must be at least 1");
    }
    let mut prefixes = req
        .prefixes
        .iter()
        .map(|p| CompanyPrefix::parse(p).with_context(|| format!("--prefix {p}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    prefixes.sort();
    prefixes.dedup();
    let body = CertificateBody {
        // 63 bits so the serial prints the same in every language's signed integers.
        serial: req
            .serial
            .unwrap_or_else(|| rand::thread_rng().r#gen::<u64>() >> 1),
        manufacturer_id: req.id.clone().unwrap_or_else(|| {
            format!(
                "mfr-{}",
                KeyId::of(&public_key)
                    .to_base64()
                    .to_ascii_lowercase()
                    .replace('_', "-")
            )
        }),
        legal_name: req.name.clone(),
        public_key,
        prefixes,
        not_before: req.not_before,
        not_after: req.not_before.plus_days(i64::from(req.valid_days)),
    };
    Ok(Certificate::issue(body, &authority)?)
}

pub fn revoke(
    authority_dir: &Path,
    cert: &Certificate,
    reason: RevocationReason,
    effective_at: Timestamp,
    list_path: &Path,
) -> anyhow::Result<RevocationList> {
    let (secret, public) = authority_paths(authority_dir);
    let authority = files::signing_key(&secret)?;
    let root = files::public_key(&public)?;
    cert.verify_issuer(&[root])
        .context("this certificate was not issued by this authority")?;
    let entry = Revocation {
        cert_serial: cert.serial(),
        key_id: cert.key_id(),
        reason,
        effective_at,
    };
    let now = Timestamp::now();
    let list = if list_path.exists() {
        let current = files::revocations(list_path)?;
        current
            .verify_issuer(&[root])
            .with_context(|| format!("{} was not signed by this authority", list_path.display()))?;
        current.extend(entry, now, &authority)?
    } else {
        RevocationList::issue(1, now, vec![entry], &authority)?
    };
    keys::replace_file(list_path, list.to_pem().as_bytes())?;
    println!(
        "revoked certificate #{} ({}) as {reason} from {effective_at}; {} now lists {} certificate(s), sequence {}",
        cert.serial(),
        cert.body().manufacturer_id,
        list_path.display(),
        list.entries().len(),
        list.sequence()
    );
    Ok(list)
}

fn show(path: &Path) -> anyhow::Result<ExitCode> {
    let text = files::read_text(path)?;
    if text.contains(signer::cert::CERT_PEM_LABEL) {
        let cert = files::certificate(path)?;
        println!("{cert}");
        println!("issued by authority key {}", cert.issuer());
    } else if text.contains(signer::revocation::REVOCATION_PEM_LABEL) {
        let list = files::revocations(path)?;
        println!(
            "revocation list #{} issued {}",
            list.sequence(),
            list.issued_at()
        );
        for e in list.entries() {
            println!(
                "  certificate #{} key {} {} from {}",
                e.cert_serial, e.key_id, e.reason, e.effective_at
            );
        }
    } else {
        bail!(
            "{} is neither a partseal certificate nor a revocation list",
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
