//! The test world: an authority, a certified maker with its key and certificate, parties and
//! their tokens, signed codes, and a registry holding them.
//!
//! Two clocks, as the crates' tests need them: the library tests run at fixed times ([`t0`],
//! [`day`]) with fixed keys ([`key`]), so a failure repeats to the byte; tests of the service,
//! which reads the clock itself, certify around [`now`] with fresh keys ([`certify`]).
//!
//! Without the `registry` feature (the crates below the registry) only the keys, times, part
//! numbers, codes and certificates are here.

use signer::{
    Certificate, CertificateBody, CompanyPrefix, Gtin, Lot, PartId, Serial, SignedCode, SigningKey,
    Timestamp,
};

pub const DAY: i64 = 86_400;
/// The GTIN of the tests' parts (company prefix 690123).
pub const GTIN: &str = "06901234567892";
/// The lot of [`code`] and [`codes`].
pub const LOT: &str = "L2026A";
/// Three valid VINs.
pub const VIN_A: &str = "LSVAU218XN2183294";
pub const VIN_B: &str = "1M8GDM9AXKP042788";
pub const VIN_C: &str = "LFV2A21K7A4031234";

/// The fixed start of the library tests' time: 2026-11-01.
pub fn t0() -> Timestamp {
    Timestamp::parse("2026-11-01T00:00:00Z").unwrap()
}

/// `n` days after [`t0`].
pub fn day(n: i64) -> Timestamp {
    Timestamp(t0().0 + n * DAY)
}

/// The clock, for tests of the service (which reads it too).
pub fn now() -> Timestamp {
    Timestamp::now()
}

/// A fixed key: `key(1)` is the library tests' authority, `key(2)` their maker.
pub fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

pub fn part(gtin: &str, lot: &str, serial: &str) -> PartId {
    PartId {
        gtin: Gtin::parse(gtin).unwrap(),
        lot: Some(Lot::parse(lot).unwrap()),
        serial: Serial::parse(serial).unwrap(),
    }
}

/// The code of part ([`GTIN`], [`LOT`], `serial`), signed with `key`.
pub fn code(key: &SigningKey, serial: &str) -> SignedCode {
    SignedCode::sign(part(GTIN, LOT, serial), key)
}

/// `count` codes as [`code`] makes them, serials `{prefix}0000`, `{prefix}0001`, ...
pub fn codes(key: &SigningKey, prefix: &str, count: usize) -> Vec<SignedCode> {
    (0..count)
        .map(|i| code(key, &format!("{prefix}{i:04}")))
        .collect()
}

/// A certificate from `authority` for `maker`'s key, manufacturer `id`, serial `serial`, for
/// prefix 690123, valid from [`t0`] for a year.
pub fn certificate(
    authority: &SigningKey,
    maker: &SigningKey,
    serial: u64,
    id: &str,
) -> Certificate {
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

#[cfg(feature = "registry")]
pub use with_registry::*;

#[cfg(feature = "registry")]
mod with_registry {
    use registry::{CodeKey, Party, PartyId, Registry, RegistryConfig, Role};
    use signer::{
        Certificate, CertificateBody, CompanyPrefix, DigitalLink, SignedCode, SigningKey, keys,
    };

    use super::{GTIN, LOT, certificate, day, key, now, part, t0};
    use crate::engine::open_registry;
    use crate::postgres::TestDatabase;

    pub fn party(id: &str) -> PartyId {
        PartyId::parse(id).unwrap()
    }

    /// Adds these parties (as distributors: the rules weigh how a party relates to a part, not
    /// its role), so parts can be shipped to them: the registry refuses a shipment to a party it
    /// does not know.
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

    /// The library tests' world: a registry on the test binary's engine (see
    /// [`crate::engine`]) trusting authority `key(1)`, which certified maker `acme-brakes`
    /// (`key(2)`, certificate serial 10), at [`t0`].
    pub struct World {
        pub dir: tempfile::TempDir,
        pub registry: Registry,
        pub authority: SigningKey,
        pub maker: SigningKey,
        pub cert: Certificate,
        /// The PostgreSQL database the registry is on, dropped after it.
        pub database: Option<TestDatabase>,
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
            let cert = certificate(&authority, &maker, 10, "acme-brakes");
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

        /// The maker's code of part ([`GTIN`], [`LOT`], `serial`).
        pub fn code(&self, serial: &str) -> SignedCode {
            SignedCode::sign(part(GTIN, LOT, serial), &self.maker)
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

    impl Default for World {
        fn default() -> Self {
            Self::new()
        }
    }

    /// A manufacturer certified by an authority the registry trusts, as `partseal admin` sets
    /// one up, and a party of the registry.
    pub struct Maker {
        pub id: PartyId,
        pub key: SigningKey,
        pub cert: Certificate,
    }

    /// Certifies a new key for manufacturer `id` and `prefix` (certificate serial `serial`, legal
    /// name "`id` 汽车零部件有限公司", valid from yesterday for a year) with `authority`, makes
    /// the registry trust both, and adds `id` as a manufacturer party in Guangdong.
    pub fn certify(
        registry: &Registry,
        authority: &SigningKey,
        id: &str,
        prefix: &str,
        serial: u64,
    ) -> Maker {
        let key = keys::generate();
        let cert = Certificate::issue(
            CertificateBody {
                serial,
                manufacturer_id: id.into(),
                legal_name: format!("{id} 汽车零部件有限公司"),
                public_key: key.verifying_key(),
                prefixes: vec![CompanyPrefix::parse(prefix).unwrap()],
                not_before: now().plus_days(-1),
                not_after: now().plus_days(365),
            },
            authority,
        )
        .unwrap();
        registry.add_root(authority.verifying_key(), now()).unwrap();
        registry.add_certificate(cert.clone(), now()).unwrap();
        add_party(registry, id, Role::Manufacturer, "Guangdong");
        Maker {
            id: party(id),
            key,
            cert,
        }
    }

    /// Adds party `id` ("`id` Co.") with `role` in `region`, created yesterday.
    pub fn add_party(registry: &Registry, id: &str, role: Role, region: &str) {
        registry
            .add_party(Party {
                id: party(id),
                role,
                name: format!("{id} Co."),
                region: Some(region.into()),
                created_at: now().plus_days(-1),
                revoked_at: None,
            })
            .unwrap();
    }

    /// A new API token of party `id`, issued yesterday, never expiring.
    pub fn token(registry: &Registry, id: &str) -> String {
        registry
            .issue_token(&party(id), None, now().plus_days(-1))
            .unwrap()
            .reveal()
            .to_owned()
    }
}
