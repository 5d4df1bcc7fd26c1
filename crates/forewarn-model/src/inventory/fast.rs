//! Reading a large, valid JSON inventory on every core.
//!
//! The top-level object is read key by key. The machines array, which is nearly all of a
//! fleet's file, is cut into parts at guessed element boundaries; each part is parsed and
//! validated on its own thread, straight into machines, without a parsed copy of the file
//! in between. A guess is used only when the part before it, which is read from a known
//! boundary, ends exactly there, so a guess inside a string costs time, never correctness.
//!
//! Anything unusual (escapes in keys, unknown or repeated keys, any error at all) gives
//! `None`, and the general path reads the file again and reports every error.

use std::collections::HashSet;

use serde::Deserialize;

use super::{Head, Inventory, InventoryFile, MachineDef, MachineRef, Part, Reporter, Sections};

/// Machine entries of generated fleets take 150 to 250 bytes; reserving by a shorter length
/// leaves room for most files (reserved memory that is never written costs nothing).
const TYPICAL_MACHINE_BYTES: usize = 128;

/// Below this many bytes of machines, one thread reads them all.
const SPLIT_FROM: usize = 1 << 20;

pub(super) fn parse(file: &str, text: &str) -> Option<Inventory> {
    let b = text.as_bytes();
    let mut pos = skip_ws(b, 0);
    if b.get(pos) != Some(&b'{') {
        return None;
    }
    pos += 1;
    let mut def = InventoryFile::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut machines_at = None;
    loop {
        pos = skip_ws(b, pos);
        match b.get(pos)? {
            b'}' if seen.is_empty() => {
                pos += 1;
                break;
            }
            b'"' => {}
            _ => return None,
        }
        let end = pos + 1 + b[pos + 1..].iter().position(|&c| c == b'"')?;
        let key = &text[pos + 1..end];
        if key.contains('\\') || seen.contains(&key) {
            return None;
        }
        seen.push(key);
        pos = skip_ws(b, end + 1);
        if b.get(pos) != Some(&b':') {
            return None;
        }
        pos = skip_ws(b, pos + 1);
        match key {
            "platform" => def.platform = value(text, &mut pos)?,
            "customers" => def.customers = value(text, &mut pos)?,
            "projects" => def.projects = value(text, &mut pos)?,
            "hosts" => def.hosts = value(text, &mut pos)?,
            "devices" => def.devices = value(text, &mut pos)?,
            "machines" if seen.len() == 6 => {
                // Every other section came first: this is the last key, read on below.
                machines_at = Some((pos, None));
                break;
            }
            "machines" => {
                // Read once everything machines refer to is known: skip them for now.
                let end = skip_array(b, pos)?;
                machines_at = Some((pos, Some(end)));
                pos = end;
            }
            _ => return None,
        }
        pos = skip_ws(b, pos);
        match b.get(pos)? {
            b',' => pos += 1,
            b'}' => {
                pos += 1;
                break;
            }
            _ => return None,
        }
    }
    if !seen.contains(&"platform") {
        return None;
    }
    let rep = Reporter::new(file, None);
    let broken = HashSet::new();
    let no_machines: &[MachineDef] = &[];
    let sections = Sections {
        platform: &def.platform,
        customers: &def.customers,
        projects: &def.projects,
        hosts: &def.hosts,
        devices: &def.devices,
        machines: no_machines,
    };
    let head = Head::new(&sections, &rep, &broken);
    if !head.errors.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if let Some((at, skipped_to)) = machines_at {
        if b.get(at) != Some(&b'[') {
            return None;
        }
        let first = skip_ws(b, at + 1);
        let end = if b.get(first) == Some(&b']') {
            first + 1
        } else {
            let (read, end) = machines(text, first, &head, &rep)?;
            parts = read;
            end
        };
        match skipped_to {
            Some(skipped) if skipped != end => return None,
            Some(_) => {}
            None => {
                pos = skip_ws(b, end);
                if b.get(pos) != Some(&b'}') {
                    return None;
                }
                pos += 1;
            }
        }
    }
    if skip_ws(b, pos) != b.len() {
        return None;
    }
    if parts.iter().any(|p| !p.c.errors.is_empty()) {
        return None;
    }
    head.finish(&rep, parts).ok()
}

