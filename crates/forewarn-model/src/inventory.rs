//! The inventory: platform, customers and contacts, projects, hosts, devices
//! and machines, as written in TOML or JSON, and validated into a model whose
//! references are indices.

use std::collections::HashSet;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::diag::{Diagnostic, Diagnostics, FieldPath};
use crate::doc::{Document, Format};
use crate::fxhash::{FxHashMap, FxHashSet, IdIndex, hash32, radix_sort};
use crate::time::{TimeText, parse_instant};
use crate::window::{Window, Zone};

// ---------------------------------------------------------------------------
// The file, as written.

fn default_tiers() -> Vec<String> {
    ["testing", "staging", "production"].map(String::from).to_vec()
}

fn default_zone() -> String {
    "UTC".to_owned()
}

fn is_default_tiers(t: &[String]) -> bool {
    t == default_tiers()
}

/// An inventory file (`inventory.toml` or `inventory.json`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryFile {
    pub platform: PlatformDef,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customers: Vec<CustomerDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<ProjectDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub machines: Vec<MachineDef>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformDef {
    pub name: String,
    #[serde(default = "default_zone")]
    pub time_zone: String,
    #[serde(default = "default_tiers", skip_serializing_if = "is_default_tiers")]
    pub tiers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blackouts: Vec<BlackoutDef>,
}

