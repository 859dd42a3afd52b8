//! The interface configurations the datapath reads (see `sg_common::iface`): each in the
//! `IFACE_CFGS` array, switched to through its `IFACE_INDEX` entry (`IFACE_ENTRY` for
//! ifindexes from `FAST_IFINDEX` on), and every one in the `IFACE_CFG` hash for resuming.

use std::collections::HashMap;

use aya::maps::{Array, HashMap as BpfHashMap, MapData, MapError};
use sg_common::iface::{FAST_IFINDEX, IfaceCfg, IndexEntry, cfg_position};

use super::mapped::Mapped;

pub(crate) struct IfaceTable {
    pub(crate) hash: BpfHashMap<MapData, u32, IfaceCfg>,
    /// `IFACE_INDEX`, mapped into memory: a switch is one atomic 8-byte store (a map update
    /// copies the value with `memcpy`, which may write it a byte at a time).
    pub(crate) index: Mapped<u64>,
    pub(crate) entries: BpfHashMap<MapData, u32, u64>,
    pub(crate) cfgs: Array<MapData, IfaceCfg>,
}

impl IfaceTable {
    /// Every configuration, by ifindex.
    pub(crate) fn all(&self) -> HashMap<u32, IfaceCfg> {
        self.hash.iter().flatten().collect()
    }

    /// The entry the datapath reads for `ifindex`.
    fn entry(&self, ifindex: u32) -> IndexEntry {
        if ifindex < FAST_IFINDEX {
            IndexEntry(self.index.load(ifindex as usize))
        } else {
            IndexEntry(self.entries.get(&ifindex, 0).unwrap_or(0))
        }
    }

    /// Installs `cfg` for `ifindex` in one switch the datapath sees whole. On error nothing
    /// the datapath reads has changed.
    pub(crate) fn set(&mut self, ifindex: u32, cfg: IfaceCfg) -> Result<(), MapError> {
        let previous = self.hash.get(&ifindex, 0).ok();
        // The hash first: the datapath does not read it, so a failure later is undone there
        // alone.
        self.hash.insert(ifindex, cfg, 0)?;
        let undo = |t: &mut Self| match previous {
            Some(p) => {
                let _ = t.hash.insert(ifindex, p, 0);
            }
            None => {
                let _ = t.hash.remove(&ifindex);
            }
        };
        // Write the generation not in use, then point the interface at it.
        let position = if self.entry(ifindex).position() == Some(cfg_position(cfg.stats_slot, 0)) {
            cfg_position(cfg.stats_slot, 1)
        } else {
            cfg_position(cfg.stats_slot, 0)
        };
        if let Err(e) = self.cfgs.set(position, cfg, 0) {
            undo(self);
            return Err(e);
        }
        let entry = IndexEntry::new(position, &cfg).0;
        if ifindex < FAST_IFINDEX {
            self.index.store(ifindex as usize, entry);
        } else if let Err(e) = self.entries.insert(ifindex, entry, 0) {
            undo(self);
            return Err(e);
        }
        Ok(())
    }

    /// Stops the datapath from treating `ifindex` as protected, then forgets it.
    pub(crate) fn remove(&mut self, ifindex: u32) -> Result<(), MapError> {
        if ifindex < FAST_IFINDEX {
            self.index.store(ifindex as usize, 0);
        } else {
            match self.entries.remove(&ifindex) {
                Ok(()) | Err(MapError::KeyNotFound) => {}
                Err(e) => return Err(e),
            }
        }
        match self.hash.remove(&ifindex) {
            Err(MapError::KeyNotFound) => Ok(()),
            r => r,
        }
    }
}
