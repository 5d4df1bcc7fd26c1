//! forewarn's planner: one slot per target inside its window, within every
//! limit, or a reason in words; and the independent checker of any plan.
//! Pure and deterministic: no IO, no clock.

mod bound;
pub mod check;
mod explain;
pub mod fleetlock;
pub mod plan;
pub mod render;
mod search;

pub use explain::local;
pub use plan::{Plan, PlanFile, Slot, SlotEntry, Unscheduled, UnscheduledEntry, Why};
pub use search::{Keep, next_starts, plan, plan_keeping};
