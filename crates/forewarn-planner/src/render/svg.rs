//! The plan as a standalone SVG 1.1 picture: time across, one row per target
//! (grouped by project, or by rack for host campaigns) with its windows shaded
//! and its slot as a bar coloured by tier; blackouts, the notice and a legend.
//! Large plans are drawn as heat strips, one row per tier and per group.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use forewarn_model::campaign::Scope;
use forewarn_model::window::occurrences_of;
use forewarn_model::{Campaign, Inventory, Window, Zone};

use super::{completion, count, noun, span_words, target_windows};
use crate::explain::local;
use crate::plan::{Plan, Slot};

/// More targets than this are drawn aggregated, one row per group.
pub const MAX_ROWS: usize = 400;

const WIDTH: f64 = 1400.0;
const LABEL_W: f64 = 250.0;
const RIGHT: f64 = 24.0;
const PLOT_W: f64 = WIDTH - LABEL_W - RIGHT;
const PLOT_TOP: f64 = 134.0;
const ROW_H: f64 = 16.0;
const BAR_H: f64 = 10.0;
const GROUP_H: f64 = 24.0;
/// Roughly how wide a character of the 11 px labels is.
const CHAR_W: f64 = 6.4;

/// Okabe–Ito colours, safe for colour-blind readers: one per platform tier, in order
/// (testing bluish green, staging orange, production blue for the default tiers).
const TIER_COLOURS: [&str; 6] = ["#009E73", "#E69F00", "#0072B2", "#CC79A7", "#56B4E9", "#F0E442"];
const HOST_COLOUR: &str = "#0072B2";
const BLACKOUT: &str = "#D55E00";
const AGGREGATE: &str = "#2F3E5C";

const STYLE: &str = "\
text{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;font-size:11px;fill:#222}\
.t{font-size:19px;font-weight:bold}.id{font-size:13px;font-weight:normal;fill:#555}.s{fill:#555}.sm{font-size:10px;fill:#555}\
.g{font-size:12px;font-weight:bold}.halo{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}.u{fill:#C04A00}.ut{font-size:10px;fill:#C04A00;font-style:italic}\
.day{font-size:11px;fill:#333}.bl{font-size:10px;fill:#A33F00}\
.win{fill:#DCE6F0}.grid{stroke:#B9C2CC;stroke-width:1}.hour{stroke:#E6EAEE;stroke-width:1}\
.sep{stroke:#9AA4AE;stroke-width:0.6}.frame{fill:none;stroke:#9AA4AE}\
.notice{stroke:#222;stroke-width:1.5;stroke-dasharray:6 3}.pub{stroke:#222;stroke-width:1;stroke-dasharray:2 2}\
.pre{fill:#000;fill-opacity:0.06}.bar{stroke:#fff;stroke-width:0.5}\
.h1{fill-opacity:0.18}.h2{fill-opacity:0.36}.h3{fill-opacity:0.56}.h4{fill-opacity:0.78}.h5{fill-opacity:1}";

/// The plan as a standalone SVG document.
pub fn svg(plan: &Plan, inv: &Inventory, campaign: &Campaign) -> String {
    let frame = Frame::new(inv, campaign);
    if plan.slots.len() + plan.unscheduled.len() > MAX_ROWS {
        aggregate(plan, inv, campaign, &frame)
    } else {
        detail(plan, inv, campaign, &frame)
    }
}

// ---------------------------------------------------------------------------
// Shared frame: time scale, header, legend, axis, blackouts, notice.

struct Frame<'a> {
    s0: i64,
    s1: i64,
    zone: &'a Zone,
}

impl<'a> Frame<'a> {
    fn new(inv: &'a Inventory, campaign: &Campaign) -> Frame<'a> {
        let s0 = campaign.starts.as_second();
        Frame { s0, s1: campaign.ends.as_second().max(s0 + 1), zone: &inv.platform.zone }
    }

    /// The x of an instant, clamped to the plot.
    fn x(&self, t: i64) -> f64 {
        let t = t.clamp(self.s0, self.s1);
        LABEL_W + (t - self.s0) as f64 * PLOT_W / (self.s1 - self.s0) as f64
    }

    fn day_px(&self) -> f64 {
        86_400.0 * PLOT_W / (self.s1 - self.s0) as f64
    }
}

/// A coordinate with at most one decimal.
struct N(f64);

impl fmt::Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = (self.0 * 10.0).round() / 10.0;
        if r.fract() == 0.0 { write!(f, "{}", r as i64) } else { write!(f, "{r:.1}") }
    }
}

/// Text escaped for XML content and attribute values; characters XML 1.0 forbids become spaces.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(|c: char| matches!(c, '&' | '<' | '>' | '"' | '\'') || forbidden(c)) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or(' ');
            f.write_str(match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&apos;",
                _ => " ",
            })?;
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

fn forbidden(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// `s` cut to `max` characters, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `s` cut to `max` characters in the middle, keeping its start and its more telling end.
fn clip_middle(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_owned();
    }
    let head = max / 3;
    let tail = max.saturating_sub(head + 1);
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    out
}

fn tier_colour(tier: usize) -> &'static str {
    TIER_COLOURS[tier % TIER_COLOURS.len()]
}

