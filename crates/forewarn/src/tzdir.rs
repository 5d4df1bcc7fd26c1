//! A TZif directory as the time zone database (`FOREWARN_TZDIR`, or `tzdir` in the
//! service's configuration): the IO half of `forewarn_model::tz`. The directory is read
//! once, at start; the model resolves every zone name in what was installed.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use forewarn_model::tz::{self, Tzdb};

/// The variables every command that reads windows looks at.
pub const ENV_DIR: &str = "FOREWARN_TZDIR";
pub const ENV_FORCE: &str = "FOREWARN_TZDIR_FORCE";

/// How to force a refused directory, for the messages of commands that read only the
/// environment.
const FORCE_BY_ENV: &str = "set FOREWARN_TZDIR_FORCE=1";

/// Directories of a zoneinfo tree that hold no zone names people write: copies of the tree
/// (`posix`) and zones that count leap seconds (`right`).
const SKIP: [&str; 2] = ["posix", "right"];

/// A directory found through a symbolic link could loop; zone names are at most three deep.
const MAX_DEPTH: usize = 4;

/// `FOREWARN_TZDIR` and `FOREWARN_TZDIR_FORCE`, when the directory is set (and not empty).
pub fn from_env() -> anyhow::Result<Option<(PathBuf, bool)>> {
    let Some(dir) = std::env::var_os(ENV_DIR).filter(|d| !d.is_empty()) else { return Ok(None) };
    let force = match std::env::var(ENV_FORCE) {
        Err(_) => false,
        Ok(v) => parse_flag(&v).with_context(|| format!("{ENV_FORCE}=`{v}`: expected 1 or 0 (true or false)"))?,
    };
    Ok(Some((PathBuf::from(dir), force)))
}

