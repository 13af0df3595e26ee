//! RFC 3161 over HTTP (§3.4): `notarium tsa`, the development TSA for the
//! demo and the tests, and [`request_timestamp`], the client of any TSA
//! (it tells a TSA that is down from one that answers wrongly), and
//! [`Stamping`], the notary's task that timestamps final checkpoints. The tokens and their checks are `notarium-timestamp`'s.
//!
//! The server answers `POST /` with `Content-Type: application/timestamp-query`
//! by `200 application/timestamp-reply` (a TimeStampResp: granted, or a
//! rejection with its PKIFailureInfo for a request it cannot serve); any
//! other method, path or media type gets a JSON error
//! `{"error": {"code", "message"}}` with a 4xx status.

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use notarium_core::TrustRoots;
use notarium_core::identity::CertInfo;
use notarium_core::merkle::Hash;
use notarium_timestamp::tsa::DevTsa;
use notarium_timestamp::{TimestampError, TimestampInfo, TimestampRequest};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::Digest;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// RFC 3161 §3.4's media types.
pub const QUERY_TYPE: &str = "application/timestamp-query";
/// RFC 3161 §3.4's media types.
pub const REPLY_TYPE: &str = "application/timestamp-reply";
/// The largest request the TSA reads, and the largest reply the client
/// reads (a token with a certificate chain is a few KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// The TSA's key (PKCS#8 PEM, P-256) and certificate (PEM, critical
/// timeStamping EKU), read from files; the message says which is wrong.
pub fn load(key: &Path, cert: &Path) -> Result<DevTsa, String> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    DevTsa::from_pem(&read(key)?, &read(cert)?)
        .map_err(|e| format!("{} / {}: {e}", key.display(), cert.display()))
}

/// Listens on `listen` (host:port, port 0 picks one), prints
/// `notarium tsa listening on http://ADDR` and serves until a signal.
pub async fn serve(tsa: DevTsa, listen: &str) -> anyhow::Result<()> {
    let tsa = web::Data::new(Arc::new(tsa));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(tsa.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route("/", web::post().to(timestamp))
            .route(
                "/",
                web::to(|| async {
                    error(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "method_not_allowed",
                        "POST a DER TimeStampReq to /",
                    )
                }),
            )
            .default_service(web::to(|| async {
                error(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "the TSA answers POST / only",
                )
            }))
    })
    .workers(1)
    .bind(listen)
    .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = *server.addrs().first().expect("bound");
    println!("notarium tsa: a DEVELOPMENT timestamping authority, not for production");
    println!("notarium tsa listening on http://{addr}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    server.run().await?;
    Ok(())
}

fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .json(serde_json::json!({"error": {"code": code, "message": message}}))
}

async fn timestamp(
    tsa: web::Data<Arc<DevTsa>>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let media = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref() != Some(QUERY_TYPE) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be a DER TimeStampReq with Content-Type: application/timestamp-query (RFC 3161 §3.4)",
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // A serial number unique to this TSA: 128 random bits (RFC 3161
    // §2.4.2 allows up to 160).
    let mut serial = [0u8; 16];
    if SystemRandom::new().fill(&mut serial).is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "no randomness for a serial number",
        );
    }
    HttpResponse::Ok()
        .content_type(REPLY_TYPE)
        .body(tsa.respond(&body, now, &serial))
}

/// Why a TSA gave no usable token.
#[derive(Debug, thiserror::Error)]
pub enum TsaClientError {
    /// Nothing usable came back: connection refused, timeout, a broken
    /// transfer. Retrying later may help.
    #[error("the TSA at {url} cannot be reached: {why}")]
    Unreachable {
        /// The TSA's URL.
        url: String,
        /// The transport's reason.
        why: String,
    },
    /// The TSA answered, but not with a timestamp reply.
    #[error(
        "the TSA at {url} answered HTTP {status} ({content_type}), not a timestamp reply: {body}"
    )]
    NotAReply {
        /// The TSA's URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Its Content-Type.
        content_type: String,
        /// The start of its body, as text.
        body: String,
    },
    /// The reply is refused: garbage, a rejection, a wrong imprint or
    /// nonce, a token that does not verify or is signed by an untrusted key.
    #[error("the TSA at {url} gave a token that is refused: {why}")]
    Refused {
        /// The TSA's URL.
        url: String,
        /// The check that failed.
        why: TimestampError,
    },
}

