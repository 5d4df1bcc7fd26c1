//! The slot table of a campaign's page: every target of the published plan as stored, with
//! its customer, project, host, tier, times in the site's zone and state (the unscheduled
//! ones with their reason), a customer filter (`?customer=ID`) and a link to the same table
//! as CSV (`/api/v1/campaigns/{id}/slots?format=csv`, which an operator's session may read).

use std::fmt::Write as _;

use maud::{Markup, html};

use super::{Cx, option};
use crate::actions::SlotTable;
use crate::error::ApiError;

/// How many rows the page shows; the CSV has them all.
const ROWS_SHOWN: usize = 500;

/// The `#slots` section: `table` as [`crate::actions::slot_table`] gave it for `customer`
/// (or the error it gave).
pub(super) fn section(cx: &Cx, id: &str, table: &Result<SlotTable, ApiError>, customer: &str) -> Markup {
    match table {
        Ok(t) if t.plan_version.is_none() => html! {},
        Ok(t) => slots(cx, id, t, customer),
        Err(e) => html! {
            section id="slots" {
                "\n"
                h2 { "Slots" } "\n"
                (cx.error_box("The slots cannot be listed:", e))
            } "\n"
        },
    }
}

fn slots(cx: &Cx, id: &str, table: &SlotTable, customer: &str) -> Markup {
    let version = table.plan_version.unwrap_or(0);
    let mut csv = format!("/api/v1/campaigns/{id}/slots?format=csv");
    if !customer.is_empty() {
        csv.push_str("&customer=");
        csv.push_str(&query_escape(customer));
    }
    let count = |state: &str| table.rows.iter().filter(|r| r.state == state).count();
    let when = |t: Option<jiff::Timestamp>| html! { @if let Some(t) = t { (cx.time(t)) } };
    html! {
        section id="slots" data-plan=(version) {
            "\n"
            h2 { "Slots of plan version " (version) } "\n"
            // The filter: a GET form back to this page.
            form method="get" action=(cx.path(&format!("/admin/campaigns/{id}"))) id="slots-filter" class="actions" {
                label {
                    "Customer "
                    select name="customer" {
                        (option("", "every customer", customer.is_empty()))
                        @for (cid, name) in &table.customers {
                            (option(cid, &format!("{name} ({cid})"), cid == customer))
                        }
                    }
                }
                button type="submit" class="secondary" { "Show" } " "
                a id="slots-csv" href=(cx.path(&csv)) download { "CSV" }
            } "\n"
            p class="meta" {
                (count("planned")) " planned, " (count("cancelled")) " cancelled, " (count("unscheduled"))
                " without a slot"
                @if !customer.is_empty() { " for customer " (customer) }
                ". Times in " (cx.site.zone.name()) "."
            } "\n"
            // Moving a slot, or placing a target without one: reviewed first (whom it tells).
            form method="get" action=(cx.path(&format!("/admin/campaigns/{id}/move"))) id="slots-move" class="actions" {
                label { "Target " input name="target" required; }
                label { "New start " input name="start" required placeholder="2027-03-03T22:00:00+01:00"; }
                button type="submit" class="secondary" { "Review the move" }
            } "\n"
            @if table.rows.is_empty() {
                p class="empty" { "No targets." } "\n"
            } @else {
                div class="scroll" { table class="list" id="slots-table" {
                    "\n"
                    thead { tr {
                        th { "Target" } th { "Customer" } th { "Project" } th { "Host" } th { "Tier" } th { "Start" }
                        th { "End" } th { "State" } th { "Why" }
                    } } "\n"
                    tbody {
                        "\n"
                        @for r in table.rows.iter().take(ROWS_SHOWN) {
                            tr class="slot-row" data-target=(r.target) data-state=(r.state) {
                                td { (r.target) } td { (r.customer) } td { (r.project) } td { (r.host) } td { (r.tier) }
                                td class="when" { (when(r.start)) } td class="when" { (when(r.end)) }
                                td {
                                    (r.state)
                                    @if let Some(n) = r.sequence.filter(|n| *n > 0) {
                                        " " span class="hint" { "(SEQUENCE " (n) ")" }
                                    }
                                }
                                td { (r.reason) }
                            } "\n"
                        }
                    } "\n"
                } } "\n"
                @if table.rows.len() > ROWS_SHOWN {
                    p class="hint" { "And " (table.rows.len() - ROWS_SHOWN) " more: the CSV has them all." } "\n"
                }
            }
        } "\n"
    }
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
