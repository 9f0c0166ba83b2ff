//! Login rate limiting (SPEC §12.9): after `login_max_attempts` failures for one username, or
//! four times that from one client address, within `login_lockout_minutes`, further attempts are
//! refused with 429 until the window has passed. Kept in memory: a restart forgets it, which
//! only ever helps a legitimate user.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failure counters per username and per client address.
pub struct Throttle {
    max: usize,
    window: Duration,
    users: Mutex<HashMap<String, VecDeque<Instant>>>,
    ips: Mutex<HashMap<String, VecDeque<Instant>>>,
}

fn prune(q: &mut VecDeque<Instant>, window: Duration, now: Instant) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
}

impl Throttle {
    /// `max` failures per username within `minutes`.
    pub fn new(max: u32, minutes: u32) -> Self {
        Self {
            max: max.max(1) as usize,
            window: Duration::from_secs(u64::from(minutes.max(1)) * 60),
            users: Mutex::new(HashMap::new()),
            ips: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(minutes)` to wait when the username or address is locked out.
    pub fn locked(&self, username: &str, ip: &str) -> Option<u64> {
        let now = Instant::now();
        let check = |map: &Mutex<HashMap<String, VecDeque<Instant>>>, key: &str, limit: usize| {
            let mut map = map.lock().ok()?;
            let q = map.get_mut(key)?;
            prune(q, self.window, now);
            if q.len() >= limit {
                let oldest = *q.front()?;
                let left = self.window.saturating_sub(now.duration_since(oldest));
                Some(left.as_secs().div_ceil(60).max(1))
            } else {
                None
            }
        };
        check(&self.users, &username.to_lowercase(), self.max)
            .or_else(|| check(&self.ips, ip, self.max * 4))
    }

    /// Records a failed attempt.
    pub fn fail(&self, username: &str, ip: &str) {
        let now = Instant::now();
        for (map, key) in [
            (&self.users, username.to_lowercase()),
            (&self.ips, ip.to_string()),
        ] {
            if let Ok(mut m) = map.lock() {
                let q = m.entry(key).or_default();
                prune(q, self.window, now);
                q.push_back(now);
            }
        }
    }

    /// `Some(minutes)` to wait when the address alone is locked out (four times `max`
    /// failures): the API's bearer tokens have no username to count by.
    pub fn address_locked(&self, ip: &str) -> Option<u64> {
        let now = Instant::now();
        let mut map = self.ips.lock().ok()?;
        let q = map.get_mut(ip)?;
        prune(q, self.window, now);
        if q.len() >= self.max * 4 {
            let left = self.window.saturating_sub(now.duration_since(*q.front()?));
            Some(left.as_secs().div_ceil(60).max(1))
        } else {
            None
        }
    }

    /// Records a failure counted by address only.
    pub fn fail_address(&self, ip: &str) {
        if let Ok(mut m) = self.ips.lock() {
            let q = m.entry(ip.to_string()).or_default();
            prune(q, self.window, Instant::now());
            q.push_back(Instant::now());
        }
    }

    /// Forgets a username's failures after a successful login.
    pub fn succeed(&self, username: &str) {
        if let Ok(mut m) = self.users.lock() {
            m.remove(&username.to_lowercase());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_per_user_and_four_times_that_per_address() {
        let t = Throttle::new(2, 15);
        t.fail("Amy", "1.1.1.1");
        assert_eq!(t.locked("amy", "2.2.2.2"), None);
        t.fail("amy", "1.1.1.1");
        assert_eq!(t.locked("AMY", "2.2.2.2"), Some(15));
        for i in 0..6 {
            t.fail(&format!("u{i}"), "9.9.9.9");
        }
        assert_eq!(t.locked("nobody", "9.9.9.9"), None);
        t.fail("u7", "9.9.9.9");
        t.fail("u8", "9.9.9.9");
        assert!(t.locked("nobody", "9.9.9.9").is_some());
    }

    #[test]
    fn addresses_alone_lock_after_four_times_max_failures() {
        let t = Throttle::new(2, 15);
        for _ in 0..7 {
            t.fail_address("3.3.3.3");
        }
        assert_eq!(t.address_locked("3.3.3.3"), None);
        assert_eq!(t.address_locked("4.4.4.4"), None);
        t.fail_address("3.3.3.3");
        assert_eq!(t.address_locked("3.3.3.3"), Some(15));
        assert_eq!(t.locked("someone", "4.4.4.4"), None);
    }
}