impl Default for PlatformDef {
    fn default() -> Self {
        PlatformDef {
            name: String::new(),
            time_zone: default_zone(),
            tiers: default_tiers(),
            windows: Vec::new(),
            blackouts: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlackoutDef {
    pub from: TimeText,
    pub to: TimeText,
    #[serde(default)]
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerDef {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blackouts: Vec<BlackoutDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<ContactDef>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactDef {
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectDef {
    pub id: String,
    pub customer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostDef {
    pub id: String,
    pub rack: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceDef {
    pub id: String,
    /// `switch` or `router`.
    pub kind: String,
    /// Racks whose hosts lose their network when this device is down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub racks: Vec<String>,
    /// Hosts served directly, beside the racks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineDef {
    pub id: String,
    pub project: String,
    pub tier: String,
    pub host: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<String>,
    /// The id the machine gives FleetLock (Zincati sends systemd's app-specific machine id,
    /// application `de35106b6ec24688b63afddaa156679b`), when it is not the machine's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleetlock_id: Option<String>,
}

/// A machine entry read leniently, unknown fields ignored: once an unknown field has been
/// reported, the rest of the entry (its project, tier, host...) is still checked.
#[derive(Deserialize)]
struct MachineLoose {
    id: String,
    project: String,
    tier: String,
    host: String,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    windows: Vec<String>,
    #[serde(default)]
    fleetlock_id: Option<String>,
}

impl From<MachineLoose> for MachineDef {
    fn from(m: MachineLoose) -> MachineDef {
        let MachineLoose { id, project, tier, host, groups, services, windows, fleetlock_id } = m;
        MachineDef { id, project, tier, host, groups, services, windows, fleetlock_id }
    }
}

/// What validation reads of a machine entry, owned ([`MachineDef`]) or borrowed from JSON text.
trait MachineFields {
    type S: AsRef<str>;
    fn id(&self) -> &str;
    fn project(&self) -> &str;
    fn tier(&self) -> &str;
    fn host(&self) -> &str;
    fn groups(&self) -> &[Self::S];
    fn services(&self) -> &[Self::S];
    fn windows(&self) -> &[Self::S];
    fn fleetlock_id(&self) -> Option<&str>;
}

impl MachineFields for MachineDef {
    type S = String;
    fn id(&self) -> &str {
        &self.id
    }
    fn project(&self) -> &str {
        &self.project
    }
    fn tier(&self) -> &str {
        &self.tier
    }
    fn host(&self) -> &str {
        &self.host
    }
    fn groups(&self) -> &[String] {
        &self.groups
    }
    fn services(&self) -> &[String] {
        &self.services
    }
    fn windows(&self) -> &[String] {
        &self.windows
    }
    fn fleetlock_id(&self) -> Option<&str> {
        self.fleetlock_id.as_deref()
    }
}

/// A machine entry borrowing its strings from the JSON text: the fast path for large fleets.
/// A string with escapes cannot be borrowed; such a file takes the owned path instead.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MachineRef<'a> {
    id: &'a str,
    project: &'a str,
    tier: &'a str,
    host: &'a str,
    #[serde(default, borrow)]
    groups: Few<'a>,
    #[serde(default, borrow)]
    services: Few<'a>,
    #[serde(default, borrow)]
    windows: Few<'a>,
    #[serde(default, borrow)]
    fleetlock_id: Option<&'a str>,
}

/// A short list of borrowed strings, inline up to three: most machines list one or two
/// groups or services, and a million small heap lists cost more than parsing them.
#[derive(Default)]
struct Few<'a> {
    len: usize,
    inline: [&'a str; 3],
    spill: Vec<&'a str>,
}

impl<'a> Few<'a> {
    fn as_slice(&self) -> &[&'a str] {
        if self.spill.is_empty() { &self.inline[..self.len] } else { &self.spill }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Few<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Few<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Few<'a>, A::Error> {
                let mut few = Few::default();
                while let Some(s) = seq.next_element::<&'de str>()? {
                    if few.len < 3 {
                        few.inline[few.len] = s;
                    } else {
                        if few.spill.is_empty() {
                            few.spill.extend_from_slice(&few.inline);
                        }
                        few.spill.push(s);
                    }
                    few.len += 1;
                }
                Ok(few)
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

impl<'a> MachineFields for MachineRef<'a> {
    type S = &'a str;
    fn id(&self) -> &str {
        self.id
    }
    fn project(&self) -> &str {
        self.project
    }
    fn tier(&self) -> &str {
        self.tier
    }
    fn host(&self) -> &str {
        self.host
    }
    fn groups(&self) -> &[&'a str] {
        self.groups.as_slice()
    }
    fn services(&self) -> &[&'a str] {
        self.services.as_slice()
    }
    fn windows(&self) -> &[&'a str] {
        self.windows.as_slice()
    }
    fn fleetlock_id(&self) -> Option<&str> {
        self.fleetlock_id
    }
}

/// An inventory whose machines borrow from the JSON text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InventoryRef<'a> {
    platform: PlatformDef,
    #[serde(default)]
    customers: Vec<CustomerDef>,
    #[serde(default)]
    projects: Vec<ProjectDef>,
    #[serde(default)]
    hosts: Vec<HostDef>,
    #[serde(default)]
    devices: Vec<DeviceDef>,
    #[serde(default, borrow)]
    machines: Vec<MachineRef<'a>>,
}

/// The sections of an inventory file, by reference, whichever way they were read.
/// (A macro, because the owned and the borrowed files are different types.)
macro_rules! sections {
    ($def:expr) => {
        Sections {
            platform: &$def.platform,
            customers: &$def.customers,
            projects: &$def.projects,
            hosts: &$def.hosts,
            devices: &$def.devices,
            machines: &$def.machines,
        }
    };
}

/// The sections of an inventory file, by reference, whichever way they were read.
struct Sections<'d, M> {
    platform: &'d PlatformDef,
    customers: &'d [CustomerDef],
    projects: &'d [ProjectDef],
    hosts: &'d [HostDef],
    devices: &'d [DeviceDef],
    machines: &'d [M],
}

// ---------------------------------------------------------------------------
// The validated model.

/// A validated inventory. References are indices into its vectors.
#[derive(Clone, Debug)]
pub struct Inventory {
    pub platform: Platform,
    pub customers: Vec<Customer>,
    pub projects: Vec<Project>,
    pub hosts: Vec<Host>,
    pub devices: Vec<Device>,
    pub machines: Vec<Machine>,
    /// Redundancy group names, in order of first mention; machines refer to them by index.
    pub groups: Vec<String>,
    /// Service names, in order of first mention; machines refer to them by index.
    pub services: Vec<String>,
    /// Where each machine is in `machines`, by id ([`Inventory::machine_position`]).
    machine_ids: IdIndex,
    /// Where each host is in `hosts`, by id ([`Inventory::host_position`]).
    host_ids: IdIndex,
    /// The machines that name a `fleetlock_id`: the id and the machine's position, in the
    /// order of the ids ([`Inventory::fleetlock_machine`]). Few fleets use FleetLock, so the
    /// ids are kept here rather than on every machine.
    fleetlock_ids: Vec<(Box<str>, u32)>,
    /// Positions in `fleetlock_ids`, in the order of their machines.
    fleetlock_by_machine: Vec<u32>,
}

#[derive(Clone, Debug)]
pub struct Platform {
    pub name: String,
    pub zone: Zone,
    pub tiers: Vec<String>,
    pub windows: Vec<Window>,
    pub blackouts: Vec<Blackout>,
}

/// An interval in which nothing may be scheduled: `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blackout {
    pub from: Timestamp,
    pub to: Timestamp,
    pub reason: String,
}

#[derive(Clone, Debug)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub zone: Option<Zone>,
    pub windows: Vec<Window>,
    pub blackouts: Vec<Blackout>,
    pub contacts: Vec<Contact>,
}

/// The languages forewarn writes messages in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    En,
    De,
}

impl Language {
    pub const ALL: [(&'static str, Language); 2] = [("en", Language::En), ("de", Language::De)];

    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::De => "de",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Contact {
    pub name: String,
    pub email: String,
    pub zone: Option<Zone>,
    pub language: Language,
}

#[derive(Clone, Debug)]
pub struct Project {
    pub id: String,
    pub name: Option<String>,
    pub customer: usize,
    pub windows: Vec<Window>,
}

#[derive(Clone, Debug)]
pub struct Host {
    pub id: String,
    pub rack: String,
    pub windows: Vec<Window>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    Switch,
    Router,
}

#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    pub kind: DeviceKind,
    pub racks: Vec<String>,
    pub hosts: Vec<usize>,
}

#[derive(Clone, Debug)]
pub struct Machine {
    pub id: String,
    pub project: usize,
    /// Index into the platform's tiers.
    pub tier: usize,
    pub host: usize,
    /// Indices into [`Inventory::groups`].
    pub groups: Ids,
    /// Indices into [`Inventory::services`].
    pub services: Ids,
    pub windows: Vec<Window>,
}

/// Indices into one of the inventory's name lists, inline up to three: nearly every machine
/// lists one or two groups and services, and a million small heap lists cost more than the
/// rest of a machine.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Ids(IdsRepr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum IdsRepr {
    Inline(u8, [u32; 3]),
    Heap(Box<[u32]>),
}

impl Ids {
    pub fn from_slice(ids: &[u32]) -> Ids {
        if ids.len() <= 3 {
            let mut inline = [0; 3];
            inline[..ids.len()].copy_from_slice(ids);
            Ids(IdsRepr::Inline(ids.len() as u8, inline))
        } else {
            Ids(IdsRepr::Heap(ids.into()))
        }
    }
}

impl Default for Ids {
    fn default() -> Ids {
        Ids(IdsRepr::Inline(0, [0; 3]))
    }
}

impl std::ops::Deref for Ids {
    type Target = [u32];
    fn deref(&self) -> &[u32] {
        match &self.0 {
            IdsRepr::Inline(n, ids) => &ids[..usize::from(*n)],
            IdsRepr::Heap(ids) => ids,
        }
    }
}

impl std::ops::DerefMut for Ids {
    fn deref_mut(&mut self) -> &mut [u32] {
        match &mut self.0 {
            IdsRepr::Inline(n, ids) => &mut ids[..usize::from(*n)],
            IdsRepr::Heap(ids) => ids,
        }
    }
}

impl<'a> IntoIterator for &'a Ids {
    type Item = &'a u32;
    type IntoIter = std::slice::Iter<'a, u32>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Debug for Ids {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Names interned in order of first mention.
#[derive(Default)]
struct Names(FxHashMap<Box<str>, u32>);

impl Names {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.0.get(name) {
            return id;
        }
        let id = self.0.len() as u32;
        self.0.insert(name.into(), id);
        id
    }

    fn ids(&mut self, names: &[impl AsRef<str>]) -> Ids {
        if names.len() <= 3 {
            let mut ids = [0; 3];
            for (i, n) in names.iter().enumerate() {
                ids[i] = self.id(n.as_ref());
            }
            Ids::from_slice(&ids[..names.len()])
        } else {
            Ids(IdsRepr::Heap(names.iter().map(|n| self.id(n.as_ref())).collect()))
        }
    }

    /// Takes in names interned elsewhere, after these: returns their new ids by old id.
    fn absorb(&mut self, other: Names) -> Vec<u32> {
        other
            .into_list()
            .into_iter()
            .map(|name| {
                let next = self.0.len() as u32;
                *self.0.entry(name.into_boxed_str()).or_insert(next)
            })
            .collect()
    }

    fn into_list(self) -> Vec<String> {
        let mut list = vec![String::new(); self.0.len()];
        for (name, id) in self.0 {
            list[id as usize] = name.into_string();
        }
        list
    }
}

/// Which level of the inventory a machine's (or host's) windows come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WindowLevel {
    Machine,
    Host,
    Project,
    Customer,
    Platform,
}

impl fmt::Display for WindowLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WindowLevel::Machine => "machine",
            WindowLevel::Host => "host",
            WindowLevel::Project => "project",
            WindowLevel::Customer => "customer",
            WindowLevel::Platform => "platform",
        })
    }
}

