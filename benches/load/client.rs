//! The load generator's HTTP client and the request bodies it sends.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// One HTTP/1.1 keep-alive connection (hyper's connection-level client: no
/// pool, no per-request connector work).
pub(crate) struct Http {
    tx: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    host: HeaderValue,
}

impl Http {
    pub(crate) async fn connect(addr: SocketAddr) -> anyhow::Result<Http> {
        let s = tokio::net::TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let (tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Http {
            tx,
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
        })
    }

    pub(crate) async fn send(
        &mut self,
        method: Method,
        path: &str,
        auth: Option<&HeaderValue>,
        body: Bytes,
    ) -> anyhow::Result<(u16, Bytes)> {
        if self.tx.is_closed() {
            *self = Http::connect(self.addr).await?;
        }
        self.tx.ready().await?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.host);
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        if !body.is_empty() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        let resp = self.tx.send_request(req.body(Full::new(body))?).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// A 64-hex-character digest, different for every (worker, n).
pub(crate) fn digest_hex(worker: usize, n: u64) -> String {
    let mut x = ((worker as u64) << 40) ^ n ^ 0x5eed_0000_0000_0000;
    let mut out = String::with_capacity(64);
    for _ in 0..4 {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let _ = write!(out, "{z:016x}");
    }
    out
}

pub(crate) fn single_body(worker: usize, n: u64) -> Bytes {
    Bytes::from(format!(r#"{{"sha256":"{}"}}"#, digest_hex(worker, n)))
}

pub(crate) fn batch_body(worker: usize, n: u64, items: usize) -> Bytes {
    let mut s = String::with_capacity(items * 80 + 16);
    s.push_str(r#"{"items":["#);
    for i in 0..items {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#"{{"sha256":"{}"}}"#,
            digest_hex(worker, n * items as u64 + i as u64)
        );
    }
    s.push_str("]}");
    Bytes::from(s)
}

/// The entry id in a 202 answer to `POST /v1/evidence`.
pub(crate) fn id_of(body: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(body).ok()?;
    let at = s.find(r#""id":""#)? + 6;
    Some(s.get(at..at + 32)?.to_string())
}
