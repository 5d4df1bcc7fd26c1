//! Request counts and latencies per route, for `/metrics` (Prometheus text format).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5];

/// A gauge: name, help text, and values by label set (`state="draft"`, or empty).
pub type Gauge<'a> = (&'a str, &'a str, Vec<(String, i64)>);

#[derive(Debug, Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), Route>>,
    /// FleetLock answers by operation and result (`ok` or the error's kind).
    fleetlock: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

#[derive(Debug, Default, Clone)]
struct Route {
    /// Responses by status code.
    by_status: BTreeMap<u16, u64>,
    /// Cumulative counts per bucket, then the total.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The label of a request's method: the standard methods by name, anything else `other`, so
/// that invented methods cannot add series.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

impl Metrics {
    /// Counts a response. `route` must be a routed path pattern (or `unmatched`), never the
    /// request's path; the method is labelled by [`method_label`].
    pub fn record(&self, method: &str, route: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let r = routes.entry((method_label(method).to_owned(), route.to_owned())).or_default();
        *r.by_status.entry(status).or_default() += 1;
        for (i, &b) in BUCKETS.iter().enumerate() {
            if secs <= b {
                r.buckets[i] += 1;
            }
        }
        r.count += 1;
        r.sum += secs;
    }

    /// Counts a FleetLock answer: `op` is `pre-reboot` or `steady-state`, `result` `ok` or
    /// the error's kind (a fixed set: the label cannot grow).
    pub fn fleetlock(&self, op: &'static str, result: &'static str) {
        *self.fleetlock.lock().unwrap_or_else(|e| e.into_inner()).entry((op, result)).or_default() += 1;
    }

    /// The Prometheus text exposition of the request metrics, then `extra` (gauges).
    pub fn render(&self, gauges: &[Gauge<'_>]) -> String {
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out = String::new();
        out.push_str("# HELP forewarn_http_requests_total HTTP responses by route and status.\n");
        out.push_str("# TYPE forewarn_http_requests_total counter\n");
        for ((method, route), r) in &routes {
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    out,
                    "forewarn_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP forewarn_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE forewarn_http_request_duration_seconds histogram\n");
        for ((method, route), r) in &routes {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "forewarn_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    r.buckets[i]
                );
            }
            let _ = writeln!(out, "forewarn_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", r.count);
            let _ = writeln!(out, "forewarn_http_request_duration_seconds_sum{{{labels}}} {}", r.sum);
            let _ = writeln!(out, "forewarn_http_request_duration_seconds_count{{{labels}}} {}", r.count);
        }
        let fleetlock = self.fleetlock.lock().unwrap_or_else(|e| e.into_inner()).clone();
        out.push_str(
            "# HELP forewarn_fleetlock_requests_total FleetLock answers by operation and result (ok, or why not).\n",
        );
        out.push_str("# TYPE forewarn_fleetlock_requests_total counter\n");
        for ((op, result), n) in &fleetlock {
            let _ = writeln!(out, "forewarn_fleetlock_requests_total{{op=\"{op}\",result=\"{result}\"}} {n}");
        }
        for (name, help, values) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (labels, v) in values {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {v}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {v}");
                }
            }
        }
        out
    }
}

/// A label value as Prometheus text needs it.
pub(crate) fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_add_up() {
        let m = Metrics::default();
        m.record("GET", "/", 200, Duration::from_micros(300));
        m.record("GET", "/", 200, Duration::from_millis(3));
        m.record("GET", "/posts/{id}", 404, Duration::from_millis(1));
        let text = m.render(&[("forewarn_campaigns", "Campaigns by state.", vec![("state=\"draft\"".into(), 2)])]);
        assert!(text.contains("forewarn_http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("route=\"/posts/{id}\",status=\"404\"} 1"), "{text}");
        assert!(
            text.contains("forewarn_http_request_duration_seconds_bucket{method=\"GET\",route=\"/\",le=\"0.0005\"} 1")
        );
        assert!(
            text.contains("forewarn_http_request_duration_seconds_bucket{method=\"GET\",route=\"/\",le=\"0.005\"} 2")
        );
        assert!(text.contains("forewarn_http_request_duration_seconds_count{method=\"GET\",route=\"/\"} 2"));
        assert!(text.contains("forewarn_campaigns{state=\"draft\"} 2"));
    }

    #[test]
    fn invented_methods_share_one_label() {
        let m = Metrics::default();
        for i in 0..100 {
            m.record(&format!("X{i}"), "unmatched", 405, Duration::from_micros(1));
        }
        let text = m.render(&[]);
        assert_eq!(text.matches("forewarn_http_requests_total{").count(), 1, "{text}");
        assert!(text.contains("method=\"other\",route=\"unmatched\",status=\"405\"} 100"), "{text}");
    }
}
