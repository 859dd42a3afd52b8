//! The HTTP API's access keys: a file in the AWS shared-credentials format in the state
//! directory (`credentials`, root only), one profile per key, named by its id. The same file can
//! serve the clients (`AWS_SHARED_CREDENTIALS_FILE`): they read `aws_access_key_id` and
//! `aws_secret_access_key` and ignore our `sgd_*` members.
//!
//! ```text
//! [AKIA3K7QX2M4B9TZ5W1P]
//! aws_access_key_id = AKIA3K7QX2M4B9TZ5W1P
//! aws_secret_access_key = 0b7lV2q...(40 characters)
//! sgd_read_only = false
//! sgd_create_date = 2026-12-07T02:45:00Z
//! ```
//!
//! `sgd` is the file's only writer (`sgctl create-access-key`, `delete-access-key`); every
//! change is written to a new file that replaces the old one, so a crash leaves one or the
//! other, never half a file. Members we do not know are not kept.

use std::{
    fmt::Write as _,
    fs,
    io::{self, Write as _},
    os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
    time::SystemTime,
};

use rand::Rng as _;

/// The IAM user every key belongs to (what `GetCallerIdentity` and `list-access-keys` name).
pub const USER_NAME: &str = "sgd";

/// Name of the file in the state directory.
pub const FILE: &str = "credentials";

/// Characters of a key id after its `AKIA` prefix (base32, as AWS key ids).
const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Characters of a secret (as AWS: 40 of the base64 alphabet).
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ID_LEN: usize = 20;
const SECRET_LEN: usize = 40;

/// One access key.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    /// May only read: any change answers `UnauthorizedOperation`.
    pub read_only: bool,
    pub created: SystemTime,
}

impl std::fmt::Debug for AccessKey {
    // Never print the secret (logs, panics).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("read_only", &self.read_only)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// Why the key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Syntax {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error(
        "{path} may be read by other users (mode {mode:o}): it holds secrets; make it root-only (chmod 600)"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("{path} is not a regular file of this user (a symbolic link, or someone else's)")]
    NotAFile { path: PathBuf },
    #[error(
        "{dir} may be written by other users (mode {mode:o}): they could replace the access keys in it; make it writable by its owner only"
    )]
    OpenDirectory { dir: PathBuf, mode: u32 },
}

/// The keys of the file, and where it lives.
#[derive(Debug)]
pub struct KeyFile {
    path: PathBuf,
    keys: Vec<AccessKey>,
}

impl KeyFile {
    /// Reads the file (none yet: no keys). Refuses a directory others may write to (they
    /// could swap the file), and a file that is a symbolic link, is not this user's, or that
    /// others may read; what is checked is the file that was opened, not the path again.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let io_err = |source| KeyFileError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let mode = fs::metadata(dir).map_err(io_err)?.permissions().mode();
            if mode & 0o022 != 0 {
                return Err(KeyFileError::OpenDirectory {
                    dir: dir.to_owned(),
                    mode: mode & 0o7777,
                });
            }
        }
        let mut file = match fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Self {
                    path: path.to_owned(),
                    keys: Vec::new(),
                });
            }
            // O_NOFOLLOW on a symbolic link.
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(KeyFileError::NotAFile {
                    path: path.to_owned(),
                });
            }
            Err(e) => return Err(io_err(e)),
        };
        let meta = file.metadata().map_err(io_err)?;
        if !meta.file_type().is_file() || meta.uid() != nix::unistd::geteuid().as_raw() {
            return Err(KeyFileError::NotAFile {
                path: path.to_owned(),
            });
        }
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Exposed {
                path: path.to_owned(),
                mode: mode & 0o777,
            });
        }
        let mut text = String::new();
        io::Read::read_to_string(&mut file, &mut text).map_err(io_err)?;
        let keys = parse(&text).map_err(|(line, reason)| KeyFileError::Syntax {
            path: path.to_owned(),
            line,
            reason,
        })?;
        Ok(Self {
            path: path.to_owned(),
            keys,
        })
    }

    /// The key with this id.
    pub fn get(&self, id: &str) -> Option<&AccessKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Every key, oldest first.
    pub fn keys(&self) -> &[AccessKey] {
        &self.keys
    }

    /// Makes a new key and writes the file; nothing changes if the write fails.
    pub fn create(&mut self, read_only: bool) -> Result<AccessKey, KeyFileError> {
        let mut rng = rand::rng();
        let mut pick = |chars: &[u8], n: usize| -> String {
            (0..n)
                .map(|_| chars[rng.random_range(0..chars.len())] as char)
                .collect()
        };
        let key = loop {
            let id = format!("AKIA{}", pick(ID_CHARS, ID_LEN - 4));
            if self.get(&id).is_none() {
                break AccessKey {
                    id,
                    secret: pick(SECRET_CHARS, SECRET_LEN),
                    read_only,
                    created: whole_seconds(SystemTime::now()),
                };
            }
        };
        let mut keys = self.keys.clone();
        keys.push(key.clone());
        self.write(&keys)?;
        self.keys = keys;
        Ok(key)
    }

    /// Deletes a key and writes the file; false if there is no such key.
    pub fn delete(&mut self, id: &str) -> Result<bool, KeyFileError> {
        if self.get(id).is_none() {
            return Ok(false);
        }
        let keys: Vec<AccessKey> = self.keys.iter().filter(|k| k.id != id).cloned().collect();
        self.write(&keys)?;
        self.keys = keys;
        Ok(true)
    }

    /// Writes `keys` to a new root-only file beside the old one and renames it over it. The
    /// new file gets a fresh random name and is created exclusively (never through a link
    /// someone left there).
    fn write(&self, keys: &[AccessKey]) -> Result<(), KeyFileError> {
        let io_err = |source| KeyFileError::Io {
            path: self.path.clone(),
            source,
        };
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut f = tempfile::Builder::new()
            .prefix(".credentials.")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(io_err)?;
        f.write_all(render(keys).as_bytes()).map_err(io_err)?;
        f.as_file().sync_all().map_err(io_err)?;
        f.persist(&self.path).map_err(|e| io_err(e.error))?;
        if let Some(dir) = self.path.parent() {
            fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err)?;
        }
        Ok(())
    }
}

