//! Tether's sans-IO client engine. (Work in progress: see the client-engine issue.)

pub use tether_protocol as protocol;