fn open(out: &mut String, height: f64, plan: &Plan, campaign: &Campaign, frame: &Frame<'_>) {
    let h = N(height);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\" \
         width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n\
         <title>{t} ({id}): plan</title>\n\
         <style type=\"text/css\">{STYLE}</style>\n\
         <defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"7\" height=\"7\" patternTransform=\"rotate(45)\">\
         <rect width=\"7\" height=\"7\" fill=\"{BLACKOUT}\" fill-opacity=\"0.10\"/>\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"7\" stroke=\"{BLACKOUT}\" stroke-width=\"2.5\" stroke-opacity=\"0.45\"/></pattern></defs>\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\n",
        w = N(WIDTH),
        t = Esc(&campaign.title),
        id = Esc(&campaign.id),
    );
    let _ = writeln!(
        out,
        "<text x=\"16\" y=\"30\" class=\"t\">{}<tspan dx=\"10\" class=\"id\">{}</tspan></text>",
        Esc(&campaign.title),
        Esc(&campaign.id)
    );
    let zone = frame.zone;
    let targets = plan.slots.len() + plan.unscheduled.len();
    let done = completion(plan)
        .map_or_else(|| "nothing is scheduled".to_owned(), |t| format!("last slot ends {}", local(t, zone)));
    let _ = writeln!(
        out,
        "<text x=\"16\" y=\"52\">{} {}: {} scheduled, {} without a slot; {}. All times in {}.</text>",
        count(targets),
        noun(plan.scope, targets),
        count(plan.slots.len()),
        count(plan.unscheduled.len()),
        Esc(&done),
        Esc(zone.name()),
    );
    let kinds: Vec<String> = campaign.activities.iter().map(|a| format!("{} {}", a.kind, a.duration)).collect();
    let _ = writeln!(
        out,
        "<text x=\"16\" y=\"70\" class=\"s\">{} to {}; published {} with {} notice; each slot {} ({}).</text>",
        Esc(&local(frame.s0, zone)),
        Esc(&local(frame.s1, zone)),
        Esc(&local(campaign.publish_at.as_second(), zone)),
        campaign.notice,
        campaign.slot_length(),
        Esc(&kinds.join(", ")),
    );
}

/// One legend entry: a swatch (SVG markup at the origin, 16×10) and its words.
struct Legend {
    swatch: String,
    width: f64,
    words: String,
}

impl Legend {
    fn new(swatch: impl Into<String>, words: impl Into<String>) -> Legend {
        Legend { swatch: swatch.into(), width: 16.0, words: words.into() }
    }
}

fn legend(out: &mut String, items: &[Legend]) {
    let mut x = 16.0;
    let y = 84.0;
    for item in items {
        let _ = write!(out, "<g transform=\"translate({},{})\">{}</g>", N(x), N(y), item.swatch);
        let _ = write!(out, "<text x=\"{}\" y=\"{}\">{}</text>", N(x + item.width + 5.0), N(y + 9.5), Esc(&item.words));
        x += item.width + 5.0 + item.words.chars().count() as f64 * CHAR_W + 18.0;
    }
    out.push('\n');
}

fn swatch_rect(fill: &str, class: &str) -> String {
    format!("<rect width=\"16\" height=\"10\" fill=\"{fill}\" class=\"{class}\"/>")
}

fn common_legend(campaign: &Campaign) -> Vec<Legend> {
    vec![
        Legend::new("<rect width=\"16\" height=\"10\" fill=\"url(#hatch)\"/>", "blackout"),
        Legend::new(
            "<rect width=\"16\" height=\"10\" class=\"pre\"/><line x1=\"15\" y1=\"-2\" x2=\"15\" y2=\"12\" class=\"notice\"/>",
            format!("publication + {} notice", campaign.notice),
        ),
    ]
}

/// Day lines and labels over the plot, in the platform's zone, named.
fn axis(out: &mut String, frame: &Frame<'_>, bottom: f64) {
    let tz = frame.zone.tz();
    let day_px = frame.day_px();
    let (pattern, every): (&str, fn(jiff::civil::Date) -> bool) = if day_px >= 62.0 {
        ("%a %-d %b", |_| true)
    } else if day_px >= 34.0 {
        ("%-d %b", |_| true)
    } else if day_px >= 8.0 {
        ("%-d %b", |d| d.weekday() == jiff::civil::Weekday::Monday)
    } else {
        ("%b %Y", |d| d.day() == 1)
    };
    let Ok(first) = jiff::Timestamp::from_second(frame.s0).map(|t| t.to_zoned_datetime(tz.clone()).date()) else {
        return;
    };
    let midnight =
        |d: jiff::civil::Date| d.to_zoned_datetime(tz.clone()).map_or(i64::MAX, |z| z.timestamp().as_second());
    // Hour lines when days are wide, labelled when there is room for it.
    let labelled = day_px >= 180.0;
    let step = [1, 2, 3, 6, 12].into_iter().find(|s| day_px / 24.0 * f64::from(*s) >= 48.0).unwrap_or(12);
    let hours: Vec<i8> = if labelled {
        (1..24).filter(|h| h % step == 0).collect()
    } else if day_px >= 90.0 {
        vec![6, 12, 18]
    } else {
        Vec::new()
    };
    let (day_top, day_bottom) =
        if labelled { (PLOT_TOP - 19.0, bottom + 27.0) } else { (PLOT_TOP - 6.0, bottom + 15.0) };
    let mut date = first;
    let mut lines = String::new();
    let mut labels = String::new();
    while midnight(date) < frame.s1 {
        let Ok(next) = date.tomorrow() else { break };
        let (m, n) = (midnight(date), midnight(next));
        if m > frame.s0 && (day_px >= 4.0 || every(date)) {
            let x = N(frame.x(m));
            let _ = write!(
                lines,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" class=\"grid\"/>",
                N(PLOT_TOP),
                N(bottom)
            );
        }
        for h in hours.iter().copied() {
            let Ok(z) = date.at(h, 0, 0, 0).to_zoned_datetime(tz.clone()) else { continue };
            let t = z.timestamp().as_second();
            if t <= frame.s0 || t >= frame.s1 {
                continue;
            }
            let x = N(frame.x(t));
            let _ = write!(
                lines,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" class=\"hour\"/>",
                N(PLOT_TOP),
                N(bottom)
            );
            if labelled {
                for y in [PLOT_TOP - 5.0, bottom + 13.0] {
                    let _ = write!(
                        labels,
                        "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" class=\"sm\">{h:02}:00</text>",
                        N(y)
                    );
                }
            }
        }
        if every(date) {
            let text = date.strftime(pattern).to_string();
            let (a, b) = (frame.x(m.max(frame.s0)), frame.x(n.min(frame.s1)));
            let width = text.chars().count() as f64 * CHAR_W;
            // Centred on its day when the day is wide enough, else at its midnight.
            let (x, anchor) = if b - a >= width + 4.0 { ((a + b) / 2.0, "middle") } else { (frame.x(m), "start") };
            if x + width / 2.0 <= WIDTH {
                for y in [day_top, day_bottom] {
                    let _ = write!(
                        labels,
                        "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" class=\"day\">{}</text>",
                        N(x),
                        N(y),
                        Esc(&text)
                    );
                }
            }
        }
        date = next;
    }
    let _ = writeln!(out, "<g>{lines}</g>\n<g>{labels}</g>");
    let (zone_words, zone_top, zone_bottom) = if labelled {
        (format!("days and hours in {}", frame.zone.name()), PLOT_TOP - 5.0, bottom + 13.0)
    } else {
        (format!("days in {}", frame.zone.name()), day_top, day_bottom)
    };
    for y in [zone_top, zone_bottom] {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"sm\">{}</text>",
            N(LABEL_W - 8.0),
            N(y),
            Esc(&zone_words)
        );
    }
    out.push('\n');
}

