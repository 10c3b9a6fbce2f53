use chrono::{DateTime, SubsecRound, Utc};

/// The current time at the precision both backends store (microseconds), so a value read back
/// equals the value written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A client-supplied instant at storage precision, so both backends return the same value.
pub fn at_storage_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}
