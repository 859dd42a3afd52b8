//! sgd's side of the host tables (`HOSTS_V4`, `HOSTS_V6`; see
//! `sg_common::rule::HOST_WAYS_V4`): set-associative arrays mapped into sgd's memory, written
//! way by way.
//!
//! A way is written value first, key last, and only while free, so a program never finds a
//! key whose value is not there yet. A freed way's key is zeroed (its value is left: a
//! program that matched the key just before keeps reading the value it matched), then the
//! way stays out of use until a kernel RCU grace period has passed
//! (`membarrier(MEMBARRIER_CMD_GLOBAL)`, run on a thread of its own): XDP and TC programs
//! run inside RCU read sections, so by then none still holds the old key, and none can read
//! a value rewritten under it. A program reaches a way only through a ruleset id it read
//! from the interface's entry, which sgd publishes after writing the ways (an address
//! dependency, so this holds on weakly ordered CPUs too). With one CPU online the call
//! returns at once, which is right: sgd running means no program is (PREEMPT_RT aside).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    },
    time::Duration,
};

use sg_common::rule::{
    HOST_SETS_V4, HOST_SETS_V6, HOST_WAYS_V4, HOST_WAYS_V6, HostSetV4, HostSetV6, LpmV4, LpmV6,
    LpmValue, host_set_v4, host_set_v6,
};
use tracing::warn;

use super::{DatapathError, mapped::Mapped};

/// One family's layout.
pub(crate) trait Family {
    type Set: Copy;
    type Key: Copy;
    const SETS: u32;
    const WAYS: usize;
    const NAME: &'static str;
    fn set_of(key: &Self::Key) -> u32;
    /// The ruleset of way `way` of `set` (0: empty).
    fn ruleset(set: &Self::Set, way: usize) -> u32;
    /// The key and value held by way `way` of `set`.
    fn entry(set: &Self::Set, way: usize) -> (Self::Key, LpmValue);
    /// Writes `value`, then `key` (atomically, releasing the value) into way `way` at `set`.
    ///
    /// # Safety
    /// `set` points at a live set of the mapping.
    unsafe fn write(set: *mut Self::Set, way: usize, key: &Self::Key, value: LpmValue);
    /// Empties way `way` at `set` (its key becomes 0, atomically).
    ///
    /// # Safety
    /// As for `write`.
    unsafe fn clear(set: *mut Self::Set, way: usize);
}

pub(crate) struct V4;
pub(crate) struct V6;

impl Family for V4 {
    type Set = HostSetV4;
    type Key = LpmV4;
    const SETS: u32 = HOST_SETS_V4;
    const WAYS: usize = HOST_WAYS_V4;
    const NAME: &'static str = sg_common::maps::HOSTS_V4;

    fn set_of(key: &LpmV4) -> u32 {
        host_set_v4(key.host_key())
    }

    fn ruleset(set: &HostSetV4, way: usize) -> u32 {
        set.ways[way].key as u32
    }

    fn entry(set: &HostSetV4, way: usize) -> (LpmV4, LpmValue) {
        let w = set.ways[way];
        let key = LpmV4 {
            ruleset: w.key as u32,
            addr: ((w.key >> 32) as u32).to_ne_bytes(),
        };
        (key, w.value)
    }

    unsafe fn write(set: *mut HostSetV4, way: usize, key: &LpmV4, value: LpmValue) {
        // SAFETY: in the mapping (the caller's promise); the key is 8-byte aligned and only
        // ever written atomically.
        unsafe {
            let w = &raw mut (*set).ways[way];
            std::ptr::write_volatile(&raw mut (*w).value, value);
            AtomicU64::from_ptr(&raw mut (*w).key).store(key.host_key(), Ordering::Release);
        }
    }

    unsafe fn clear(set: *mut HostSetV4, way: usize) {
        // SAFETY: as for `write`.
        unsafe {
            AtomicU64::from_ptr(&raw mut (*set).ways[way].key).store(0, Ordering::Release);
        }
    }
}

impl Family for V6 {
    type Set = HostSetV6;
    type Key = LpmV6;
    const SETS: u32 = HOST_SETS_V6;
    const WAYS: usize = HOST_WAYS_V6;
    const NAME: &'static str = sg_common::maps::HOSTS_V6;

    fn set_of(key: &LpmV6) -> u32 {
        host_set_v6(key.ruleset, &key.addr_words())
    }

    fn ruleset(set: &HostSetV6, way: usize) -> u32 {
        set.ways[way].ruleset
    }

    fn entry(set: &HostSetV6, way: usize) -> (LpmV6, LpmValue) {
        let w = set.ways[way];
        let mut addr = [0u8; 16];
        for (i, word) in w.addr.iter().enumerate() {
            addr[i * 4..i * 4 + 4].copy_from_slice(&word.to_ne_bytes());
        }
        let key = LpmV6 {
            ruleset: w.ruleset,
            addr,
        };
        (key, w.value)
    }

    unsafe fn write(set: *mut HostSetV6, way: usize, key: &LpmV6, value: LpmValue) {
        // SAFETY: as for V4; the ruleset, written last, is what makes the way match.
        unsafe {
            let w = &raw mut (*set).ways[way];
            std::ptr::write_volatile(&raw mut (*w).addr, key.addr_words());
            std::ptr::write_volatile(&raw mut (*w).value, value);
            AtomicU32::from_ptr(&raw mut (*w).ruleset).store(key.ruleset, Ordering::Release);
        }
    }