/// The position after the array that starts at `pos`, found without parsing it; `None` if it
/// does not end.
fn skip_array(b: &[u8], pos: usize) -> Option<usize> {
    if b.get(pos) != Some(&b'[') {
        return None;
    }
    let mut depth = 0usize;
    let mut i = pos;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while *b.get(i)? != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Reads the machines from the first element at `first`: the parts, and where the array ends.
fn machines<'r>(text: &str, first: usize, head: &Head<'_>, rep: &'r Reporter<'r>) -> Option<(Vec<Part<'r>>, usize)> {
    let b = text.as_bytes();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    let size = b.len() - first;
    let mut starts = vec![first];
    if size >= SPLIT_FROM {
        for k in 1..threads {
            if let Some(guess) = boundary_after(b, first + size * k / threads)
                && guess > *starts.last()?
            {
                starts.push(guess);
            }
        }
    }
    let stops: Vec<usize> = starts.iter().skip(1).copied().chain([usize::MAX]).collect();
    let runs: Vec<Option<Run<'r>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = starts
            .iter()
            .zip(&stops)
            .skip(1)
            .map(|(&start, &stop)| scope.spawn(move || run(text, start, stop, head, rep)))
            .collect();
        let mut runs = vec![run(text, starts[0], stops[0], head, rep)];
        runs.extend(handles.into_iter().map(|h| h.join().ok().flatten()));
        runs
    });
    // Accept the parts in order while each one ended exactly where the next began; from the
    // first that did not (or failed), read on here.
    let mut runs = runs.into_iter();
    let mut current = runs.next().flatten()?;
    let mut parts = Vec::new();
    let mut count = 0;
    loop {
        current.part.offset = count;
        count += current.part.machines.len();
        let (end, closed) = (current.end, current.closed);
        parts.push(current.part);
        if closed {
            return Some((parts, end));
        }
        current = match runs.next().flatten() {
            Some(next) if next.start == end => next,
            _ => run(text, end, usize::MAX, head, rep)?,
        };
    }
}

/// One part's machines, and where it ended: after the array's `]` when `closed`, else at the
/// start of the first element at or after its stop.
struct Run<'r> {
    start: usize,
    part: Part<'r>,
    end: usize,
    closed: bool,
}

/// Parses and validates machines from `pos` (an element's start) until the array ends or an
/// element starts at or after `stop`.
fn run<'r>(text: &str, start: usize, stop: usize, head: &Head<'_>, rep: &'r Reporter<'r>) -> Option<Run<'r>> {
    let b = text.as_bytes();
    // Room for every machine up to the end of the file: later parts are appended to the first.
    let estimate = (b.len() - start) / TYPICAL_MACHINE_BYTES;
    let mut part = Part::new(rep, 0, estimate);
    let mut pos = start;
    loop {
        let m: MachineRef<'_> = value(text, &mut pos)?;
        let i = part.machines.len();
        part.add(head, i, &m);
        pos = skip_ws(b, pos);
        match b.get(pos)? {
            b',' => {
                pos = skip_ws(b, pos + 1);
                if pos >= stop {
                    return Some(Run { start, part, end: pos, closed: false });
                }
            }
            b']' => return Some(Run { start, part, end: pos + 1, closed: true }),
            _ => return None,
        }
    }
}

/// One JSON value of type `T` at `pos`; moves `pos` past it.
fn value<'a, T: Deserialize<'a>>(text: &'a str, pos: &mut usize) -> Option<T> {
    let mut values = serde_json::Deserializer::from_str(text.get(*pos..)?).into_iter::<T>();
    let v = values.next()?.ok()?;
    *pos += values.byte_offset();
    Some(v)
}

fn skip_ws(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() && matches!(b[pos], b' ' | b'\n' | b'\r' | b'\t') {
        pos += 1;
    }
    pos
}

