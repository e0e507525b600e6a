//! A small world for registry tests: an authority, certified makers, signed codes, a registry on a
//! real sled store in a temporary directory.

#![allow(clippy::unwrap_used, dead_code)]

use registry::{CodeKey, PartyId, Registry, RegistryConfig};
use signer::{
    Certificate, CertificateBody, CompanyPrefix, Gtin, Lot, PartId, Serial, SignedCode, SigningKey,
    Timestamp,
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

pub struct World {
    pub dir: tempfile::TempDir,
    pub registry: Registry,
    pub authority: SigningKey,
    pub maker: SigningKey,
    pub cert: Certificate,
}

impl World {
    pub fn new() -> World {
        Self::with_config(RegistryConfig::default())
    }

    pub fn with_config(config: RegistryConfig) -> World {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(&dir.path().join("data"), config).unwrap();
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
        }
    }

    pub fn maker_party(&self) -> PartyId {
        party("acme-brakes")
    }

    pub fn code(&self, serial: &str) -> SignedCode {
        SignedCode::sign(part(GTIN, "L2026A", serial), &self.maker)
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
