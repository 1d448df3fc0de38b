//! Sending to backends, at run time: the clock the suspension state machine
//! ([`crate::program::suspension`]) is driven by.

use std::sync::OnceLock;
use std::time::Instant;

/// Milliseconds since the first call in this process (a monotonic clock all shards share).
pub fn now_ms() -> i64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_millis() as i64
}
