//! `partseal demo`: the manufacturer's whole flow in one folder, ready to look at. Run twice, it reuses
//! the keys and certificate it made and signs a fresh batch.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use signer::batch::{self, BatchSpec};
use signer::{BaseUrl, CheckTimes, Gtin, Lot, ManifestReader, Timestamp, keys};

use super::authority::{self, CertifyRequest};
use super::files;

#[derive(Args)]
pub struct DemoArgs {
    /// Folder for the demo's keys, certificate and manifest.
    #[arg(long, default_value = "partseal-demo")]
    dir: PathBuf,
    /// Base URL the demo labels point at.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// How many codes to sign.
    #[arg(long, default_value_t = 20)]
    count: u64,
}

const DEMO_GTIN: &str = "06901234567892";

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let authority_dir = dir.join("authority");
    let (_, authority_pub) = authority::authority_paths(&authority_dir);
    if !authority_pub.exists() {
        authority::init(&authority_dir, false)?;
    }
    let maker_prefix = dir.join("maker");
    let (maker_key, maker_pub) = super::keys::key_pair_paths(&maker_prefix);
    if !maker_key.exists() {
        super::keys::generate_pair(&maker_key, &maker_pub, false)?;
    }
    let cert_path = dir.join("maker.cert");
    if !cert_path.exists() {
        let cert = authority::certify(&CertifyRequest {
            authority: &authority_dir,
            public_key: &maker_pub,
            name: "广州示例汽车零部件有限公司 (Guangzhou Example Auto Parts Co., Ltd.)".into(),
            id: Some("demo-maker".into()),
            prefixes: vec!["690123".into()],
            valid_days: 3650,
            not_before: Timestamp::now(),
            serial: None,
        })?;
        keys::write_new_file(&cert_path, cert.to_pem().as_bytes())?;
    }

    let key = files::signing_key(&maker_key)?;
    let spec = BatchSpec {
        gtin: Gtin::parse(DEMO_GTIN)?,
        lot: Some(Lot::parse("DEMO2026")?),
        base: BaseUrl::parse(&args.base_url).context("--base-url")?,
        name: Some("Front brake pad".into()),
    };
    let batch_path = next_free(dir, "batch", "jsonl");
    let file = std::fs::File::create(&batch_path)
        .with_context(|| format!("cannot create {}", batch_path.display()))?;
    let out = std::io::BufWriter::new(file);
    batch::sign_batch(
        &key,
        &spec,
        batch::random_serials().take(args.count as usize),
        out,
        &|_| (),
    )?;

    // Check every code the way a verifier would, from the files alone.
    let trust = files::trust_store(&authority_pub, &[&cert_path], None)?;
    let now = Timestamp::now();
    let mut first_uri = None;
    let mut checked = 0;
    for entry in ManifestReader::new(std::io::BufReader::new(std::fs::File::open(&batch_path)?)) {
        let entry = entry?;
        trust
            .check_code(&entry.code, CheckTimes::offline(now))
            .context("a demo code did not verify")?;
        first_uri.get_or_insert(entry.uri);
        checked += 1;
    }
    let uri = first_uri.unwrap_or_default();
    let d = dir.display();
    println!("demo in {d}:");
    println!("  authority key        {d}/authority/authority.key, .pub");
    println!(
        "  manufacturer key     {d}/maker.key, .pub, certified in {d}/maker.cert for prefix 690123"
    );
    println!(
        "  signed batch         {} ({checked} codes, every one verified)",
        batch_path.display()
    );
    println!();
    println!("first code: {uri}");
    println!();
    println!("check it yourself:");
    println!(
        "  partseal verify --offline --trust {d}/authority/authority.pub --cert {d}/maker.cert '{uri}'"
    );
    Ok(ExitCode::SUCCESS)
}

/// `dir/batch.jsonl`, or `dir/batch-2.jsonl` and so on if taken, so earlier demo batches are kept.
fn next_free(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    let first = dir.join(format!("{stem}.{ext}"));
    if !first.exists() {
        return first;
    }
    (2..)
        .map(|i| dir.join(format!("{stem}-{i}.{ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}
