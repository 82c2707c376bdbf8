//! Tether's reference server. (Work in progress: see the server issue.)

pub use tether_protocol as protocol;
