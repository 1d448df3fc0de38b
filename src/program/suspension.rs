//! The endpoint state machine of WSO2 Synapse (`EndpointContext`): ACTIVE → TIMEOUT → SUSPENDED,
//! with `markForSuspension` (timeout-class errors, retries before suspension, retry delay) and
//! `suspendOnFailure` (initial duration, progression factor, maximum duration).
//!
//! The state of a leaf endpoint is shared by every shard — a backend suspended on one core is not
//! hammered by the others — through a few atomics: the request path reads one of them (the state)
//! and writes only on failures and recoveries, so there is no contention while things go well and
//! no lock ever. Time is a parameter (milliseconds on the caller's clock), so the machine is
//! tested without waiting.

use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};

pub const ACTIVE: u8 = 1;
pub const TIMEOUT: u8 = 2;
pub const SUSPENDED: u8 = 3;

/// Synapse's suspension used when `initialDuration` is negative (unset): 30 s.
pub const DEFAULT_SUSPEND_MS: i64 = 30_000;

/// The QoS policy of one leaf endpoint, with WSO2's defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `markForSuspension/errorCodes`; empty = 101504 and 101505.
    pub timeout_codes: Vec<i64>,
    pub retries_before_suspension: i64,
    pub retry_delay_ms: i64,
    /// `suspendOnFailure/errorCodes`; empty = every error.
    pub suspend_codes: Vec<i64>,
    pub initial_ms: i64,
    pub progression: f64,
    pub maximum_ms: i64,
}

impl Default for Policy {
    /// WSO2's defaults: timeouts on 101504/101505 suspend at once; every error suspends for 30 s.
    fn default() -> Policy {
        Policy {
            timeout_codes: Vec::new(),
            retries_before_suspension: 0,
            retry_delay_ms: 0,
            suspend_codes: Vec::new(),
            initial_ms: -1,
            progression: 1.0,
            maximum_ms: i64::MAX,
        }
    }
}

impl Policy {
    fn is_timeout(&self, code: i64) -> bool {
        if self.timeout_codes.is_empty() {
            code == 101504 || code == 101505
        } else {
            self.timeout_codes.contains(&code)
        }
    }

    fn is_suspend_fault(&self, code: i64) -> bool {
        self.suspend_codes.is_empty() || self.suspend_codes.contains(&code)
    }

    /// `initialDuration=0` and `maximumDuration=0` switch suspension off.
    fn suspension_disabled(&self) -> bool {
        self.initial_ms == 0 && self.maximum_ms == 0
    }
}

/// The shared state of one leaf endpoint.
#[derive(Debug)]
pub struct EndpointState {
    state: AtomicU8,
    next_retry_ms: AtomicI64,
    remaining_retries: AtomicI64,
    last_suspend_ms: AtomicI64,
}

impl Default for EndpointState {
    fn default() -> Self {
        EndpointState {
            state: AtomicU8::new(ACTIVE),
            next_retry_ms: AtomicI64::new(0),
            remaining_retries: AtomicI64::new(-1),
            last_suspend_ms: AtomicI64::new(0),
        }
    }
}

impl EndpointState {
    pub fn state(&self) -> u8 {
        self.state.load(Ordering::Relaxed)
    }

    /// `readyToSend`: ACTIVE, or TIMEOUT/SUSPENDED once the retry time has come (one request is
    /// then let through; its outcome decides the next state).
    pub fn ready_to_send(&self, now: i64) -> bool {
        match self.state.load(Ordering::Relaxed) {
            ACTIVE => true,
            _ => now >= self.next_retry_ms.load(Ordering::Acquire),
        }
    }

    /// A successful call: back to ACTIVE.
    pub fn on_success(&self) {
        if self.state.load(Ordering::Relaxed) != ACTIVE {
            self.last_suspend_ms.store(0, Ordering::Relaxed);
            self.remaining_retries.store(-1, Ordering::Relaxed);
            self.state.store(ACTIVE, Ordering::Release);
        }
    }