    unsafe fn clear(set: *mut HostSetV6, way: usize) {
        // SAFETY: as for `write`.
        unsafe {
            AtomicU32::from_ptr(&raw mut (*set).ways[way].ruleset).store(0, Ordering::Release);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Free,
    Used,
    /// Emptied, waiting for a grace period before it is written again.
    Cooling,
}

/// Ways emptied together, and whether their grace period has passed.
struct Cooling {
    slots: Vec<u32>,
    done: Arc<AtomicBool>,
}

/// One family's host table.
pub(crate) struct HostTable<F: Family> {
    sets: Mapped<F::Set>,
    /// By slot (`set * WAYS + way`).
    ways: Vec<Way>,
    /// Slots emptied and not handed to a grace period yet.
    emptied: Vec<u32>,
    cooling: Vec<Cooling>,
}

impl<F: Family> HostTable<F> {
    /// Maps the table (taken from the loader) and notes which ways hold entries (a previous
    /// run's, when the map was pinned).
    pub(crate) fn new(map: aya::maps::Map) -> Result<Self, DatapathError> {
        let sets = Mapped::<F::Set>::owning(map, F::NAME, F::SETS as usize)?;
        let ways = sets
            .values(F::SETS as usize)
            .iter()
            .flat_map(|set| {
                (0..F::WAYS).map(|w| {
                    if F::ruleset(set, w) != 0 {
                        Way::Used
                    } else {
                        Way::Free
                    }
                })
            })
            .collect();
        Ok(Self {
            sets,
            ways,
            emptied: Vec::new(),
            cooling: Vec::new(),
        })
    }

    /// Writes `key` into a free way of its set; `None` when the set has none (the entry then
    /// belongs in the trie).
    pub(crate) fn insert(&mut self, key: &F::Key, value: LpmValue) -> Option<u32> {
        let set = F::set_of(key);
        let first = set as usize * F::WAYS;
        let way = (0..F::WAYS).find(|w| self.ways[first + w] == Way::Free)?;
        // SAFETY: `set` < SETS, so in the mapping.
        unsafe { F::write(self.set_ptr(set), way, key, value) };
        self.ways[first + way] = Way::Used;
        Some((first + way) as u32)
    }

    /// Empties the ways at `slots`; they are written again only after a grace period.
    pub(crate) fn remove(&mut self, slots: &[u32]) {
        for &slot in slots {
            let s = slot as usize;
            if self.ways.get(s) != Some(&Way::Used) {
                continue;
            }
            // SAFETY: `slot` < SETS * WAYS (checked by `get` above).
            unsafe { F::clear(self.set_ptr(slot / F::WAYS as u32), s % F::WAYS) };
            self.ways[s] = Way::Cooling;
            self.emptied.push(slot);
        }
    }

    /// Empties every way whose ruleset `keep` rejects (what a previous run left).
    pub(crate) fn remove_unless(&mut self, keep: impl Fn(u32) -> bool) {
        let sets = self.sets.values(F::SETS as usize);
        let stale: Vec<u32> = (0..self.ways.len())
            .filter(|&slot| {
                self.ways[slot] == Way::Used
                    && !keep(F::ruleset(&sets[slot / F::WAYS], slot % F::WAYS))
            })
            .map(|slot| slot as u32)
            .collect();
        self.remove(&stale);
    }

    /// Every entry held, by slot.
    pub(crate) fn entries(&self) -> Vec<(u32, F::Key, LpmValue)> {
        let sets = self.sets.values(F::SETS as usize);
        self.ways
            .iter()
            .enumerate()
            .filter(|(_, w)| **w == Way::Used)
            .map(|(slot, _)| {
                let (k, v) = F::entry(&sets[slot / F::WAYS], slot % F::WAYS);
                (slot as u32, k, v)
            })
            .collect()
    }

    /// Frees the ways whose grace period has passed, and starts one for those emptied since
    /// the last call. Never blocks.
    pub(crate) fn cool(&mut self) {
        let mut still = Vec::new();
        for c in std::mem::take(&mut self.cooling) {
            if c.done.load(Ordering::Acquire) {
                for s in c.slots {
                    self.ways[s as usize] = Way::Free;
                }
            } else {
                still.push(c);
            }
        }
        self.cooling = still;
        if self.emptied.is_empty() {
            return;
        }
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let spawned = std::thread::Builder::new()
            .name("sg-grace".into())
            .spawn(move || {
                grace_period();
                flag.store(true, Ordering::Release);
            });
        if let Err(e) = spawned {
            // The ways stay out of use (their entries go in the trie) until a later call.
            warn!(error = %e, "starting a grace period failed");
            return;
        }
        self.cooling.push(Cooling {
            slots: std::mem::take(&mut self.emptied),
            done,
        });
    }

    /// Waits for every grace period under way, and frees their ways (tests).
    pub(crate) fn settle(&mut self) {
        self.cool();
        while !self.cooling.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
            self.cool();
        }
    }

    /// Ways in use, and ways waiting for a grace period (tests).
    pub(crate) fn usage(&self) -> (usize, usize) {
        let count = |x: Way| self.ways.iter().filter(|w| **w == x).count();
        (count(Way::Used), count(Way::Cooling))
    }

    fn set_ptr(&self, set: u32) -> *mut F::Set {
        self.sets.value_ptr(set as usize)
    }
}

/// Returns once every program running when it was called has finished.
fn grace_period() {
    const MEMBARRIER_CMD_GLOBAL: libc::c_long = 1;
    // SAFETY: a plain system call with no pointers. MEMBARRIER_CMD_GLOBAL is
    // `synchronize_rcu()` in the kernel.
    let r = unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0) };
    if r != 0 {
        // Refused (nohz_full CPUs) or missing: a program runs for microseconds, so a second
        // is a grace period in all but name.
        std::thread::sleep(Duration::from_secs(1));
    }
}
