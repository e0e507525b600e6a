//! Time as whole seconds since the Unix epoch, UTC. Time always comes in as a parameter: nothing in this
//! crate reads the clock except [`Timestamp::now`], which only callers at the edge use.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        Timestamp(secs)
    }

    pub fn seconds(self) -> i64 {
        self.0
    }

    pub fn plus_days(self, days: i64) -> Self {
        Timestamp(self.0.saturating_add(days.saturating_mul(86_400)))
    }

    /// The UTC date, `2026-11-22` (the time as written when out of range).
    pub fn date(self) -> String {
        match OffsetDateTime::from_unix_timestamp(self.0) {
            Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
            Err(_) => self.to_string(),
        }
    }

    /// Parses RFC 3339 (`2026-11-22T08:00:00Z`, any offset) or a bare date (`2026-11-22`, midnight UTC).
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
            return Ok(Timestamp(t.unix_timestamp()));
        }
        let date_format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(s, &date_format)
            .map(|d| Timestamp(d.midnight().assume_utc().unix_timestamp()))
            .map_err(|_| {
                format!(
                    "{s:?} is not a date (2026-11-22) or an RFC 3339 time (2026-11-22T08:00:00Z)"
                )
            })
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, e.g. `2026-11-22T08:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
        {
            Some(s) => f.write_str(&s),
            None => write!(f, "@{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_rfc3339() {
        let t = Timestamp::parse("2026-11-22T08:00:00Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-22T08:00:00Z");
        assert_eq!(t.date(), "2026-11-22");
        assert_eq!(Timestamp(-1).date(), "1969-12-31");
        assert_eq!(
            Timestamp::parse("2026-11-22").unwrap(),
            Timestamp(t.0 - 8 * 3600)
        );
        assert_eq!(Timestamp::parse("2026-11-22T16:00:00+08:00").unwrap(), t);
        assert!(
            Timestamp::parse("22/11/2026")
                .unwrap_err()
                .contains("not a date")
        );
    }
}
