//! Public scans: anonymous verifications of a code, kept as a bounded aggregate per code.
//!
//! A scan's context is coarse on purpose: a salted hash of the client's network prefix (/24 for
//! IPv4, /48 for IPv6), never the address, and an optional region the caller supplies. Storage per
//! code is bounded however often it is scanned: counters, plus the most recent distinct networks.
//! Scans alone never prove a copy (a competitor can scan a genuine code from many places), so they
//! can only raise `scan_anomaly`, never `duplicate_suspected`.

use std::net::IpAddr;

use sha2::{Digest, Sha256};
use signer::Timestamp;
use signer::wire::{Reader, WireError, Writer};

/// Distinct networks remembered per code. Enough to evaluate any threshold up to this number.
pub const MAX_RECENT_NETWORKS: usize = 32;
/// Regions counted per code; scans from further regions count as "other".
pub const MAX_REGIONS: usize = 8;
/// Longest region name, in bytes (e.g. `CN-44`, `Guangdong`).
pub const MAX_REGION_LEN: usize = 32;

/// Days of per-day counts kept per code (for the manufacturer's chart of verifications per day).
pub const MAX_DAYS: usize = 14;

/// Version 2 added the per-day counts; version 1 records still decode, with none.
const STATS_VERSION: u8 = 2;

/// When many distinct networks scanning one code becomes an anomaly, by where the part is.
/// Thresholds are distinct networks within the window (at most [`MAX_RECENT_NETWORKS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanPolicy {
    pub window_hours: u32,
    /// For an installed part.
    pub threshold: u32,
    /// For a part held by a distributor or shop, or in transit between them.
    pub threshold_held: u32,
    /// For a part its maker has recorded nothing about since registering it.
    pub threshold_at_manufacturer: u32,
}

impl Default for ScanPolicy {
    /// A fitted part is scanned by its owner and perhaps a shop or two: eight different networks in
    /// three days is far outside that. A part in a shop's stock is seen by its staff and a few
    /// buyers; a label still at its factory should hardly be scanned by the public at all, while a
    /// cloned label sold online is scanned by many buyers long before anything is installed.
    fn default() -> Self {
        ScanPolicy {
            window_hours: 72,
            threshold: 8,
            threshold_held: 8,
            threshold_at_manufacturer: 5,
        }
    }
}

impl ScanPolicy {
    /// The threshold for a part in `custody`; `None` where scans need no watching (a destroyed
    /// or voided code already answers danger).
    pub fn threshold_for(&self, custody: &crate::Custody) -> Option<u32> {
        use crate::Custody::*;
        match custody {
            AtManufacturer => Some(self.threshold_at_manufacturer),
            Held { .. } | InTransit { .. } => Some(self.threshold_held),
            Installed { .. } => Some(self.threshold),
            Destroyed | Voided => None,
        }
    }

    /// Below this many networks no custody state raises an anomaly, so the record need not be read.
    pub fn lowest_threshold(&self) -> u32 {
        self.threshold
            .min(self.threshold_held)
            .min(self.threshold_at_manufacturer)
    }
}

/// The privacy-preserving context of one scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanContext {
    /// First 8 bytes of SHA-256(salt || network prefix).
    pub network: [u8; 8],
    pub region: Option<String>,
}

impl ScanContext {
    /// The context of a scan from `ip`. The salt is the store's own secret, so the hashes cannot be
    /// reversed by hashing every prefix.
    pub fn from_ip(ip: IpAddr, salt: &[u8; 32], region: Option<&str>) -> Self {
        let prefix: Vec<u8> = match ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                vec![4, o[0], o[1], o[2]]
            }
            IpAddr::V6(v6) => {
                let mut p = vec![6];
                p.extend_from_slice(&v6.octets()[..6]);
                p
            }
        };
        let digest = Sha256::new()
            .chain_update(salt)
            .chain_update(&prefix)
            .finalize();
        let mut network = [0u8; 8];
        network.copy_from_slice(&digest[..8]);
        let region = region
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| truncate(r, MAX_REGION_LEN));
        ScanContext { network, region }
    }
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// The aggregate of a code's public scans.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub total: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// Most recently seen distinct networks with when each was last seen, newest first.
    pub recent: Vec<([u8; 8], Timestamp)>,
    /// Scan counts by region, most scanned first; `other` collects regions past [`MAX_REGIONS`].
    pub regions: Vec<(String, u64)>,
    /// Scans per UTC day (days since 1970-01-01), oldest first, the last [`MAX_DAYS`] days seen.
    pub daily: Vec<(i64, u64)>,
}

