//! Empty library target: aya-build builds the `sg-ebpf` binary for `bpfel-unknown-none`; the
//! library exists so the crate can be a build dependency of `sg-userspace`.
#![no_std]