impl Inventory {
    pub fn project_of(&self, m: &Machine) -> &Project {
        &self.projects[m.project]
    }

    /// Where machine `id` is in `machines`.
    pub fn machine_position(&self, id: &str) -> Option<usize> {
        self.machine_ids.get(id, |i| &self.machines[i as usize].id).map(|i| i as usize)
    }

    /// Where host `id` is in `hosts`.
    pub fn host_position(&self, id: &str) -> Option<usize> {
        self.host_ids.get(id, |i| &self.hosts[i as usize].id).map(|i| i as usize)
    }

    /// Where the machine is in `machines` that FleetLock knows as `id`: the one that names it
    /// as its `fleetlock_id`, else the one whose id it is (unless that machine names another).
    pub fn fleetlock_machine(&self, id: &str) -> Option<usize> {
        if let Ok(k) = self.fleetlock_ids.binary_search_by(|(f, _)| (**f).cmp(id)) {
            return Some(self.fleetlock_ids[k].1 as usize);
        }
        self.machine_position(id).filter(|&i| self.fleetlock_id(i) == id)
    }

    /// The id machine `i` gives FleetLock: its `fleetlock_id`, else its own id.
    pub fn fleetlock_id(&self, i: usize) -> &str {
        let by_machine =
            self.fleetlock_by_machine.binary_search_by_key(&i, |&k| self.fleetlock_ids[k as usize].1 as usize);
        match by_machine {
            Ok(k) => &self.fleetlock_ids[self.fleetlock_by_machine[k] as usize].0,
            Err(_) => &self.machines[i].id,
        }
    }

    pub fn customer_index_of(&self, m: &Machine) -> usize {
        self.projects[m.project].customer
    }

    pub fn customer_of(&self, m: &Machine) -> &Customer {
        &self.customers[self.customer_index_of(m)]
    }

    pub fn host_of(&self, m: &Machine) -> &Host {
        &self.hosts[m.host]
    }

    /// A machine's redundancy groups by name.
    pub fn group_names<'a>(&'a self, m: &'a Machine) -> impl Iterator<Item = &'a str> + 'a {
        m.groups.iter().map(|&g| self.groups[g as usize].as_str())
    }

    /// A machine's services by name.
    pub fn service_names<'a>(&'a self, m: &'a Machine) -> impl Iterator<Item = &'a str> + 'a {
        m.services.iter().map(|&s| self.services[s as usize].as_str())
    }

    pub fn tier_name(&self, m: &Machine) -> &str {
        &self.platform.tiers[m.tier]
    }

    /// The zone that windows without one are read in for this customer:
    /// the customer's `time_zone`, else the platform's.
    pub fn zone_for<'a>(&'a self, customer: &'a Customer) -> &'a Zone {
        customer.zone.as_ref().unwrap_or(&self.platform.zone)
    }

    /// The zone a contact reads dates in: theirs, else their customer's, else the platform's.
    pub fn contact_zone<'a>(&'a self, customer: &'a Customer, contact: &'a Contact) -> &'a Zone {
        contact.zone.as_ref().unwrap_or_else(|| self.zone_for(customer))
    }

    /// A machine's effective windows: the most specific level that defines any wins,
    /// machine, then project, then customer, then platform.
    pub fn machine_windows<'a>(&'a self, m: &'a Machine) -> (WindowLevel, &'a [Window]) {
        let p = &self.projects[m.project];
        let c = &self.customers[p.customer];
        [(WindowLevel::Machine, &m.windows), (WindowLevel::Project, &p.windows), (WindowLevel::Customer, &c.windows)]
            .into_iter()
            .find(|(_, w)| !w.is_empty())
            .map(|(l, w)| (l, w.as_slice()))
            .unwrap_or((WindowLevel::Platform, &self.platform.windows))
    }

    /// A host's windows for host work: its own, else the platform's.
    pub fn host_windows<'a>(&'a self, h: &'a Host) -> (WindowLevel, &'a [Window]) {
        if h.windows.is_empty() {
            (WindowLevel::Platform, &self.platform.windows)
        } else {
            (WindowLevel::Host, &h.windows)
        }
    }

    /// The blackouts that apply to a customer's machines: the platform's and its own.
    pub fn blackouts_for<'a>(&'a self, customer: &'a Customer) -> impl Iterator<Item = &'a Blackout> + 'a {
        self.platform.blackouts.iter().chain(&customer.blackouts)
    }

    /// Counts for `forewarn inventory check`.
    pub fn summary(&self) -> Summary {
        let mut per_tier = vec![0usize; self.platform.tiers.len()];
        let mut per_level: Vec<(WindowLevel, usize)> = Vec::new();
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); self.groups.len()];
        for m in &self.machines {
            per_tier[m.tier] += 1;
            let level = self.machine_windows(m).0;
            match per_level.iter_mut().find(|(l, _)| *l == level) {
                Some((_, n)) => *n += 1,
                None => per_level.push((level, 1)),
            }
            for &g in m.groups.iter() {
                groups[g as usize].push(m.host);
            }
        }
        per_level.sort();
        let mut shared = Vec::new();
        for (hosts, name) in groups.iter_mut().zip(&self.groups) {
            let n = hosts.len();
            hosts.sort_unstable();
            hosts.dedup();
            if hosts.len() < n {
                shared.push(name.clone());
            }
        }
        shared.sort();
        let racks: HashSet<&str> = self.hosts.iter().map(|h| h.rack.as_str()).collect();
        Summary {
            platform: self.platform.name.clone(),
            zone: self.platform.zone.name().to_owned(),
            customers: self.customers.len(),
            contacts: self.customers.iter().map(|c| c.contacts.len()).sum(),
            projects: self.projects.len(),
            hosts: self.hosts.len(),
            racks: racks.len(),
            devices: self.devices.len(),
            machines: self.machines.len(),
            per_tier: self.platform.tiers.iter().cloned().zip(per_tier).collect(),
            per_window_level: per_level,
            groups: groups.len(),
            groups_sharing_a_host: shared,
        }
    }
}

