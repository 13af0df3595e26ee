//! The system clock, in the contract's time type. The core never reads a
//! clock: every time it checks comes from a signed document.

use notarium_core::time::UtcMillis;

/// The current time from the system clock (clamped to the years the
/// contract's time format can write).
pub fn now() -> UtcMillis {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    UtcMillis::from_millis(ms.min(UtcMillis::MAX.millis() as u128) as i64)
        .expect("clamped to the range")
}
