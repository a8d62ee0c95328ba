//! The reference stack as a description: its nodes, zones, ports and hops
//! ([`topology`]), the timers it is started with ([`settings`]) and its
//! components' configuration files ([`configs`]). Starting it is the
//! platform's business.

pub mod configs;
pub mod settings;
pub mod topology;

pub use settings::StackSettings;
pub use topology::{NodeSpec, Service};
