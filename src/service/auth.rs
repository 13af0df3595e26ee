//! API key authentication with bounded memory and bounded store work.
//!
//! - Valid keys are cached (an LRU of `limits.key_cache_capacity` keys, each
//!   for [`KEY_CACHE_TTL`]); unknown keys are never cached, so a flood of
//!   random keys cannot push a valid key out of the cache.
//! - Unknown keys are counted per client address (IPv4 address, IPv6 /64):
//!   after `limits.auth_failures` of them within
//!   `limits.auth_failure_window_s`, that client's keys that are not in the
//!   cache are refused with 429 and Retry-After before the store is asked,
//!   so the store lookups a client can cause are bounded. The addresses are
//!   themselves kept in an LRU of [`MAX_TRACKED_CLIENTS`].

use super::{AppState, Caller, Error, key_hash};
use lru::LruCache;
use notarium_core::entry::SubmitterId;
use notarium_core::merkle::Hash;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a valid API key is trusted without asking the store again (a
/// revoked key stops working within this time).
pub(super) const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

/// Client addresses whose failures are counted at once; the least recently
/// failing is forgotten beyond.
pub(super) const MAX_TRACKED_CLIENTS: usize = 65_536;

/// The valid keys recently seen: key hash → (tenant, when looked up).
#[derive(Debug)]
pub(super) struct KeyCache(Mutex<LruCache<Hash, (SubmitterId, Instant)>>);

impl KeyCache {
    pub(super) fn new(capacity: usize) -> Self {
        let cap = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        KeyCache(Mutex::new(LruCache::new(cap)))
    }

    fn get(&self, h: &Hash) -> Option<SubmitterId> {
        let mut c = self.0.lock().expect("key cache");
        match c.get(h) {
            Some((t, at)) if at.elapsed() < KEY_CACHE_TTL => Some(t.clone()),
            Some(_) => {
                c.pop(h);
                None
            }
            None => None,
        }
    }

    fn put(&self, h: Hash, tenant: SubmitterId) {
        self.0
            .lock()
            .expect("key cache")
            .put(h, (tenant, Instant::now()));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().expect("key cache").len()
    }
}

/// Failed authentications per client address, in fixed windows.
#[derive(Debug)]
pub(super) struct AuthFailures {
    limit: u32,
    window: Duration,
    clients: Mutex<LruCache<IpAddr, (Instant, u32)>>,
}

/// The address failures are counted under: IPv6 clients by /64 (one
/// subscriber usually holds a whole /64).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl AuthFailures {
    /// `limit` failures per `window` (a limit of 0 counts nothing).
    pub(super) fn new(limit: u32, window: Duration) -> Self {
        AuthFailures {
            limit,
            window,
            clients: Mutex::new(LruCache::new(
                NonZeroUsize::new(MAX_TRACKED_CLIENTS).expect("non-zero"),
            )),
        }
    }

    /// Seconds until `ip` may try an unknown key again, if it used up its
    /// failures in the current window.
    fn blocked(&self, ip: IpAddr) -> Option<u64> {
        if self.limit == 0 {
            return None;
        }
        let c = self.clients.lock().expect("auth failures");
        let (start, n) = *c.peek(&client_key(ip))?;
        let left = self
            .window
            .checked_sub(start.elapsed())
            .filter(|l| !l.is_zero())?;
        (n >= self.limit).then(|| left.as_secs_f64().ceil().max(1.0) as u64)
    }

    fn failed(&self, ip: IpAddr) {
        if self.limit == 0 {
            return;
        }
        let mut c = self.clients.lock().expect("auth failures");
        let now = Instant::now();
        let e = c.get_or_insert_mut(client_key(ip), || (now, 0));
        if now.duration_since(e.0) >= self.window {
            *e = (now, 0);
        }
        e.1 = e.1.saturating_add(1);
    }
}

impl AppState {
    /// The tenant of a `Bearer` API key (`authorization` is the header's
    /// value) for a client at `client` (its address, when known).
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Caller, Error> {
        let key = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(Error::Unauthorized)?;
        let h = key_hash(key);
        if let Some(tenant) = self.keys.get(&h) {
            return Ok(Caller { tenant, key: h });
        }
        if let Some(retry_after) = client.and_then(|ip| self.auth_failures.blocked(ip)) {
            return Err(Error::TooManyAuthFailures { retry_after });
        }
        let found = self.store.tenant_for_key(&h).await?;
        self.metrics.key_lookup(found.is_some());
        match found {
            Some(tenant) => {
                self.keys.put(h, tenant.clone());
                Ok(Caller { tenant, key: h })
            }
            None => {
                if let Some(ip) = client {
                    self.auth_failures.failed(ip);
                }
                Err(Error::UnknownKey)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u32) -> Hash {
        key_hash(&i.to_string())
    }

    #[test]
    fn the_key_cache_is_bounded_and_keeps_the_recently_used() {
        let c = KeyCache::new(3);
        let t = SubmitterId::parse("acme").unwrap();
        for i in 0..3 {
            c.put(h(i), t.clone());
        }
        assert!(c.get(&h(0)).is_some());
        c.put(h(3), t.clone());
        assert_eq!(c.len(), 3);
        assert!(c.get(&h(0)).is_some(), "recently used");
        assert!(c.get(&h(1)).is_none(), "least recently used, evicted");
    }

    #[test]
    fn failures_are_counted_per_client_in_windows() {
        let f = AuthFailures::new(2, Duration::from_secs(60));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        f.failed(a);
        assert_eq!(f.blocked(a), None);
        f.failed(a);
        assert!(matches!(f.blocked(a), Some(s) if (59..=60).contains(&s)));
        assert_eq!(f.blocked(b), None);
        // One IPv6 /64 counts as one client.
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        f.failed(v6a);
        f.failed(v6b);
        assert!(f.blocked(v6a).is_some());
        assert_eq!(f.blocked("2001:db8:1:3::1".parse().unwrap()), None);
        // A window that has passed starts over.
        let f = AuthFailures::new(1, Duration::ZERO);
        f.failed(a);
        assert_eq!(f.blocked(a), None);
        // Limit 0: nothing is counted.
        let f = AuthFailures::new(0, Duration::from_secs(60));
        f.failed(a);
        assert_eq!(f.blocked(a), None);
    }
}