/// The time before the notice runs out, the publication and earliest-start lines, and platform blackouts.
fn marks(out: &mut String, inv: &Inventory, campaign: &Campaign, frame: &Frame<'_>, bottom: f64) {
    let zone = frame.zone;
    let (top, h) = (PLOT_TOP, bottom - PLOT_TOP);
    let earliest = campaign.earliest_start().as_second();
    let publish = campaign.publish_at.as_second();
    if earliest > frame.s0 {
        let x = frame.x(earliest);
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"pre\"><title>{}</title></rect>",
            N(LABEL_W),
            N(top),
            N(x - LABEL_W),
            N(h),
            Esc(&format!("Before the notice runs out: no slot starts before {}", local(earliest, zone)))
        );
    }
    if publish > frame.s0 && publish < frame.s1 {
        let x = N(frame.x(publish));
        let _ = write!(
            out,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" class=\"pub\"><title>{}</title></line>",
            N(top),
            N(bottom),
            Esc(&format!("Published {}", local(publish, zone)))
        );
        let _ = write!(out, "<text x=\"{x}\" y=\"{}\" dx=\"3\" class=\"sm halo\">published</text>", N(top + 11.0));
    }
    if earliest > frame.s0 && earliest < frame.s1 {
        let x = frame.x(earliest);
        let words = format!("earliest start: publication + {} notice", campaign.notice);
        let _ = write!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"notice\"><title>{}</title></line>",
            N(x),
            N(top),
            N(x),
            N(bottom),
            Esc(&format!(
                "Earliest start {}: published {} + {} notice",
                local(earliest, zone),
                local(publish, zone),
                campaign.notice
            ))
        );
        let anchor = if x + words.len() as f64 * 5.6 + 8.0 > WIDTH { "end\" dx=\"-4" } else { "start\" dx=\"4" };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" class=\"sm halo\">{}</text>",
            N(x),
            N(top + 24.0),
            Esc(&words)
        );
    }
    for b in &inv.platform.blackouts {
        let (from, to) = (b.from.as_second(), b.to.as_second());
        if to <= frame.s0 || from >= frame.s1 {
            continue;
        }
        let (a, z) = (frame.x(from), frame.x(to));
        let tip = blackout_words(&b.reason, from, to, zone, "platform blackout");
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"url(#hatch)\"><title>{}</title></rect>",
            N(a),
            N(top),
            N((z - a).max(1.0)),
            N(h),
            Esc(&tip)
        );
        let label = if b.reason.is_empty() { "blackout" } else { b.reason.as_str() };
        let width = label.chars().count() as f64 * 5.8;
        if z - a >= width + 6.0 {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"bl halo\">{}</text>",
                N((a + z) / 2.0),
                N(top + 11.0),
                Esc(label)
            );
        } else {
            let _ = write!(
                out,
                "<text transform=\"translate({},{}) rotate(90)\" class=\"bl halo\">{}</text>",
                N((a + z) / 2.0 - 3.0),
                N(top + 4.0),
                Esc(label)
            );
        }
    }
    out.push('\n');
}

fn blackout_words(reason: &str, from: i64, to: i64, zone: &Zone, what: &str) -> String {
    let why = if reason.is_empty() { String::new() } else { format!(" ({reason})") };
    format!("{what}{why}: {} to {}", local(from, zone), local(to, zone))
}

fn close(out: &mut String, bottom: f64, note: &str) {
    let _ = writeln!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"frame\"/>",
        N(LABEL_W),
        N(PLOT_TOP),
        N(PLOT_W),
        N(bottom - PLOT_TOP)
    );
    let _ = write!(out, "<text x=\"16\" y=\"{}\" class=\"sm\">{}</text>\n</svg>\n", N(bottom + 46.0), Esc(note));
}

// ---------------------------------------------------------------------------
// One row per target.

enum Row<'a> {
    Group(String),
    Target { target: u32, slot: Option<&'a Slot>, reason: Option<&'a str> },
}

