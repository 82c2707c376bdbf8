//! `tether-server` binary (being written).

fn main() {}
