//! forewarn's status page domain: posts (maintenance, incidents, notices), their states,
//! updates and corrections, and everything rendered from them: the public pages, the Atom
//! feed, the maintenance calendar, the announcement of a published campaign, and the check of
//! hand-written dates against their campaign. Pure: no IO, no clock; "now" is always a
//! parameter, and the same input gives the same bytes.

pub mod announce;
pub mod atom;
pub mod calendar;
pub mod dates;
pub mod escape;
pub mod markdown;
pub mod pages;
pub mod post;
pub mod site;
pub mod status;
pub mod when;

#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod testing;

pub use announce::{NewAnnouncement, announcement};
pub use atom::feed;
pub use calendar::calendar;
pub use dates::DateProblem;
pub use post::{Component, ComponentKind, ComponentStatus, Impact, Post, PostKind, PostState, Revision, Update};
pub use site::Site;
