//! A synthetic fleet shaped like a real hosting provider's, with its two-week
//! OS update campaign: the input of planner benchmarks and property tests.
//!
//! [`generate`] is pure and deterministic: the same [`FleetConfig`] gives the
//! same fleet, byte for byte, on every machine. It draws from its own
//! SplitMix64 generator (no random-number crate whose streams could change),
//! uses integer arithmetic only and never iterates a hash map.
//!
//! The shape:
//! - customers have about 20 machines on average with a long tail (half have
//!   at most 7, a few have hundreds, none more than [`MAX_CUSTOMER_MACHINES`]);
//!   1 to 3 contacts; some a time zone of their own (New York, Tokyo, Sydney);
//! - projects (1 to 5 per customer) have production only, staging and
//!   production, or testing, staging and production; production has most
//!   machines; testing machines, and staging machines of some projects, may go
//!   down at any time (a machine-level window);
//! - about [`GUESTS_PER_HOST`] guests per host, [`HOSTS_PER_RACK`] hosts per
//!   rack, one switch per rack and one router per 10 racks; a project's
//!   machines spread over the hosts;
//! - redundancy groups of 2 or 3 production machines on different hosts, except
//!   about 1 % of groups that share a host, as happens in real fleets;
//! - windows: most customers inherit the platform's; some have their own
//!   (narrow ones only for small customers, so that the campaign stays
//!   feasible), some projects and a few machines override them;
//! - a one-day platform release freeze in the second week of the campaign, and
//!   a sales-event blackout of a day or two for about 3 % of customers.
//!
//! The campaign's limits are chosen so that 1,000,000 machines fit into the
//! two weeks while the limits still shape the plan: the global limit grows
//! with the fleet (1 per 100 machines, at least 400).

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::campaign::{ActivityDef, CampaignFile, Limits, Scope, Strategy, Targets};
use crate::inventory::{
    BlackoutDef, ContactDef, CustomerDef, DeviceDef, HostDef, InventoryFile, MachineDef, PlatformDef, ProjectDef,
};
use crate::time::{Duration, TimeText};

/// What to generate.
#[derive(Clone, Debug)]
pub struct FleetConfig {
    /// Number of machines (VMs); exactly this many are generated.
    pub machines: usize,
    pub seed: u64,
    /// First day of the campaign, a Monday at 00:00 in the platform zone.
    pub campaign_start: Date,
    /// Every customer with this many machines (the last one with what is left) instead of
    /// the long tail: for measuring what large customers cost (their messages are long).
    pub customer_machines: Option<usize>,
}

/// A generated inventory and its OS update campaign.
#[derive(Clone, Debug)]
pub struct Fleet {
    pub inventory: InventoryFile,
    pub campaign: CampaignFile,
}

/// The platform's time zone.
pub const PLATFORM_ZONE: &str = "Europe/Berlin";
/// Guests per host, on average.
pub const GUESTS_PER_HOST: usize = 40;
/// Hosts per rack (the last rack may hold fewer).
pub const HOSTS_PER_RACK: usize = 20;
/// Racks per router.
pub const RACKS_PER_POD: usize = 10;
/// No customer has more machines than this.
pub const MAX_CUSTOMER_MACHINES: usize = 1000;
/// Length of the campaign, in days.
pub const CAMPAIGN_DAYS: i64 = 14;

/// Generates a fleet of exactly `cfg.machines` machines and its campaign.
///
/// # Panics
/// When `campaign_start` lies within a few weeks of the ends of the calendar
/// that jiff supports (years -9999 and 9999).
pub fn generate(cfg: &FleetConfig) -> Fleet {
    let zones = Zones::new();
    let mut g = Generator { cfg, zones: &zones, rng: Rng::new(cfg.seed), inv: InventoryFile::default() };
    g.platform();
    let placement = Placement::new(cfg.machines, Rng::new(cfg.seed ^ 0x9e6c_63d0_676a_9a99));
    g.hosts_and_devices(placement.hosts);
    g.customers(placement);
    let campaign = campaign(cfg, &zones.platform);
    Fleet { inventory: g.inv, campaign }
}

// ---------------------------------------------------------------------------
// The generator's own random numbers: SplitMix64 (Steele, Lea, Flood 2014).

