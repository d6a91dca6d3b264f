//! The default keyring: versioned KEKs and the index root key in a local key file.
//!
//! File format (text, one key a line, mode 0600):
//!
//! ```text
//! # comments
//! lessee-keyfile 1
//! index 1 <64 hex digits>
//! kek 1 <64 hex digits>
//! kek 2 <64 hex digits>
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::gcm;
use crate::keys::{KEY_LEN, KekVersion, KeyMaterial, Keyring, KeyringKind, WrappedSecret};

/// The key file's name inside the directory given to [`LocalKeyring::open_or_create`].
pub const KEY_FILE_NAME: &str = "lessee-keys";
const HEADER: &str = "lessee-keyfile 1";
const LOCK_SUFFIX: &str = ".lock";
/// The largest key file read (a few thousand versions); guards against reading a wrong file.
const MAX_FILE_LEN: u64 = 1 << 20;

/// KEKs kept in a local file outside the database (the default keyring).
///
/// The file is created at first use with mode 0600 in a directory created with mode 0700; a file
/// that group or others can access is refused ([`CryptoError::InsecureKeyFile`]). Rotation and
/// removal rewrite the file atomically (write a temporary file, fsync, rename) under an
/// exclusive lock on `lessee-keys.lock`, so a CLI can rotate while a server runs: the server
/// rereads the file when it meets a version it does not hold, or on [`LocalKeyring::reload`].
pub struct LocalKeyring {
    path: PathBuf,
    created: bool,
    state: RwLock<State>,
}

struct State {
    keks: BTreeMap<KekVersion, KeyMaterial>,
    index: KeyMaterial,
}

impl fmt::Debug for LocalKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let versions: Vec<KekVersion> = self.state.read().map(|s| s.keks.keys().copied().collect()).unwrap_or_default();
        f.debug_struct("LocalKeyring").field("path", &self.path).field("versions", &versions).finish_non_exhaustive()
    }
}

impl LocalKeyring {
    /// Opens `dir/lessee-keys`, creating the directory (mode 0700) and the file (mode 0600,
    /// KEK version 1 and an index root key) when missing. [`created`](Self::created) tells
    /// which happened, and [`path`](Self::path) where the file is, so the server can print it.
    pub fn open_or_create(dir: impl AsRef<Path>) -> Result<Self, CryptoError> {
        let dir = dir.as_ref();
        create_private_dir(dir)?;
        let path = dir.join(KEY_FILE_NAME);
        match fs::symlink_metadata(&path) {
            Ok(_) => Self::open(&path),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let state = State {
                    keks: BTreeMap::from([(KekVersion::FIRST, KeyMaterial::random()?)]),
                    index: KeyMaterial::random()?,
                };
                let created = publish_new(&path, &state)?;
                if created {
                    Ok(LocalKeyring { path, created: true, state: RwLock::new(state) })
                } else {
                    // Another process created it first: use theirs.
                    Self::open(&path)
                }
            }
            Err(source) => Err(CryptoError::Io { action: "inspecting", path, source }),
        }
    }

    /// Opens an existing key file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CryptoError> {
        let path = path.as_ref().to_path_buf();
        let state = read_key_file(&path)?;
        Ok(LocalKeyring { path, created: false, state: RwLock::new(state) })
    }

    /// The key file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this call created the key file.
    #[must_use]
    pub fn created(&self) -> bool {
        self.created
    }

    /// Rereads the key file (after another process rotated or removed a version).
    pub fn reload(&self) -> Result<(), CryptoError> {
        let fresh = read_key_file(&self.path)?;
        *self.state.write().map_err(|_| CryptoError::Poisoned)? = fresh;
        Ok(())
    }

    /// Reads the file under the lock, lets `change` edit it, writes it back atomically and
    /// adopts the result.
    fn modify<R>(&self, change: impl FnOnce(&mut State) -> Result<R, CryptoError>) -> Result<R, CryptoError> {
        let _lock = lock_file(&self.path)?;
        let mut state = read_key_file(&self.path)?;
        let result = change(&mut state)?;
        replace_file(&self.path, &state)?;
        *self.state.write().map_err(|_| CryptoError::Poisoned)? = state;
        Ok(result)
    }

    fn unwrap_with_held(&self, wrapped: &WrappedSecret, aad: &[u8]) -> Result<Option<KeyMaterial>, CryptoError> {
        let state = self.state.read().map_err(|_| CryptoError::Poisoned)?;
        match state.keks.get(&wrapped.version) {
            Some(kek) => gcm::unwrap_key(kek, &wrapped.bytes, aad).map(Some),
            None => Ok(None),
        }
    }
}

impl Keyring for LocalKeyring {
    fn kind(&self) -> KeyringKind {
        KeyringKind::LocalFile
    }

