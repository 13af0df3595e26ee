//! The Notarium notary: HTTP API, group-committed intake with signed
//! receipts, the sequencer, witnessing, certificates, the business client
//! and the demo. The formats and checks live in `notarium-core`.
#![forbid(unsafe_code)]

pub mod api;
pub mod budget;
pub mod bulk;
pub mod client;
pub mod config;
pub mod demo;
pub mod intake;
pub mod metrics;
pub mod monitor;
pub mod render;
pub mod sequencer;
pub mod server;
pub mod service;
pub mod store;
pub mod tiles;
pub mod tls;
pub mod tsa;
pub mod witnessing;
