//! Login throttling (SPEC §12.9 as changed by issue 16, item 7). SPEC §12.9 locked a username
//! after `login_max_attempts` failures from anywhere, so anyone could lock out the admin. Now
//! failures count per (username, client address):
//!
//! * each failure makes that pair wait longer before its next attempt: 1 s, 2 s, 4 s, … (at
//!   most a minute), which slows guessing without locking anyone else out;
//! * `login_max_attempts` failures within `login_lockout_minutes` lock the pair until the window
//!   has passed, or until the account's owner (signed in from elsewhere) or an admin lifts it;
//! * an address with four times that many failures, for any usernames, is refused outright
//!   (password spraying), as SPEC §12.9 has it; bearer tokens count there too.
//!
//! Attempts in progress count as failures until they end, so parallel requests cannot guess
//! more than the limit. Kept in memory: a restart forgets it, which only ever helps a legitimate
//! user, and only an operator can restart the server.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest wait between two attempts of one pair.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// Pairs kept before the ones with nothing to remember are dropped.
const SWEEP_AT: usize = 10_000;

/// Why an attempt is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too soon after the last failure: wait this many seconds.
    Wait(u64),
    /// Locked (the pair or the whole address): this many minutes left.
    Locked(u64),
}

#[derive(Default)]
struct Pair {
    failures: VecDeque<Instant>,
    pending: usize,
}

#[derive(Default)]
struct State {
    pairs: HashMap<(String, String), Pair>,
    addresses: HashMap<String, VecDeque<Instant>>,
}

/// Failure counters per (username, address) and per address.
pub struct Throttle {
    max: usize,
    window: Duration,
    clock: fn() -> Instant,
    state: Mutex<State>,
}

fn prune(q: &mut VecDeque<Instant>, window: Duration, now: Instant) {
    while q
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        q.pop_front();
    }
}

/// The wait after `n` failures: 1 s after the first, doubling, at most [`MAX_DELAY`].
fn delay(n: usize) -> Duration {
    let exp = u32::try_from(n.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(6);
    Duration::from_secs(1u64 << exp).min(MAX_DELAY)
}

fn minutes(d: Duration) -> u64 {
    d.as_secs().div_ceil(60).max(1)
}

fn key(username: &str, ip: &str) -> (String, String) {
    (username.to_lowercase(), ip.to_string())
}

/// A login attempt that passed the throttle; it counts against the limit until it ends with
/// [`Throttle::fail`] or [`Throttle::succeed`] (or is dropped, e.g. a request cut short).
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    key: (String, String),
    ended: bool,
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.ended {
            self.throttle.end(&self.key, None);
        }
    }
}

impl Throttle {
    /// `max` failures per (username, address) within `minutes`.
    pub fn new(max: u32, minutes: u32) -> Self {
        Self::with_clock(max, minutes, Instant::now)
    }

