//! UTC times as the contract writes them: `YYYY-MM-DDTHH:MM:SS.mmmZ`.

use crate::error::FormatError;

/// Milliseconds since the Unix epoch, UTC. Always within years 1970..=9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcMillis(i64);

/// 9999-12-31T23:59:59.999Z.
const MAX_MILLIS: i64 = 253_402_300_799_999;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, <https://howardhinnant.github.io/date_algorithms.html>).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (`civil_from_days`, same source).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl UtcMillis {
    /// The latest time the format can write: 9999-12-31T23:59:59.999Z.
    pub const MAX: UtcMillis = UtcMillis(MAX_MILLIS);

    /// From milliseconds since the epoch; refuses times outside 1970..=9999.
    pub fn from_millis(ms: i64) -> Result<Self, FormatError> {
        if !(0..=MAX_MILLIS).contains(&ms) {
            return Err(FormatError::field("time", format!("{ms} ms is outside 1970..9999")));
        }
        Ok(UtcMillis(ms))
    }

    /// From whole seconds since the epoch; refuses times outside 1970..=9999.
    pub fn from_unix_seconds(s: u64) -> Result<Self, FormatError> {
        let ms = i64::try_from(s)
            .ok()
            .and_then(|s| s.checked_mul(1000))
            .ok_or_else(|| FormatError::field("time", format!("{s} s is out of range")))?;
        Self::from_millis(ms)
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds (rounded down).
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn to_text(self) -> String {
        let (days, ms) = (self.0.div_euclid(86_400_000), self.0.rem_euclid(86_400_000));
        let (y, m, d) = civil_from_days(days);
        let s = ms / 1000;
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            s / 3600,
            s / 60 % 60,
            s % 60,
            ms % 1000
        )
    }

    /// Parses exactly the form [`UtcMillis::to_text`] writes.
    pub fn parse(s: &str) -> Result<Self, FormatError> {
        let bad = |why: &str| FormatError::field("time", format!("\"{s}\": {why}"));
        let b = s.as_bytes();
        if b.len() != 24 {
            return Err(bad("expected YYYY-MM-DDTHH:MM:SS.mmmZ"));
        }
        for (i, c) in b.iter().enumerate() {
            let ok = match i {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                19 => *c == b'.',
                23 => *c == b'Z',
                _ => c.is_ascii_digit(),
            };
            if !ok {
                return Err(bad("expected YYYY-MM-DDTHH:MM:SS.mmmZ"));
            }
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().expect("digits checked");
        let (y, m, d) = (i64::from(num(0..4)), num(5..7), num(8..10));
        // A real date is one that survives the round trip through a day count.
        let days = days_from_civil(y, m, d);
        if !(1..=12).contains(&m) || civil_from_days(days) != (y, m, d) {
            return Err(bad("no such date"));
        }
        let (h, min, sec) = (num(11..13), num(14..16), num(17..19));
        if h > 23 || min > 59 || sec > 59 {
            return Err(bad("no such time of day"));
        }
        let secs = days * 86_400 + i64::from(h * 3600 + min * 60 + sec);
        UtcMillis::from_millis(secs * 1000 + i64::from(num(20..23))).map_err(|_| bad("before 1970"))
    }
}

impl std::fmt::Display for UtcMillis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_the_contract_example() {
        let t = UtcMillis::parse("2026-11-29T05:41:56.123Z").unwrap();
        assert_eq!(t.millis(), 1_795_930_916_123);
        assert_eq!(t.to_text(), "2026-11-29T05:41:56.123Z");
        assert_eq!(UtcMillis::from_millis(0).unwrap().to_text(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn agrees_with_the_time_crate_across_the_range() {
        let fmt = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        let mut ms: i64 = 0;
        while ms <= MAX_MILLIS {
            let t = UtcMillis::from_millis(ms).unwrap();
            let theirs =
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                    .unwrap()
                    .format(&fmt)
                    .unwrap();
            assert_eq!(t.to_text(), theirs, "{ms}");
            assert_eq!(UtcMillis::parse(&theirs).unwrap(), t, "{theirs}");
            // An irregular step visits every month, leap days and times of day.
            ms += 86_400_000 * 13 + 3_600_000 * 5 + 61_001;
        }
        assert_eq!(UtcMillis::MAX.to_text(), "9999-12-31T23:59:59.999Z");
        assert!(UtcMillis::parse("2024-02-29T00:00:00.000Z").is_ok());
        assert!(UtcMillis::parse("2100-02-29T00:00:00.000Z").is_err());
        assert!(UtcMillis::parse("2000-02-29T00:00:00.000Z").is_ok());
    }

    #[test]
    fn rejects_every_other_form() {
        for bad in [
            "2026-11-29T05:41:56Z",
            "2026-11-29T05:41:56.123+00:00",
            "2026-11-29 05:41:56.123Z",
            "2026-02-30T05:41:56.123Z",
            "2026-11-29T24:00:00.000Z",
            "2026-11-29T05:41:60.000Z",
            "1969-12-31T23:59:59.999Z",
            "2026-11-29t05:41:56.123z",
        ] {
            assert!(UtcMillis::parse(bad).is_err(), "{bad}");
        }
    }
}
