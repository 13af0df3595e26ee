//! UTC times as the contract writes them: `YYYY-MM-DDTHH:MM:SS.mmmZ`.

use crate::error::FormatError;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Milliseconds since the Unix epoch, UTC. Always within years 1970..=9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcMillis(i64);

/// 9999-12-31T23:59:59.999Z.
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl UtcMillis {
    pub fn from_millis(ms: i64) -> Result<Self, FormatError> {
        if !(0..=MAX_MILLIS).contains(&ms) {
            return Err(FormatError::field(
                "time",
                format!("{ms} ms is outside 1970..9999"),
            ));
        }
        Ok(UtcMillis(ms))
    }

    pub fn from_unix_seconds(s: u64) -> Result<Self, FormatError> {
        let ms = i64::try_from(s)
            .ok()
            .and_then(|s| s.checked_mul(1000))
            .ok_or_else(|| FormatError::field("time", format!("{s} s is out of range")))?;
        Self::from_millis(ms)
    }

    /// The current time from the system clock.
    pub fn now() -> Self {
        let ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        UtcMillis(ms.clamp(0, MAX_MILLIS as i128) as i64)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds (rounded down).
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    fn datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000)
            .expect("range checked at construction")
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn to_text(self) -> String {
        let d = self.datetime();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            d.year(),
            d.month() as u8,
            d.day(),
            d.hour(),
            d.minute(),
            d.second(),
            d.millisecond()
        )
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (whole seconds, for witnessed times).
    pub fn to_text_seconds(self) -> String {
        let t = self.to_text();
        format!("{}Z", &t[..19])
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
        let month = Month::try_from(num(5..7) as u8).map_err(|_| bad("no such month"))?;
        let date = Date::from_calendar_date(num(0..4) as i32, month, num(8..10) as u8)
            .map_err(|_| bad("no such date"))?;
        let time = Time::from_hms_milli(
            num(11..13) as u8,
            num(14..16) as u8,
            num(17..19) as u8,
            num(20..23) as u16,
        )
        .map_err(|_| bad("no such time of day"))?;
        let dt = PrimitiveDateTime::new(date, time).assume_utc();
        let ms = (dt.unix_timestamp_nanos() / 1_000_000) as i64;
        UtcMillis::from_millis(ms).map_err(|_| bad("before 1970"))
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
        assert_eq!(t.to_text_seconds(), "2026-11-29T05:41:56Z");
        assert_eq!(
            UtcMillis::from_millis(0).unwrap().to_text(),
            "1970-01-01T00:00:00.000Z"
        );
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