/// Asks the TSA at `url` for a token over `imprint` (SHA-256 of the data):
/// a request with a fresh random 64-bit nonce and certReq, POSTed as
/// `application/timestamp-query`; the reply must be
/// `application/timestamp-reply`, granted, with a token that verifies
/// against `roots` (through `intermediates`, CA certificates the token may
/// not carry) over this imprint, with this nonce.
pub async fn request_timestamp(
    http: &reqwest::Client,
    url: &str,
    imprint: Hash,
    roots: &TrustRoots,
    intermediates: &[CertInfo],
) -> Result<(Vec<u8>, TimestampInfo), TsaClientError> {
    let refused = |why| TsaClientError::Refused {
        url: url.to_string(),
        why,
    };
    let unreachable = |why: String| TsaClientError::Unreachable {
        url: url.to_string(),
        why,
    };
    let mut nonce = [0u8; 8];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| unreachable("no randomness for a nonce".into()))?;
    let request = TimestampRequest::new(imprint, &nonce).map_err(refused)?;
    let mut resp = http
        .post(url)
        .header("content-type", QUERY_TYPE)
        .body(request.der().to_vec())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| unreachable(error_chain(&e)))?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type")
        .to_string();
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| unreachable(error_chain(&e)))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(refused(TimestampError::Malformed {
                what: "response",
                why: format!("longer than {MAX_BODY} bytes"),
            }));
        }
        body.extend_from_slice(&chunk);
    }
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if status != 200 || media != REPLY_TYPE {
        let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        return Err(TsaClientError::NotAReply {
            url: url.to_string(),
            status,
            content_type,
            body: text,
        });
    }
    request
        .check_response(&body, roots, intermediates)
        .map_err(refused)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Per-TSA retry state of the stamping task.
#[derive(Debug, Clone)]
struct TsaState {
    failures: u32,
    next_try: tokio::time::Instant,
}