/// What `forewarn inventory check` prints for a valid inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub platform: String,
    pub zone: String,
    pub customers: usize,
    pub contacts: usize,
    pub projects: usize,
    pub hosts: usize,
    pub racks: usize,
    pub devices: usize,
    pub machines: usize,
    pub per_tier: Vec<(String, usize)>,
    pub per_window_level: Vec<(WindowLevel, usize)>,
    pub groups: usize,
    /// Redundancy groups with several members on one host: rebooting that host takes them down together.
    pub groups_sharing_a_host: Vec<String>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "platform   {} (time zone {})", self.platform, self.zone)?;
        writeln!(f, "customers  {} with {} contacts, {} projects", self.customers, self.contacts, self.projects)?;
        writeln!(f, "hosts      {} in {} racks, {} network devices", self.hosts, self.racks, self.devices)?;
        let tiers: Vec<String> = self.per_tier.iter().map(|(t, n)| format!("{t} {n}")).collect();
        writeln!(f, "machines   {}: {}", self.machines, tiers.join(", "))?;
        let levels: Vec<String> = self.per_window_level.iter().map(|(l, n)| format!("{l} {n}")).collect();
        writeln!(f, "windows    from {}", if levels.is_empty() { "-".to_owned() } else { levels.join(", ") })?;
        write!(f, "groups     {} redundancy groups", self.groups)?;
        if !self.groups_sharing_a_host.is_empty() {
            let n = self.groups_sharing_a_host.len();
            let shown: Vec<&str> = self.groups_sharing_a_host.iter().take(5).map(String::as_str).collect();
            write!(
                f,
                "\nnote       {n} group{} with several members on one host (a host reboot takes them down together): {}{}",
                if n == 1 { "" } else { "s" },
                shown.join(", "),
                if n > 5 { ", ..." } else { "" }
            )?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Parsing and validation.

const SECTIONS: [&str; 6] = ["platform", "customers", "projects", "hosts", "devices", "machines"];

/// Parses and validates an inventory file; `file` is the name used in diagnostics.
/// Every error found is reported, not just the first.
pub fn parse_inventory(file: &str, text: &str) -> Result<Inventory, Diagnostics> {
    let format = Format::detect(file, text);
    if format == Format::Json {
        // The fast paths, for large generated fleets: every core, then one typed pass.
        if let Some(inv) = fast::parse(file, text) {
            return Ok(inv);
        }
        if let Ok(def) = serde_json::from_str::<InventoryRef<'_>>(text) {
            let sections = sections!(def);
            return validate(&sections, &Reporter::new(file, None), &HashSet::new()).map_err(|d| sorted(d.0));
        }
        if let Ok(def) = serde_json::from_str::<InventoryFile>(text) {
            let sections = sections!(def);
            return validate(&sections, &Reporter::new(file, None), &HashSet::new()).map_err(|d| sorted(d.0));
        }
    }
    let doc = Document::parse(file, text, format)?;
    let mut errors = Vec::new();
    let rep = Reporter::new(file, Some(&doc));
    if !doc.is_table() {
        errors.push(rep.diag(
            &FieldPath::root(),
            "expected an object with `platform`, `customers`, `projects`, `hosts`, `devices` and `machines`",
        ));
        return Err(Diagnostics(errors));
    }
    for key in doc.top_keys() {
        if !SECTIONS.contains(&key.as_str()) {
            errors.push(rep.diag(
                &FieldPath::root().key(&key),
                format!("unknown section `{key}`: expected one of {}", SECTIONS.join(", ")),
            ));
        }
    }
    let mut broken = HashSet::new();
    let platform = doc.table::<PlatformDef>("platform", &mut errors);
    if platform.is_none() {
        broken.insert("platform");
        if !doc.top_keys().iter().any(|k| k == "platform") {
            errors.push(
                rep.diag(&FieldPath::root(), "missing the platform: add a `[platform]` table with at least `name`"),
            );
        }
    }
    macro_rules! read {
        ($key:literal) => {{
            let before = errors.len();
            let v = doc.array($key, &mut errors);
            if errors.len() > before {
                broken.insert($key);
            }
            v
        }};
    }
    let def = InventoryFile {
        platform: platform.unwrap_or_default(),
        customers: read!("customers"),
        projects: read!("projects"),
        hosts: read!("hosts"),
        devices: read!("devices"),
        machines: Vec::new(),
    };
    // A machine with an unknown field is still checked: read again without it.
    let machines = doc.array_lenient::<MachineDef, MachineLoose>("machines", &mut errors);
    let sections = sections!(def);
    let head = Head::new(&sections, &rep, &broken);
    let mut part = Part::new(&rep, 0, machines.len());
    for (i, d) in &machines {
        part.add(&head, *i, d);
    }
    match head.finish(&rep, vec![part]) {
        Ok(inv) if errors.is_empty() => Ok(inv),
        Ok(_) => Err(sorted(errors)),
        Err(Diagnostics(more)) => {
            errors.extend(more);
            Err(sorted(errors))
        }
    }
}

