//! Arrays created with `BPF_F_MMAPABLE`, mapped into sgd's memory: the sweeper writes each
//! batch of candidates with one copy instead of a system call per item, and the interface
//! index is switched, and the conntrack filter counted, with atomics.

use std::{
    ffi::c_void,
    io,
    marker::PhantomData,
    num::NonZeroUsize,
    os::fd::{AsFd, BorrowedFd},
    ptr::NonNull,
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};

use aya::maps::Map;
use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};

use super::DatapathError;

/// The values of an mmapable array of `len` values of type `T`.
pub(crate) struct Mapped<T> {
    ptr: NonNull<c_void>,
    bytes: NonZeroUsize,
    len: usize,
    /// The map, when taken from the loader: kept open, since programs loaded later (the
    /// sweep program) refer to it by this descriptor.
    _map: Option<Map>,
    _values: PhantomData<T>,
}

// SAFETY: the mapping is owned by this value alone; writes go through `&mut self` or atomics.
unsafe impl<T: Send> Send for Mapped<T> {}

impl<T: Copy> Mapped<T> {
    /// The kernel lays an array's values out contiguously, each rounded up to 8 bytes.
    const STRIDE: usize = size_of::<T>().div_ceil(8) * 8;

    /// Maps the array map `name` (whose first `len` values are used).
    pub(crate) fn of(map: &Map, name: &'static str, len: usize) -> Result<Self, DatapathError> {
        let fd = match map {
            Map::Array(m) => m.fd().as_fd(),
            _ => return Err(DatapathError::Missing(name)),
        };
        Self::map(fd, len).map_err(|source| DatapathError::Mmap { map: name, source })
    }

    /// As [`Mapped::of`], keeping the map (taken from the loader) open as long as the mapping.
    pub(crate) fn owning(map: Map, name: &'static str, len: usize) -> Result<Self, DatapathError> {
        let mut m = Self::of(&map, name, len)?;
        m._map = Some(map);
        Ok(m)
    }

    fn map(fd: BorrowedFd<'_>, len: usize) -> io::Result<Self> {
        let bytes = NonZeroUsize::new(len * Self::STRIDE).expect("non-empty array");
        // SAFETY: a fresh shared mapping of the map's value area; nothing else aliases it in
        // this process.
        let ptr = unsafe {
            mmap(
                None,
                bytes,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                fd,
                0,
            )
        }
        .map_err(io::Error::from)?;
        Ok(Self {
            ptr,
            bytes,
            len,
            _map: None,
            _values: PhantomData,
        })
    }

    fn slot(&self, i: usize) -> *mut u8 {
        assert!(i < self.len, "index {i} past the array ({})", self.len);
        // SAFETY: in bounds of the mapping, checked above.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(i * Self::STRIDE) }
    }

    /// The first `n` values (values whose size is the stride, so they lie as in a slice).
    /// Only for arrays no program writes concurrently (the sweeper's scratch, after a run).
    pub(crate) fn values(&self, n: usize) -> &[T] {
        assert_eq!(Self::STRIDE, size_of::<T>());
        assert!(n <= self.len);
        // SAFETY: contiguous values, in bounds (checked above), aligned (page-aligned mapping,
        // 8-byte stride).
        unsafe { std::slice::from_raw_parts(self.slot(0).cast::<T>(), n) }
    }

    /// Where value `i` lives (values whose size is the stride).
    pub(crate) fn value_ptr(&self, i: usize) -> *mut T {
        assert_eq!(Self::STRIDE, size_of::<T>());
        self.slot(i).cast()
    }

    /// Writes `values` at the start of the array (values whose size is the stride, so they
    /// lie as in a slice).
    pub(crate) fn write(&mut self, values: &[T]) {
        assert_eq!(Self::STRIDE, size_of::<T>());
        assert!(values.len() <= self.len);
        // SAFETY: contiguous values, in bounds (checked above).
        unsafe {
            std::ptr::copy_nonoverlapping(values.as_ptr(), self.slot(0).cast(), values.len())
        };
    }
}

impl Mapped<u64> {
    /// Value `i` as an atomic: the datapath reads it (and adds to a counter) concurrently.
    pub(crate) fn counter(&self, i: usize) -> &AtomicU64 {
        // SAFETY: in bounds and 8-byte aligned; everyone writes these values atomically.
        unsafe { &*self.slot(i).cast::<AtomicU64>() }
    }

    pub(crate) fn load(&self, i: usize) -> u64 {
        self.counter(i).load(Ordering::Acquire)
    }

    pub(crate) fn store(&self, i: usize, v: u64) {
        self.counter(i).store(v, Ordering::Release)
    }

    /// The `half`th (0 or 1) u32 of value `i`, as an atomic: arrays of u32 pairs (the
    /// conntrack filter).
    pub(crate) fn counter32(&self, i: usize, half: usize) -> &AtomicU32 {
        assert!(half < 2, "a u64 holds two u32s");
        // SAFETY: in bounds (`slot` checks `i`), 4-byte aligned; written atomically only.
        unsafe { &*self.slot(i).cast::<AtomicU32>().add(half) }
    }
}

impl<T> Drop for Mapped<T> {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `map` mapped; nothing refers to it any more.
        let _ = unsafe { munmap(self.ptr, self.bytes.get()) };
    }
}