    /// A failed call with Synapse error `code`.
    pub fn on_fault(&self, code: i64, p: &Policy, now: i64) {
        if p.is_timeout(code) {
            // TIMEOUT: retries left → try again after retryDelay; none → suspend.
            let mut remaining = self.remaining_retries.load(Ordering::Relaxed);
            if self.state.load(Ordering::Relaxed) == ACTIVE || remaining < 0 {
                remaining = p.retries_before_suspension;
            }
            if remaining > 0 {
                self.remaining_retries
                    .store(remaining - 1, Ordering::Relaxed);
                self.next_retry_ms
                    .store(now + p.retry_delay_ms, Ordering::Release);
                self.state.store(TIMEOUT, Ordering::Release);
            } else {
                self.suspend(p, now);
            }
        } else if p.is_suspend_fault(code) {
            self.suspend(p, now);
        }
    }

    fn suspend(&self, p: &Policy, now: i64) {
        if p.suspension_disabled() {
            return;
        }
        let last = self.last_suspend_ms.load(Ordering::Relaxed);
        let mut next = if last <= 0 {
            p.initial_ms
        } else {
            (last as f64 * p.progression) as i64
        };
        if next < 0 {
            next = DEFAULT_SUSPEND_MS;
        }
        next = next.min(p.maximum_ms.max(0));
        self.last_suspend_ms.store(next.max(1), Ordering::Relaxed);
        self.remaining_retries.store(-1, Ordering::Relaxed);
        self.next_retry_ms.store(now + next, Ordering::Release);
        self.state.store(SUSPENDED, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(initial: i64, factor: f64, max: i64) -> Policy {
        Policy {
            initial_ms: initial,
            progression: factor,
            maximum_ms: max,
            ..Policy::default()
        }
    }

    #[test]
    fn any_error_suspends_by_default_for_30s() {
        let s = EndpointState::default();
        let p = Policy::default();
        s.on_fault(101503, &p, 1000);
        assert_eq!(s.state(), SUSPENDED);
        assert!(!s.ready_to_send(1000 + 29_999));
        assert!(s.ready_to_send(1000 + 30_000));
        s.on_success();
        assert_eq!(s.state(), ACTIVE);
    }

    #[test]
    fn suspension_grows_by_the_progression_factor_up_to_the_maximum() {
        let s = EndpointState::default();
        let p = policy(100, 2.0, 300);
        s.on_fault(101503, &p, 0);
        assert!(s.ready_to_send(100) && !s.ready_to_send(99));
        s.on_fault(101503, &p, 100);
        assert!(s.ready_to_send(300) && !s.ready_to_send(299));
        s.on_fault(101503, &p, 300);
        assert!(
            s.ready_to_send(600) && !s.ready_to_send(599),
            "capped at 300"
        );
    }

    #[test]
    fn timeouts_retry_before_suspension() {
        let p = Policy {
            retries_before_suspension: 2,
            retry_delay_ms: 10,
            ..Policy::default()
        };
        let s = EndpointState::default();
        s.on_fault(101504, &p, 0);
        assert_eq!(s.state(), TIMEOUT);
        assert!(s.ready_to_send(10) && !s.ready_to_send(9));
        s.on_fault(101504, &p, 10);
        assert_eq!(s.state(), TIMEOUT);
        s.on_fault(101504, &p, 20);
        assert_eq!(s.state(), SUSPENDED);
    }

    #[test]
    fn codes_outside_the_lists_leave_the_state_alone() {
        let p = Policy {
            timeout_codes: vec![-1],
            suspend_codes: vec![-1],
            ..Policy::default()
        };
        let s = EndpointState::default();
        s.on_fault(101503, &p, 0);
        s.on_fault(101504, &p, 0);
        assert_eq!(s.state(), ACTIVE);
    }

    #[test]
    fn zero_durations_disable_suspension() {
        let p = policy(0, 1.0, 0);
        let s = EndpointState::default();
        s.on_fault(101503, &p, 0);
        assert_eq!(s.state(), ACTIVE);
    }
}