/// Errors in document order: by line where lines are known, else by section and element.
fn sorted(mut errors: Vec<Diagnostic>) -> Diagnostics {
    if errors.iter().all(|e| e.line.is_some()) {
        errors.sort_by_key(|e| e.line);
    } else {
        errors.sort_by_key(|e| {
            let section = e.path.split(['.', '[']).next().unwrap_or("");
            let rank = SECTIONS.iter().position(|s| *s == section).unwrap_or(SECTIONS.len());
            let index: usize = e.path.split_once('[').and_then(|(_, r)| r.split(']').next()?.parse().ok()).unwrap_or(0);
            (rank, index)
        });
    }
    Diagnostics(errors)
}

/// Makes diagnostics for one file, with lines when a parsed document is at hand.
struct Reporter<'a> {
    file: &'a str,
    doc: Option<&'a Document<'a>>,
}

impl<'a> Reporter<'a> {
    fn new(file: &'a str, doc: Option<&'a Document<'a>>) -> Reporter<'a> {
        Reporter { file, doc }
    }

    fn diag(&self, path: &FieldPath, message: impl Into<String>) -> Diagnostic {
        match self.doc {
            Some(doc) => doc.diag(path, message),
            None => {
                Diagnostic { file: self.file.to_owned(), line: None, path: path.to_string(), message: message.into() }
            }
        }
    }
}

/// Collects errors while checking one inventory.
struct Check<'a> {
    rep: &'a Reporter<'a>,
    errors: Vec<Diagnostic>,
    zones: FxHashMap<String, Zone>,
    windows: FxHashMap<String, Window>,
}

impl<'a> Check<'a> {
    fn new(rep: &'a Reporter<'a>) -> Check<'a> {
        Check { rep, errors: Vec::new(), zones: FxHashMap::default(), windows: FxHashMap::default() }
    }

    fn err(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.errors.push(self.rep.diag(path, message));
    }

    fn nonempty(&mut self, path: &dyn Fn() -> FieldPath, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.err(&path().key(field), format!("`{field}` is empty: give it a value"));
        } else {
            self.line(path, field, value, crate::text::NAME);
        }
    }

    /// One line of text of at most `max` characters, without control characters.
    fn line(&mut self, path: &dyn Fn() -> FieldPath, field: &str, value: &str, max: usize) {
        if let Err(e) = crate::text::line(value, max) {
            self.err(&path().key(field), format!("`{field}` {e}"));
        }
    }

    /// Looks a zone up once per name: customers and contacts repeat a few zones many times.
    fn zone(&mut self, path: &dyn Fn() -> FieldPath, name: &str) -> Option<Zone> {
        if let Some(z) = self.zones.get(name) {
            return Some(z.clone());
        }
        match Zone::get(name) {
            Ok(z) => {
                self.zones.insert(name.to_owned(), z.clone());
                Some(z)
            }
            Err(e) => {
                self.err(&path(), e.to_string());
                None
            }
        }
    }

    /// Parses windows, once per distinct text: fleets repeat a handful of patterns.
    fn windows(&mut self, path: &dyn Fn() -> FieldPath, specs: &[impl AsRef<str>]) -> Vec<Window> {
        let mut out = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let spec = spec.as_ref();
            if let Some(w) = self.windows.get(spec) {
                out.push(w.clone());
                continue;
            }
            match spec.parse::<Window>() {
                Ok(w) => {
                    self.windows.insert(spec.to_owned(), w.clone());
                    out.push(w);
                }
                Err(e) => self.err(&path().key("windows").index(i), format!("window `{spec}`: {e}")),
            }
        }
        out
    }

    fn blackouts(&mut self, path: &dyn Fn() -> FieldPath, defs: &[BlackoutDef]) -> Vec<Blackout> {
        let mut out = Vec::with_capacity(defs.len());
        for (i, b) in defs.iter().enumerate() {
            let p = path().key("blackouts").index(i);
            if let Err(e) = crate::text::line(&b.reason, crate::text::NOTE) {
                self.err(&p.key("reason"), format!("`reason` {e}"));
            }
            let from = parse_instant(&b.from.0).map_err(|e| self.err(&p.key("from"), e)).ok();
            let to = parse_instant(&b.to.0).map_err(|e| self.err(&p.key("to"), e)).ok();
            if let (Some(from), Some(to)) = (from, to) {
                if to <= from {
                    self.err(
                        &p.key("to"),
                        format!("blackout ends ({}) before it starts ({}): swap `from` and `to`", b.to.0, b.from.0),
                    );
                } else {
                    out.push(Blackout { from, to, reason: b.reason.clone() });
                }
            }
        }
        out
    }

    fn list(&mut self, path: &dyn Fn() -> FieldPath, field: &str, values: &[impl AsRef<str>]) {
        for (i, v) in values.iter().map(AsRef::as_ref).enumerate() {
            if let Err(e) = crate::text::line(v, crate::text::NAME) {
                self.err(&path().key(field).index(i), format!("entry in `{field}` {e}"));
            }
        }
        if values.len() == 1 && !values[0].as_ref().trim().is_empty() {
            return;
        }
        let mut seen = HashSet::new();
        for (i, v) in values.iter().map(AsRef::as_ref).enumerate() {
            if v.trim().is_empty() {
                self.err(&path().key(field).index(i), format!("empty entry in `{field}`: remove it"));
            } else if !seen.insert(v) {
                self.err(&path().key(field).index(i), format!("`{v}` is listed twice in `{field}`"));
            }
        }
    }
}

