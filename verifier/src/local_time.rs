//! Times on pages, in the deployment's time zone: a shop in China read 12:43 on its station at
//! 20:43 when pages showed UTC. The zone is the `time_zone` setting (an IANA name, by default
//! `Asia/Shanghai`); JSON answers stay UTC RFC 3339, as programs expect.
//!
//! The tz database is compiled in (jiff's bundled tzdb), so the answer does not depend on whether
//! the machine has `/usr/share/zoneinfo`.
//!
//! ```
//! use verifier::local_time::Zone;
//! let zone = Zone::named("Asia/Shanghai").unwrap();
//! let t = signer::Timestamp::parse("2026-11-22T12:43:05Z").unwrap();
//! assert_eq!(zone.time(t), "20:43:05");
//! assert_eq!(zone.date(signer::Timestamp::parse("2026-11-22T17:00:00Z").unwrap()), "2026-11-23");
//! assert!(Zone::named("Asia/Shangai").is_err());
//! ```

use std::fmt;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use signer::Timestamp;

/// The zone the default deployment serves (the market is China).
pub const DEFAULT_ZONE: &str = "Asia/Shanghai";

/// A named IANA time zone.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// The zone with this IANA name (`Asia/Shanghai`, `Europe/Berlin`, `UTC`), or why not.
    pub fn named(name: &str) -> Result<Zone, String> {
        let refuse = || {
            format!(
                "time_zone {name:?} is not an IANA time zone name (such as {DEFAULT_ZONE}, \
                 Europe/Berlin or UTC)"
            )
        };
        // jiff answers "unknown" for this name rather than failing; a deployment means a real zone.
        if name.trim().is_empty() || name.eq_ignore_ascii_case("Etc/Unknown") {
            return Err(refuse());
        }
        let tz = TimeZone::get(name).map_err(|_| refuse())?;
        Ok(Zone {
            name: name.to_owned(),
            tz,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `2026-11-22`.
    pub fn date(&self, t: Timestamp) -> String {
        self.civil(t).map_or_else(
            || t.date(),
            |d| format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        )
    }

    /// `20:43:05`.
    pub fn time(&self, t: Timestamp) -> String {
        self.civil(t).map_or_else(
            || t.to_string(),
            |d| format!("{:02}:{:02}:{:02}", d.hour(), d.minute(), d.second()),
        )
    }

    /// `2026-11-22 20:43`.
    pub fn date_time(&self, t: Timestamp) -> String {
        self.civil(t).map_or_else(
            || t.to_string(),
            |d| {
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}",
                    d.year(),
                    d.month(),
                    d.day(),
                    d.hour(),
                    d.minute()
                )
            },
        )
    }

    /// The local wall-clock time; `None` outside jiff's range (years -9999..=9999), where the
    /// UTC text is shown instead.
    fn civil(&self, t: Timestamp) -> Option<DateTime> {
        let at = jiff::Timestamp::from_second(t.seconds()).ok()?;
        Some(self.tz.to_datetime(at))
    }
}

impl Default for Zone {
    fn default() -> Self {
        // Checked by the tests below: the bundled database has it.
        Zone::named(DEFAULT_ZONE).unwrap_or_else(|_| Zone {
            name: "UTC".to_owned(),
            tz: TimeZone::UTC,
        })
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn pages_read_the_local_clock() {
        let shanghai = Zone::default();
        assert_eq!(shanghai.name(), "Asia/Shanghai");
        let t = at("2026-12-01T12:43:00Z");
        assert_eq!(shanghai.time(t), "20:43:00");
        assert_eq!(shanghai.date_time(t), "2026-12-01 20:43");
        // After 16:00 UTC it is tomorrow in China.
        assert_eq!(shanghai.date(at("2026-12-01T16:30:00Z")), "2026-12-02");
        let utc = Zone::named("UTC").unwrap();
        assert_eq!(utc.time(t), "12:43:00");
        // Daylight saving time comes from the database, not a fixed offset.
        let berlin = Zone::named("Europe/Berlin").unwrap();
        assert_eq!(berlin.time(at("2026-07-01T12:00:00Z")), "14:00:00");
        assert_eq!(berlin.time(at("2026-12-01T12:00:00Z")), "13:00:00");
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_name() {
        for bad in ["Asia/Shangai", "", "Etc/Unknown", "CST+8"] {
            let e = Zone::named(bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }
}