fn detail(plan: &Plan, inv: &Inventory, campaign: &Campaign, frame: &Frame<'_>) -> String {
    let rows = detail_rows(plan, inv, campaign);
    let mut bottom = PLOT_TOP + 4.0;
    for r in &rows {
        bottom += if matches!(r, Row::Group(_)) { GROUP_H } else { ROW_H };
    }
    bottom += 4.0;
    let mut out = String::with_capacity(64 * 1024);
    open(&mut out, bottom + 56.0, plan, campaign, frame);

    let mut items = vec![Legend::new(swatch_rect("#DCE6F0", "win"), "maintenance window")];
    match plan.scope {
        Scope::Machines => {
            let mut present = vec![false; inv.platform.tiers.len()];
            for r in &rows {
                if let Row::Target { target, .. } = r {
                    present[inv.machines[*target as usize].tier] = true;
                }
            }
            for (t, name) in inv.platform.tiers.iter().enumerate().filter(|(t, _)| present[*t]) {
                items.push(Legend::new(swatch_rect(tier_colour(t), "bar"), format!("{name} slot")));
            }
        }
        Scope::Hosts => items.push(Legend::new(swatch_rect(HOST_COLOUR, "bar"), "host slot")),
    }
    items.extend(common_legend(campaign));
    items.push(Legend::new(
        "<text x=\"0\" y=\"9\" class=\"ut\">id</text>",
        format!("no slot ({})", count(plan.unscheduled.len())),
    ));
    legend(&mut out, &items);

    // Windows shaded behind rows: one definition per distinct window list and zone.
    let mut window_defs: HashMap<(&[Window], &Zone), usize> = HashMap::new();
    let mut defs = String::new();
    let mut shading = String::new();
    let mut y = PLOT_TOP + 4.0;
    for r in &rows {
        match r {
            Row::Group(_) => y += GROUP_H,
            Row::Target { target, .. } => {
                let key = target_windows(inv, plan.scope, *target);
                let next = window_defs.len();
                let id = *window_defs.entry(key).or_insert_with(|| {
                    let _ = write!(defs, "<g id=\"w{next}\">");
                    for o in occurrences_of(key.0, key.1, campaign.starts, campaign.ends) {
                        let (a, b) = (frame.x(o.start.as_second()), frame.x(o.end.as_second()));
                        let _ = write!(
                            defs,
                            "<rect x=\"{}\" y=\"1\" width=\"{}\" height=\"{}\" class=\"win\"/>",
                            N(a),
                            N(b - a),
                            N(ROW_H - 2.0)
                        );
                    }
                    defs.push_str("</g>");
                    next
                });
                let _ = write!(shading, "<use xlink:href=\"#w{id}\" y=\"{}\"/>", N(y));
                y += ROW_H;
            }
        }
    }
    let _ = writeln!(out, "<defs>{defs}</defs>\n<g>{shading}</g>");
    axis(&mut out, frame, bottom);
    marks(&mut out, inv, campaign, frame, bottom);

    let mut guests = Vec::new();
    if plan.scope == Scope::Hosts {
        guests = vec![0usize; inv.hosts.len()];
        for m in &inv.machines {
            guests[m.host] += 1;
        }
    }
    let mut y = PLOT_TOP + 4.0;
    let mut body = String::new();
    for r in &rows {
        match r {
            Row::Group(label) => {
                let _ = write!(
                    body,
                    "<line x1=\"8\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"sep\"/><text x=\"10\" y=\"{}\" class=\"g halo\">{}</text>",
                    N(y + 4.0),
                    N(WIDTH - RIGHT),
                    N(y + 4.0),
                    N(y + 18.0),
                    Esc(&clip(label, 140))
                );
                y += GROUP_H;
            }
            Row::Target { target, slot, reason } => {
                target_row(&mut body, plan, inv, campaign, frame, &guests, *target, *slot, *reason, y);
                y += ROW_H;
            }
        }
        body.push('\n');
    }
    out.push_str(&body);
    let what = match plan.scope {
        Scope::Machines => "One row per machine, grouped by project",
        Scope::Hosts => "One row per host, grouped by rack",
    };
    close(&mut out, bottom, &format!("{what}. Point at a bar, a blackout or a line for its details."));
    out
}

fn detail_rows<'a>(plan: &'a Plan, inv: &Inventory, campaign: &Campaign) -> Vec<Row<'a>> {
    struct T<'a> {
        group: usize,
        rank: usize,
        start: i64,
        target: u32,
        slot: Option<&'a Slot>,
        reason: Option<&'a str>,
    }
    let mut group_names: Vec<String> = Vec::new();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    let mut group_sort: Vec<(String, String)> = Vec::new();
    let mut group = |key: (String, String), name: String| {
        let n = group_names.len();
        *group_of.entry(format!("{}\u{0}{}", key.0, key.1)).or_insert_with(|| {
            group_names.push(name);
            group_sort.push(key);
            n
        })
    };
    let rank =
        |tier: usize| campaign.tier_order.iter().position(|&t| t == tier).unwrap_or(campaign.tier_order.len() + tier);
    let mut ts: Vec<T<'a>> = Vec::with_capacity(plan.slots.len() + plan.unscheduled.len());
    let items = plan
        .slots
        .iter()
        .map(|s| (s.target, Some(s), None))
        .chain(plan.unscheduled.iter().map(|u| (u.target, None, Some(u.reason.as_str()))));
    for (target, slot, reason) in items {
        let (g, rk) = match plan.scope {
            Scope::Machines => {
                let m = &inv.machines[target as usize];
                let p = inv.project_of(m);
                let c = inv.customer_of(m);
                let name = match &p.name {
                    Some(n) => format!("{} · {} ({})", p.id, n, c.name),
                    None => format!("{} ({})", p.id, c.name),
                };
                (group((c.id.clone(), p.id.clone()), name), rank(m.tier))
            }
            Scope::Hosts => {
                let rack = &inv.hosts[target as usize].rack;
                (group((rack.clone(), String::new()), format!("rack {rack}")), 0)
            }
        };
        ts.push(T { group: g, rank: rk, start: slot.map_or(i64::MAX, |s| s.start), target, slot, reason });
    }
    let mut order: Vec<usize> = (0..group_names.len()).collect();
    order.sort_by(|&a, &b| group_sort[a].cmp(&group_sort[b]));
    let mut pos = vec![0; order.len()];
    for (i, &g) in order.iter().enumerate() {
        pos[g] = i;
    }
    ts.sort_by(|a, b| {
        (pos[a.group], a.rank, a.start)
            .cmp(&(pos[b.group], b.rank, b.start))
            .then_with(|| plan.target_id(inv, a.target).cmp(plan.target_id(inv, b.target)))
    });
    let mut rows = Vec::with_capacity(ts.len() + group_names.len());
    let mut last = usize::MAX;
    for t in ts {
        if t.group != last {
            rows.push(Row::Group(std::mem::take(&mut group_names[t.group])));
            last = t.group;
        }
        rows.push(Row::Target { target: t.target, slot: t.slot, reason: t.reason });
    }
    rows
}