/// Ids name things in URLs, calendar UIDs and messages: letters, digits, `.`, `-`, `_`.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("is empty: give it a value".to_owned());
    }
    if id.len() > crate::text::ID {
        return Err(format!(
            "`{}...` is longer than {} characters",
            id.chars().take(20).collect::<String>(),
            crate::text::ID
        ));
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))) {
        return Err(format!("`{id}` contains `{c}`: use only letters, digits, `.`, `-` and `_`"));
    }
    Ok(())
}

/// A machine's `fleetlock_id`: what Zincati sends is 32 hexadecimal digits
/// (`systemd-id128 machine-id --app-specific=de35106b6ec24688b63afddaa156679b` prints it);
/// any id that could be a machine's is taken.
fn check_fleetlock_id(id: &str) -> Result<(), String> {
    check_id(id).map_err(|e| format!("fleetlock_id {e}"))
}

/// A plain syntactic check of an email address: `local@domain.tld`, no spaces.
fn check_email(email: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("`{email}` is not an email address: {why}"));
    let Some((local, domain)) = email.split_once('@') else {
        return bad("it has no `@`");
    };
    if local.is_empty() {
        return bad("nothing before the `@`");
    }
    if domain.contains('@') {
        return bad("it has more than one `@`");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')) {
        return bad("it contains a space or one of < > , ; \"");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-')) {
        return bad("the domain after the `@` should look like `example.com`");
    }
    Ok(())
}

/// Index of ids in one section; duplicates are reported at the second occurrence.
fn index_ids<'d>(
    check: &mut Check<'_>,
    section: &str,
    what: &str,
    ids: impl ExactSizeIterator<Item = &'d str>,
) -> FxHashMap<&'d str, usize> {
    let mut map = FxHashMap::with_capacity_and_hasher(ids.len(), Default::default());
    for (i, id) in ids.enumerate() {
        let path = || FieldPath::root().key(section).index(i).key("id");
        if let Err(e) = check_id(id) {
            check.err(&path(), format!("{what} id {e}"));
        }
        if let Some(first) = map.insert(id, i) {
            map.insert(id, first);
            check.err(&path(), format!("duplicate {what} id `{id}`: also used by {section}[{first}]"));
        }
    }
    map
}

fn validate<M: MachineFields>(
    def: &Sections<'_, M>,
    rep: &Reporter<'_>,
    broken: &HashSet<&str>,
) -> Result<Inventory, Diagnostics> {
    let head = Head::new(def, rep, broken);
    let mut part = Part::new(rep, 0, def.machines.len());
    for (i, d) in def.machines.iter().enumerate() {
        part.add(&head, i, d);
    }
    head.finish(rep, vec![part])
}

/// The inventory up to its machines, validated, with the indices machines are resolved by.
struct Head<'d> {
    errors: Vec<Diagnostic>,
    broken: &'d HashSet<&'d str>,
    platform: Platform,
    customers: Vec<Customer>,
    projects: Vec<Project>,
    hosts: Vec<Host>,
    devices: Vec<Device>,
    tiers: FxHashMap<&'d str, usize>,
    project_ix: FxHashMap<&'d str, usize>,
    host_ix: FxHashMap<&'d str, usize>,
}

impl<'d> Head<'d> {
    fn new<M>(def: &Sections<'d, M>, rep: &Reporter<'_>, broken: &'d HashSet<&'d str>) -> Head<'d> {
        let mut c = Check::new(rep);
        let root = FieldPath::root();

        // Platform.
        let pp = || root.key("platform");
        if !broken.contains("platform") {
            c.nonempty(&pp, "name", &def.platform.name);
        }
        let zone = c.zone(&|| pp().key("time_zone"), &def.platform.time_zone).unwrap_or_else(Zone::utc);
        if def.platform.tiers.is_empty() {
            c.err(&pp().key("tiers"), "no tiers: list them in order, e.g. [\"testing\", \"staging\", \"production\"]");
        }
        c.list(&pp, "tiers", &def.platform.tiers);
        let platform = Platform {
            name: def.platform.name.clone(),
            windows: c.windows(&pp, &def.platform.windows),
            blackouts: c.blackouts(&pp, &def.platform.blackouts),
            tiers: def.platform.tiers.clone(),
            zone,
        };

