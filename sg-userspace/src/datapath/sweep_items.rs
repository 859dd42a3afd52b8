//! `SWEEP_ITEMS` mapped into the daemon's memory (the map is `BPF_F_MMAPABLE`): the sweeper
//! writes each batch of candidates with one copy instead of a system call per item.

use std::{ffi::c_void, io, num::NonZeroUsize, os::fd::BorrowedFd, ptr::NonNull};

use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};
use sg_common::conntrack::{SWEEP_BATCH, SweepItem};

pub(crate) struct SweepItems {
    ptr: NonNull<c_void>,
    len: NonZeroUsize,
}

// SAFETY: the mapping is owned by this value alone and only written through `&mut self`.
unsafe impl Send for SweepItems {}

impl SweepItems {
    pub(crate) fn map(fd: BorrowedFd<'_>) -> io::Result<Self> {
        // An mmapable array's values are contiguous, each rounded up to 8 bytes: SweepItem is
        // 56, so element i is at i * 56.
        const _: () = assert!(size_of::<SweepItem>() % 8 == 0);
        let len =
            NonZeroUsize::new(SWEEP_BATCH as usize * size_of::<SweepItem>()).expect("non-empty");
        // SAFETY: a fresh shared mapping of the map's value area; nothing else aliases it in
        // this process.
        let ptr = unsafe {
            mmap(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                fd,
                0,
            )
        }
        .map_err(io::Error::from)?;
        Ok(Self { ptr, len })
    }

    /// Writes `items` at the start of the array.
    pub(crate) fn write(&mut self, items: &[SweepItem]) {
        assert!(items.len() <= SWEEP_BATCH as usize);
        // SAFETY: the mapping holds SWEEP_BATCH items, and `items` is at most that long.
        unsafe {
            std::ptr::copy_nonoverlapping(
                items.as_ptr(),
                self.ptr.as_ptr().cast::<SweepItem>(),
                items.len(),
            )
        };
    }
}

impl Drop for SweepItems {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `map` mapped; nothing refers to it any more.
        let _ = unsafe { munmap(self.ptr, self.len.get()) };
    }
}