/// A time to the second (the file keeps no more).
fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

/// The file's text for `keys`.
fn render(keys: &[AccessKey]) -> String {
    let mut s = String::from(
        "# Access keys of sgd's HTTP API, written by sgd (sgctl create-access-key,\n\
         # delete-access-key). Root only: it holds secrets.\n",
    );
    for k in keys {
        let _ = write!(
            s,
            "\n[{id}]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n\
             sgd_read_only = {ro}\nsgd_create_date = {date}\n",
            id = k.id,
            secret = k.secret,
            ro = k.read_only,
            date = humantime::format_rfc3339_seconds(k.created),
        );
    }
    s
}

/// The keys of a file's text, or the line (1-based) and reason it is refused.
fn parse(text: &str) -> Result<Vec<AccessKey>, (usize, String)> {
    #[derive(Default)]
    struct Section {
        name: String,
        line: usize,
        id: Option<String>,
        secret: Option<String>,
        read_only: bool,
        created: Option<SystemTime>,
    }
    let finish = |s: Section| -> Result<AccessKey, (usize, String)> {
        let missing = |what: &str| (s.line, format!("profile [{}] has no {what}", s.name));
        let id = s.id.ok_or_else(|| missing("aws_access_key_id"))?;
        let secret = s.secret.ok_or_else(|| missing("aws_secret_access_key"))?;
        Ok(AccessKey {
            id,
            secret,
            read_only: s.read_only,
            created: s.created.unwrap_or(SystemTime::UNIX_EPOCH),
        })
    };
    let mut keys: Vec<AccessKey> = Vec::new();
    let mut current: Option<Section> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if let Some(s) = current.take() {
                keys.push(finish(s)?);
            }
            current = Some(Section {
                name: name.trim().to_owned(),
                line: n,
                ..Default::default()
            });
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err((n, "expected `name = value` or `[profile]`".into()));
        };
        let Some(s) = current.as_mut() else {
            return Err((n, "a value before any [profile]".into()));
        };
        let v = v.trim();
        match k.trim() {
            "aws_access_key_id" => s.id = Some(v.to_owned()),
            "aws_secret_access_key" => s.secret = Some(v.to_owned()),
            "sgd_read_only" => {
                s.read_only = match v {
                    "true" => true,
                    "false" => false,
                    _ => return Err((n, format!("sgd_read_only must be true or false, not {v}"))),
                }
            }
            "sgd_create_date" => {
                s.created = Some(
                    humantime::parse_rfc3339(v)
                        .map_err(|e| (n, format!("sgd_create_date {v}: {e}")))?,
                )
            }
            // Other members (a region, an output format) are the clients' business.
            _ => {}
        }
    }
    if let Some(s) = current.take() {
        keys.push(finish(s)?);
    }
    for (i, k) in keys.iter().enumerate() {
        if keys[..i].iter().any(|o| o.id == k.id) {
            return Err((0, format!("access key {} is listed twice", k.id)));
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_keys_look_like_aws_keys_and_survive_a_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        let mut f = KeyFile::load(&path).expect("no file yet");
        assert!(f.keys().is_empty());
        let a = f.create(false).expect("create");
        let b = f.create(true).expect("create read-only");
        assert_ne!(a.id, b.id);
        for k in [&a, &b] {
            assert_eq!(k.id.len(), ID_LEN);
            assert!(k.id.starts_with("AKIA"));
            assert_eq!(k.secret.len(), SECRET_LEN);
        }
        let mode = fs::metadata(&path).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "root only");
        let again = KeyFile::load(&path).expect("reload");
        assert_eq!(again.keys(), &[a.clone(), b.clone()]);
        assert!(again.get(&b.id).expect("b").read_only);
        assert!(
            !format!("{a:?}").contains(&a.secret),
            "Debug hides the secret"
        );
    }

    #[test]
    fn delete_removes_one_key_and_reports_unknown_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        let mut f = KeyFile::load(&path).expect("load");
        let a = f.create(false).expect("create");
        let b = f.create(false).expect("create");
        assert!(f.delete(&a.id).expect("delete"));
        assert!(!f.delete(&a.id).expect("delete again"));
        let again = KeyFile::load(&path).expect("reload");
        assert_eq!(again.keys(), &[b]);
    }

    #[test]
    fn a_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        fs::write(&path, "").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            KeyFile::load(&path),
            Err(KeyFileError::Exposed { mode: 0o644, .. })
        ));
    }

    #[test]
    fn links_foreign_files_and_open_directories_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        // A link to a file someone else controls.
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, "").expect("write");
        fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o600)).expect("chmod");
        std::os::unix::fs::symlink(&elsewhere, &path).expect("symlink");
        assert!(matches!(
            KeyFile::load(&path),
            Err(KeyFileError::NotAFile { .. })
        ));
        fs::remove_file(&path).expect("unlink");
        // A directory anyone may write to.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
        assert!(matches!(
            KeyFile::load(&path),
            Err(KeyFileError::OpenDirectory { .. })
        ));
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        // Writing leaves no temporary file behind, and never writes through a link.
        let mut f = KeyFile::load(&path).expect("load");
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("credentials.new"))
            .expect("symlink");
        f.create(false).expect("create");
        assert_eq!(
            fs::read_to_string(&elsewhere).expect("read"),
            "",
            "untouched"
        );
        let names: Vec<String> = fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".credentials."))
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }

    #[test]
    fn hand_written_files_parse_as_the_aws_tools_read_them() {
        let keys = parse(
            "# comment\n[one]\naws_access_key_id=AKIAAAAAAAAAAAAAAAAA\n\
             aws_secret_access_key = s3cr3t\nregion = eu-west-1\n\n; another\n\
             [two]\naws_access_key_id = AKIABBBBBBBBBBBBBBBB\naws_secret_access_key = x\n\
             sgd_read_only = true\nsgd_create_date = 2026-12-07T02:45:00Z\n",
        )
        .expect("parse");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].secret, "s3cr3t");
        assert!(!keys[0].read_only);
        assert!(keys[1].read_only);
        assert_eq!(
            humantime::format_rfc3339_seconds(keys[1].created).to_string(),
            "2026-12-07T02:45:00Z"
        );
    }

    #[test]
    fn broken_files_name_the_line() {
        for (text, line) in [
            ("aws_access_key_id = A\n", 1),
            ("[a]\naws_access_key_id = A\n", 1),
            ("[a]\nnonsense\n", 2),
            (
                "[a]\naws_access_key_id = A\naws_secret_access_key = s\nsgd_read_only = yes\n",
                4,
            ),
        ] {
            assert_eq!(parse(text).expect_err(text).0, line, "{text}");
        }
        assert!(
            parse(
                "[a]\naws_access_key_id = A\naws_secret_access_key = s\n\
                 [b]\naws_access_key_id = A\naws_secret_access_key = t\n"
            )
            .is_err(),
            "one id twice"
        );
    }
}