#[allow(clippy::too_many_arguments)]
fn target_row(
    out: &mut String,
    plan: &Plan,
    inv: &Inventory,
    campaign: &Campaign,
    frame: &Frame<'_>,
    guests: &[usize],
    target: u32,
    slot: Option<&Slot>,
    reason: Option<&str>,
    y: f64,
) {
    let id = plan.target_id(inv, target);
    let (colour, about, own_zone) = match plan.scope {
        Scope::Machines => {
            let m = &inv.machines[target as usize];
            let c = inv.customer_of(m);
            // The customer's own blackouts, on its rows only.
            for b in &c.blackouts {
                let (from, to) = (b.from.as_second(), b.to.as_second());
                if to > frame.s0 && from < frame.s1 {
                    let (a, z) = (frame.x(from), frame.x(to));
                    let _ = write!(
                        out,
                        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"url(#hatch)\"><title>{}</title></rect>",
                        N(a),
                        N(y),
                        N((z - a).max(1.0)),
                        N(ROW_H),
                        Esc(&blackout_words(&b.reason, from, to, frame.zone, &format!("blackout of {}", c.name)))
                    );
                }
            }
            let tier = inv.tier_name(m);
            let about = format!("{id}: {tier}, project {}, {}", inv.project_of(m).id, c.name);
            (tier_colour(m.tier), about, Some(inv.zone_for(c)))
        }
        Scope::Hosts => {
            let h = &inv.hosts[target as usize];
            let n = guests.get(target as usize).copied().unwrap_or(0);
            (HOST_COLOUR, format!("{id}: host in rack {}, {n} guest{}", h.rack, if n == 1 { "" } else { "s" }), None)
        }
    };
    let _ = write!(out, "<circle cx=\"16\" cy=\"{}\" r=\"3.5\" fill=\"{colour}\"/>", N(y + ROW_H / 2.0));
    let class = if slot.is_none() { " class=\"u\"" } else { "" };
    let _ = write!(out, "<text x=\"26\" y=\"{}\"{class}>{}", N(y + 12.0), Esc(&clip_middle(id, 34)));
    if plan.scope == Scope::Hosts {
        let n = guests.get(target as usize).copied().unwrap_or(0);
        let _ = write!(out, "<tspan class=\"sm\"> · {n} guest{}</tspan>", if n == 1 { "" } else { "s" });
    }
    let _ = write!(out, "<title>{}</title></text>", Esc(&about));
    if let Some(s) = slot {
        let (a, b) = (frame.x(s.start), frame.x(s.end));
        let mut tip = format!("{about}\n{}", span_words(s.start, s.end, frame.zone));
        if let Some(z) = own_zone.filter(|z| *z != frame.zone) {
            let _ = write!(tip, " ({} for the customer)", span_words(s.start, s.end, z));
        }
        let kinds: Vec<&str> = campaign.activities.iter().map(|a| a.kind.as_str()).collect();
        let _ = write!(
            tip,
            "\n{}: {}\nWhy then: {}",
            campaign.slot_length(),
            kinds.join(", "),
            plan.reason(inv, campaign, s)
        );
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"1.5\" fill=\"{colour}\" class=\"bar\"><title>{}</title></rect>",
            N(a.min(LABEL_W + PLOT_W - 3.0)),
            N(y + (ROW_H - BAR_H) / 2.0),
            N((b - a).max(3.0)),
            N(BAR_H),
            Esc(&tip)
        );
    } else if let Some(reason) = reason {
        let room = ((PLOT_W - 12.0) / 5.4) as usize;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" class=\"ut halo\">{}<title>{}</title></text>",
            N(LABEL_W + 6.0),
            N(y + 11.5),
            Esc(&clip(&format!("no slot: {reason}"), room)),
            Esc(&format!("{about}\nNo slot: {reason}"))
        );
    }
}

// ---------------------------------------------------------------------------
// Large plans: heat strips.

struct AggRow {
    label: String,
    colour: &'static str,
    targets: usize,
    scheduled: usize,
    first: i64,
    last: i64,
    counts: Vec<u32>,
}

impl AggRow {
    fn new(label: String, colour: &'static str, buckets: usize) -> AggRow {
        AggRow { label, colour, targets: 0, scheduled: 0, first: i64::MAX, last: i64::MIN, counts: vec![0; buckets] }
    }
}

