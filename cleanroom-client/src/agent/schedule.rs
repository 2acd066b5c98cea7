//! Refresh schedules of the agent: `every 6h`, `daily 06:00`,
//! `weekly mon 06:00`, in UTC unless an offset is stated
//! (`daily 06:00 +02:00`; a fixed offset, not a time zone: no daylight
//! saving).
//!
//! Times are whole seconds since the Unix epoch. A schedule is due when its
//! latest occurrence at or before now has not been run yet; a partnership
//! that never ran under this agent's state is due at once.

use std::fmt;

/// Shortest interval of an `every` schedule: each run costs the pair of
/// organizations a session of its daily budget.
pub const MIN_EVERY_SECS: u64 = 60;

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A refresh schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// At most this many seconds after the last run.
    Every(u64),
    /// Every day at this second of the day (at `offset` seconds east of UTC).
    Daily {
        /// Seconds after local midnight.
        at: i64,
        /// Seconds east of UTC.
        offset: i64,
    },
    /// Every week on this weekday (0 = Monday) at this second of the day.
    Weekly {
        /// 0 = Monday … 6 = Sunday.
        weekday: i64,
        /// Seconds after local midnight.
        at: i64,
        /// Seconds east of UTC.
        offset: i64,
    },
}

impl Schedule {
    /// Parses a schedule strictly: lower case keywords, `HH:MM` in 24-hour
    /// time, an `every` of whole minutes (`30m`), hours (`6h`) or days
    /// (`1d`) of at least a minute, an optional trailing `UTC` or `±HH:MM`.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let bad = |why: &str| {
            format!(
                "{text:?} is not a schedule ({why}); write e.g. \"every 6h\", \"daily 06:00\" \
                 or \"weekly mon 06:00\" (UTC, or add an offset like +02:00)"
            )
        };
        match words.as_slice() {
            ["every", n] => {
                let (num, mult) = match n.char_indices().last() {
                    Some((i, 'm')) => (&n[..i], 60),
                    Some((i, 'h')) => (&n[..i], 3600),
                    Some((i, 'd')) => (&n[..i], 86_400),
                    _ => return Err(bad("an interval ends in m, h or d")),
                };
                if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("the interval must be a whole number"));
                }
                let secs = num
                    .parse::<u64>()
                    .ok()
                    .and_then(|v| v.checked_mul(mult))
                    .filter(|&s| s <= 366 * 86_400);
                match secs {
                    Some(s) if s >= MIN_EVERY_SECS => Ok(Schedule::Every(s)),
                    _ => Err(bad("the interval must be between 1m and 366d")),
                }
            }
            ["daily", time, rest @ ..] => {
                let at = parse_hhmm(time).ok_or_else(|| bad("bad time"))?;
                let offset = parse_offset(rest).ok_or_else(|| bad("bad offset"))?;
                Ok(Schedule::Daily { at, offset })
            }
            ["weekly", day, time, rest @ ..] => {
                let Some(weekday) = WEEKDAYS.iter().position(|d| d == day) else {
                    return Err(bad("the day is one of mon, tue, wed, thu, fri, sat, sun"));
                };
                let at = parse_hhmm(time).ok_or_else(|| bad("bad time"))?;
                let offset = parse_offset(rest).ok_or_else(|| bad("bad offset"))?;
                Ok(Schedule::Weekly {
                    weekday: weekday as i64,
                    at,
                    offset,
                })
            }
            _ => Err(bad("unknown form")),
        }
    }

    /// The latest occurrence at or before `now` (for `every`: none, it
    /// counts from the last run).
    fn latest(&self, now: i64) -> Option<i64> {
        match *self {
            Schedule::Every(_) => None,
            Schedule::Daily { at, offset } => {
                let local = now + offset;
                let mut t = local - local.rem_euclid(DAY) + at;
                if t > local {
                    t -= DAY;
                }
                Some(t - offset)
            }
            Schedule::Weekly {
                weekday,
                at,
                offset,
            } => {
                let local = now + offset;
                // 1970-01-01 was a Thursday (weekday 3): day 0 of a week
                // starting on Monday is 1969-12-29, i.e. day -3.
                let week_start = local - (local + 3 * DAY).rem_euclid(WEEK);
                let mut t = week_start + weekday * DAY + at;
                if t > local {
                    t -= WEEK;
                }
                Some(t - offset)
            }
        }
    }

    /// Whether a run is due at `now` after the last one at `last_run`.
    pub fn is_due(&self, last_run: Option<i64>, now: i64) -> bool {
        let Some(last) = last_run else {
            return true;
        };
        match *self {
            Schedule::Every(secs) => now >= last + secs as i64,
            _ => self.latest(now).is_some_and(|t| t > last),
        }
    }

    /// When the next run is due: `now` if it is due already.
    pub fn next_run(&self, last_run: Option<i64>, now: i64) -> i64 {
        if self.is_due(last_run, now) {
            return now;
        }
        match *self {
            Schedule::Every(secs) => last_run.unwrap_or(now) + secs as i64,
            Schedule::Daily { .. } => self.latest(now).unwrap_or(now) + DAY,
            Schedule::Weekly { .. } => self.latest(now).unwrap_or(now) + WEEK,
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hhmm = |at: i64| format!("{:02}:{:02}", at / 3600, at % 3600 / 60);
        let off = |o: i64| {
            if o == 0 {
                String::new()
            } else {
                let sign = if o < 0 { '-' } else { '+' };
                format!(" {sign}{:02}:{:02}", o.abs() / 3600, o.abs() % 3600 / 60)
            }
        };
        match *self {
            Schedule::Every(s) if s % 86_400 == 0 => write!(f, "every {}d", s / 86_400),
            Schedule::Every(s) if s % 3600 == 0 => write!(f, "every {}h", s / 3600),
            Schedule::Every(s) => write!(f, "every {}m", s / 60),
            Schedule::Daily { at, offset } => write!(f, "daily {}{}", hhmm(at), off(offset)),
            Schedule::Weekly {
                weekday,
                at,
                offset,
            } => write!(
                f,
                "weekly {} {}{}",
                WEEKDAYS[weekday as usize],
                hhmm(at),
                off(offset)
            ),
        }
    }
}

