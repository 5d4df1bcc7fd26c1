//! forewarn's status page domain: posts (maintenance, incidents, notices), their states,
//! updates and corrections, and everything rendered from them. Pure: no IO, no clock;
//! "now" is always a parameter.

pub mod post;

pub use post::{Component, ComponentKind, ComponentStatus, Post, PostKind, PostState, Revision, Update};
