//! What both Notarium HTTP servers share.
//!
//! The notary (`notarium serve`) and the witness (`notarium-witness serve`)
//! are two actix-web services run by different institutions. What an
//! operator or an auditor sees of them at the HTTP layer should behave the
//! same way on both, so it is written once, here:
//!
//! - [`metrics`]: the Prometheus text exposition of `/metrics` (family
//!   headers, label escaping, the latency [`Histogram`]).
//! - [`tls`]: the certificate and key of the HTTPS listener, read from PEM
//!   files and re-read on SIGHUP without dropping a connection.
//!
//! This crate holds no protocol or storage logic of either server.
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations, missing_docs)]

pub mod metrics;
pub mod tls;

pub use metrics::{Histogram, Kind, Labels};