/// `HH:MM` (two digits each) as seconds after midnight.
fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 3600 + m * 60)
}

/// Nothing or `UTC`: 0; `+HH:MM` / `-HH:MM`: seconds east of UTC.
fn parse_offset(rest: &[&str]) -> Option<i64> {
    match rest {
        [] | ["UTC"] => Some(0),
        [o] => {
            let sign = match o.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let secs = parse_hhmm(&o[1..])?;
            (secs <= 14 * 3600).then_some(sign * secs)
        }
        _ => None,
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// RFC 3339 in UTC (`2026-11-29T06:00:00Z`) of seconds since the epoch.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(DAY);
    let rem = secs.rem_euclid(DAY);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-29T15:30:00Z, a Sunday.
    const NOW: i64 = 1_795_966_200;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(NOW), "2026-11-29T15:30:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parses_strictly_and_round_trips() {
        for ok in [
            "every 6h",
            "every 30m",
            "every 1d",
            "daily 06:00",
            "weekly mon 06:00",
            "daily 23:59 +02:00",
            "weekly sun 00:30 -05:30",
        ] {
            let s = Schedule::parse(ok).unwrap();
            assert_eq!(s.to_string(), ok);
        }
        assert_eq!(
            Schedule::parse("daily 06:00 UTC").unwrap(),
            Schedule::parse("daily 06:00").unwrap()
        );
        for bad in [
            "",
            "every",
            "every 6",
            "every 6 h",
            "every 30s",
            "every 0h",
            "every -1h",
            "every 1.5h",
            "Daily 06:00",
            "daily 6:00",
            "daily 24:00",
            "daily 06:60",
            "daily 06:00 CET",
            "daily 06:00 +2",
            "weekly monday 06:00",
            "weekly 06:00",
            "hourly",
            "every 400d",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn due_and_next() {
        let every = Schedule::parse("every 6h").unwrap();
        assert!(every.is_due(None, NOW));
        assert!(!every.is_due(Some(NOW - 3600), NOW));
        assert!(every.is_due(Some(NOW - 6 * 3600), NOW));
        assert_eq!(every.next_run(Some(NOW - 3600), NOW), NOW + 5 * 3600);

        let daily = Schedule::parse("daily 06:00").unwrap();
        let six = NOW - 9 * 3600 - 1800; // 06:00 today
        assert_eq!(rfc3339(six), "2026-11-29T06:00:00Z");
        assert!(daily.is_due(Some(six - 1), NOW));
        assert!(!daily.is_due(Some(six), NOW));
        assert_eq!(daily.next_run(Some(six), NOW), six + DAY);
        let at_plus2 = Schedule::parse("daily 06:00 +02:00").unwrap();
        assert_eq!(
            rfc3339(at_plus2.next_run(Some(NOW), NOW)),
            "2026-11-30T04:00:00Z"
        );

        let weekly = Schedule::parse("weekly mon 06:00").unwrap();
        let next = weekly.next_run(Some(NOW), NOW);
        assert_eq!(rfc3339(next), "2026-11-30T06:00:00Z");
        let sunday = Schedule::parse("weekly sun 16:00").unwrap();
        assert_eq!(
            rfc3339(sunday.next_run(Some(NOW), NOW)),
            "2026-11-29T16:00:00Z"
        );
        assert_eq!(rfc3339(sunday.latest(NOW).unwrap()), "2026-11-22T16:00:00Z");
    }
}
