//! YAML timestamps as the Go YAML libraries read them: `time.Parse` with the
//! four layouts go-yaml v2 and v3 accept (`parseTimestamp` in their
//! `resolve.go`), and Go's RFC 3339 form of the result, which is what a
//! timestamp becomes after kustomize's JSON round trip.

/// A parsed timestamp: the civil fields and the zone offset in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GoTime {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Offset east of UTC in seconds.
    offset: i32,
}

/// go-yaml's `allowedTimestampFormats`, in its order.
const LAYOUTS: &[&[Part]] = &[
    &[
        Part::Date,
        Part::Lit('T'),
        Part::Clock,
        Part::Frac,
        Part::Zone,
    ],
    &[
        Part::Date,
        Part::Lit('t'),
        Part::Clock,
        Part::Frac,
        Part::Zone,
    ],
    &[Part::Date, Part::Lit(' '), Part::Clock, Part::Frac],
    &[Part::Date],
];

#[derive(Clone, Copy)]
enum Part {
    /// `2006-1-2`
    Date,
    /// `15:4:5`
    Clock,
    /// `.999999999`: optional fraction (Go also takes a comma).
    Frac,
    /// `Z07:00`
    Zone,
    Lit(char),
}

/// Go's `getnum(s, false)`: one or two digits.
fn num12(s: &[u8]) -> Option<(u32, &[u8])> {
    let d0 = *s.first().filter(|c| c.is_ascii_digit())?;
    match s.get(1).filter(|c| c.is_ascii_digit()) {
        Some(d1) => Some((u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'), &s[2..])),
        None => Some((u32::from(d0 - b'0'), &s[1..])),
    }
}

fn two_digits(s: &[u8]) -> Option<u32> {
    match s {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        }
        _ => None,
    }
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn parse_layout(s: &str, layout: &[Part]) -> Option<GoTime> {
    let mut v = s.as_bytes();
    let mut t = GoTime {
        year: 0,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        offset: 0,
    };
    for part in layout {
        match *part {
            Part::Date => {
                let y = v.get(..4)?;
                if !y.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                t.year = y.iter().fold(0, |a, d| a * 10 + u32::from(d - b'0'));
                v = v[4..].strip_prefix(b"-")?;
                let (m, rest) = num12(v)?;
                v = rest.strip_prefix(b"-")?;
                let (d, rest) = num12(v)?;
                v = rest;
                if !(1..=12).contains(&m) || d < 1 || d > days_in(m, t.year) {
                    return None;
                }
                t.month = m;
                t.day = d;
            }
            Part::Clock => {
                let (h, rest) = num12(v)?;
                let rest = rest.strip_prefix(b":")?;
                let (mi, rest) = num12(rest)?;
                let rest = rest.strip_prefix(b":")?;
                let (se, rest) = num12(rest)?;
                v = rest;
                if h >= 24 || mi >= 60 || se >= 60 {
                    return None;
                }
                t.hour = h;
                t.minute = mi;
                t.second = se;
            }
            Part::Frac => {
                if v.len() >= 2 && matches!(v[0], b'.' | b',') && v[1].is_ascii_digit() {
                    let digits = v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    let mut nanos: u64 = 0;
                    for (i, d) in v[1..=digits].iter().enumerate() {
                        if i < 9 {
                            nanos = nanos * 10 + u64::from(d - b'0');
                        }
                    }
                    for _ in digits..9 {
                        nanos *= 10;
                    }
                    t.nanos = u32::try_from(nanos).ok()?;
                    v = &v[1 + digits..];
                }
            }
            Part::Zone => {
                if let Some(rest) = v.strip_prefix(b"Z") {
                    v = rest;
                } else {
                    if v.len() < 6 || v[3] != b':' {
                        return None;
                    }
                    let sign = match v[0] {
                        b'+' => 1,
                        b'-' => -1,
                        _ => return None,
                    };
                    let h = two_digits(&v[1..3])?;
                    let m = two_digits(&v[4..6])?;
                    // Go's range test uses `>`: offsets of 24 hours or 60 minutes are read.
                    if h > 24 || m > 60 {
                        return None;
                    }
                    t.offset = sign * (h as i32 * 3600 + m as i32 * 60);
                    v = &v[6..];
                }
            }
            Part::Lit(c) => {
                let mut buf = [0u8; 4];
                v = v.strip_prefix(c.encode_utf8(&mut buf).as_bytes())?;
            }
        }
    }
    v.is_empty().then_some(t)
}

/// Parses a plain scalar as go-yaml's `parseTimestamp` does.
pub(crate) fn parse(s: &str) -> Option<GoTime> {
    // Quick check: all date formats start with YYYY-.
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    LAYOUTS.iter().find_map(|l| parse_layout(s, l))
}

/// Whether go-yaml reads this plain scalar as a timestamp.
pub(crate) fn is_timestamp(s: &str) -> bool {
    parse(s).is_some()
}

/// Go's `time.Time.MarshalJSON` text (RFC 3339 with nanoseconds, trailing
/// zeros of the fraction dropped, `Z` for a zero offset), without quotes.
pub(crate) fn rfc3339_nano(t: &GoTime) -> String {
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    );
    if t.nanos != 0 {
        let frac = format!("{:09}", t.nanos);
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    if t.offset == 0 {
        s.push('Z');
    } else {
        let sign = if t.offset < 0 { '-' } else { '+' };
        let a = t.offset.unsigned_abs();
        s.push_str(&format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> Option<String> {
        parse(s).map(|t| rfc3339_nano(&t))
    }

    #[test]
    fn go_yaml_timestamp_layouts_and_their_json_form() {
        assert_eq!(json("2001-12-14").as_deref(), Some("2001-12-14T00:00:00Z"));
        assert_eq!(json("2001-1-2").as_deref(), Some("2001-01-02T00:00:00Z"));
        assert_eq!(
            json("2001-12-14T1:2:3Z").as_deref(),
            Some("2001-12-14T01:02:03Z")
        );
        assert_eq!(
            json("2001-12-14t10:00:00.120Z").as_deref(),
            Some("2001-12-14T10:00:00.12Z")
        );
        assert_eq!(
            json("2001-12-14T10:00:00.5+01:00").as_deref(),
            Some("2001-12-14T10:00:00.5+01:00")
        );
        assert_eq!(
            json("2001-12-14 10:00:00").as_deref(),
            Some("2001-12-14T10:00:00Z")
        );
        assert_eq!(
            json("2001-12-14T10:00:00-00:00").as_deref(),
            Some("2001-12-14T10:00:00Z")
        );
    }

    #[test]
    fn what_go_time_parse_refuses_is_not_a_timestamp() {
        for s in [
            "2001-02-30",
            "2001-13-01",
            "2001-12-14T10:00:00",
            "2001-12-14 10:00:00Z",
            "2001-12",
            "v2001-12-14",
            "2001-12-14T24:00:00Z",
            "20011-12-14",
        ] {
            assert!(parse(s).is_none(), "{s}");
        }
        assert!(parse("2000-02-29").is_some());
        assert!(parse("1900-02-29").is_none());
    }
}