    fn with_clock(max: u32, minutes: u32, clock: fn() -> Instant) -> Self {
        Self {
            max: (max as usize).max(1),
            window: Duration::from_secs(u64::from(minutes.max(1)) * 60),
            clock,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the counters inconsistent in a way that
        // matters more than refusing every login would.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits an attempt of `username` from `ip`, or says why not.
    pub fn begin(&self, username: &str, ip: &str) -> Result<Attempt<'_>, Refusal> {
        let now = (self.clock)();
        let key = key(username, ip);
        let mut st = self.lock();
        if let Some(left) = self.address_lock(&mut st, ip, now) {
            return Err(Refusal::Locked(minutes(left)));
        }
        self.sweep(&mut st, now);
        let pair = st.pairs.entry(key.clone()).or_default();
        prune(&mut pair.failures, self.window, now);
        self.pair_refusal(pair, now)?;
        pair.pending += 1;
        drop(st);
        Ok(Attempt {
            throttle: self,
            key,
            ended: false,
        })
    }

    fn pair_refusal(&self, pair: &Pair, now: Instant) -> Result<(), Refusal> {
        let n = pair.failures.len();
        if let Some(oldest) = pair.failures.front().filter(|_| n >= self.max) {
            let left = self
                .window
                .saturating_sub(now.saturating_duration_since(*oldest));
            return Err(Refusal::Locked(minutes(left)));
        }
        if n + pair.pending >= self.max {
            return Err(Refusal::Wait(1));
        }
        if let Some(last) = pair.failures.back() {
            let wait = delay(n).saturating_sub(now.saturating_duration_since(*last));
            if !wait.is_zero() {
                let secs = wait.as_millis().div_ceil(1000);
                return Err(Refusal::Wait(u64::try_from(secs).unwrap_or(u64::MAX)));
            }
        }
        Ok(())
    }

    /// Forgets pairs with nothing to remember, so that guessing many usernames cannot grow the
    /// table without bound.
    fn sweep(&self, st: &mut State, now: Instant) {
        if st.pairs.len() < SWEEP_AT {
            return;
        }
        st.pairs.retain(|_, pair| {
            prune(&mut pair.failures, self.window, now);
            pair.pending > 0 || !pair.failures.is_empty()
        });
        st.addresses.retain(|_, q| {
            prune(q, self.window, now);
            !q.is_empty()
        });
    }

    fn address_lock(&self, st: &mut State, ip: &str, now: Instant) -> Option<Duration> {
        let q = st.addresses.get_mut(ip)?;
        prune(q, self.window, now);
        if q.len() < self.max * 4 {
            return None;
        }
        let oldest = *q.front()?;
        Some(
            self.window
                .saturating_sub(now.saturating_duration_since(oldest)),
        )
    }

    /// Ends an attempt: a failure is counted for the pair and the address; a success clears
    /// the pair; `None` (an attempt cut short) only frees its place.
    fn end(&self, key: &(String, String), failed: Option<bool>) {
        let now = (self.clock)();
        let mut st = self.lock();
        if let Some(pair) = st.pairs.get_mut(key) {
            pair.pending = pair.pending.saturating_sub(1);
            match failed {
                Some(true) => pair.failures.push_back(now),
                Some(false) => pair.failures.clear(),
                None => {}
            }
        }
        if failed == Some(true) {
            let q = st.addresses.entry(key.1.clone()).or_default();
            prune(q, self.window, now);
            q.push_back(now);
        }
    }

    /// Records a failed attempt.
    pub fn fail(&self, mut attempt: Attempt<'_>) {
        attempt.ended = true;
        self.end(&attempt.key, Some(true));
    }

    /// Records a successful login: the pair starts afresh.
    pub fn succeed(&self, mut attempt: Attempt<'_>) {
        attempt.ended = true;
        self.end(&attempt.key, Some(false));
    }

    /// Lifts every lockout and wait of `username` (all addresses), as its owner or an admin
    /// asks; returns how many addresses were locked.
    pub fn lift(&self, username: &str) -> usize {
        let name = username.to_lowercase();
        let now = (self.clock)();
        let mut st = self.lock();
        let mut locked = 0;
        st.pairs.retain(|(u, _), pair| {
            if *u != name {
                return true;
            }
            prune(&mut pair.failures, self.window, now);
            locked += usize::from(pair.failures.len() >= self.max);
            pair.pending > 0
        });
        for ((u, _), pair) in st.pairs.iter_mut() {
            if *u == name {
                pair.failures.clear();
            }
        }
        locked
    }

    /// How many addresses `username` is locked out from now.
    pub fn locked_addresses(&self, username: &str) -> usize {
        let name = username.to_lowercase();
        let now = (self.clock)();
        let mut st = self.lock();
        st.pairs
            .iter_mut()
            .filter(|((u, _), _)| *u == name)
            .filter_map(|(_, pair)| {
                prune(&mut pair.failures, self.window, now);
                (pair.failures.len() >= self.max).then_some(())
            })
            .count()
    }

    /// `Some(minutes)` to wait when the address alone is locked out (four times `max`
    /// failures): the API's bearer tokens have no username to count by.
    pub fn address_locked(&self, ip: &str) -> Option<u64> {
        let now = (self.clock)();
        let mut st = self.lock();
        self.address_lock(&mut st, ip, now).map(minutes)
    }

    /// Records a failure counted by address only.
    pub fn fail_address(&self, ip: &str) {
        let now = (self.clock)();
        let mut st = self.lock();
        let q = st.addresses.entry(ip.to_string()).or_default();
        prune(q, self.window, now);
        q.push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    /// A test clock: a fixed start plus an offset the test advances (one per test, by name).
    macro_rules! test_clock {
        ($offset:ident, $now:ident) => {
            static $offset: AtomicU64 = AtomicU64::new(0);
            fn $now() -> Instant {
                static START: OnceLock<Instant> = OnceLock::new();
                *START.get_or_init(Instant::now)
                    + Duration::from_secs($offset.load(Ordering::SeqCst))
            }
        };
    }

    fn fail(t: &Throttle, user: &str, ip: &str) {
        let a = t.begin(user, ip).expect("admitted");
        t.fail(a);
    }

    test_clock!(DELAYS, delays_now);

    #[test]
    fn each_failure_makes_the_pair_wait_longer() {
        let t = Throttle::with_clock(5, 15, delays_now);
        fail(&t, "amy", "1.1.1.1");
        assert_eq!(t.begin("amy", "1.1.1.1").err(), Some(Refusal::Wait(1)));
        DELAYS.fetch_add(1, Ordering::SeqCst);
        fail(&t, "amy", "1.1.1.1");
        assert_eq!(t.begin("AMY", "1.1.1.1").err(), Some(Refusal::Wait(2)));
        DELAYS.fetch_add(2, Ordering::SeqCst);
        fail(&t, "amy", "1.1.1.1");
        assert_eq!(t.begin("amy", "1.1.1.1").err(), Some(Refusal::Wait(4)));
        // Another address is not slowed down by these failures.
        assert!(t.begin("amy", "2.2.2.2").is_ok());
        assert_eq!(delay(40), MAX_DELAY);
    }

    test_clock!(LOCKS, locks_now);

    #[test]
    fn a_pair_locks_after_max_failures_and_others_still_get_in() {
        let t = Throttle::with_clock(3, 15, locks_now);
        for _ in 0..3 {
            LOCKS.fetch_add(61, Ordering::SeqCst);
            fail(&t, "admin", "6.6.6.6");
        }
        LOCKS.fetch_add(61, Ordering::SeqCst);
        assert_eq!(t.begin("admin", "6.6.6.6").err(), Some(Refusal::Locked(12)));
        assert_eq!(t.locked_addresses("ADMIN"), 1);
        // The owner elsewhere is not locked out (SPEC §12.9 locked the username everywhere).
        let owner = t.begin("admin", "10.0.0.5").expect("owner admitted");
        t.succeed(owner);
        // Lifted by the owner or an admin: the attacker's address may try again, slowly.
        assert_eq!(t.lift("admin"), 1);
        assert_eq!(t.locked_addresses("admin"), 0);
        assert!(t.begin("admin", "6.6.6.6").is_ok());
        // Or the window passes.
        for _ in 0..3 {
            LOCKS.fetch_add(61, Ordering::SeqCst);
            fail(&t, "bob", "6.6.6.7");
        }
        LOCKS.fetch_add(15 * 60, Ordering::SeqCst);
        assert!(t.begin("bob", "6.6.6.7").is_ok());
    }

    test_clock!(PENDING, pending_now);

    #[test]
    fn attempts_in_progress_count_until_they_end() {
        let t = Throttle::with_clock(2, 15, pending_now);
        let a = t.begin("amy", "1.1.1.1").expect("first");
        let b = t.begin("amy", "1.1.1.1").expect("second");
        assert_eq!(t.begin("amy", "1.1.1.1").err(), Some(Refusal::Wait(1)));
        drop(a);
        t.succeed(b);
        assert!(t.begin("amy", "1.1.1.1").is_ok());
    }

    test_clock!(SPRAY, spray_now);

    #[test]
    fn an_address_locks_after_four_times_max_failures_for_any_names() {
        let t = Throttle::with_clock(2, 15, spray_now);
        for i in 0..7 {
            fail(&t, &format!("u{i}"), "9.9.9.9");
        }
        assert!(t.begin("nobody", "9.9.9.9").is_ok());
        fail(&t, "u8", "9.9.9.9");
        assert_eq!(
            t.begin("nobody", "9.9.9.9").err(),
            Some(Refusal::Locked(15))
        );
        assert_eq!(t.address_locked("9.9.9.9"), Some(15));
        for _ in 0..8 {
            t.fail_address("3.3.3.3");
        }
        assert_eq!(t.address_locked("3.3.3.3"), Some(15));
        assert_eq!(t.address_locked("4.4.4.4"), None);
    }
}
