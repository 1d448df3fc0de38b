//! The clock of the endpoint suspension state machine.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Instant;

/// Milliseconds since the first call in this process (a monotonic clock all shards share).
pub fn now_ms() -> i64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_millis() as i64
}

/// The time the send path reads, in milliseconds: the process's monotonic clock ([`now_ms`]) in
/// production, or a manual clock that moves only when told ([`Clock::manual`]), so that tests
/// drive suspension through its timings without sleeping.
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Rc<Cell<i64>>>,
}

impl Clock {
    /// The process's monotonic clock.
    pub fn real() -> Clock {
        Clock { manual: None }
    }

    /// A clock standing at `start_ms` until [`Clock::advance`] or [`Clock::set`] moves it. Clones
    /// share the time.
    pub fn manual(start_ms: i64) -> Clock {
        Clock {
            manual: Some(Rc::new(Cell::new(start_ms))),
        }
    }

    #[inline]
    pub fn now_ms(&self) -> i64 {
        match &self.manual {
            None => now_ms(),
            Some(t) => t.get(),
        }
    }

    /// Moves a manual clock forward by `ms`; the real clock ignores it.
    pub fn advance(&self, ms: i64) {
        if let Some(t) = &self.manual {
            t.set(t.get() + ms);
        }
    }

    /// Sets a manual clock to `ms`; the real clock ignores it.
    pub fn set(&self, ms: i64) {
        if let Some(t) = &self.manual {
            t.set(ms);
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manual {
            None => f.write_str("Clock::real"),
            Some(t) => write!(f, "Clock::manual({})", t.get()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_it() {
        let c = Clock::manual(1_000);
        let shared = c.clone();
        assert_eq!(c.now_ms(), 1_000);
        shared.advance(250);
        assert_eq!(c.now_ms(), 1_250);
        c.set(5);
        assert_eq!(shared.now_ms(), 5);
        let real = Clock::real();
        let before = real.now_ms();
        real.advance(1_000_000);
        assert!(real.now_ms() < before + 1_000_000);
    }
}
