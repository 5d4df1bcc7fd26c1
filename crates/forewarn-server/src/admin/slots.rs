//! The slot table of a campaign's page: every target of the published plan as stored, with
//! its customer, project, host, tier, times in the site's zone and state (the unscheduled
//! ones with their reason), a customer filter (`?customer=ID`) and a link to the same table
//! as CSV (`/api/v1/campaigns/{id}/slots?format=csv`, which an operator's session may read).

use std::fmt::Write as _;

use forewarn_status::escape::Esc;

use super::{Cx, option};
use crate::actions::SlotTable;
use crate::error::ApiError;

/// How many rows the page shows; the CSV has them all.
const ROWS_SHOWN: usize = 500;

/// The `#slots` section: `table` as [`crate::actions::slot_table`] gave it for `customer`
/// (or the error it gave).
pub(super) fn section(out: &mut String, cx: &Cx, id: &str, table: &Result<SlotTable, ApiError>, customer: &str) {
    let table = match table {
        Ok(t) if t.plan_version.is_none() => return,
        Ok(t) => t,
        Err(e) => {
            out.push_str("<section id=\"slots\">\n<h2>Slots</h2>\n");
            out.push_str(&cx.error_box("The slots cannot be listed:", e));
            out.push_str("</section>\n");
            return;
        }
    };
    let _ = writeln!(
        out,
        "<section id=\"slots\" data-plan=\"{}\">\n<h2>Slots of plan version {}</h2>",
        table.plan_version.unwrap_or(0),
        table.plan_version.unwrap_or(0)
    );
    // The filter: a GET form back to this page.
    let _ = write!(
        out,
        "<form method=\"get\" action=\"{}\" id=\"slots-filter\" class=\"actions\"><label>Customer \
         <select name=\"customer\">",
        Esc(&cx.path(&format!("/admin/campaigns/{id}")))
    );
    option(out, "", "every customer", customer.is_empty());
    for (cid, name) in &table.customers {
        option(out, cid, &format!("{name} ({cid})"), cid == customer);
    }
    let mut csv = format!("/api/v1/campaigns/{id}/slots?format=csv");
    if !customer.is_empty() {
        csv.push_str("&customer=");
        csv.push_str(&query_escape(customer));
    }
    let _ = writeln!(
        out,
        "</select></label><button type=\"submit\" class=\"secondary\">Show</button> <a id=\"slots-csv\" href=\"{}\" \
         download>CSV</a></form>",
        Esc(&cx.path(&csv))
    );
    let planned = table.rows.iter().filter(|r| r.state == "planned").count();
    let cancelled = table.rows.iter().filter(|r| r.state == "cancelled").count();
    let unscheduled = table.rows.iter().filter(|r| r.state == "unscheduled").count();
    let _ = writeln!(
        out,
        "<p class=\"meta\">{planned} planned, {cancelled} cancelled, {unscheduled} without a slot{}. Times in {}.</p>",
        if customer.is_empty() { String::new() } else { format!(" for customer {customer}") },
        Esc(cx.site.zone.name())
    );
    // Moving a slot, or placing a target without one: reviewed first (whom it tells).
    let _ = writeln!(
        out,
        "<form method=\"get\" action=\"{}\" id=\"slots-move\" class=\"actions\"><label>Target <input \
         name=\"target\" required></label><label>New start <input name=\"start\" required \
         placeholder=\"2027-03-03T22:00:00+01:00\"></label><button type=\"submit\" class=\"secondary\">Review the \
         move</button></form>",
        Esc(&cx.path(&format!("/admin/campaigns/{id}/move")))
    );
    if table.rows.is_empty() {
        out.push_str("<p class=\"empty\">No targets.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table class=\"list\" id=\"slots-table\">\n<thead><tr><th>Target</th><th>Customer</th>\
         <th>Project</th><th>Host</th><th>Tier</th><th>Start</th><th>End</th><th>State</th><th>Why</th></tr></thead>\n\
         <tbody>\n",
    );
    for r in table.rows.iter().take(ROWS_SHOWN) {
        let when = |t: Option<jiff::Timestamp>| t.map(|t| cx.time(t)).unwrap_or_default();
        let state = match r.sequence {
            Some(n) if n > 0 => format!("{} <span class=\"hint\">(SEQUENCE {n})</span>", r.state),
            _ => r.state.to_owned(),
        };
        let _ = writeln!(
            out,
            "<tr class=\"slot-row\" data-target=\"{t}\" data-state=\"{s}\"><td>{t}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td class=\"when\">{}</td><td class=\"when\">{}</td><td>{state}</td><td>{}</td></tr>",
            Esc(&r.customer),
            Esc(&r.project),
            Esc(&r.host),
            Esc(&r.tier),
            when(r.start),
            when(r.end),
            Esc(&r.reason),
            t = Esc(&r.target),
            s = r.state,
        );
    }
    out.push_str("</tbody>\n</table></div>\n");
    if table.rows.len() > ROWS_SHOWN {
        let _ =
            writeln!(out, "<p class=\"hint\">And {} more: the CSV has them all.</p>", table.rows.len() - ROWS_SHOWN);
    }
    out.push_str("</section>\n");
}

/// A query parameter's value, percent-encoded.
fn query_escape(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