    fn versions(&self) -> Result<Vec<KekVersion>, CryptoError> {
        let state = self.state.read().map_err(|_| CryptoError::Poisoned)?;
        Ok(state.keks.keys().copied().collect())
    }

    fn wrap(&self, key: &KeyMaterial, aad: &[u8]) -> Result<WrappedSecret, CryptoError> {
        let state = self.state.read().map_err(|_| CryptoError::Poisoned)?;
        let (version, kek) = state
            .keks
            .last_key_value()
            .ok_or(CryptoError::KeyFile { path: self.path.clone(), reason: "it holds no key-encryption key".into() })?;
        Ok(WrappedSecret { version: *version, bytes: gcm::wrap_key(kek, key, aad)? })
    }

    fn unwrap(&self, wrapped: &WrappedSecret, aad: &[u8]) -> Result<KeyMaterial, CryptoError> {
        if let Some(key) = self.unwrap_with_held(wrapped, aad)? {
            return Ok(key);
        }
        // Perhaps another process rotated: reread once.
        self.reload()?;
        self.unwrap_with_held(wrapped, aad)?.ok_or(CryptoError::UnknownKekVersion(wrapped.version))
    }

    fn rotate(&self) -> Result<KekVersion, CryptoError> {
        self.modify(|state| {
            let next = match state.keks.last_key_value() {
                Some((newest, _)) => newest.next()?,
                None => KekVersion::FIRST,
            };
            state.keks.insert(next, KeyMaterial::random()?);
            Ok(next)
        })
    }

    fn remove_version(&self, version: KekVersion) -> Result<(), CryptoError> {
        self.modify(|state| {
            let newest = state.keks.last_key_value().map(|(v, _)| *v);
            if newest == Some(version) {
                return Err(CryptoError::CannotRemove { version, reason: "it is the newest version; rotate first" });
            }
            match state.keks.remove(&version) {
                Some(_) => Ok(()),
                None => Err(CryptoError::UnknownKekVersion(version)),
            }
        })
    }

    fn derive_index_key(&self, info: &[u8]) -> Result<KeyMaterial, CryptoError> {
        let state = self.state.read().map_err(|_| CryptoError::Poisoned)?;
        hkdf_expand(&state.index, info)
    }
}

/// HKDF-SHA256-Expand(prk, info, 32).
pub(crate) fn hkdf_expand(prk: &KeyMaterial, info: &[u8]) -> Result<KeyMaterial, CryptoError> {
    let hkdf = Hkdf::<Sha256>::from_prk(prk.expose())
        .map_err(|_| CryptoError::Malformed { what: "index key", reason: "too short for HKDF" })?;
    let mut out = KeyMaterial::zeroed();
    hkdf.expand(info, out.expose_mut())
        .map_err(|_| CryptoError::Malformed { what: "index key", reason: "HKDF output too long" })?;
    Ok(out)
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CryptoError {
    let path = path.to_path_buf();
    move |source| CryptoError::Io { action, path, source }
}

fn create_private_dir(dir: &Path) -> Result<(), CryptoError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io("creating directory", dir))
}

/// Opens a new file that only its owner can read and write; fails if it exists.
fn create_private_file(path: &Path) -> Result<File, CryptoError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(io("creating", path))
}

fn check_private(path: &Path, file: &File) -> Result<(), CryptoError> {
    let metadata = file.metadata().map_err(io("inspecting", path))?;
    if !metadata.is_file() {
        return Err(CryptoError::KeyFile { path: path.to_path_buf(), reason: "not a regular file".into() });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(CryptoError::InsecureKeyFile { path: path.to_path_buf(), mode });
        }
    }
    if metadata.len() > MAX_FILE_LEN {
        return Err(CryptoError::KeyFile {
            path: path.to_path_buf(),
            reason: "larger than 1 MiB: not a key file".into(),
        });
    }
    Ok(())
}

fn read_key_file(path: &Path) -> Result<State, CryptoError> {
    let mut file = File::open(path).map_err(io("opening", path))?;
    check_private(path, &file)?;
    let len = file.metadata().map_err(io("inspecting", path))?.len();
    let capacity = usize::try_from(len).unwrap_or(0).saturating_add(1);
    // Sized up front so the buffer holding the keys is never reallocated (and left unscrubbed).
    let mut text = Zeroizing::new(String::with_capacity(capacity));
    (&mut file).take(MAX_FILE_LEN).read_to_string(&mut text).map_err(io("reading", path))?;
    parse(&text).map_err(|reason| CryptoError::KeyFile { path: path.to_path_buf(), reason })
}