fn aggregate(plan: &Plan, inv: &Inventory, campaign: &Campaign, frame: &Frame<'_>) -> String {
    let span = frame.s1 - frame.s0;
    // Buckets as short as an hour, but no narrower than 2.5 px.
    let bucket = [3_600i64, 7_200, 10_800, 21_600, 43_200, 86_400, 7 * 86_400]
        .into_iter()
        .find(|b| span as f64 / *b as f64 <= PLOT_W / 2.5)
        .unwrap_or(7 * 86_400);
    let buckets = usize::try_from(span.div_euclid(bucket) + 1).unwrap_or(1);

    // Section one: by tier (or all hosts). Section two: by group.
    let n_targets = match plan.scope {
        Scope::Machines => inv.machines.len(),
        Scope::Hosts => inv.hosts.len(),
    };
    let mut first_rows: Vec<AggRow> = Vec::new();
    let mut first_of: Vec<u32> = vec![0; n_targets];
    match plan.scope {
        Scope::Machines => {
            for (t, name) in inv.platform.tiers.iter().enumerate() {
                first_rows.push(AggRow::new(name.clone(), tier_colour(t), buckets));
            }
            for (i, m) in inv.machines.iter().enumerate() {
                first_of[i] = m.tier as u32;
            }
        }
        Scope::Hosts => first_rows.push(AggRow::new("all hosts".into(), HOST_COLOUR, buckets)),
    }
    let (group_title, labels, group_of) = aggregate_groups(plan, inv);
    let mut rows2: Vec<AggRow> = labels.into_iter().map(|l| AggRow::new(l, AGGREGATE, buckets)).collect();
    let mut add = |target: u32, slot: Option<&Slot>| {
        let t = target as usize;
        for row in [&mut first_rows[first_of[t] as usize], &mut rows2[group_of[t] as usize]] {
            row.targets += 1;
            if let Some(s) = slot {
                row.scheduled += 1;
                row.first = row.first.min(s.start);
                row.last = row.last.max(s.end);
                let b = usize::try_from((s.start.clamp(frame.s0, frame.s1) - frame.s0) / bucket).unwrap_or(0);
                row.counts[b.min(buckets - 1)] += 1;
            }
        }
    };
    for s in &plan.slots {
        add(s.target, Some(s));
    }
    for u in &plan.unscheduled {
        add(u.target, None);
    }
    first_rows.retain(|r| r.targets > 0);
    if plan.scope == Scope::Machines {
        let order = &campaign.tier_order;
        let rank = |name: &str| {
            let t = inv.platform.tiers.iter().position(|n| n == name).unwrap_or(0);
            order.iter().position(|&o| o == t).unwrap_or(order.len() + t)
        };
        first_rows.sort_by_key(|r| rank(&r.label));
    }
    rows2.retain(|r| r.targets > 0);

    let bottom = PLOT_TOP + 4.0 + 2.0 * GROUP_H + (first_rows.len() + rows2.len()) as f64 * ROW_H + 4.0;
    let mut out = String::with_capacity(256 * 1024);
    open(&mut out, bottom + 56.0, plan, campaign, frame);
    let per = match bucket {
        3_600 => "hour".to_owned(),
        86_400 => "day".to_owned(),
        b if b % 86_400 == 0 => format!("{} days", b / 86_400),
        b => format!("{} hours", b / 3_600),
    };
    let mut swatches = String::new();
    for l in 1..=5 {
        let _ = write!(
            swatches,
            "<rect x=\"{}\" width=\"16\" height=\"10\" fill=\"{AGGREGATE}\" class=\"h{l}\"/>",
            (l - 1) * 17
        );
    }
    let mut legend_items = vec![Legend {
        swatch: swatches,
        width: 84.0,
        words: format!("slots starting per {per}, few to many (each row scaled to its busiest {per})"),
    }];
    legend_items.extend(common_legend(campaign));
    legend(&mut out, &legend_items);
    // Row backgrounds first, so that day lines and blackouts show over them.
    let mut d = String::new();
    let mut y = PLOT_TOP + 4.0;
    for rows in [&first_rows, &rows2] {
        y += GROUP_H;
        for _ in rows.iter() {
            let _ = write!(d, "M{} {}h{}v{}h-{}z", N(LABEL_W), N(y + 1.0), N(PLOT_W), N(ROW_H - 2.0), N(PLOT_W));
            y += ROW_H;
        }
    }
    let _ = writeln!(out, "<path d=\"{d}\" fill=\"#F1F3F6\"/>");
    axis(&mut out, frame, bottom);
    marks(&mut out, inv, campaign, frame, bottom);

    let bucket_w = PLOT_W * bucket as f64 / span as f64;
    let mut y = PLOT_TOP + 4.0;
    let section_one = match plan.scope {
        Scope::Machines => {
            format!("By tier ({} {})", count(plan.slots.len() + plan.unscheduled.len()), noun(plan.scope, 2))
        }
        Scope::Hosts => format!("All {} hosts", count(plan.slots.len() + plan.unscheduled.len())),
    };
    for (title, rows) in [(section_one, &first_rows), (group_title, &rows2)] {
        let _ = writeln!(
            out,
            "<line x1=\"8\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"sep\"/><text x=\"10\" y=\"{}\" class=\"g halo\">{}</text>",
            N(y + 4.0),
            N(WIDTH - RIGHT),
            N(y + 4.0),
            N(y + 18.0),
            Esc(&title)
        );
        y += GROUP_H;
        for row in rows {
            heat_row(&mut out, row, frame, bucket, bucket_w, &per, y, plan.scope);
            y += ROW_H;
        }
    }
    let what = match plan.scope {
        Scope::Machines => "machines",
        Scope::Hosts => "hosts",
    };
    close(
        &mut out,
        bottom,
        &format!(
            "{} {what} are too many for a row each: each row counts the slots starting in each {per}. Point at a row for its figures.",
            count(plan.slots.len() + plan.unscheduled.len())
        ),
    );
    out
}

/// A way to group targets: its name, each group's label, and a target's group.
type Level<'a> = (&'static str, Vec<String>, Box<dyn Fn(u32) -> usize + 'a>);