impl ScanStats {
    /// Adds one scan.
    pub fn add(&mut self, ctx: &ScanContext, at: Timestamp) {
        self.total += 1;
        self.first.get_or_insert(at);
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
        self.recent.retain(|(n, _)| n != &ctx.network);
        self.recent.insert(0, (ctx.network, at));
        self.recent.truncate(MAX_RECENT_NETWORKS);
        let day = at.0.div_euclid(86_400);
        match self.daily.iter_mut().find(|(d, _)| *d == day) {
            Some((_, n)) => *n += 1,
            None => {
                self.daily.push((day, 1));
                self.daily.sort_unstable();
                if self.daily.len() > MAX_DAYS {
                    self.daily.remove(0);
                }
            }
        }
        if let Some(region) = &ctx.region {
            let name = if self.regions.len() >= MAX_REGIONS
                && !self.regions.iter().any(|(r, _)| r == region)
            {
                "other".to_owned()
            } else {
                region.clone()
            };
            match self.regions.iter_mut().find(|(r, _)| *r == name) {
                Some((_, n)) => *n += 1,
                None => self.regions.push((name, 1)),
            }
            self.regions
                .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        }
    }

    /// Adds the scans of another aggregate of the same code (counted by another process, or since
    /// the last write), as if each had been added here: totals, days and regions add up, the
    /// first and last scans are the earlier and the later, and a network seen in both keeps its
    /// latest time. The lists keep their bounds, so merging is exact for everything the bounds
    /// keep.
    pub fn merge(&mut self, other: &ScanStats) {
        self.total += other.total;
        self.first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = self.last.max(other.last);
        for &(network, at) in &other.recent {
            match self.recent.iter_mut().find(|(n, _)| *n == network) {
                Some(seen) => seen.1 = seen.1.max(at),
                None => self.recent.push((network, at)),
            }
        }
        // Newest first; a stable sort keeps this aggregate's order among equal times.
        self.recent.sort_by_key(|&(_, at)| std::cmp::Reverse(at));
        self.recent.truncate(MAX_RECENT_NETWORKS);
        for &(day, n) in &other.daily {
            match self.daily.iter_mut().find(|(d, _)| *d == day) {
                Some((_, count)) => *count += n,
                None => self.daily.push((day, n)),
            }
        }
        self.daily.sort_unstable();
        let excess = self.daily.len().saturating_sub(MAX_DAYS);
        self.daily.drain(..excess);
        for (region, n) in &other.regions {
            let name = if self.regions.len() >= MAX_REGIONS
                && !self.regions.iter().any(|(r, _)| r == region)
            {
                "other"
            } else {
                region.as_str()
            };
            match self.regions.iter_mut().find(|(r, _)| r == name) {
                Some((_, count)) => *count += n,
                None => self.regions.push((name.to_owned(), *n)),
            }
        }
        self.regions
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }

    /// Distinct networks seen within the policy's window before `now`.
    pub fn distinct_networks(&self, now: Timestamp, policy: ScanPolicy) -> u32 {
        let from = now.0 - i64::from(policy.window_hours) * 3600;
        self.recent.iter().filter(|(_, at)| at.0 >= from).count() as u32
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(STATS_VERSION)
            .u64(self.total)
            .i64(self.first.map_or(i64::MIN, |t| t.0))
            .i64(self.last.map_or(i64::MIN, |t| t.0))
            .u8(self.recent.len() as u8);
        for (network, at) in &self.recent {
            w.bytes(network).i64(at.0);
        }
        w.u8(self.regions.len() as u8);
        for (region, n) in &self.regions {
            w.str8(region).u64(*n);
        }
        w.u8(self.daily.len() as u8);
        for (day, n) in &self.daily {
            w.i64(*day).u64(*n);
        }
        w.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != STATS_VERSION && version != 1 {
            return Err(r.invalid("scan stats version", format!("unknown {version}")));
        }
        let total = r.u64()?;
        let time = |v: i64| (v != i64::MIN).then_some(Timestamp(v));
        let first = time(r.i64()?);
        let last = time(r.i64()?);
        let n = r.u8()?;
        let mut recent = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            recent.push((r.array()?, Timestamp(r.i64()?)));
        }
        let n = r.u8()?;
        let mut regions = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            regions.push((r.str8("region")?.to_owned(), r.u64()?));
        }
        let mut daily = Vec::new();
        if version >= 2 {
            let n = r.u8()?;
            if usize::from(n) > MAX_DAYS {
                return Err(r.invalid("scan stats days", format!("{n} > {MAX_DAYS}")));
            }
            for _ in 0..n {
                daily.push((r.i64()?, r.u64()?));
            }
        }
        r.finish()?;
        Ok(ScanStats {
            total,
            first,
            last,
            recent,
            regions,
            daily,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(i: u8) -> ScanContext {
        ScanContext::from_ip(IpAddr::from([10, 0, i, 1]), &[5; 32], Some("CN-44"))
    }

    #[test]
    fn one_network_is_one_context_and_addresses_are_not_kept() {
        let a = ScanContext::from_ip(IpAddr::from([203, 0, 113, 7]), &[1; 32], None);
        let b = ScanContext::from_ip(IpAddr::from([203, 0, 113, 200]), &[1; 32], None);
        let c = ScanContext::from_ip(IpAddr::from([203, 0, 114, 7]), &[1; 32], None);
        let salted = ScanContext::from_ip(IpAddr::from([203, 0, 113, 7]), &[2; 32], None);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, salted);
    }

    #[test]
    fn storage_stays_bounded_and_windows_count() {
        let mut stats = ScanStats::default();
        let t0 = Timestamp(1_790_000_000);
        for i in 0..200u32 {
            stats.add(&ctx((i % 100) as u8), Timestamp(t0.0 + i64::from(i) * 3600));
        }
        assert_eq!(stats.total, 200);
        assert_eq!(stats.recent.len(), MAX_RECENT_NETWORKS);
        let policy = ScanPolicy {
            window_hours: 10,
            threshold: 5,
            ..ScanPolicy::default()
        };
        let now = Timestamp(t0.0 + 199 * 3600);
        assert_eq!(stats.distinct_networks(now, policy), 11);
        // 32 networks, one region and 14 days of counts.
        assert!(stats.encode().len() < 800);
        assert_eq!(ScanStats::decode(&stats.encode()).unwrap(), stats);
    }

    #[test]
    fn days_are_counted_bounded_and_round_trip() {
        let mut stats = ScanStats::default();
        let t0 = 1_790_000_000 - 1_790_000_000 % 86_400;
        for day in 0..40i64 {
            for _ in 0..=(day % 3) {
                stats.add(&ctx(1), Timestamp(t0 + day * 86_400 + 60));
            }
        }
        assert_eq!(stats.daily.len(), MAX_DAYS);
        assert_eq!(stats.daily.last(), Some(&(t0 / 86_400 + 39, 1)));
        assert_eq!(stats.daily[0].0, t0 / 86_400 + 26);
        assert!(stats.daily.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(ScanStats::decode(&stats.encode()).unwrap(), stats);
    }

    #[test]
    fn version_1_records_still_decode() {
        let mut stats = ScanStats::default();
        stats.add(&ctx(1), Timestamp(1_790_000_000));
        // A version 1 record is a version 2 one without the day counts.
        let mut v1 = stats.encode();
        v1[0] = 1;
        v1.truncate(v1.len() - 1 - 16);
        let decoded = ScanStats::decode(&v1).unwrap();
        assert_eq!(decoded.total, 1);
        assert!(decoded.daily.is_empty());
    }

    #[test]
    fn regions_are_bounded() {
        let mut stats = ScanStats::default();
        for i in 0..20u8 {
            let mut c = ctx(i);
            c.region = Some(format!("R{i}"));
            stats.add(&c, Timestamp(1));
        }
        assert_eq!(stats.regions.len(), MAX_REGIONS + 1);
        assert_eq!(stats.regions[0], ("other".to_owned(), 12));
    }

    #[test]
    fn merging_two_processes_counts_is_counting_every_scan_in_one() {
        let t0 = Timestamp(1_790_000_000);
        let scan = |i: u32| {
            let region = ["CN-44", "CN-11", "CN-31"][(i % 3) as usize];
            let ctx = ScanContext::from_ip(
                IpAddr::from([10, 0, (i % 7) as u8, 1]),
                &[5; 32],
                Some(region),
            );
            (ctx, Timestamp(t0.0 + i64::from(i) * 5000))
        };
        let (mut one, mut a, mut b) = Default::default();
        for i in 0..60u32 {
            let (ctx, at) = scan(i);
            ScanStats::add(&mut one, &ctx, at);
            // Two replicas, each counting the scans that reached it.
            let replica: &mut ScanStats = if i % 2 == 0 { &mut a } else { &mut b };
            replica.add(&ctx, at);
        }
        let mut merged: ScanStats = a.clone();
        merged.merge(&b);
        assert_eq!(merged, one);
        // Either way round, and merging nothing changes nothing.
        let mut other_way = b.clone();
        other_way.merge(&a);
        assert_eq!(other_way, one);
        merged.merge(&ScanStats::default());
        assert_eq!(merged, one);
    }
}
