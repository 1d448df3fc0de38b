//! A `java.text.SimpleDateFormat` formatter (English symbols, Gregorian calendar, a fixed UTC
//! offset) for `get-property('SYSTEM_DATE', pattern)`. Patterns are parsed once at compile time
//! when they are literals; an unknown pattern letter is an error, as in Java.

use std::fmt::Write;

/// Java's default `new SimpleDateFormat()` pattern for the en_US locale (JDK 9+ CLDR data).
pub(crate) const DEFAULT_PATTERN: &str = "M/d/yy, h:mm a";

pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(crate) const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// One element of a parsed pattern.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Field(char, usize),
}

/// A parsed SimpleDateFormat pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DatePattern(Vec<Piece>);

impl DatePattern {
    /// Parses `pattern`; `Err` carries the offending letter.
    pub(crate) fn parse(pattern: &str) -> Result<DatePattern, char> {
        let mut pieces = Vec::new();
        let mut chars = pattern.chars().peekable();
        let mut text = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    text.push('\'');
                    continue;
                }
                // Quoted text up to the next lone quote ('' inside stands for a quote).
                while let Some(q) = chars.next() {
                    if q == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                            text.push('\'');
                        } else {
                            break;
                        }
                    } else {
                        text.push(q);
                    }
                }
            } else if c.is_ascii_alphabetic() {
                if !"GyYMLwWDdFEuaHkKhmsSzZX".contains(c) {
                    return Err(c);
                }
                let mut count = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    count += 1;
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Field(c, count.min(64)));
            } else {
                text.push(c);
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(DatePattern(pieces))
    }

    /// Formats an instant (milliseconds since the epoch) in a zone `offset_secs` east of UTC.
    pub(crate) fn format(&self, epoch_millis: i64, offset_secs: i32) -> String {
        let t = Civil::new(epoch_millis, offset_secs);
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(s) => out.push_str(s),
                Piece::Field(c, n) => t.field(&mut out, *c, *n, offset_secs),
            }
        }
        out
    }
}

/// Broken-down local time.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    yday: u32,
    /// 0 = Monday .. 6 = Sunday.
    wday: u32,
    hour: u32,
    minute: u32,
    second: u32,
    millis: u32,
}

impl Civil {
    fn new(epoch_millis: i64, offset_secs: i32) -> Civil {
        let local = epoch_millis.saturating_add(i64::from(offset_secs) * 1000);
        let days = local.div_euclid(86_400_000);
        let ms_of_day = local.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        let yday = (days - days_from_civil(year, 1, 1)) as u32 + 1;
        Civil {
            year,
            month,
            day,
            yday,
            wday: (days + 3).rem_euclid(7) as u32,
            hour: (ms_of_day / 3_600_000) as u32,
            minute: (ms_of_day / 60_000 % 60) as u32,
            second: (ms_of_day / 1000 % 60) as u32,
            millis: (ms_of_day % 1000) as u32,
        }
    }

    /// Week of year / month with Sunday as first day and minimal-days 1 (the US rules).
    fn week_of(&self, day_in_period: u32) -> u32 {
        let sunday_based = (self.wday + 1) % 7; // 0 = Sunday
        let first_wday = (sunday_based + 7 - (day_in_period - 1) % 7) % 7;
        (day_in_period - 1 + first_wday) / 7 + 1
    }

    fn field(&self, out: &mut String, c: char, n: usize, offset_secs: i32) {
        let num = |out: &mut String, v: i64| {
            let _ = write!(out, "{v:0n$}");
        };
        match c {
            'G' => out.push_str(if self.year > 0 { "AD" } else { "BC" }),
            'y' | 'Y' => {
                let y = if self.year > 0 {
                    self.year
                } else {
                    1 - self.year
                };
                if n == 2 {
                    num(out, y % 100);
                } else {
                    num(out, y);
                }
            }
            'M' | 'L' => match n {
                1 | 2 => num(out, i64::from(self.month)),
                3 => out.push_str(&MONTHS[self.month as usize - 1][..3]),
                _ => out.push_str(MONTHS[self.month as usize - 1]),
            },
            'w' => num(out, i64::from(self.week_of(self.yday))),
            'W' => num(out, i64::from(self.week_of(self.day))),
            'D' => num(out, i64::from(self.yday)),
            'd' => num(out, i64::from(self.day)),
            'F' => num(out, i64::from((self.day - 1) / 7 + 1)),
            'E' => {
                let name = DAYS[self.wday as usize];
                out.push_str(if n <= 3 { &name[..3] } else { name });
            }
            'u' => num(out, i64::from(self.wday + 1)),
            'a' => out.push_str(if self.hour < 12 { "AM" } else { "PM" }),
            'H' => num(out, i64::from(self.hour)),
            'k' => num(out, i64::from(if self.hour == 0 { 24 } else { self.hour })),
            'K' => num(out, i64::from(self.hour % 12)),
            'h' => num(
                out,
                i64::from(if self.hour.is_multiple_of(12) {
                    12
                } else {
                    self.hour % 12
                }),
            ),
            'm' => num(out, i64::from(self.minute)),
            's' => num(out, i64::from(self.second)),
            'S' => num(out, i64::from(self.millis)),
            'z' => {
                if offset_secs == 0 {
                    out.push_str(if n >= 4 {
                        "Coordinated Universal Time"
                    } else {
                        "UTC"
                    });
                } else {
                    out.push_str("GMT");
                    zone(out, offset_secs, true);
                }
            }
            'Z' => zone(out, offset_secs, false),
            'X' => {
                if offset_secs == 0 {
                    out.push('Z');
                } else if n == 1 {
                    let h = offset_secs / 3600;
                    let _ = write!(out, "{}{:02}", if h < 0 { '-' } else { '+' }, h.abs());
                } else {
                    zone(out, offset_secs, n >= 3);
                }
            }
            _ => {}
        }
    }
}

fn zone(out: &mut String, offset_secs: i32, colon: bool) {
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let m = offset_secs.unsigned_abs() / 60;
    let sep = if colon { ":" } else { "" };
    let _ = write!(out, "{sign}{:02}{sep}{:02}", m / 60, m % 60);
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
