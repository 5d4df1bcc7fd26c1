//! The site the pages, the Atom feed and the calendar are rendered for: its name, the URL it
//! is served at, and the zone its times are shown in.

use forewarn_model::Zone;

/// What every rendering of the status page needs to know about where it is published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// Shown in page titles, the header and the feeds: "Lindenau Hosting".
    pub name: String,
    /// Where the public pages are served, e.g. `https://status.example.com` or
    /// `https://example.com/status` (a trailing `/` is ignored).
    pub base_url: String,
    /// Times are shown in this zone, named ("CET").
    pub zone: Zone,
}

impl Site {
    pub fn new(name: impl Into<String>, base_url: impl Into<String>, zone: Zone) -> Site {
        Site { name: name.into(), base_url: base_url.into(), zone }
    }

    fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    /// An absolute URL for a path of the site: `url("/posts/3")` is `https://status.example.com/posts/3`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// The path a page links to for a path of the site, with the base URL's own path in front
    /// when the site is served below one: `/posts/3`, or `/status/posts/3`.
    pub fn path(&self, path: &str) -> String {
        let base = self.base();
        let after_scheme = base.find("://").map_or(base, |i| &base[i + 3..]);
        let prefix = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
        format!("{prefix}{path}")
    }

    /// The host of the base URL, lower case, without user, port or path: `status.example.com`.
    pub fn host(&self) -> String {
        let base = self.base();
        let after_scheme = base.find("://").map_or(base, |i| &base[i + 3..]);
        let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
        let host_port = authority.rsplit('@').next().unwrap_or(authority);
        let host = if host_port.starts_with('[') {
            // An IPv6 literal keeps its brackets.
            host_port.split_inclusive(']').next().unwrap_or(host_port)
        } else {
            host_port.split(':').next().unwrap_or(host_port)
        };
        if host.is_empty() { "localhost".to_owned() } else { host.to_ascii_lowercase() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(base: &str) -> Site {
        Site::new("S", base, Zone::utc())
    }

    #[test]
    fn site_urls_paths_and_host() {
        let s = site("https://Status.Example.com/");
        assert_eq!(s.url("/posts/3"), "https://Status.Example.com/posts/3");
        assert_eq!(s.path("/posts/3"), "/posts/3");
        assert_eq!(s.host(), "status.example.com");
        let s = site("http://ops:pw@example.com:8080/status");
        assert_eq!(s.path("/feed.atom"), "/status/feed.atom");
        assert_eq!(s.url("/feed.atom"), "http://ops:pw@example.com:8080/status/feed.atom");
        assert_eq!(s.host(), "example.com");
        assert_eq!(site("http://[::1]:3000").host(), "[::1]");
        assert_eq!(site("").host(), "localhost");
    }
}