/// The first place at or after `from` that looks like the start of an array element that
/// is an object: `},` then whitespace, then `{`. Only a guess (it may lie inside a string).
fn boundary_after(b: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let close = at + b.get(at..)?.windows(2).position(|w| w == b"},")?;
        let open = skip_ws(b, close + 2);
        if b.get(open) == Some(&b'{') {
            return Some(open);
        }
        at = close + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Diagnostics;
    use crate::fleet::{FleetConfig, generate};
    use crate::inventory::{InventoryFile, parse_inventory, validate};

    /// The general path alone: the whole file as owned values, validated in one part.
    fn general(text: &str) -> Result<Inventory, Diagnostics> {
        let def: InventoryFile = serde_json::from_str(text).unwrap();
        validate(&sections!(def), &Reporter::new("f.json", None), &HashSet::new())
    }

    fn fleet(machines: usize) -> InventoryFile {
        let campaign_start = jiff::civil::date(2027, 3, 1);
        generate(&FleetConfig { machines, seed: 3, campaign_start, customer_machines: None }).inventory
    }

    fn same(a: &Inventory, b: &Inventory) {
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn a_fleet_read_in_parts_equals_the_general_path() {
        let text = serde_json::to_string(&fleet(20_000)).unwrap();
        assert!(text.len() - text.find("\"machines\"").unwrap() > 2 * SPLIT_FROM, "the machines must be split");
        let fast = parse("f.json", &text).expect("the fast path reads a valid fleet");
        same(&fast, &general(&text).unwrap());
        // Groups are numbered in order of first mention, whichever part they were read in.
        let first_seen: Vec<&str> = {
            let mut seen = HashSet::new();
            let mut order = Vec::new();
            for m in &fast.machines {
                for g in fast.group_names(m) {
                    if seen.insert(g) {
                        order.push(g);
                    }
                }
            }
            order
        };
        assert_eq!(first_seen, fast.groups.iter().map(String::as_str).collect::<Vec<_>>());
        // Pretty-printed, with other whitespace between elements.
        let pretty = serde_json::to_string_pretty(&fleet(20_000)).unwrap();
        same(&parse("f.json", &pretty).unwrap(), &fast);
    }

    #[test]
    fn a_guess_inside_a_string_is_noticed_and_read_again() {
        let mut def = fleet(20_000);
        // Service names are free text: make every one look like an element boundary, so that
        // the guessed split lands inside a string.
        for m in &mut def.machines {
            m.services = vec![format!("{}}},{{x", m.id)];
        }
        let text = serde_json::to_string(&def).unwrap();
        let first = text.find("\"machines\":").unwrap() + "\"machines\":[".len();
        let guess = boundary_after(text.as_bytes(), first + (text.len() - first) / 2).unwrap();
        assert_eq!(text.as_bytes()[guess + 1], b'x', "the guess must lie inside a string");
        let fast = parse("f.json", &text).expect("the fast path still reads the fleet");
        same(&fast, &general(&text).unwrap());
        assert_eq!(fast.machines.len(), def.machines.len());
    }

    #[test]
    fn errors_anywhere_fall_back_to_the_general_path_with_every_message() {
        let mut def = fleet(20_000);
        let n = def.machines.len();
        let late = n - 10;
        def.machines[late].id = def.machines[3].id.clone();
        def.machines[n / 2 + 7].host = "nowhere".to_owned();
        let text = serde_json::to_string(&def).unwrap();
        assert!(parse("f.json", &text).is_none());
        let err = parse_inventory("f.json", &text).unwrap_err().to_string();
        assert!(err.contains(&format!("machines[{late}].id: duplicate machine id")), "{err}");
        assert!(err.contains("also used by machines[3]"), "{err}");
        assert!(err.contains(&format!("machines[{}].host: unknown host `nowhere`", n / 2 + 7)), "{err}");
    }

    #[test]
    fn other_layouts_and_broken_files() {
        let small = serde_json::to_value(fleet(50)).unwrap();
        // Keys in alphabetical order, as `json.dumps(sort_keys=True)` writes them.
        let sorted = serde_json::to_string(&small).unwrap();
        assert!(sorted.find("\"machines\"") < sorted.find("\"platform\""));
        same(&parse("f.json", &sorted).unwrap(), &general(&sorted).unwrap());
        let def = fleet(50);
        let text = serde_json::to_string(&def).unwrap();
        let machines = format!(",\"machines\":{}", serde_json::to_string(&def.machines).unwrap());
        assert!(text.ends_with(&format!("{machines}}}")), "every section, machines last");
        let machines_first = format!("{{{},{}", &machines[1..], &text.replacen(&machines, "", 1)[1..]);
        assert!(machines_first.starts_with("{\"machines\""));
        same(&parse("f.json", &machines_first).unwrap(), &general(&text).unwrap());

        assert!(parse("f.json", &text).is_some());
        for broken in [
            text.replacen("{\"platform\"", "{\"plat\\u0066orm\"", 1),
            format!("{text} x"),
            text.replacen("\"platform\":", "\"platform\":{\"name\":\"x\"},\"platform\":", 1),
            text.replacen("\"id\":\"", "\"id\":\"\\u0061", 1),
            text[..text.len() - 1].to_owned(),
            format!("{},}}", &text[..text.len() - 1]),
            format!("{},\"machines\":[]}}", &text[..text.len() - 1]),
        ] {
            assert!(parse("f.json", &broken).is_none(), "{}", &broken[..80]);
        }
        let empty = text.replacen(&machines, ",\"machines\": [ ]", 1);
        assert_eq!(parse("f.json", &empty).unwrap().machines.len(), 0);
    }
}
