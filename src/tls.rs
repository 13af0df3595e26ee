//! What the notary's HTTPS clients (`notarium submit`, the witnessing
//! loop) say when a connection fails: the whole cause chain, and whether
//! TLS refused the server's certificate.

use notarium_http::tls::rustls;
use std::error::Error;

/// `e` and its causes, `: `-separated (reqwest's own text stops at "error
/// sending request", which hides why).
pub fn error_chain(e: &(dyn Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}

/// `c` as a rustls error, looking through an `io::Error`.
fn as_rustls<'a>(c: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(t) = c.downcast_ref::<rustls::Error>() {
        return Some(t);
    }
    let io = c.downcast_ref::<std::io::Error>()?;
    io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
}

/// The TLS error under `e`, if the connection failed in the handshake
/// (for instance a certificate no trusted CA signed).
pub fn tls_problem(e: &(dyn Error + 'static)) -> Option<rustls::Error> {
    let mut cur: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(t) = as_rustls(c) {
            return Some(t.clone());
        }
        cur = c.source();
    }
    None
}

/// A handshake failure as an operator should read it.
pub fn describe_tls(t: &rustls::Error) -> String {
    match t {
        rustls::Error::InvalidCertificate(c) => format!(
            "the server's TLS certificate is not accepted ({c:?}): it is not signed by a CA this client trusts (the system's roots and --ca), or it does not name this host, or it has expired"
        ),
        t => format!("the TLS handshake failed: {t}"),
    }
}