fn parse(text: &str) -> Result<State, String> {
    let mut header = false;
    let mut keks = BTreeMap::new();
    let mut index = None;
    for (number, line) in text.lines().enumerate() {
        let number = number.saturating_add(1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !header {
            if line != HEADER {
                return Err(format!("line {number}: expected `{HEADER}`"));
            }
            header = true;
            continue;
        }
        let mut fields = line.split_ascii_whitespace();
        let (Some(kind), Some(version), Some(hex_key), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("line {number}: expected `kek|index VERSION HEX-KEY`"));
        };
        let version = version
            .parse::<u32>()
            .ok()
            .and_then(KekVersion::new)
            .ok_or_else(|| format!("line {number}: version must be a number from 1"))?;
        let mut key = KeyMaterial::zeroed();
        hex::decode_to_slice(hex_key, key.expose_mut())
            .map_err(|_| format!("line {number}: a key is {} hex digits", KEY_LEN * 2))?;
        match kind {
            "kek" => {
                if keks.insert(version, key).is_some() {
                    return Err(format!("line {number}: KEK version {version} appears twice"));
                }
            }
            "index" => {
                if index.replace(key).is_some() {
                    return Err(format!("line {number}: a second index key"));
                }
            }
            _ => return Err(format!("line {number}: unknown key kind (kek or index)")),
        }
    }
    if !header {
        return Err(format!("empty; expected `{HEADER}`"));
    }
    if keks.is_empty() {
        return Err("no key-encryption key (`kek` line)".into());
    }
    let index = index.ok_or_else(|| "no index key (`index` line)".to_string())?;
    Ok(State { keks, index })
}

fn render(state: &State) -> Zeroizing<String> {
    let lines = state.keks.len().saturating_add(4);
    let mut text = Zeroizing::new(String::with_capacity(lines.saturating_mul(90)));
    text.push_str(
        "# lessee key file: key-encryption keys and the blind-index root key.\n\
         # Whoever holds this file can decrypt the personal data in the database: keep it\n\
         # mode 0600, back it up apart from the database, never commit or share it.\n",
    );
    text.push_str(HEADER);
    text.push('\n');
    push_key(&mut text, "index", 1, &state.index);
    for (version, kek) in &state.keks {
        push_key(&mut text, "kek", version.get(), kek);
    }
    text
}

fn push_key(text: &mut String, kind: &str, version: u32, key: &KeyMaterial) {
    let mut hex_key = Zeroizing::new([0u8; KEY_LEN * 2]);
    // Cannot fail: the output buffer is exactly twice the key's length.
    if hex::encode_to_slice(key.expose(), hex_key.as_mut_slice()).is_ok() {
        text.push_str(kind);
        text.push(' ');
        text.push_str(&version.to_string());
        text.push(' ');
        text.extend(hex_key.iter().map(|b| char::from(*b)));
        text.push('\n');
    }
}

fn temp_path(path: &Path) -> Result<PathBuf, CryptoError> {
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(crate::error::random_error)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", hex::encode(suffix)));
    Ok(path.with_file_name(name))
}

fn write_temp(path: &Path, state: &State) -> Result<PathBuf, CryptoError> {
    let temp = temp_path(path)?;
    let mut file = create_private_file(&temp)?;
    let written = file.write_all(render(state).as_bytes()).and_then(|()| file.sync_all());
    if let Err(source) = written {
        let _ = fs::remove_file(&temp);
        return Err(CryptoError::Io { action: "writing", path: temp, source });
    }
    Ok(temp)
}

fn sync_parent(path: &Path) -> Result<(), CryptoError> {
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        let dir = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        File::open(dir).and_then(|d| d.sync_all()).map_err(io("syncing directory", dir))?;
    }
    Ok(())
}

/// Publishes a new key file unless one exists: true if this call created it.
fn publish_new(path: &Path, state: &State) -> Result<bool, CryptoError> {
    let temp = write_temp(path, state)?;
    // A hard link never replaces an existing file: of two processes starting at once, one wins.
    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            sync_parent(path)?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(CryptoError::Io { action: "creating", path: path.to_path_buf(), source }),
    }
}

/// Atomically replaces the key file.
fn replace_file(path: &Path, state: &State) -> Result<(), CryptoError> {
    let temp = write_temp(path, state)?;
    if let Err(source) = fs::rename(&temp, path) {
        let _ = fs::remove_file(&temp);
        return Err(CryptoError::Io { action: "replacing", path: path.to_path_buf(), source });
    }
    sync_parent(path)
}

/// An exclusive lock on `<key file>.lock`, released when the returned file is dropped.
fn lock_file(path: &Path) -> Result<File, CryptoError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(LOCK_SUFFIX);
    let lock_path = path.with_file_name(name);
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&lock_path).map_err(io("opening", &lock_path))?;
    file.lock().map_err(io("locking", &lock_path))?;
    Ok(file)
}
