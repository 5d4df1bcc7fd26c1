//! forewarn's domain: inventory and campaign files, their validation, and
//! maintenance windows. Pure: no IO, no clock; time is always a parameter.

pub mod campaign;
pub mod diag;
pub mod doc;
pub mod fleet;
pub mod fxhash;
pub mod ical;
pub mod inventory;
pub mod text;
pub mod time;
pub mod tz;
pub mod window;

pub use campaign::{Campaign, CampaignFile, parse_campaign};
pub use diag::{Diagnostic, Diagnostics};
pub use inventory::{Inventory, InventoryFile, parse_inventory};
pub use time::{Duration, TimeText};
pub use window::{Occurrence, Window, Zone};
