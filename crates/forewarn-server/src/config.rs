//! Configuration of `forewarn serve`: defaults, then a TOML file, then `FOREWARN_*`
//! environment variables, then command-line flags, each overriding the one before.
//! The caller reads the file and the environment; this module only merges and checks.

use std::fmt;
use std::net::SocketAddr;

use serde::Deserialize;

/// The settings, as a file, the environment or flags may give them (all optional).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `sqlite://PATH` (the default, one file) or `postgres://USER:PASSWORD@HOST/DB`.
    pub database: Option<String>,
    /// Address and port to listen on.
    pub listen: Option<String>,
    /// The address people reach the service at; links in pages, feeds and mail use it.
    pub base_url: Option<String>,
    /// `smtp://` or `smtps://` URL of the mail relay; without it, mail is captured and shown
    /// at `/admin/mail`.
    pub smtp: Option<String>,
    /// The name of the status page.
    pub site_name: Option<String>,
}

/// The environment variables read, each overriding the file's key of the same name.
pub const ENV: [(&str, &str); 5] = [
    ("FOREWARN_DATABASE", "database"),
    ("FOREWARN_LISTEN", "listen"),
    ("FOREWARN_BASE_URL", "base_url"),
    ("FOREWARN_SMTP", "smtp"),
    ("FOREWARN_SITE_NAME", "site_name"),
];

/// The merged configuration.
#[derive(Clone)]
pub struct Config {
    pub database: String,
    pub listen: SocketAddr,
    pub base_url: String,
    pub smtp: Option<String>,
    pub site_name: String,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database", &redact(&self.database))
            .field("listen", &self.listen)
            .field("base_url", &self.base_url)
            .field("smtp", &self.smtp.as_deref().map(redact))
            .field("site_name", &self.site_name)
            .finish()
    }
}

/// A URL with its password replaced by `***`, for logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(parts) => parts,
        None => return url.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// A commented example configuration file (`forewarn config example`).
pub const EXAMPLE: &str = r#"# forewarn serve --config forewarn.toml
# Every key can also be set by an environment variable (FOREWARN_DATABASE,
# FOREWARN_LISTEN, FOREWARN_BASE_URL, FOREWARN_SMTP, FOREWARN_SITE_NAME) or a
# flag (--database, --listen, --base-url, --smtp, --site-name); flags win over
# the environment, the environment over this file.

# Where forewarn keeps everything. One SQLite file is the default; use
# PostgreSQL when several coordinator instances share the work:
#   database = "postgres://forewarn:SECRET@db.example.net/forewarn"
database = "sqlite://forewarn.db"

# Address and port to listen on.
listen = "127.0.0.1:8080"

# The address people reach the service at: links in pages, feeds and mail.
base_url = "https://status.example.net"

# The mail relay. Without it, mail is captured and shown at /admin/mail.
# smtp = "smtps://forewarn:SECRET@mail.example.net"

# The name shown on the status page.
site_name = "Example Hosting"
"#;

impl Settings {
    /// Reads a settings file; errors name the file, the line and the key.
    pub fn from_toml(file: &str, text: &str) -> Result<Settings, String> {
        toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
            match line {
                Some(l) => format!("{file}:{l}: {}", e.message()),
                None => format!("{file}: {}", e.message()),
            }
        })
    }

    /// The settings given by `FOREWARN_*` variables among `vars`.
    pub fn from_env<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Settings {
        let mut s = Settings::default();
        for (name, value) in vars {
            let slot = match ENV.iter().find(|(n, _)| *n == name).map(|(_, key)| *key) {
                Some("database") => &mut s.database,
                Some("listen") => &mut s.listen,
                Some("base_url") => &mut s.base_url,
                Some("smtp") => &mut s.smtp,
                Some("site_name") => &mut s.site_name,
                _ => continue,
            };
            *slot = Some(value.to_owned());
        }
        s
    }

    /// These settings, with `over`'s where it has them.
    pub fn overridden_by(self, over: Settings) -> Settings {
        Settings {
            database: over.database.or(self.database),
            listen: over.listen.or(self.listen),
            base_url: over.base_url.or(self.base_url),
            smtp: over.smtp.or(self.smtp),
            site_name: over.site_name.or(self.site_name),
        }
    }

    /// The configuration, with defaults for what nobody gave.
    pub fn resolve(self) -> Result<Config, String> {
        let database = self.database.unwrap_or_else(|| "sqlite://forewarn.db".to_owned());
        if !(database.starts_with("sqlite:")
            || database.starts_with("postgres://")
            || database.starts_with("postgresql://"))
        {
            return Err(format!(
                "database `{}`: expected `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`",
                redact(&database)
            ));
        }
        let listen_text = self.listen.unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr = listen_text
            .parse()
            .map_err(|_| format!("listen `{listen_text}`: expected an address and port such as `127.0.0.1:8080`"))?;
        let base_url = self.base_url.unwrap_or_else(|| format!("http://{listen}"));
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(format!("base_url `{base_url}`: expected an http:// or https:// URL"));
        }
        if let Some(smtp) = &self.smtp
            && !(smtp.starts_with("smtp://") || smtp.starts_with("smtps://"))
        {
            return Err(format!("smtp `{}`: expected an smtp:// or smtps:// URL", redact(smtp)));
        }
        Ok(Config {
            database,
            listen,
            base_url: base_url.trim_end_matches('/').to_owned(),
            smtp: self.smtp,
            site_name: self.site_name.unwrap_or_else(|| "forewarn".to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_valid_and_later_layers_win() {
        let file = Settings::from_toml("forewarn.toml", EXAMPLE).unwrap();
        let env = Settings::from_env([("FOREWARN_LISTEN", "127.0.0.1:9000"), ("HOME", "/root")]);
        let flags = Settings { database: Some("postgres://u:pw@localhost/f".into()), ..Settings::default() };
        let c = file.overridden_by(env).overridden_by(flags).resolve().unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.database, "postgres://u:pw@localhost/f");
        assert_eq!(c.base_url, "https://status.example.net");
        assert_eq!(c.site_name, "Example Hosting");
        let shown = format!("{c:?}");
        assert!(shown.contains("postgres://u:***@localhost/f") && !shown.contains("pw"), "{shown}");
    }

    #[test]
    fn mistakes_name_the_file_line_and_key() {
        let err = Settings::from_toml("f.toml", "listen = \"x\"\ndatbase = \"sqlite://a\"\n").unwrap_err();
        assert!(err.starts_with("f.toml:2:") && err.contains("datbase"), "{err}");
        let err = Settings { listen: Some("localhost".into()), ..Settings::default() }.resolve().unwrap_err();
        assert!(err.contains("127.0.0.1:8080"), "{err}");
        let err = Settings { database: Some("mysql://x".into()), ..Settings::default() }.resolve().unwrap_err();
        assert!(err.contains("sqlite://PATH"), "{err}");
        let c = Settings::default().resolve().unwrap();
        assert_eq!((c.database.as_str(), c.base_url.as_str()), ("sqlite://forewarn.db", "http://127.0.0.1:8080"));
    }
}