        // Customers and their contacts.
        let customer_ix = index_ids(&mut c, "customers", "customer", def.customers.iter().map(|x| x.id.as_str()));
        let mut customers = Vec::with_capacity(def.customers.len());
        for (i, d) in def.customers.iter().enumerate() {
            let p = || root.key("customers").index(i);
            c.nonempty(&p, "name", &d.name);
            let zone = d.time_zone.as_deref().and_then(|z| c.zone(&|| p().key("time_zone"), z));
            let mut contacts = Vec::with_capacity(d.contacts.len());
            let mut emails = HashSet::new();
            for (j, k) in d.contacts.iter().enumerate() {
                let kp = || p().key("contacts").index(j);
                c.nonempty(&kp, "name", &k.name);
                if let Err(e) = check_email(&k.email) {
                    c.err(&kp().key("email"), e);
                } else if let Err(e) = crate::text::line(&k.email, crate::text::EMAIL) {
                    c.err(&kp().key("email"), e);
                } else if !emails.insert(k.email.to_ascii_lowercase()) {
                    c.err(&kp().key("email"), format!("`{}` is listed twice for customer `{}`", k.email, d.id));
                }
                let zone = k.time_zone.as_deref().and_then(|z| c.zone(&|| kp().key("time_zone"), z));
                let language = match k.language.as_deref() {
                    None => Language::En,
                    Some(code) => {
                        match Language::ALL.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)) {
                            Some((_, l)) => *l,
                            None => {
                                c.err(
                                &kp().key("language"),
                                format!("unsupported language `{code}`: forewarn writes `en` (English) and `de` (German)"),
                            );
                                Language::En
                            }
                        }
                    }
                };
                contacts.push(Contact { name: k.name.clone(), email: k.email.clone(), zone, language });
            }
            customers.push(Customer {
                id: d.id.clone(),
                name: d.name.clone(),
                zone,
                windows: c.windows(&p, &d.windows),
                blackouts: c.blackouts(&p, &d.blackouts),
                contacts,
            });
        }

        // Projects.
        let project_ix = index_ids(&mut c, "projects", "project", def.projects.iter().map(|x| x.id.as_str()));
        let mut projects = Vec::with_capacity(def.projects.len());
        for (i, d) in def.projects.iter().enumerate() {
            let p = || root.key("projects").index(i);
            if let Some(name) = &d.name {
                c.line(&p, "name", name, crate::text::NAME);
            }
            let customer = match customer_ix.get(d.customer.as_str()) {
                Some(&ix) => ix,
                None => {
                    if !broken.contains("customers") {
                        c.err(
                            &p().key("customer"),
                            format!(
                                "unknown customer `{}` (project `{}`): define it under [[customers]] or fix the id",
                                d.customer, d.id
                            ),
                        );
                    }
                    0
                }
            };
            projects.push(Project {
                id: d.id.clone(),
                name: d.name.clone(),
                customer,
                windows: c.windows(&p, &d.windows),
            });
        }

        // Hosts.
        let host_ix = index_ids(&mut c, "hosts", "host", def.hosts.iter().map(|x| x.id.as_str()));
        let mut hosts = Vec::with_capacity(def.hosts.len());
        for (i, d) in def.hosts.iter().enumerate() {
            let p = || root.key("hosts").index(i);
            c.nonempty(&p, "rack", &d.rack);
            hosts.push(Host { id: d.id.clone(), rack: d.rack.clone(), windows: c.windows(&p, &d.windows) });
        }
        let racks: FxHashSet<&str> = def.hosts.iter().map(|h| h.rack.as_str()).collect();

        // Devices.
        index_ids(&mut c, "devices", "device", def.devices.iter().map(|x| x.id.as_str()));
        let mut devices = Vec::with_capacity(def.devices.len());
        for (i, d) in def.devices.iter().enumerate() {
            let p = || root.key("devices").index(i);
            let kind = match d.kind.as_str() {
                "switch" => DeviceKind::Switch,
                "router" => DeviceKind::Router,
                other => {
                    c.err(&p().key("kind"), format!("unknown device kind `{other}`: expected `switch` or `router`"));
                    DeviceKind::Switch
                }
            };
            c.list(&p, "racks", &d.racks);
            c.list(&p, "hosts", &d.hosts);
            for (j, r) in d.racks.iter().enumerate() {
                if !racks.contains(r.as_str()) && !broken.contains("hosts") {
                    c.err(
                        &p().key("racks").index(j),
                        format!("no host is in rack `{r}` (device `{}`): check the rack name", d.id),
                    );
                }
            }
            let mut served = Vec::new();
            for (j, h) in d.hosts.iter().enumerate() {
                match host_ix.get(h.as_str()) {
                    Some(&ix) => served.push(ix),
                    None if broken.contains("hosts") => {}
                    None => c.err(
                        &p().key("hosts").index(j),
                        format!("unknown host `{h}` (device `{}`): define it under [[hosts]] or fix the id", d.id),
                    ),
                }
            }
            if d.racks.is_empty() && d.hosts.is_empty() {
                c.err(&p(), format!("device `{}` serves nothing: list the `racks` or `hosts` it connects", d.id));
            }
            devices.push(Device { id: d.id.clone(), kind, racks: d.racks.clone(), hosts: served });
        }
        let tiers = def.platform.tiers.iter().enumerate().map(|(i, t)| (t.as_str(), i)).collect();
        Head { errors: c.errors, broken, platform, customers, projects, hosts, devices, tiers, project_ix, host_ix }
    }

    /// The whole inventory from this head and its machines, read in consecutive parts.
    fn finish(self, rep: &Reporter<'_>, parts: Vec<Part<'_>>) -> Result<Inventory, Diagnostics> {
        let mut errors = self.errors;
        let mut parts = parts.into_iter();
        // The first part's names and machines are kept as they are; later parts are renumbered.
        let (mut machines, mut ids, mut groups, mut services, positions, mut fleetlock_ids) = match parts.next() {
            Some(first) => {
                errors.extend(first.c.errors);
                (first.machines, first.ids, first.groups, first.services, first.positions, first.fleetlock_ids)
            }
            None => Default::default(),
        };
        // Where a machine is among the file's entries (only one part has gaps: the general path's).
        let position = |j: usize| positions.get(j).map_or(j, |&p| p as usize);
        for part in parts {
            let group_ids = groups.absorb(part.groups);
            let service_ids = services.absorb(part.services);
            let offset = machines.len() as u32;
            ids.extend(part.ids.iter().map(|&(h, i)| (h, i + offset)));
            fleetlock_ids.extend(part.fleetlock_ids.into_iter().map(|(f, i)| (f, i + offset)));
            machines.extend(part.machines.into_iter().map(|mut m| {
                m.groups.iter_mut().for_each(|g| *g = group_ids[*g as usize]);
                m.services.iter_mut().for_each(|s| *s = service_ids[*s as usize]);
                m
            }));
            errors.extend(part.c.errors);
        }
        // Duplicate machine ids: equal hashes sort next to each other, in machine order.
        radix_sort(&mut ids);
        for run in ids.chunk_by(|a, b| a.0 == b.0).filter(|run| run.len() > 1) {
            for (k, &(_, j)) in run.iter().enumerate() {
                let id = &machines[j as usize].id;
                if let Some(&(_, first)) = run[..k].iter().find(|&&(_, i)| machines[i as usize].id == *id) {
                    let path = FieldPath::root().key("machines").index(position(j as usize)).key("id");
                    let first = position(first as usize);
                    errors
                        .push(rep.diag(&path, format!("duplicate machine id `{id}`: also used by machines[{first}]")));
                }
            }
        }
        // FleetLock ids: one machine each, and none another machine's own id (FleetLock knows
        // a machine that names none by its id).
        fleetlock_ids.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        for pair in fleetlock_ids.windows(2).filter(|w| w[0].0 == w[1].0) {
            let path = FieldPath::root().key("machines").index(position(pair[1].1 as usize)).key("fleetlock_id");
            let first = position(pair[0].1 as usize);
            errors.push(rep.diag(
                &path,
                format!(
                    "duplicate fleetlock_id `{}`: also named by machines[{first}]; each machine has its own",
                    pair[0].0
                ),
            ));
        }
        if errors.is_empty() {
            let machine_ids = IdIndex::of_hashes(&ids, |i| &machines[i as usize].id);
            for (f, j) in &fleetlock_ids {
                let Some(other) = machine_ids.get(f, |i| &machines[i as usize].id) else { continue };
                if other != *j {
                    let path = FieldPath::root().key("machines").index(position(*j as usize)).key("fleetlock_id");
                    let message = format!(
                        "fleetlock_id `{f}` is the id of machines[{}]: FleetLock would not know which machine it is",
                        position(other as usize)
                    );
                    errors.push(rep.diag(&path, message));
                }
            }
        }
        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        // The ids' hashes are those the duplicate search sorted: the index reuses them.
        let machine_ids = IdIndex::of_hashes(&ids, |i| &machines[i as usize].id);
        let host_ids = IdIndex::new(self.hosts.iter().map(|h| h.id.as_str()));
        let mut fleetlock_by_machine: Vec<u32> = (0..fleetlock_ids.len() as u32).collect();
        fleetlock_by_machine.sort_by_key(|&k| fleetlock_ids[k as usize].1);
        Ok(Inventory {
            platform: self.platform,
            customers: self.customers,
            projects: self.projects,
            hosts: self.hosts,
            devices: self.devices,
            machines,
            groups: groups.into_list(),
            services: services.into_list(),
            machine_ids,
            host_ids,
            fleetlock_ids,
            fleetlock_by_machine,
        })
    }
}

