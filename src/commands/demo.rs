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

/// A demo's authority and certified manufacturer, as files in its folder.
pub struct DemoMaker {
    pub authority_pub: PathBuf,
    pub key: PathBuf,
    pub cert: PathBuf,
}

/// An authority (`DIR/authority/`), a manufacturer's key pair (`DIR/maker.key`, `.pub`) and its
/// certificate for the demo GTIN's prefix (`DIR/maker.cert`), each made on the first run and
/// reused after.
pub fn certified_maker(
    dir: &Path,
    name: &str,
    id: &str,
    now: Timestamp,
) -> anyhow::Result<DemoMaker> {
    let authority_dir = dir.join("authority");
    let (_, authority_pub) = authority::authority_paths(&authority_dir);
    if !authority_pub.exists() {
        authority::init(&authority_dir, false)?;
    }
    let (key, maker_pub) = super::keys::key_pair_paths(&dir.join("maker"));
    if !key.exists() {
        super::keys::generate_pair(&key, &maker_pub, false)?;
    }
    let cert = dir.join("maker.cert");
    if !cert.exists() {
        let certificate = authority::certify(&CertifyRequest {
            authority: &authority_dir,
            public_key: &maker_pub,
            name: name.into(),
            id: Some(id.into()),
            prefixes: vec!["690123".into()],
            valid_days: 3650,
            not_before: now,
            serial: None,
        })?;
        keys::write_new_file(&cert, certificate.to_pem().as_bytes())?;
    }
    Ok(DemoMaker {
        authority_pub,
        key,
        cert,
    })
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let maker = certified_maker(
        dir,
        "广州示例汽车零部件有限公司 (Guangzhou Example Auto Parts Co., Ltd.)",
        "demo-maker",
        Timestamp::now(),
    )?;

    let key = files::signing_key(&maker.key)?;
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
    let trust = files::trust_store(&maker.authority_pub, &[&maker.cert], None)?;
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