/// The second section's title, its row labels, and each target's row.
fn aggregate_groups(plan: &Plan, inv: &Inventory) -> (String, Vec<String>, Vec<u32>) {
    let budget = MAX_ROWS.saturating_sub(inv.platform.tiers.len() + 2).max(2);
    // Targets per candidate group, for choosing the level and the largest groups.
    let targets_per = |key: &dyn Fn(u32) -> usize, n: usize| {
        let mut v = vec![0usize; n];
        for t in plan.slots.iter().map(|s| s.target).chain(plan.unscheduled.iter().map(|u| u.target)) {
            v[key(t)] += 1;
        }
        v
    };
    let levels: Vec<Level<'_>> = match plan.scope {
        Scope::Machines => vec![
            (
                "project",
                inv.projects.iter().map(|p| format!("{} ({})", p.id, inv.customers[p.customer].name)).collect(),
                Box::new(|t: u32| inv.machines[t as usize].project),
            ),
            (
                "customer",
                inv.customers.iter().map(|c| format!("{} ({})", c.name, c.id)).collect(),
                Box::new(|t: u32| inv.customer_index_of(&inv.machines[t as usize])),
            ),
        ],
        Scope::Hosts => {
            let mut racks: Vec<&str> = inv.hosts.iter().map(|h| h.rack.as_str()).collect();
            racks.sort_unstable();
            racks.dedup();
            let index: HashMap<&str, usize> = racks.iter().enumerate().map(|(i, r)| (*r, i)).collect();
            let of: Vec<usize> = inv.hosts.iter().map(|h| index[h.rack.as_str()]).collect();
            vec![("rack", racks.iter().map(|r| format!("rack {r}")).collect(), Box::new(move |t: u32| of[t as usize]))]
        }
    };
    let n_targets = match plan.scope {
        Scope::Machines => inv.machines.len(),
        Scope::Hosts => inv.hosts.len(),
    };
    let mut chosen = None;
    for (i, (_, labels, key)) in levels.iter().enumerate() {
        let per = targets_per(key.as_ref(), labels.len());
        let used = per.iter().filter(|n| **n > 0).count();
        if used <= budget || i + 1 == levels.len() {
            chosen = Some((i, per, used));
            if used <= budget {
                break;
            }
        }
    }
    let Some((i, per, used)) = chosen else {
        return ("All".into(), vec!["all".into()], vec![0; n_targets]);
    };
    let (level, labels, key) = &levels[i];
    let mut groups: Vec<usize> = (0..labels.len()).filter(|&g| per[g] > 0).collect();
    let (title, keep) = if used <= budget {
        groups.sort_by(|&a, &b| labels[a].cmp(&labels[b]));
        (format!("By {level}"), groups.len())
    } else {
        groups.sort_by(|&a, &b| per[b].cmp(&per[a]).then_with(|| labels[a].cmp(&labels[b])));
        let keep = budget - 1;
        (format!("The {keep} largest of {} {level}s by targets, then all others", count(used)), keep)
    };
    let mut row_of = vec![u32::MAX; labels.len()];
    let mut out_labels = Vec::with_capacity(keep + 1);
    for (r, &g) in groups.iter().take(keep).enumerate() {
        row_of[g] = r as u32;
        out_labels.push(labels[g].clone());
    }
    if groups.len() > keep {
        let others = groups.len() - keep;
        out_labels.push(format!("{} other {level}s", count(others)));
    }
    let other = keep as u32;
    let mut of = vec![other; n_targets];
    for t in plan.slots.iter().map(|s| s.target).chain(plan.unscheduled.iter().map(|u| u.target)) {
        let r = row_of[key(t)];
        of[t as usize] = if r == u32::MAX { other } else { r };
    }
    (title, out_labels, of)
}

