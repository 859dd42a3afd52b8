//! `BPF_MAP_LOOKUP_BATCH` for hash maps (aya 0.14 has no batch operations): one system call
//! reads many entries, which is what makes sweeping a million-entry table cheap.

use std::{io, mem::size_of, os::fd::AsRawFd};

use aya::Pod;

const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;

/// The `batch` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// Reads every entry of a (non-per-CPU) hash map, `chunk` at a time, handing each chunk to
/// `f` as it arrives (entries still in cache, and no copy of the whole table in memory). `f`
/// may delete entries it was given: the kernel's cursor is a bucket index, so deleting in
/// buckets already read does not disturb the walk.
pub fn for_each_chunk<K: Pod + Default, V: Pod + Default>(
    map: impl AsRawFd,
    chunk: usize,
    f: impl FnMut(&[K], &[V]),
) -> io::Result<()> {
    for_each_chunk_n(map, chunk, 1, f)
}

/// The same for a per-CPU hash map: `f` gets `cpus` values per key (key i's are
/// `values[i * cpus..(i + 1) * cpus]`), `cpus` being the number of possible CPUs.
pub fn for_each_chunk_per_cpu<K: Pod + Default, V: Pod + Default>(
    map: impl AsRawFd,
    chunk: usize,
    cpus: usize,
    f: impl FnMut(&[K], &[V]),
) -> io::Result<()> {
    // The kernel lays each CPU's value out on an 8-byte stride.
    assert_eq!(
        size_of::<V>() % 8,
        0,
        "per-CPU values must be multiples of 8 bytes"
    );
    for_each_chunk_n(map, chunk, cpus, f)
}

fn for_each_chunk_n<K: Pod + Default, V: Pod + Default>(
    map: impl AsRawFd,
    chunk: usize,
    per_key: usize,
    mut f: impl FnMut(&[K], &[V]),
) -> io::Result<()> {
    // The kernel's batch token for hash maps is a bucket index (u32); keep room for more.
    let (mut token_in, mut token_out) = ([0u8; 16], [0u8; 16]);
    let mut first = true;
    let mut keys = vec![K::default(); chunk];
    let mut values = vec![V::default(); chunk * per_key];
    loop {
        let mut attr = BatchAttr {
            in_batch: if first {
                0
            } else {
                token_in.as_mut_ptr() as u64
            },
            out_batch: token_out.as_mut_ptr() as u64,
            keys: keys.as_mut_ptr() as u64,
            values: values.as_mut_ptr() as u64,
            count: chunk as u32,
            map_fd: map.as_raw_fd() as u32,
            ..Default::default()
        };
        // SAFETY: `attr` points at live buffers of `chunk` keys and `chunk` values (each
        // `per_key` of the map's value type), and at 16-byte tokens; the kernel writes at
        // most that much.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_MAP_LOOKUP_BATCH,
                &mut attr as *mut BatchAttr,
                size_of::<BatchAttr>() as u32,
            )
        };
        let err = (ret < 0).then(io::Error::last_os_error);
        let n = (attr.count as usize).min(chunk);
        if n > 0 {
            f(&keys[..n], &values[..n * per_key]);
        }
        match err {
            None => {}
            Some(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
            Some(e) => return Err(e),
        }
        token_in = token_out;
        first = false;
    }
}

const BPF_MAP_UPDATE_BATCH: libc::c_long = 26;
const BPF_MAP_DELETE_BATCH: libc::c_long = 27;

fn batch_call(cmd: libc::c_long, attr: &mut BatchAttr) -> io::Result<()> {
    // SAFETY: `attr` points at buffers of `count` keys (and values) of the map's types.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut BatchAttr,
            size_of::<BatchAttr>() as u32,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Writes many entries with one system call (`BPF_MAP_UPDATE_BATCH`). On error, some entries
/// may have been written; the kernel does not always say how many, so the caller redoes them
/// all one by one (writes of existing keys are harmless).
pub fn update<K: Pod, V: Pod>(map: impl AsRawFd, keys: &[K], values: &[V]) -> io::Result<()> {
    assert_eq!(keys.len(), values.len());
    if keys.is_empty() {
        return Ok(());
    }
    let mut attr = BatchAttr {
        keys: keys.as_ptr() as u64,
        values: values.as_ptr() as u64,
        count: keys.len() as u32,
        map_fd: map.as_raw_fd() as u32,
        ..Default::default()
    };
    batch_call(BPF_MAP_UPDATE_BATCH, &mut attr)
}

/// Deletes many entries with one system call (`BPF_MAP_DELETE_BATCH`); on error the caller
/// deletes them one by one.
pub fn delete<K: Pod>(map: impl AsRawFd, keys: &[K]) -> io::Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut attr = BatchAttr {
        keys: keys.as_ptr() as u64,
        count: keys.len() as u32,
        map_fd: map.as_raw_fd() as u32,
        ..Default::default()
    };
    batch_call(BPF_MAP_DELETE_BATCH, &mut attr)
}