/// The stamping task (contract §9): for each final checkpoint, in order, a
/// token from every configured TSA over SHA-256 of the checkpoint body,
/// checked by [`request_timestamp`] before it is stored. A checkpoint whose
/// tokens number fewer than `required` keeps its entries without a
/// certificate (pending) while witnessing goes on; a TSA that is down or
/// answers wrongly is asked again with backoff (100 ms doubling to 5 s).
pub struct Stamping {
    pub store: Arc<dyn notarium_store::Store>,
    pub tsa: crate::config::TsaConfig,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// How often the task looks for a new final checkpoint when idle.
const STAMPING_POLL: Duration = Duration::from_millis(50);

impl Stamping {
    /// Runs while this process leads (the sequencer's process stamps).
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        notarium_http::tls::install_default_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .expect("HTTP client");
        let now = tokio::time::Instant::now();
        let mut states = vec![
            TsaState {
                failures: 0,
                next_try: now,
            };
            self.tsa.urls.len()
        ];
        // Every configured TSA is on /metrics from the start, at 0.
        for url in &self.tsa.urls {
            self.metrics.tsa(url);
        }
        // The size of the last final checkpoint known to hold its tokens.
        let mut stamped = 0u64;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let mut more = false;
            if self.metrics.leader.load(Relaxed) {
                match self.step(&http, &mut states, &mut stamped).await {
                    Ok(m) => more = m,
                    Err(e) => tracing::warn!(error = %e, "timestamping round failed"),
                }
            }
            if more {
                continue;
            }
            // Sleep until the next poll, or until a TSA's backoff ends.
            tokio::select! {
                _ = tokio::time::sleep(STAMPING_POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// One step: the first final checkpoint after `stamped` that lacks
    /// tokens; asks the TSAs it lacks a token from (those whose backoff has
    /// passed). True when it got all it needs (the next one can be worked
    /// on at once).
    async fn step(
        &self,
        http: &reqwest::Client,
        states: &mut [TsaState],
        stamped: &mut u64,
    ) -> anyhow::Result<bool> {
        // The latest final checkpoint first, then the first one up to it
        // that lacks tokens (one query however far back it is, so a
        // restarted notary does not walk its history): a checkpoint
        // finalized in between is larger and waits for the next round.
        let Some(latest) = self.store.latest_final().await? else {
            return Ok(false);
        };
        let required = self.tsa.required;
        let lacking = self
            .store
            .first_final_lacking_tokens(*stamped, latest.size, required);
        let Some(fin) = lacking.await? else {
            self.stamped(stamped, latest.size);
            return Ok(false);
        };
        let have = self.store.timestamp_tokens(fin.size).await?;
        if have.len() >= self.tsa.required {
            self.stamped(stamped, fin.size);
            return Ok(true);
        }
        let note = notarium_core::note::Note::parse(&fin.note)?;
        let imprint: Hash = sha2::Sha256::digest(note.text().as_bytes()).into();
        let now = tokio::time::Instant::now();
        let asks: Vec<usize> = (0..self.tsa.urls.len())
            .filter(|&i| states[i].next_try <= now)
            .filter(|&i| !have.iter().any(|t| t.tsa == self.tsa.urls[i]))
            .collect();
        let answers = futures::future::join_all(asks.iter().map(|&i| {
            request_timestamp(
                http,
                &self.tsa.urls[i],
                imprint,
                &self.tsa.roots,
                &self.tsa.intermediates,
            )
        }))
        .await;
        let mut got = have.len();
        let mut last_ms = have.iter().map(|t| t.stored_ms).max().unwrap_or(0);
        for (i, answer) in asks.into_iter().zip(answers) {
            let url = &self.tsa.urls[i];
            let st = &mut states[i];
            match answer {
                Ok((token, info)) => {
                    // Strictly increasing: certificates take the first
                    // `required` tokens in the order they were stored.
                    last_ms = notarium_log::clock::now().millis().max(last_ms + 1);
                    self.store
                        .add_timestamp_token(&notarium_store::TimestampToken {
                            size: fin.size,
                            tsa: url.clone(),
                            token,
                            gen_time: info.gen_time,
                            stored_ms: last_ms,
                        })
                        .await?;
                    st.failures = 0;
                    got += 1;
                    self.metrics.tsa(url).tokens.fetch_add(1, Relaxed);
                    tracing::info!(size = fin.size, tsa = %url, signer = %info.tsa, time = %info.gen_time_text(), "checkpoint timestamped");
                }
                Err(e) => {
                    let counters = self.metrics.tsa(url);
                    match &e {
                        TsaClientError::Refused { .. } => counters.refused.fetch_add(1, Relaxed),
                        _ => counters.unavailable.fetch_add(1, Relaxed),
                    };
                    st.failures += 1;
                    let backoff = Duration::from_millis((100u64 << st.failures.min(6)).min(5_000));
                    st.next_try = tokio::time::Instant::now() + backoff;
                    let retry_in_ms = backoff.as_millis() as u64;
                    match &e {
                        TsaClientError::Refused { .. } => {
                            tracing::error!(size = fin.size, tsa = %url, error = %e, retry_in_ms, "timestamp token refused, not stored")
                        }
                        _ => {
                            tracing::warn!(size = fin.size, tsa = %url, error = %e, retry_in_ms, "TSA unavailable; the checkpoint's certificates wait")
                        }
                    }
                }
            }
        }
        if got >= self.tsa.required {
            self.stamped(stamped, fin.size);
            return Ok(true);
        }
        Ok(false)
    }

    /// Every final checkpoint up to `size` holds its tokens.
    fn stamped(&self, stamped: &mut u64, size: u64) {
        *stamped = size;
        self.metrics.stamped_size.store(size, Relaxed);
    }
}
