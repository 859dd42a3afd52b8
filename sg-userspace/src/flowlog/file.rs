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
        let mut f = OpenOptions::new().create(true).append(true).open(path)?;
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

/// Checks that `path` can be written: an absolute path, in a directory that exists, that is
/// not itself a directory. Creates the file (and writes nothing) so that a mistake shows at
/// once.
pub fn check(path: &Path) -> Result<(), String> {
    if !path.is_absolute() {
        return Err(format!(
            "LogDestination must be an absolute path, not '{}'",
            path.display()
        ));
    }
    if path.is_dir() {
        return Err(format!(
            "LogDestination '{}' is a directory",
            path.display()
        ));
    }
    match path.parent() {
        Some(dir) if dir.is_dir() => {}
        _ => {
            return Err(format!(
                "LogDestination: the directory of '{}' does not exist",
                path.display()
            ));
        }
    }
    File::options()
        .create(true)
        .append(true)
        .open(path)
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
        assert!(check(Path::new("relative.log")).is_err());
        assert!(check(dir.path()).is_err());
        assert!(check(&dir.path().join("missing/f.log")).is_err());
        let ok = dir.path().join("f.log");
        check(&ok).unwrap();
        assert!(ok.exists());
    }
}
