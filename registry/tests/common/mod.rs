//! A small world for registry tests: an authority, certified makers, signed codes, a registry on a
//! real sled store in a temporary directory, or on a real PostgreSQL database.
//!
//! One suite, two engines: a test file `x.rs` runs on sled; `x_on_postgres.rs`, which only
//! includes `x.rs`, runs the same tests on PostgreSQL ([`engine`] tells them apart by the test
//! crate's name).

#![allow(clippy::unwrap_used, dead_code)]

pub mod postgres;

use registry::{CodeKey, Location, Party, PartyId, Registry, RegistryConfig, Role};
use signer::{
    Certificate, CertificateBody, CompanyPrefix, DigitalLink, Gtin, Lot, PartId, Serial,
    SignedCode, SigningKey, Timestamp,
};

pub const DAY: i64 = 86_400;
pub const GTIN: &str = "06901234567892";
pub const VIN_A: &str = "LSVAU218XN2183294";
pub const VIN_B: &str = "1M8GDM9AXKP042788";
pub const VIN_C: &str = "LFV2A21K7A4031234";

pub fn t0() -> Timestamp {
    Timestamp::parse("2026-11-01T00:00:00Z").unwrap()
}

pub fn day(n: i64) -> Timestamp {
    Timestamp(t0().0 + n * DAY)
}

pub fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

pub fn party(id: &str) -> PartyId {
    PartyId::parse(id).unwrap()
}

pub fn certify(authority: &SigningKey, maker: &SigningKey, serial: u64, id: &str) -> Certificate {
    Certificate::issue(
        CertificateBody {
            serial,
            manufacturer_id: id.into(),
            legal_name: "广州某某汽车零部件有限公司".into(),
            public_key: maker.verifying_key(),
            prefixes: vec![CompanyPrefix::parse("690123").unwrap()],
            not_before: t0(),
            not_after: t0().plus_days(365),
        },
        authority,
    )
    .unwrap()
}

pub fn part(gtin: &str, lot: &str, serial: &str) -> PartId {
    PartId {
        gtin: Gtin::parse(gtin).unwrap(),
        lot: Some(Lot::parse(lot).unwrap()),
        serial: Serial::parse(serial).unwrap(),
    }
}

/// The storage engine a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sled,
    Postgres,
}

/// This test crate's engine: PostgreSQL for the `…_on_postgres` test files.
pub fn engine() -> Engine {
    if env!("CARGO_CRATE_NAME").ends_with("_on_postgres") {
        Engine::Postgres
    } else {
        Engine::Sled
    }
}

/// A registry on this test crate's engine: in `dir`/data, or in a new database (returned too: it
/// must outlive the registry).
pub fn open_registry(
    dir: &std::path::Path,
    config: RegistryConfig,
) -> (Registry, Option<postgres::TestDatabase>) {
    match engine() {
        Engine::Sled => (Registry::open(&dir.join("data"), config).unwrap(), None),
        Engine::Postgres => {
            let database = postgres::TestDatabase::create_or_skip();
            let registry = Registry::connect(&database.url, config).unwrap();
            (registry, Some(database))
        }
    }
}

/// The registry again, as a restarted process opens it: sled in `data_dir`, or the database.
pub fn reopen(data_dir: &std::path::Path, database: Option<&postgres::TestDatabase>) -> Registry {
    match database {
        None => Registry::open(data_dir, RegistryConfig::default()).unwrap(),
        Some(database) => Registry::connect(&database.url, RegistryConfig::default()).unwrap(),
    }
}

/// Restores `backup` into a new store on this crate's engine, as `partseal registry restore`
/// does.
pub fn restore(backup: &[u8]) -> (Registry, tempfile::TempDir, Option<postgres::TestDatabase>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    match engine() {
        Engine::Sled => {
            Location::Directory(data.clone())
                .restore(&mut &backup[..])
                .unwrap();
            (reopen(&data, None), dir, None)
        }
        Engine::Postgres => {
            let database = postgres::TestDatabase::create_or_skip();
            Location::Database(database.url.clone())
                .restore(&mut &backup[..])
                .unwrap();
            (reopen(&data, Some(&database)), dir, Some(database))
        }
    }
}

/// Adds these parties (as distributors: the rules weigh how a party relates to a part, not its
/// role), so parts can be shipped to them: the registry refuses a shipment to a party it does not
/// know.
pub fn add_parties(registry: &Registry, ids: &[&str]) {
    for id in ids {
        registry
            .add_party(Party {
                id: party(id),
                role: Role::Distributor,
                name: (*id).into(),
                region: None,
                created_at: t0(),
                revoked_at: None,
            })
            .unwrap();
    }
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub registry: Registry,
    pub authority: SigningKey,
    pub maker: SigningKey,
    pub cert: Certificate,
    /// The PostgreSQL database the registry is on, dropped after it.
    pub database: Option<postgres::TestDatabase>,
}

impl World {
    pub fn new() -> World {
        Self::with_config(RegistryConfig::default())
    }

    pub fn with_config(config: RegistryConfig) -> World {
        let dir = tempfile::tempdir().unwrap();
        let (registry, database) = open_registry(dir.path(), config);
        let authority = key(1);
        let maker = key(2);
        let cert = certify(&authority, &maker, 10, "acme-brakes");
        registry.add_root(authority.verifying_key(), t0()).unwrap();
        registry.add_certificate(cert.clone(), t0()).unwrap();
        World {
            dir,
            registry,
            authority,
            maker,
            cert,
            database,
        }
    }

    pub fn maker_party(&self) -> PartyId {
        party("acme-brakes")
    }

    pub fn code(&self, serial: &str) -> SignedCode {
        SignedCode::sign(part(GTIN, "L2026A", serial), &self.maker)
    }

    /// The label of [`World::code`] as a scanner reads it.
    pub fn label(&self, serial: &str) -> DigitalLink {
        DigitalLink::parse(&self.code(serial).path_and_query()).unwrap()
    }

    /// Adds these parties, so parts can be shipped to them ([`add_parties`]).
    pub fn add_parties(&self, ids: &[&str]) {
        add_parties(&self.registry, ids);
    }

    /// Registers one code and returns its key.
    pub fn registered(&self, serial: &str) -> CodeKey {
        let code = self.code(serial);
        let results = self
            .registry
            .register(std::slice::from_ref(&code), None, day(1))
            .unwrap();
        assert_eq!(results[0].code(), "registered", "{results:?}");
        CodeKey::of(&code.part)
    }
}
