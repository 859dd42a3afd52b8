//! A flow log's destination file: records appended a window at a time, each file starting
//! with the line of field names (as AWS's plain-text files do), rotated by size so that a
//! flow log never takes more than `max_bytes * (keep + 1)` of the disk.
//!
//! `PATH` is the file being written; `PATH.1` the last one rotated out, up to `PATH.<keep>`;
//! older files are removed.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
};

/// How large a file grows and how many rotated files are kept (`sgd.json`:
/// `flow_log_max_file_bytes`, `flow_log_max_files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub max_bytes: u64,
    pub keep: u32,
}

impl Default for Rotation {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            keep: 4,
        }
    }
}

/// The path of rotated file `n` of `path`.
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// Appends `lines` (one window's records) to `path`, starting a file with `header`; rotates
/// first if they would take the file past the cap. A window is never split across files,
/// unless it alone is larger than a file may be (then it is cut at line boundaries).
pub fn append(path: &Path, header: &str, lines: &[String], rot: Rotation) -> io::Result<()> {
    let mut pending = lines;
    while !pending.is_empty() {
        let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let fresh = size == 0;
        let mut budget = rot.max_bytes.saturating_sub(size);
        if fresh {
            budget = budget.saturating_sub(header.len() as u64 + 1);
        }
        // As many whole lines as fit; at least one in a fresh file, so that progress is made.
        let mut take = 0;
        let mut bytes = 0u64;
        for l in pending {
            let n = l.len() as u64 + 1;
            if bytes + n > budget && !(fresh && take == 0) {
                break;
            }
            bytes += n;
            take += 1;
        }
        if take < pending.len() && !fresh && take * 2 < pending.len() {
            // Most of the window would go to the next file: start it now.
            rotate(path, rot.keep)?;
            continue;
        }
        let mut f = open_append(path)?;
        let mut buf = String::with_capacity(bytes as usize + header.len() + 1);
        if fresh {
            buf.push_str(header);
            buf.push('\n');
        }
        for l in &pending[..take] {
            buf.push_str(l);
            buf.push('\n');
        }
        f.write_all(buf.as_bytes())?;
        f.flush()?;
        pending = &pending[take..];
        if !pending.is_empty() {
            rotate(path, rot.keep)?;
        }
    }
    Ok(())
}

/// `PATH.<keep-1>` -> `PATH.<keep>`, ..., `PATH` -> `PATH.1`; the oldest is removed.
fn rotate(path: &Path, keep: u32) -> io::Result<()> {
    if keep == 0 {
        return match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let _ = fs::remove_file(rotated(path, keep));
    for n in (1..keep).rev() {
        let from = rotated(path, n);
        if from.exists() {
            fs::rename(&from, rotated(path, n + 1))?;
        }
    }
    fs::rename(path, rotated(path, 1))
}

/// Opens `path` to append, creating it; never through a symbolic link.
fn open_append(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
}

/// Checks that `path` may be written: an absolute path inside `dir` (the directory flow
/// logs may write to; a caller of the API must not have root write anywhere else), in a
/// directory that exists, and not a directory or a symbolic link itself. Creates the file
/// (and writes nothing) so that a mistake shows at once.
pub fn check(path: &Path, dir: &Path) -> Result<(), String> {
    if !path.is_absolute() {
        return Err(format!(
            "LogDestination must be an absolute path, not '{}'",
            path.display()
        ));
    }
    let outside = || {
        format!(
            "LogDestination '{}' is outside {}, the directory flow logs write to (sgd --flow-log-dir)",
            path.display(),
            dir.display()
        )
    };
    if path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
        || !path.starts_with(dir)
    {
        return Err(outside());
    }
    let parent = path.parent().filter(|p| p.is_dir()).ok_or_else(|| {
        format!(
            "LogDestination: the directory of '{}' does not exist",
            path.display()
        )
    })?;
    // No symbolic link out of the directory on the way.
    match (parent.canonicalize(), dir.canonicalize()) {
        (Ok(p), Ok(d)) if p.starts_with(&d) => {}
        _ => return Err(outside()),
    }
    if path.is_dir() {
        return Err(format!(
            "LogDestination '{}' is a directory",
            path.display()
        ));
    }
    open_append(path)
        .map(|_| ())
        .map_err(|e| format!("LogDestination '{}' cannot be written: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize, width: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:0width$}")).collect()
    }

    #[test]
    fn files_rotate_and_the_disk_use_is_capped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flows.log");
        let rot = Rotation {
            max_bytes: 1000,
            keep: 2,
        };
        for _ in 0..50 {
            // 10 lines of 100 bytes: about one file per window.
            append(&path, "h", &lines(10, 99), rot).unwrap();
        }
        let mut total = 0;
        for p in [path.clone(), rotated(&path, 1), rotated(&path, 2)] {
            let text = fs::read_to_string(&p).unwrap();
            assert!(text.starts_with("h\n"), "{}", p.display());
            assert!(text.len() as u64 <= rot.max_bytes + 100, "{}", text.len());
            total += text.len();
        }
        assert!(!rotated(&path, 3).exists());
        assert!(total as u64 <= 3 * (rot.max_bytes + 100));
    }

    #[test]
    fn small_windows_share_a_file_and_big_ones_are_cut_at_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let rot = Rotation {
            max_bytes: 500,
            keep: 10,
        };
        append(&path, "hdr", &lines(3, 9), rot).unwrap();
        append(&path, "hdr", &lines(3, 9), rot).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 7);
        // 100 lines of 10 bytes: 1000 bytes, cut into files of whole lines.
        append(&path, "hdr", &lines(100, 9), rot).unwrap();
        let mut seen = 0;
        for n in (1..=10).rev() {
            if let Ok(t) = fs::read_to_string(rotated(&path, n)) {
                assert!(t.starts_with("hdr\n"));
                seen += t.lines().count() - 1;
            }
        }
        seen += fs::read_to_string(&path).unwrap().lines().count() - 1;
        assert_eq!(seen, 106);
    }

    #[test]
    fn destinations_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(check(Path::new("relative.log"), d).is_err());
        assert!(check(d, d).is_err());
        assert!(check(&d.join("missing/f.log"), d).is_err());
        assert!(
            check(Path::new("/etc/passwd"), d)
                .unwrap_err()
                .contains("outside")
        );
        assert!(
            check(&d.join("../x.log"), d)
                .unwrap_err()
                .contains("outside")
        );
        // No way out through a link: neither the file nor a directory on the way.
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("f"), d.join("link.log")).unwrap();
        assert!(check(&d.join("link.log"), d).is_err());
        std::os::unix::fs::symlink(elsewhere.path(), d.join("sub")).unwrap();
        assert!(
            check(&d.join("sub/f.log"), d)
                .unwrap_err()
                .contains("outside")
        );
        assert!(!elsewhere.path().join("f").exists() && !elsewhere.path().join("f.log").exists());
        let ok = d.join("f.log");
        check(&ok, d).unwrap();
        assert!(ok.exists());
    }
}
