//! forewarn's machine agent, `forewarn agent`: it runs on each machine, asks the coordinator
//! (`/agent/v1`) what is due, runs it and reports. This crate holds what the agent decides,
//! pure (no IO, no clock): the machine's identity as FleetLock knows it ([`identity`]), its
//! configuration file ([`config`]), which alone says which command runs for an activity, and
//! what a command's exit status means ([`exit`]).

pub mod config;
pub mod exit;
pub mod identity;