#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_mille / 1000`.
    fn chance(&mut self, per_mille: usize) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// An index drawn by weight.
    fn weighted(&mut self, weights: &[usize]) -> usize {
        let mut r = self.below(weights.iter().sum());
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

// ---------------------------------------------------------------------------
// Vocabulary.

/// Customer sizes: (weight per 10,000, smallest, largest); the mean is about 21.
const CUSTOMER_SIZES: [(usize, usize, usize); 9] = [
    (600, 1, 1),
    (1800, 2, 3),
    (2250, 4, 6),
    (1800, 7, 10),
    (1500, 11, 20),
    (1300, 21, 50),
    (500, 51, 100),
    (200, 101, 300),
    (50, 301, MAX_CUSTOMER_MACHINES),
];

/// First and second words of customer names: (as shown, as in a domain name).
const NAME_WORDS: [(&str, &str); 25] = [
    ("Alpen", "alpen"),
    ("Nordlicht", "nordlicht"),
    ("Bluewave", "bluewave"),
    ("Harbor", "harbor"),
    ("Kiefer", "kiefer"),
    ("Lindberg", "lindberg"),
    ("Quantum", "quantum"),
    ("Silverline", "silverline"),
    ("Elbe", "elbe"),
    ("Rhein", "rhein"),
    ("Greenfield", "greenfield"),
    ("Sonnenhof", "sonnenhof"),
    ("Brightpath", "brightpath"),
    ("Falke", "falke"),
    ("Ostwind", "ostwind"),
    ("Polaris", "polaris"),
    ("Redwood", "redwood"),
    ("Grünwald", "gruenwald"),
    ("Mühlenbach", "muehlenbach"),
    ("Kranich", "kranich"),
    ("Seeblick", "seeblick"),
    ("Ironbridge", "ironbridge"),
    ("Tannenberg", "tannenberg"),
    ("Westhafen", "westhafen"),
    ("Lighthouse", "lighthouse"),
];

const BUSINESS_WORDS: [(&str, &str); 20] = [
    ("Media", "media"),
    ("Logistics", "logistics"),
    ("Software", "software"),
    ("Labs", "labs"),
    ("Commerce", "commerce"),
    ("Travel", "travel"),
    ("Health", "health"),
    ("Energy", "energy"),
    ("Verlag", "verlag"),
    ("Analytics", "analytics"),
    ("Design", "design"),
    ("Foods", "foods"),
    ("Versicherung", "versicherung"),
    ("Consulting", "consulting"),
    ("Games", "games"),
    ("Mobility", "mobility"),
    ("Systems", "systems"),
    ("Reisen", "reisen"),
    ("Bildung", "bildung"),
    ("Finance", "finance"),
];

const NAME_COMBINATIONS: usize = NAME_WORDS.len() * BUSINESS_WORDS.len();
/// Coprime with [`NAME_COMBINATIONS`]: walks the combinations in a varied order.
const NAME_STRIDE: usize = 263;

const FIRST_NAMES: [(&str, &str); 32] = [
    ("Anna", "anna"),
    ("Lukas", "lukas"),
    ("Sophie", "sophie"),
    ("Jonas", "jonas"),
    ("Marie", "marie"),
    ("Felix", "felix"),
    ("Lea", "lea"),
    ("Paul", "paul"),
    ("Emma", "emma"),
    ("Jürgen", "juergen"),
    ("Sören", "soeren"),
    ("Katrin", "katrin"),
    ("Michael", "michael"),
    ("Sarah", "sarah"),
    ("David", "david"),
    ("Laura", "laura"),
    ("Emily", "emily"),
    ("James", "james"),
    ("Olivia", "olivia"),
    ("Daniel", "daniel"),
    ("Hiroshi", "hiroshi"),
    ("Yuki", "yuki"),
    ("Aiko", "aiko"),
    ("Liam", "liam"),
    ("Chloe", "chloe"),
    ("Noah", "noah"),
    ("Mia", "mia"),
    ("Ben", "ben"),
    ("Hannah", "hannah"),
    ("Tim", "tim"),
    ("Julia", "julia"),
    ("Max", "max"),
];

const LAST_NAMES: [(&str, &str); 28] = [
    ("Müller", "mueller"),
    ("Schmidt", "schmidt"),
    ("Schneider", "schneider"),
    ("Fischer", "fischer"),
    ("Weber", "weber"),
    ("Meyer", "meyer"),
    ("Wagner", "wagner"),
    ("Becker", "becker"),
    ("Schulz", "schulz"),
    ("Hoffmann", "hoffmann"),
    ("Koch", "koch"),
    ("Richter", "richter"),
    ("Klein", "klein"),
    ("Wolf", "wolf"),
    ("Schröder", "schroeder"),
    ("Neumann", "neumann"),
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("Brown", "brown"),
    ("Miller", "miller"),
    ("Davis", "davis"),
    ("Wilson", "wilson"),
    ("Tanaka", "tanaka"),
    ("Suzuki", "suzuki"),
    ("Sato", "sato"),
    ("Nguyen", "nguyen"),
    ("Taylor", "taylor"),
    ("Walker", "walker"),
];

/// Zones of contacts who read dates elsewhere than their company.
const CONTACT_ZONES: [&str; 6] =
    ["Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "Australia/Sydney", "America/Los_Angeles"];

/// Project ids (after the customer's) and names.
const PROJECT_WORDS: [(&str, &str); 12] = [
    ("shop", "Web shop"),
    ("web", "Website"),
    ("api", "Public API"),
    ("crm", "CRM"),
    ("intranet", "Intranet"),
    ("blog", "Blog"),
    ("erp", "ERP"),
    ("analytics", "Analytics"),
    ("portal", "Customer portal"),
    ("docs", "Documentation"),
    ("wiki", "Wiki"),
    ("booking", "Booking"),
];

/// Roles of machines: (name in the hostname, services).
const ROLES: [(&str, &[&str]); 7] = [
    ("web", &["http"]),
    ("db", &["db"]),
    ("cache", &["cache"]),
    ("search", &["search"]),
    ("mail", &["mail"]),
    ("app", &["http"]),
    ("worker", &["queue"]),
];
const WEB: usize = 0;
/// Weights of [`ROLES`] for redundancy groups, single production machines and others.
const GROUP_ROLES: [usize; 7] = [40, 35, 10, 10, 5, 0, 0];
const SINGLE_ROLES: [usize; 7] = [20, 10, 5, 5, 5, 35, 20];
const NONPROD_ROLES: [usize; 7] = [30, 30, 0, 0, 0, 40, 0];

const TESTING: usize = 0;
const STAGING: usize = 1;
const PRODUCTION: usize = 2;
const TIERS: [&str; 3] = ["testing", "staging", "production"];
const TIER_PREFIX: [&str; 3] = ["tst-", "stg-", ""];

const PLATFORM_WINDOWS: &[&str] = &["Mon-Fri 22:00-05:00"];
const HOST_WINDOW: &str = "Sat 10:00-14:00";
const ANY_TIME: &str = "Mon-Sun 00:00-24:00";

/// Customer windows that leave room for a customer of any size.
const WIDE_WINDOWS: [&[&str]; 4] = [
    &["Mon-Fri 20:00-06:00"],
    &[ANY_TIME],
    &["Mon-Fri 22:00-05:00", "Sat,Sun 00:00-08:00"],
    &["Mon-Fri 22:00-05:00 Europe/Berlin"],
];
/// Customer windows for small customers only: a few hours a week.
const NARROW_WINDOWS: [&[&str]; 5] = [
    &["Tue,Thu 06:00-09:00"],
    &["Sat 10:00-14:00"],
    &["Sun 02:00-06:00"],
    &["Mon-Fri 22:00-05:00", "Sat 10:00-14:00"],
    &["Mon,Wed,Fri 05:00-07:00"],
];
/// Customers with at most this many machines may get narrow windows.
const NARROW_MAX_MACHINES: usize = 50;
/// Projects with at most this many machines may override with narrow windows.
const NARROW_MAX_PROJECT: usize = 30;
const MACHINE_WINDOWS: [&[&str]; 5] = [
    &["Sun 02:00-06:00"],
    &["Tue,Thu 06:00-09:00"],
    &[ANY_TIME],
    &["Mon,Thu 05:00-07:00"],
    &["Sat 10:00-14:00 Europe/Berlin"],
];

const SALES_EVENTS: [&str; 4] = ["sales event: no maintenance", "product launch", "trade fair", "quarter-end closing"];

/// Time zones looked up once.
struct Zones {
    platform: TimeZone,
    customer: [(&'static str, TimeZone); 3],
}

impl Zones {
    fn new() -> Zones {
        let get = |name: &str| crate::tz::db().get(name).expect("every time zone database has this zone");
        Zones {
            platform: get(PLATFORM_ZONE),
            customer: ["America/New_York", "Asia/Tokyo", "Australia/Sydney"].map(|n| (n, get(n))),
        }
    }
}

/// Midnight starting `date + days`, in `tz`, as RFC 3339 with the offset.
fn local_midnight(date: Date, days: i64, tz: &TimeZone) -> TimeText {
    let day = date.checked_add(days.days()).expect("campaign dates lie within jiff's calendar");
    let zdt = day.to_zoned_datetime(tz.clone()).expect("campaign dates lie within jiff's calendar");
    TimeText(zdt.timestamp().display_with_offset(zdt.offset()).to_string())
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Appends `n` in decimal, with a leading zero below 10 when `two_digits`.
fn push_number(s: &mut String, n: usize, two_digits: bool) {
    if two_digits && n < 10 {
        s.push('0');
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        s.push(char::from(d));
    }
}

// ---------------------------------------------------------------------------
// Placement of machines on hosts.

/// Hands out hosts to machines in generation order: a shuffled pool with each
/// host's share of the guests, so a project's machines spread over the fleet.
struct Placement {
    hosts: usize,
    pool: Vec<u32>,
    next: usize,
    rng: Rng,
}

impl Placement {
    fn new(machines: usize, mut rng: Rng) -> Placement {
        let hosts = if machines == 0 {
            0
        } else {
            // A provider with more than one machine has at least two hosts.
            machines.div_ceil(GUESTS_PER_HOST).max(machines.min(2))
        };
        let mut pool = Vec::with_capacity(machines);
        for h in 0..hosts {
            let share = machines / hosts + usize::from(h < machines % hosts);
            pool.extend(std::iter::repeat_n(h as u32, share));
        }
        for i in (1..pool.len()).rev() {
            let j = rng.below(i + 1);
            pool.swap(i, j);
        }
        Placement { hosts, pool, next: 0, rng }
    }

    /// The host of the next machine, avoiding the hosts in `avoid` when it can.
    fn take(&mut self, avoid: &[usize]) -> usize {
        let i = self.next;
        self.next += 1;
        if avoid.contains(&(self.pool[i] as usize)) {
            let later = self.pool.len() - i - 1;
            for _ in 0..if later > 0 { 32 } else { 0 } {
                let k = i + 1 + self.rng.below(later);
                if !avoid.contains(&(self.pool[k] as usize)) {
                    self.pool.swap(i, k);
                    break;
                }
            }
        }
        self.pool[i] as usize
    }
}

// ---------------------------------------------------------------------------
// The inventory.

struct Generator<'a> {
    cfg: &'a FleetConfig,
    zones: &'a Zones,
    rng: Rng,
    inv: InventoryFile,
}

/// Per project: how many machines of each tier and role have been named so far.
type RoleCounters = [[usize; ROLES.len()]; 3];

impl Generator<'_> {
    fn platform(&mut self) {
        let tz = &self.zones.platform;
        let start = self.cfg.campaign_start;
        self.inv.platform = PlatformDef {
            name: format!("Synthetic Hosting (seed {})", self.cfg.seed),
            time_zone: PLATFORM_ZONE.to_owned(),
            tiers: strings(&TIERS),
            windows: strings(PLATFORM_WINDOWS),
            blackouts: vec![BlackoutDef {
                // The Wednesday of the campaign's second week.
                from: local_midnight(start, 9, tz),
                to: local_midnight(start, 10, tz),
                reason: "release freeze: platform release day".to_owned(),
            }],
        };
    }

    fn hosts_and_devices(&mut self, hosts: usize) {
        let racks = hosts.div_ceil(HOSTS_PER_RACK);
        let rack_ids: Vec<String> = (1..=racks).map(|r| format!("r{r:03}")).collect();
        self.inv.hosts = (0..hosts)
            .map(|h| HostDef {
                id: format!("kvm{:04}", h + 1),
                rack: rack_ids[h / HOSTS_PER_RACK].clone(),
                windows: vec![HOST_WINDOW.to_owned()],
            })
            .collect();
        let pods = racks.div_ceil(RACKS_PER_POD);
        let mut devices = Vec::with_capacity(racks + pods);
        for r in &rack_ids {
            devices.push(DeviceDef {
                id: format!("sw-{r}"),
                kind: "switch".to_owned(),
                racks: vec![r.clone()],
                hosts: Vec::new(),
            });
        }
        for (p, pod) in rack_ids.chunks(RACKS_PER_POD).enumerate() {
            devices.push(DeviceDef {
                id: format!("rt-p{:02}", p + 1),
                kind: "router".to_owned(),
                racks: pod.to_vec(),
                hosts: Vec::new(),
            });
        }
        self.inv.devices = devices;
    }

    fn customers(&mut self, mut placement: Placement) {
        let total = self.cfg.machines;
        self.inv.machines = Vec::with_capacity(total);
        self.inv.customers = Vec::with_capacity(total / 18 + 1);
        self.inv.projects = Vec::with_capacity(total / 8 + 1);
        let mut left = total;
        let mut n = 0;
        while left > 0 {
            let size = match self.cfg.customer_machines {
                Some(n) => n.max(1),
                None => self.customer_size(),
            }
            .min(left);
            left -= size;
            self.customer(n, size, &mut placement);
            n += 1;
        }
    }

    fn customer_size(&mut self) -> usize {
        let weights = CUSTOMER_SIZES.map(|(w, _, _)| w);
        let (_, lo, hi) = CUSTOMER_SIZES[self.rng.weighted(&weights)];
        self.rng.between(lo, hi)
    }

    fn customer(&mut self, n: usize, size: usize, placement: &mut Placement) {
        let rng = &mut self.rng;

        // Name, id and domain: unique through the counter.
        let round = n / NAME_COMBINATIONS;
        let c = n % NAME_COMBINATIONS * NAME_STRIDE % NAME_COMBINATIONS;
        let (w1, s1) = NAME_WORDS[c / BUSINESS_WORDS.len()];
        let (w2, s2) = BUSINESS_WORDS[c % BUSINESS_WORDS.len()];
        let mut id = format!("{s1}-{s2}");
        let mut shown = format!("{w1} {w2}");
        if round > 0 {
            id.push('-');
            push_number(&mut id, round + 1, false);
            shown.push(' ');
            push_number(&mut shown, round + 1, false);
        }

        // Zone and legal form.
        let zone_ix = match rng.below(100) {
            0..=7 => Some(0),
            8..=10 => Some(1),
            11..=13 => Some(2),
            _ => None,
        };
        let forms: &[&str] = match zone_ix {
            None => &["GmbH", "GmbH", "GmbH", "AG", "KG", "SE", "e.V."],
            Some(0) => &["Inc.", "LLC"],
            Some(1) => &["K.K."],
            Some(_) => &["Pty Ltd"],
        };
        let name = format!("{shown} {}", rng.pick(forms));
        let zone = zone_ix.map(|z| &self.zones.customer[z]);

        // Contacts: 1 to 3, more for bigger customers.
        let contacts = (1 + rng.below(2) + usize::from(size > 20 && rng.chance(400))).min(3);
        let first0 = rng.below(FIRST_NAMES.len());
        let german = zone.is_none();
        let contacts = (0..contacts)
            .map(|k| {
                // Distinct first names, hence distinct addresses.
                let (first, first_ascii) = FIRST_NAMES[(first0 + 7 * k) % FIRST_NAMES.len()];
                let (last, last_ascii) = rng.pick(&LAST_NAMES);
                let time_zone = rng.chance(100).then(|| rng.pick(&CONTACT_ZONES).to_owned());
                let de = if german { rng.chance(350) } else { rng.chance(30) };
                ContactDef {
                    name: format!("{first} {last}"),
                    email: format!("{first_ascii}.{last_ascii}@{id}.example"),
                    time_zone,
                    language: Some(if de { "de" } else { "en" }.to_owned()),
                }
            })
            .collect();

        // Windows: most inherit the platform's; narrow ones only for small customers.
        let mut narrow = false;
        let windows = if rng.chance(250) {
            if size <= NARROW_MAX_MACHINES && rng.chance(600) {
                narrow = true;
                strings(rng.pick(&NARROW_WINDOWS))
            } else {
                strings(rng.pick(&WIDE_WINDOWS))
            }
        } else {
            Vec::new()
        };

        // A sales event inside the campaign, for customers whose windows leave room.
        let blackouts = if !narrow && rng.chance(30) {
            let day = rng.between(1, 10) as i64;
            let days = rng.between(1, 2) as i64;
            let tz = zone.map_or(&self.zones.platform, |(_, tz)| tz);
            let start = self.cfg.campaign_start;
            vec![BlackoutDef {
                from: local_midnight(start, day, tz),
                to: local_midnight(start, day + days, tz),
                reason: rng.pick(&SALES_EVENTS).to_owned(),
            }]
        } else {
            Vec::new()
        };

        self.inv.customers.push(CustomerDef {
            id: id.clone(),
            name,
            time_zone: zone.map(|(name, _)| (*name).to_owned()),
            windows,
            blackouts,
            contacts,
        });

        // Projects: 1 to 5, sizes drawn by weight, each with at least one machine.
        let projects = 1 + self.rng.below((size / 3).clamp(1, 5));
        let mut weights = [0usize; 5];
        for w in &mut weights[..projects] {
            *w = 1 + self.rng.below(4);
        }
        weights[0] += 2;
        let sum: usize = weights.iter().sum();
        let spare = size - projects;
        let mut sizes = [0usize; 5];
        for (s, w) in sizes.iter_mut().zip(weights).take(projects) {
            *s = 1 + spare * w / sum;
        }
        sizes[0] += size - sizes.iter().sum::<usize>();
        let word0 = self.rng.below(PROJECT_WORDS.len());
        for (k, &machines) in sizes[..projects].iter().enumerate() {
            let (word, title) = PROJECT_WORDS[(word0 + k) % PROJECT_WORDS.len()];
            let project = format!("{id}-{word}");
            self.project(&id, project, title, machines, placement);
        }
    }

    fn project(&mut self, customer: &str, id: String, title: &str, size: usize, placement: &mut Placement) {
        let rng = &mut self.rng;
        let windows = if rng.chance(60) {
            if size <= NARROW_MAX_PROJECT && rng.chance(600) {
                strings(rng.pick(&NARROW_WINDOWS))
            } else {
                strings(rng.pick(&WIDE_WINDOWS[..2]))
            }
        } else {
            Vec::new()
        };

        // Tiers: production only, staging and production, or all three.
        let mut counts = [0usize; 3];
        let shape = rng.below(100);
        if size >= 2 && shape >= 20 {
            counts[STAGING] = (size * rng.between(15, 30) / 100).max(1);
            if size >= 4 && shape < 35 {
                counts[TESTING] = (size / 10).max(1);
            }
        }
        counts[PRODUCTION] = size - counts[STAGING] - counts[TESTING];
        // Testing machines may go down at any time, and so may staging in some projects.
        let staging_any_time = rng.chance(400);

        let mut counters: RoleCounters = [[0; ROLES.len()]; 3];
        for tier in [TESTING, STAGING] {
            let any_time = tier == TESTING || staging_any_time;
            for _ in 0..counts[tier] {
                let role = self.rng.weighted(&NONPROD_ROLES);
                let host = placement.take(&[]);
                self.machine(&id, tier, role, host, None, any_time, &mut counters);
            }
        }

        // Production: redundancy groups of 2 or 3 and single machines, mixed.
        let mut left = counts[PRODUCTION];
        let mut groups_per_role = [0usize; ROLES.len()];
        while left > 0 {
            if left >= 2 && self.rng.chance(450) {
                let members = if left >= 3 && self.rng.chance(250) { 3 } else { 2 };
                let role = self.rng.weighted(&GROUP_ROLES);
                groups_per_role[role] += 1;
                let mut group = String::with_capacity(id.len() + 12);
                group.push_str(&id);
                group.push('-');
                group.push_str(ROLES[role].0);
                group.push('-');
                push_number(&mut group, groups_per_role[role], false);
                // About 1 % of groups end up with two members on one host.
                let share = self.rng.chance(10);
                let mut hosts = [usize::MAX; 3];
                for m in 0..members {
                    let host = if share && m == 1 {
                        placement.next += 1;
                        hosts[0]
                    } else {
                        placement.take(&hosts[..m])
                    };
                    hosts[m] = host;
                    self.machine(&id, PRODUCTION, role, host, Some(&group), false, &mut counters);
                }
                left -= members;
            } else {
                let role = self.rng.weighted(&SINGLE_ROLES);
                let host = placement.take(&[]);
                self.machine(&id, PRODUCTION, role, host, None, false, &mut counters);
                left -= 1;
            }
        }

        self.inv.projects.push(ProjectDef { customer: customer.to_owned(), id, name: Some(title.to_owned()), windows });
    }

    #[allow(clippy::too_many_arguments)]
    fn machine(
        &mut self,
        project: &str,
        tier: usize,
        role: usize,
        host: usize,
        group: Option<&str>,
        any_time: bool,
        counters: &mut RoleCounters,
    ) {
        let (role_name, role_services) = ROLES[role];
        counters[tier][role] += 1;
        let mut id = String::with_capacity(project.len() + 16);
        id.push_str(project);
        id.push('-');
        id.push_str(TIER_PREFIX[tier]);
        id.push_str(role_name);
        push_number(&mut id, counters[tier][role], true);

        let mut services = strings(role_services);
        if role == WEB && self.rng.chance(250) {
            services.push("cache".to_owned());
        }
        let windows = if any_time {
            vec![ANY_TIME.to_owned()]
        } else if tier == PRODUCTION && self.rng.chance(10) {
            strings(self.rng.pick(&MACHINE_WINDOWS))
        } else {
            Vec::new()
        };
        self.inv.machines.push(MachineDef {
            id,
            project: project.to_owned(),
            tier: TIERS[tier].to_owned(),
            host: self.inv.hosts[host].id.clone(),
            groups: group.map(|g| vec![g.to_owned()]).unwrap_or_default(),
            services,
            windows,
            fleetlock_id: None,
        });
    }
}

// ---------------------------------------------------------------------------
// The campaign.

fn campaign(cfg: &FleetConfig, tz: &TimeZone) -> CampaignFile {
    let start = cfg.campaign_start;
    let minutes = |m: i64| Duration::from_secs(m * 60);
    // One slot a time per 100 machines: 1,000,000 machines need about half the
    // two weeks' night windows, so the limit shapes the plan without making it infeasible.
    let global = (cfg.machines.div_ceil(10_000) * 100).max(400);
    CampaignFile {
        id: format!("os-update-{}", cfg.seed),
        title: format!("Operating system update from {start}"),
        starts: local_midnight(start, 0, tz),
        ends: local_midnight(start, CAMPAIGN_DAYS, tz),
        publish_at: local_midnight(start, -7, tz),
        notice: minutes(72 * 60),
        scope: Scope::Machines,
        targets: Targets::default(),
        tier_order: Some(strings(&TIERS)),
        tier_gap: minutes(24 * 60),
        activities: vec![
            ActivityDef { kind: "os-update".to_owned(), duration: minutes(20) },
            ActivityDef { kind: "reboot".to_owned(), duration: minutes(10) },
        ],
        limits: Limits {
            global: Some(u32::try_from(global).unwrap_or(u32::MAX)),
            per_host: Some(4),
            per_rack: Some(40),
            per_customer: Some(20),
            per_group: Some(1),
        },
        granularity: Some(minutes(15)),
        strategy: Strategy::Earliest,
        notify_contacts: true,
        mode: Default::default(),
        rollout: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use jiff::civil::date;

    use super::*;
    use crate::inventory::WindowLevel;
    use crate::{parse_campaign, parse_inventory};

    fn fleet(machines: usize, seed: u64) -> Fleet {
        generate(&FleetConfig { machines, seed, campaign_start: date(2027, 3, 1), customer_machines: None })
    }

    fn json(f: &Fleet) -> (String, String) {
        (serde_json::to_string(&f.inventory).unwrap(), serde_json::to_string(&f.campaign).unwrap())
    }

    #[test]
    fn fleets_validate_with_their_campaign() {
        for machines in [0, 1, 2, 3, 50, 5_000] {
            for seed in [0, 1, 42, 0xdead_beef, u64::MAX] {
                let f = fleet(machines, seed);
                let (inventory, campaign) = json(&f);
                let inv = parse_inventory("inventory.json", &inventory)
                    .unwrap_or_else(|e| panic!("{machines} machines, seed {seed}:\n{e}"));
                assert_eq!(inv.machines.len(), machines);
                let c = parse_campaign("campaign.json", &campaign, &inv)
                    .unwrap_or_else(|e| panic!("{machines} machines, seed {seed}:\n{e}"));
                assert_eq!(c.target_machines(&inv).len(), machines);
                assert_eq!(c.slot_length().to_string(), "30m");
                // Every machine and host is found where it is, by its id, and nothing else.
                for (i, m) in inv.machines.iter().enumerate() {
                    assert_eq!(inv.machine_position(&m.id), Some(i));
                    assert_eq!(inv.host_position(&m.id), None);
                }
                for (i, h) in inv.hosts.iter().enumerate() {
                    assert_eq!(inv.host_position(&h.id), Some(i));
                }
                assert_eq!(inv.machine_position("no-such-machine"), None);
            }
        }
    }

    #[test]
    fn customers_of_one_size_when_asked() {
        for (machines, size) in [(5_000, 1_500), (1_000, 1), (7, 100)] {
            let cfg =
                FleetConfig { machines, seed: 3, campaign_start: date(2027, 3, 1), customer_machines: Some(size) };
            let (inventory, campaign) = json(&generate(&cfg));
            let inv =
                parse_inventory("inventory.json", &inventory).unwrap_or_else(|e| panic!("{machines}/{size}: {e}"));
            parse_campaign("campaign.json", &campaign, &inv).unwrap_or_else(|e| panic!("{machines}/{size}: {e}"));
            let mut per_customer = vec![0usize; inv.customers.len()];
            for m in &inv.machines {
                per_customer[inv.customer_index_of(m)] += 1;
            }
            let (last, full) = per_customer.split_last().unwrap();
            assert!(full.iter().all(|&n| n == size), "{machines}/{size}: {per_customer:?}");
            assert_eq!(*last, machines - size * full.len(), "{machines}/{size}");
            assert!(*last >= 1 && *last <= size);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        for machines in [0, 1, 50, 5_000] {
            assert_eq!(json(&fleet(machines, 7)), json(&fleet(machines, 7)));
        }
        assert_ne!(json(&fleet(5_000, 7)).0, json(&fleet(5_000, 8)).0);
    }

    /// FNV-1a: a fingerprint of the output, so that a change of shape is a visible decision.
    fn fingerprint(text: &str) -> u64 {
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    }

    #[test]
    fn the_output_does_not_drift() {
        // Benchmark figures are compared across versions, so the same seed must keep
        // giving the same fleet. When the generator or the file format changes on
        // purpose, put the new numbers here and say so in the commit.
        let (inventory, campaign) = json(&fleet(300, 1));
        assert_eq!(fingerprint(&inventory), 4826293975242757681, "inventory");
        assert_eq!(fingerprint(&campaign), 6849124353683554552, "campaign");
    }

    #[test]
    fn an_empty_fleet_still_has_its_platform_and_campaign() {
        let f = fleet(0, 3);
        assert_eq!(f.inventory.platform.time_zone, "Europe/Berlin");
        assert_eq!(f.inventory.platform.windows, ["Mon-Fri 22:00-05:00"]);
        assert!(f.inventory.customers.is_empty() && f.inventory.hosts.is_empty() && f.inventory.devices.is_empty());
        assert_eq!(f.campaign.id, "os-update-3");
    }

    #[test]
    fn the_campaign_covers_two_weeks_in_the_platform_zone() {
        let c = fleet(10, 5).campaign;
        assert_eq!(c.starts.0, "2027-03-01T00:00:00+01:00");
        assert_eq!(c.publish_at.0, "2027-02-22T00:00:00+01:00");
        assert_eq!(c.ends.0, "2027-03-15T00:00:00+01:00");
        assert_eq!((c.notice.to_string(), c.tier_gap.to_string()), ("3d".to_owned(), "1d".to_owned()));
        // Across the change to summer time, midnight keeps its wall-clock time.
        let f = generate(&FleetConfig {
            machines: 10,
            seed: 5,
            campaign_start: date(2027, 3, 22),
            customer_machines: None,
        });
        assert_eq!(f.campaign.starts.0, "2027-03-22T00:00:00+01:00");
        assert_eq!(f.campaign.ends.0, "2027-04-05T00:00:00+02:00");
        assert_eq!(f.inventory.platform.blackouts[0].from.0, "2027-03-31T00:00:00+02:00");
        assert_eq!(f.inventory.platform.blackouts[0].to.0, "2027-04-01T00:00:00+02:00");
    }

    #[test]
    fn the_limits_grow_with_the_fleet() {
        assert_eq!(fleet(5_000, 1).campaign.limits.global, Some(400));
        let big = campaign(
            &FleetConfig { machines: 1_000_000, seed: 1, campaign_start: date(2027, 3, 1), customer_machines: None },
            &Zones::new().platform,
        );
        assert_eq!(big.limits.global, Some(10_000));
    }

    #[test]
    fn the_fleet_is_shaped_like_a_hosting_provider() {
        let n = 40_000;
        let f = fleet(n, 11);
        let inv = parse_inventory("inventory.json", &serde_json::to_string(&f.inventory).unwrap()).unwrap();

        // Customers: about 20 machines each, a long tail, 1 to 3 contacts.
        let mut per_customer = vec![0usize; inv.customers.len()];
        for m in &inv.machines {
            per_customer[inv.customer_index_of(m)] += 1;
        }
        let mean = n / inv.customers.len();
        assert!((15..=28).contains(&mean), "{mean} machines per customer");
        per_customer.sort_unstable();
        let median = per_customer[per_customer.len() / 2];
        assert!((4..=10).contains(&median), "median {median}");
        let largest = *per_customer.last().unwrap();
        assert!((300..=MAX_CUSTOMER_MACHINES).contains(&largest), "largest {largest}");
        assert!(inv.customers.iter().all(|c| (1..=3).contains(&c.contacts.len())));
        let foreign = inv.customers.iter().filter(|c| c.zone.is_some()).count() * 100 / inv.customers.len();
        assert!((8..=20).contains(&foreign), "{foreign} % with their own zone");
        let german = inv.customers.iter().flat_map(|c| &c.contacts).filter(|c| c.language.code() == "de").count();
        assert!(german > 0 && german * 2 < inv.customers.len(), "{german} German contacts");

        // Tiers: production has most machines.
        let s = inv.summary();
        let tiers: HashMap<&str, usize> = s.per_tier.iter().map(|(t, k)| (t.as_str(), *k)).collect();
        assert!(tiers["production"] * 100 / n >= 65, "{tiers:?}");
        assert!(tiers["staging"] > tiers["testing"] && tiers["testing"] > 0, "{tiers:?}");
        let mut projects = vec![0usize; inv.customers.len()];
        for p in &inv.projects {
            projects[p.customer] += 1;
        }
        assert!(projects.iter().all(|k| (1..=5).contains(k)));
        assert!(projects.contains(&5));

        // Hosts and racks.
        assert_eq!(inv.hosts.len(), n / GUESTS_PER_HOST);
        assert_eq!(s.racks, n / GUESTS_PER_HOST / HOSTS_PER_RACK);
        let mut guests = vec![0usize; inv.hosts.len()];
        for m in &inv.machines {
            guests[m.host] += 1;
        }
        assert!(guests.iter().all(|&g| (37..=43).contains(&g)), "{guests:?}");

        // Redundancy groups: 2 or 3 production machines, about 1 % sharing a host.
        let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
        for m in &inv.machines {
            for g in inv.group_names(m) {
                assert_eq!(inv.tier_name(m), "production");
                groups.entry(g).or_default().push(m.host);
            }
        }
        assert!(groups.values().all(|h| (2..=3).contains(&h.len())));
        let shared = groups.values().filter(|h| h.iter().collect::<HashSet<_>>().len() < h.len()).count();
        assert!(shared > 0 && shared * 100 < groups.len() * 3, "{shared} of {} groups share a host", groups.len());
        assert_eq!(shared, s.groups_sharing_a_host.len());

        // A project's machines spread over hosts.
        let mut hosts_of: HashMap<usize, HashSet<usize>> = HashMap::new();
        let mut size_of: HashMap<usize, usize> = HashMap::new();
        for m in &inv.machines {
            hosts_of.entry(m.project).or_default().insert(m.host);
            *size_of.entry(m.project).or_default() += 1;
        }
        let hosts = inv.hosts.len();
        let spread = size_of.iter().filter(|&(p, &k)| k >= 10 && hosts_of[p].len() * 10 >= k.min(hosts) * 6).count();
        assert_eq!(spread, size_of.values().filter(|&&k| k >= 10).count());

        // Windows from every level; blackouts for the platform and a few customers.
        let levels: Vec<_> = s.per_window_level.iter().map(|(l, _)| *l).collect();
        assert_eq!(levels, [WindowLevel::Machine, WindowLevel::Project, WindowLevel::Customer, WindowLevel::Platform]);
        let platform = s.per_window_level.iter().find(|(l, _)| *l == WindowLevel::Platform).unwrap().1;
        assert!(platform * 2 > n, "{platform} machines with the platform's windows");
        let blackouts = inv.customers.iter().filter(|c| !c.blackouts.is_empty()).count();
        assert!(blackouts > 0 && blackouts * 100 < inv.customers.len() * 6, "{blackouts} customers with blackouts");
        assert_eq!(inv.platform.blackouts.len(), 1);

        // Services from a small set.
        let services: HashSet<&str> = inv.machines.iter().flat_map(|m| inv.service_names(m)).collect();
        assert_eq!(services.len(), 6, "{services:?}");
        assert!(inv.devices.iter().any(|d| d.racks.len() == RACKS_PER_POD));
    }
}
