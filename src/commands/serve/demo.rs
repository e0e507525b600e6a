//! `partseal serve --demo`: a ready-to-try instance. In `DATA/demo` it keeps a demo authority, a
//! certified manufacturer, a shop with an API token and a signed batch of 20 codes, all registered
//! in the store; a second run reuses them. The tokens are kept in files there (mode 0600) so the
//! demo can print them again: a convenience for trying things out, which a real instance never
//! does (`partseal admin token create` shows a token once).
//!
//! A demo on a PostgreSQL database keeps its files in a folder of its own, named after the
//! database (`DATA/demo-postgres-HOST-PORT-NAME`): the tokens in `DATA/demo` are the embedded
//! store's, and a demo on another store must not replace them.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::Context;
use registry::{Party, PartyId, Registry, Role, register_manifest};
use signer::batch::{self, BatchSpec};
use signer::{BaseUrl, Gtin, Lot, ManifestReader, Timestamp};
use verifier::Config;

use super::super::demo::certified_maker;
use super::super::files;

const MAKER: &str = "demo-brakes";
const SHOP: &str = "demo-shop";
const DISTRIBUTOR: &str = "demo-distributor";
const GTIN: &str = "06901234567892";
const CODES: usize = 20;

/// Where this demo keeps its files: `DATA/demo` for the embedded store, a folder per database
/// otherwise.
fn demo_dir(config: &Config) -> PathBuf {
    match &config.database_url {
        None => config.data.join("demo"),
        Some(url) => config
            .data
            .join(format!("demo-postgres-{}", database_name(url.expose()))),
    }
}

/// A database URL as a folder name: its host, port and database, without user, password or
/// parameters (`postgres://u:p@db1:5432/parts?x=y` is `db1-5432-parts`). A connection string of
/// `key=value` pairs keeps all but its password.
fn database_name(url: &str) -> String {
    let name = match url.split_once("://") {
        Some((_, rest)) => {
            let rest = rest.split(['?', '#']).next().unwrap_or_default();
            let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
            let host = authority.rsplit('@').next().unwrap_or_default();
            format!("{host}/{database}")
        }
        None => url
            .split_whitespace()
            .filter(|pair| !pair.starts_with("password="))
            .collect::<Vec<_>>()
            .join("/"),
    };
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches('-')
        .to_owned()
}

/// What the demo prints once the service is about to serve.
pub struct Welcome {
    dir: PathBuf,
    uris: Vec<String>,
    shop: String,
    maker: String,
    base: BaseUrl,
}

pub fn prepare(registry: &Registry, config: &Config) -> anyhow::Result<Welcome> {
    let dir = demo_dir(config);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let now = Timestamp::now();

    let maker = certified_maker(
        &dir,
        "广州示例制动器有限公司 (Guangzhou Demo Brakes Co., Ltd.)",
        MAKER,
        now,
    )?;
    registry.add_root(files::public_key(&maker.authority_pub)?, now)?;
    registry.add_certificate(files::certificate(&maker.cert)?, now)?;

    for (id, role, name, region) in [
        (
            MAKER,
            Role::Manufacturer,
            "广州示例制动器有限公司",
            "Guangdong",
        ),
        (
            DISTRIBUTOR,
            Role::Distributor,
            "华南示例配件批发",
            "Guangdong",
        ),
        (
            SHOP,
            Role::Shop,
            "示例汽车维修店 (Demo Garage)",
            "Guangdong",
        ),
    ] {
        let id = PartyId::parse(id)?;
        if registry.party(&id)?.is_none() {
            registry.add_party(Party {
                id,
                role,
                name: name.into(),
                region: Some(region.into()),
                created_at: now,
                revoked_at: None,
            })?;
        }
    }
    let shop_token = token(registry, &dir.join("shop.token"), SHOP, now)?;
    let maker_token = token(registry, &dir.join("maker.token"), MAKER, now)?;

    let manifest = dir.join("batch.jsonl");
    if !manifest.exists() {
        let spec = BatchSpec {
            gtin: Gtin::parse(GTIN)?,
            lot: Some(Lot::parse("DEMO2026")?),
            base: config.base_url.clone(),
            name: Some("Front brake pad".into()),
        };
        let key = files::signing_key(&maker.key)?;
        files::write_atomically(&manifest, files::PUBLIC, |out| {
            batch::sign_batch(
                &key,
                &spec,
                batch::random_serials().take(CODES),
                out,
                &|_| (),
            )?;
            Ok(())
        })?;
    }
    let summary = register_manifest(
        registry,
        BufReader::new(std::fs::File::open(&manifest)?),
        None,
        now,
        |_, _| {},
    )?;
    if summary.rejected_total() > 0 {
        anyhow::bail!(
            "{} demo codes were refused: {:?}",
            summary.rejected_total(),
            summary.rejected
        );
    }

    let entries: Vec<signer::ManifestEntry> =
        ManifestReader::new(BufReader::new(std::fs::File::open(&manifest)?))
            .collect::<Result<_, _>>()?;
    let uris: Vec<String> = entries
        .iter()
        .map(|e| rebase(&e.uri, &config.base_url))
        .collect();
    write_labels(&dir.join("labels"), &entries, &uris)?;
    Ok(Welcome {
        dir,
        uris,
        shop: shop_token,
        maker: maker_token,
        base: config.base_url.clone(),
    })
}