/// Machines validated in one pass over consecutive entries (parts of one file can be read on
/// several cores). Group and service ids are the part's own until [`Head::finish`] merges them.
struct Part<'r> {
    c: Check<'r>,
    /// Where the part starts among the file's machines.
    offset: usize,
    machines: Vec<Machine>,
    groups: Names,
    services: Names,
    /// Per machine: the hash of its id, and its index in the part.
    ids: Vec<(u32, u32)>,
    /// Per machine, its index among the file's entries, once an entry could not be read and
    /// they differ (empty while they are the same: always on the fast path).
    positions: Vec<u32>,
    /// The `fleetlock_id`s named, with the machine's index in the part.
    fleetlock_ids: Vec<(Box<str>, u32)>,
}

impl<'r> Part<'r> {
    fn new(rep: &'r Reporter<'r>, offset: usize, capacity: usize) -> Part<'r> {
        Part {
            c: Check::new(rep),
            offset,
            machines: Vec::with_capacity(capacity),
            groups: Names::default(),
            services: Names::default(),
            ids: Vec::with_capacity(capacity),
            positions: Vec::new(),
            fleetlock_ids: Vec::new(),
        }
    }

    /// Validates the machine at `i` (counted from the part's start) and adds it.
    fn add(&mut self, head: &Head<'_>, i: usize, d: &impl MachineFields) {
        let c = &mut self.c;
        let index = self.offset + i;
        let p = || FieldPath::root().key("machines").index(index);
        let broken = head.broken;
        if let Err(e) = check_id(d.id()) {
            c.err(&p().key("id"), format!("machine id {e}"));
        }
        let project = match head.project_ix.get(d.project()) {
            Some(&ix) => ix,
            None => {
                if !broken.contains("projects") {
                    c.err(
                        &p().key("project"),
                        format!(
                            "unknown project `{}` (machine `{}`): define it under [[projects]] or fix the id",
                            d.project(),
                            d.id()
                        ),
                    );
                }
                0
            }
        };
        let tier = match head.tiers.get(d.tier()) {
            Some(&ix) => ix,
            None => {
                c.err(
                    &p().key("tier"),
                    format!(
                        "unknown tier `{}` (machine `{}`): the platform's tiers are {}",
                        d.tier(),
                        d.id(),
                        head.platform.tiers.join(", ")
                    ),
                );
                0
            }
        };
        let host = match head.host_ix.get(d.host()) {
            Some(&ix) => ix,
            None => {
                if !broken.contains("hosts") {
                    c.err(
                        &p().key("host"),
                        format!(
                            "unknown host `{}` (machine `{}`): define it under [[hosts]] or fix the id",
                            d.host(),
                            d.id()
                        ),
                    );
                }
                0
            }
        };
        c.list(&p, "groups", d.groups());
        c.list(&p, "services", d.services());
        let windows = if d.windows().is_empty() { Vec::new() } else { c.windows(&p, d.windows()) };
        if let Some(f) = d.fleetlock_id() {
            match check_fleetlock_id(f) {
                Ok(()) => self.fleetlock_ids.push((f.into(), self.machines.len() as u32)),
                Err(e) => c.err(&p().key("fleetlock_id"), format!("{e} (machine `{}`)", d.id())),
            }
        }
        if i != self.machines.len() || !self.positions.is_empty() {
            if self.positions.is_empty() {
                self.positions.extend(0..self.machines.len() as u32);
            }
            self.positions.push(index as u32);
        }
        self.ids.push((hash32(d.id()), self.machines.len() as u32));
        self.machines.push(Machine {
            id: d.id().to_owned(),
            project,
            tier,
            host,
            groups: self.groups.ids(d.groups()),
            services: self.services.ids(d.services()),
            windows,
        });
    }
}

mod fast;
#[cfg(test)]
mod tests;
