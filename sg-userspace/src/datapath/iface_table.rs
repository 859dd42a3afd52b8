//! The interface configurations the datapath reads (see `sg_common::iface`): every one in the
//! `IFACE_CFG` hash, and for ifindexes below `FAST_IFINDEX` also in the `IFACE_CFGS` array,
//! switched to through `IFACE_INDEX`.

use std::collections::HashMap;

use aya::maps::{Array, HashMap as BpfHashMap, MapData, MapError};
use sg_common::iface::{FAST_IFINDEX, IfaceCfg, cfg_position};

use super::mapped::Mapped;

pub(crate) struct IfaceTable {
    pub(crate) hash: BpfHashMap<MapData, u32, IfaceCfg>,
    /// `IFACE_INDEX`, mapped into memory: a switch is one atomic 4-byte store (a map update
    /// copies the value with `memcpy`, which may write it a byte at a time).
    pub(crate) index: Mapped<u32>,
    pub(crate) cfgs: Array<MapData, IfaceCfg>,
}

impl IfaceTable {
    /// Every configuration, by ifindex.
    pub(crate) fn all(&self) -> HashMap<u32, IfaceCfg> {
        self.hash.iter().flatten().collect()
    }

    /// Installs `cfg` for `ifindex` in one switch the datapath sees whole. On error nothing
    /// the datapath reads has changed.
    pub(crate) fn set(&mut self, ifindex: u32, cfg: IfaceCfg) -> Result<(), MapError> {
        let previous = self.hash.get(&ifindex, 0).ok();
        // The hash first: for a fast ifindex the datapath does not read it, so a failure
        // later is undone there alone.
        self.hash.insert(ifindex, cfg, 0)?;
        if ifindex >= FAST_IFINDEX {
            return Ok(());
        }
        let undo = |t: &mut Self| match previous {
            Some(p) => {
                let _ = t.hash.insert(ifindex, p, 0);
            }
            None => {
                let _ = t.hash.remove(&ifindex);
            }
        };
        let current = self.index.load(ifindex as usize);
        // Write the generation not in use, then point the interface at it.
        let position = if current == cfg_position(cfg.stats_slot, 0) + 1 {
            cfg_position(cfg.stats_slot, 1)
        } else {
            cfg_position(cfg.stats_slot, 0)
        };
        if let Err(e) = self.cfgs.set(position, cfg, 0) {
            undo(self);
            return Err(e);
        }
        self.index.store(ifindex as usize, position + 1);
        Ok(())
    }

    /// Stops the datapath from treating `ifindex` as protected, then forgets it.
    pub(crate) fn remove(&mut self, ifindex: u32) -> Result<(), MapError> {
        if ifindex < FAST_IFINDEX {
            self.index.store(ifindex as usize, 0);
        }
        match self.hash.remove(&ifindex) {
            Err(MapError::KeyNotFound) => Ok(()),
            r => r,
        }
    }
}