/// One PNG label a code, as `partseal labels --format png` prints them, pointing at today's base URL.
fn write_labels(
    dir: &Path,
    entries: &[signer::ManifestEntry],
    uris: &[String],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let renderer = labels::PngRenderer::new(labels::Layout::default(), 300)?;
    for (entry, uri) in entries.iter().zip(uris) {
        let label = labels::Label {
            uri,
            part: &entry.code.part,
            name: entry.name.as_deref(),
        };
        let path = dir.join(format!(
            "{}_{}.png",
            entry.code.part.gtin.as_str(),
            entry.code.part.serial.as_str()
        ));
        // Rewritten each run: the base URL may have changed since the last one.
        std::fs::write(&path, renderer.render(&label)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The demo manifest was signed for the base URL of its first run; the signature does not cover
/// it, so the links follow today's base URL.
fn rebase(uri: &str, base: &BaseUrl) -> String {
    match uri.find("/01/") {
        Some(i) => format!("{}{}", base.as_str(), &uri[i..]),
        None => uri.to_owned(),
    }
}

/// The demo party's token: the one kept from an earlier run, or a new one kept for the next.
fn token(registry: &Registry, path: &Path, party: &str, now: Timestamp) -> anyhow::Result<String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let text = text.trim().to_owned();
        if registry.authenticate(&text, now)?.is_ok() {
            return Ok(text);
        }
        std::fs::remove_file(path)?;
    }
    let issued = registry.issue_token(&PartyId::parse(party)?, None, now)?;
    files::write_atomically(path, files::PRIVATE, |out| {
        use std::io::Write;
        writeln!(out, "{}", issued.reveal())?;
        Ok(())
    })?;
    Ok(issued.reveal().to_owned())
}

impl Welcome {
    /// The demo's links, tokens and commands, then one line saying it is ready and where each
    /// page is (`local`: where a browser on this machine reaches the service).
    pub fn print(&self, local: &str) {
        let (dir, uris, shop, maker) = (&self.dir, &self.uris, &self.shop, &self.maker);
        let base = self.base.as_str();
        println!(
            "partseal demo: {} codes registered, kept in {}",
            uris.len(),
            dir.display()
        );
        println!("Their labels, as PNG: {}", dir.join("labels").display());
        println!();
        println!("Open a code as a phone would (a browser, or JSON):");
        for uri in uris.iter().take(3) {
            println!("  {uri}");
        }
        if let Some(uri) = uris.first() {
            println!("  curl -H 'Accept: application/json' '{uri}'");
        }
        println!();
        println!("The shop's API token ({SHOP}):");
        println!("  {shop}");
        println!("The manufacturer's API token ({MAKER}):");
        println!("  {maker}");
        println!();
        if let Some(uri) = uris.first() {
            println!("Receive and install the first part as the shop:");
            println!(
                "  curl -H 'Authorization: Bearer {shop}' -H 'Content-Type: application/json' \\\n    \
                 -d '{{\"code\":\"{uri}\",\"step\":\"receiving\"}}' {base}/api/v1/events"
            );
            println!(
                "  curl -H 'Authorization: Bearer {shop}' -H 'Content-Type: application/json' \\\n    \
                 -d '{{\"code\":\"{uri}\",\"step\":\"installing\",\"vin\":\"LSVAU218XN2183294\"}}' {base}/api/v1/events"
            );
        }
        println!("The manufacturer's alerts:");
        println!("  curl -H 'Authorization: Bearer {maker}' {base}/api/v1/alerts");
        println!();
        println!("Ready on {local}:");
        println!("  the owner's page:         the links above (what a phone opens from a label)");
        println!("  the shop's station:       {local}/shop (sign in with the shop's token)");
        println!(
            "  the manufacturer's board: {local}/dashboard (sign in with the manufacturer's token)"
        );
        println!("Ctrl-C stops it (requests in flight finish, the store is flushed).");
        println!();
    }
}