#[allow(clippy::too_many_arguments)]
fn heat_row(
    out: &mut String,
    row: &AggRow,
    frame: &Frame<'_>,
    bucket: i64,
    bucket_w: f64,
    per: &str,
    y: f64,
    scope: Scope,
) {
    let max = row.counts.iter().copied().max().unwrap_or(0);
    let unscheduled = row.targets - row.scheduled;
    let mut tip = format!(
        "{}: {} {}, {} scheduled",
        row.label,
        count(row.targets),
        noun(scope, row.targets),
        count(row.scheduled)
    );
    if unscheduled > 0 {
        let _ = write!(tip, ", {} without a slot", count(unscheduled));
    }
    if row.scheduled > 0 {
        let busiest =
            row.counts.iter().enumerate().max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i))).map_or(0, |(i, _)| i);
        let _ = write!(
            tip,
            "\nfirst slot starts {}, last ends {}\nbusiest {per}: from {}, {} slots start",
            local(row.first, frame.zone),
            local(row.last, frame.zone),
            local(frame.s0 + busiest as i64 * bucket, frame.zone),
            count(max as usize)
        );
    }
    let _ = write!(out, "<g transform=\"translate(0,{})\"><title>{}</title>", N(y), Esc(&tip));
    let _ = write!(out, "<text x=\"12\" y=\"12\">{}</text>", Esc(&clip(&row.label, 31)));
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"12\" text-anchor=\"end\" class=\"s\">{}</text>",
        N(LABEL_W - 8.0),
        count(row.targets)
    );
    if max > 0 {
        // Five levels on a square-root scale, so that quiet hours still show; equal neighbours share a rectangle.
        let level = |c: u32| {
            if c == 0 { 0 } else { ((f64::from(c) / f64::from(max)).sqrt() * 5.0).ceil().clamp(1.0, 5.0) as usize }
        };
        let mut paths: [String; 6] = Default::default();
        let mut i = 0;
        while i < row.counts.len() {
            let l = level(row.counts[i]);
            let mut j = i + 1;
            while j < row.counts.len() && level(row.counts[j]) == l {
                j += 1;
            }
            if l > 0 {
                let x0 = LABEL_W + i as f64 * bucket_w;
                let x1 = (LABEL_W + j as f64 * bucket_w).min(LABEL_W + PLOT_W);
                let _ = write!(paths[l], "M{} 2h{}v{}h-{}z", N(x0), N(x1 - x0), N(ROW_H - 4.0), N(x1 - x0));
            }
            i = j;
        }
        let _ = write!(out, "<g fill=\"{}\">", row.colour);
        for (l, d) in paths.iter().enumerate().skip(1).filter(|(_, d)| !d.is_empty()) {
            let _ = write!(out, "<path class=\"h{l}\" d=\"{d}\"/>");
        }
        out.push_str("</g>");
    }
    if unscheduled > 0 {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"12\" text-anchor=\"end\" class=\"ut\">{} without a slot</text>",
            N(LABEL_W + PLOT_W - 4.0),
            count(unscheduled)
        );
    }
    out.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixture;

    fn well_formed(name: &str, svg: &str) -> Option<String> {
        let file = fixture::temp_file(name);
        let path = file.path();
        std::fs::write(path, svg).expect("write the SVG");
        let script = "import sys, xml.etree.ElementTree as ET\n\
                      root = ET.parse(sys.argv[1]).getroot()\n\
                      ns = '{http://www.w3.org/2000/svg}'\n\
                      assert root.tag == ns + 'svg', root.tag\n\
                      print(len(root.findall('.//' + ns + 'title')), len(root.findall('.//' + ns + 'rect')))\n";
        fixture::python("xml.etree.ElementTree", script, &[path.to_str().unwrap_or_default()])
    }

    #[test]
    fn render_svg_draws_every_target_with_tooltips() {
        let (inv, campaign, plan) = fixture::load(fixture::CAMPAIGN);
        let svg = svg(&plan, &inv, &campaign);
        fixture::keep("detail.svg", &svg);
        assert!(
            svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"")
        );
        assert!(svg.ends_with("</svg>\n"));
        // Names are escaped.
        assert!(svg.contains("ACME &amp; Sons &lt;Shop&gt;"), "escaped customer name");
        assert!(!svg.contains("ACME & Sons"));
        // A bar per slot, with its machine, local times and reason in its tooltip.
        for slot in &plan.slots {
            let id = plan.target_id(&inv, slot.target);
            let when = span_words(slot.start, slot.end, &inv.platform.zone);
            let tip = format!("<title>{}", Esc(id));
            let at = svg.find(&format!("class=\"bar\">{tip}")).unwrap_or_else(|| panic!("no bar for {id}"));
            let end = at + svg[at..].find("</title>").unwrap_or(0);
            let title = &svg[at..end];
            assert!(title.contains(&Esc(&when).to_string()), "{title} lacks {when}");
            assert!(title.contains("Why then: "), "{title}");
        }
        for u in &plan.unscheduled {
            assert!(svg.contains(&format!("No slot: {}", Esc(&u.reason))), "unscheduled {} shown", u.target);
        }
        // Day labels in the platform's zone, which is named; the blackout is drawn and labelled.
        assert!(svg.contains(">Tue 2 Mar</text>"));
        assert!(svg.contains("days in Europe/Berlin"));
        assert!(svg.contains("All times in Europe/Berlin."));
        assert!(svg.contains(">release freeze</text>"));
        assert!(svg.contains(&format!("earliest start: publication + {} notice", campaign.notice)));
        // Blog Co's own blackout is drawn on its rows only.
        assert!(svg.contains("blackout of Blog Co (sale)"));
        // Windows are defined once per window list and reused.
        assert!(svg.matches("<g id=\"w").count() < plan.slots.len() + plan.unscheduled.len());
        if let Some(counts) = well_formed("detail.svg", &svg) {
            let titles: usize = counts.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
            assert!(titles > plan.slots.len(), "{counts}");
        }
    }

    #[test]
    fn render_svg_host_campaign_groups_by_rack() {
        let (inv, campaign, plan) = fixture::load(fixture::HOST_CAMPAIGN);
        assert!(!plan.slots.is_empty());
        let svg = svg(&plan, &inv, &campaign);
        fixture::keep("hosts.svg", &svg);
        assert!(svg.contains(">rack r1</text>") && svg.contains(">rack r2</text>"), "{svg}");
        assert!(svg.contains("<title>kvm1: host in rack r1, 3 guests\n"), "{svg}");
        assert!(svg.contains("host slot"));
        well_formed("hosts.svg", &svg);
    }

    #[test]
    fn render_svg_aggregates_large_plans() {
        let fleet = forewarn_model::fleet::generate(&forewarn_model::fleet::FleetConfig {
            machines: 3_000,
            seed: 7,
            campaign_start: jiff::civil::date(2027, 3, 1),
            customer_machines: None,
        });
        let inv_json = serde_json::to_string(&fleet.inventory).expect("inventory JSON");
        let inv = forewarn_model::parse_inventory("inventory.json", &inv_json).unwrap_or_else(|e| panic!("{e}"));
        let campaign_json = serde_json::to_string(&fleet.campaign).expect("campaign JSON");
        let campaign =
            forewarn_model::parse_campaign("campaign.json", &campaign_json, &inv).unwrap_or_else(|e| panic!("{e}"));
        let plan = crate::plan(&inv, &campaign);
        let svg = svg(&plan, &inv, &campaign);
        assert!(svg.len() < 2_000_000, "{} bytes", svg.len());
        assert!(svg.contains(">By tier (3,000 machines)</text>"), "tier section");
        assert!(svg.contains(">production</text>"));
        assert!(svg.contains("slots starting per hour"));
        let rows = svg.matches("<g transform=\"translate(0,").count();
        assert!(rows <= MAX_ROWS + 2, "{rows} rows");
        assert!(!svg.contains("class=\"bar\"><title>"), "no per-slot bars");
        fixture::keep("aggregate.svg", &svg);
        well_formed("aggregate.svg", &svg);
    }

    #[test]
    fn render_svg_escapes_text() {
        assert_eq!(Esc("a&b<c>\"d'e").to_string(), "a&amp;b&lt;c&gt;&quot;d&apos;e");
        assert_eq!(Esc("März\u{1}").to_string(), "März ");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!(clip_middle("bluewave-versicherung-intranet-stg-web01", 20), "bluewa…net-stg-web01");
        assert_eq!(clip_middle("web-1", 20), "web-1");
        assert_eq!(N(12.0).to_string(), "12");
        assert_eq!(N(12.345).to_string(), "12.3");
    }
}
