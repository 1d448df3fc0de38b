//! Carbon applications: arbitrary bytes as a `.car` (zip) must give an app or an error, never a
//! panic, a hang or unbounded memory (the reader caps entries and inflated bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mint::synapse::car::{read_car, DEFAULT_SERVER_ROLES};

fuzz_target!(|data: &[u8]| {
    let _ = read_car(data, &DEFAULT_SERVER_ROLES);
});