/// `1`, `true`, `yes`, `on` or their opposites (and empty: no).
pub fn parse_flag(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "" | "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// For the commands that read windows: installs the directory `FOREWARN_TZDIR` names, if
/// any; the bundled database stays otherwise.
pub fn install_from_env() -> anyhow::Result<()> {
    match from_env()? {
        None => Ok(()),
        Some((dir, force)) => install(&dir, force, ENV_DIR, FORCE_BY_ENV),
    }
}

/// Reads the TZif directory `dir` (given by `setting`) and makes it the database every zone
/// is resolved in. Refused when its release is older than the bundled one, or unknown,
/// unless `force` (`how_to_force` says how).
pub fn install(dir: &Path, force: bool, setting: &str, how_to_force: &str) -> anyhow::Result<()> {
    let db = load(dir, force, setting, how_to_force)?;
    if let Some(refusal) = db.refusal() {
        eprintln!(
            "forewarn: warning: the time zone database `{}` is used because it is forced, although {refusal}",
            dir.display()
        );
    }
    tz::install(db).map_err(|_| anyhow::anyhow!("a time zone database was installed already"))
}

/// Reads the TZif directory `dir` into a database, checked against the bundled release.
pub fn load(dir: &Path, force: bool, setting: &str, how_to_force: &str) -> anyhow::Result<Tzdb> {
    let shown = dir.display().to_string();
    let context = || format!("the time zone database `{shown}` ({setting})");
    if !dir.is_dir() {
        bail!(
            "{}: not a directory: give a zoneinfo directory such as /usr/share/zoneinfo, or the \
             `tzdata/zoneinfo` directory of the PyPI tzdata package",
            context()
        );
    }
    let read_text = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let release = tz::release_in(read_text("tzdata.zi").as_deref(), read_text("+VERSION").as_deref());
    let mut files = Vec::new();
    walk(dir, "", 0, &mut files).with_context(context)?;
    let db = Tzdb::from_tzif(&shown, release, files).with_context(context)?;
    match db.refusal() {
        Some(refusal) if !force => bail!(
            "{} is refused: {refusal}. Give a newer one (or none: the bundled one is used), or, to use it \
             anyway, {how_to_force}",
            context()
        ),
        _ => Ok(db),
    }
}

/// Every TZif file below `dir`, by its zone name (the path below the top, `/`-separated).
fn walk(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read `{}`", dir.display()))?;
    let mut entries: Vec<_> =
        entries.collect::<Result<_, _>>().with_context(|| format!("cannot read `{}`", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let zone = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        // Follows symbolic links: zoneinfo trees link zones to each other.
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if meta.is_dir() {
            if depth + 1 < MAX_DEPTH && !(prefix.is_empty() && SKIP.contains(&name.as_str())) {
                walk(&path, &zone, depth + 1, out)?;
            }
        } else if meta.is_file() {
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
            if bytes.starts_with(b"TZif") {
                out.push((zone, bytes));
            }
        }
    }
    Ok(())
}

/// What `forewarn --version` says about the time zone database: the one the commands that
/// read windows would use (without reading every zone).
pub fn version_note() -> String {
    let bundled = format!("tzdb {}, bundled", tz::bundled_release());
    let Ok(Some((dir, force))) = from_env() else { return bundled };
    let read_text = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let release = tz::release_in(read_text("tzdata.zi").as_deref(), read_text("+VERSION").as_deref());
    let shown = dir.display();
    match (tz::refusal_of(release.as_deref()), &release) {
        (None, Some(r)) => format!("tzdb {r}, {shown}"),
        (Some(_), Some(r)) if force => format!("tzdb {r}, {shown}, forced"),
        (Some(_), None) if force => format!("tzdb of unknown release, {shown}, forced"),
        _ => format!("{bundled}; {ENV_DIR} `{shown}` refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_as_people_write_them() {
        assert_eq!(parse_flag("1"), Some(true));
        assert_eq!(parse_flag(" TRUE "), Some(true));
        assert_eq!(parse_flag("0"), Some(false));
        assert_eq!(parse_flag(""), Some(false));
        assert_eq!(parse_flag("maybe"), None);
    }

    #[test]
    fn a_directory_is_read_with_its_release_and_zones() {
        let tmp = tempfile::Builder::new().prefix("forewarn-tzdir-").tempdir().unwrap();
        let dir = tmp.path().join("zoneinfo");
        std::fs::create_dir_all(dir.join("Europe")).unwrap();
        std::fs::create_dir_all(dir.join("right/Europe")).unwrap();
        let plus3 = tz::fixed_tzif(3 * 3600, "+03", "<+03>-3");
        std::fs::write(dir.join("Europe/Berlin"), &plus3).unwrap();
        std::fs::write(dir.join("right/Europe/Berlin"), &plus3).unwrap();
        std::fs::write(dir.join("zone.tab"), "# not a zone\n").unwrap();
        std::fs::write(dir.join("tzdata.zi"), "# version 2099a\n").unwrap();
        let db = load(&dir, false, ENV_DIR, FORCE_BY_ENV).unwrap();
        assert_eq!(db.release(), Some("2099a"));
        assert!(db.get("Europe/Berlin").is_some());
        assert!(db.get("right/Europe/Berlin").is_none(), "leap-second zones are left out");

        std::fs::write(dir.join("tzdata.zi"), "# version 2001a\n").unwrap();
        let err = format!("{:#}", load(&dir, false, ENV_DIR, FORCE_BY_ENV).unwrap_err());
        assert!(err.contains("(FOREWARN_TZDIR) is refused: its tzdb release 2001a is older than the"), "{err}");
        assert!(err.ends_with("or, to use it anyway, set FOREWARN_TZDIR_FORCE=1"), "{err}");
        assert_eq!(load(&dir, true, ENV_DIR, FORCE_BY_ENV).unwrap().release(), Some("2001a"));

        std::fs::remove_file(dir.join("tzdata.zi")).unwrap();
        let err = format!("{:#}", load(&dir, false, "tzdir", "--tzdir-force").unwrap_err());
        assert!(err.contains("(tzdir) is refused: it names no tzdb release"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();

        let err = format!("{:#}", load(&dir, false, ENV_DIR, FORCE_BY_ENV).unwrap_err());
        assert!(err.contains("not a directory"), "{err}");
    }
}
