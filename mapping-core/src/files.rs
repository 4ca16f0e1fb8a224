//! Writing files so that nothing is lost or exposed on the way: the bytes go to a new file
//! in the target's directory (created exclusively, under a random name, owner-only, so a
//! pre-created file or a symlink there cannot receive them), are synced, and the file is
//! then renamed over the target. State files and the hash cache, which hold secrets or
//! list-derived data, stay owner-only (0600); other files are made 0644 before the rename.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically; `owner_only` keeps the file at mode 0600.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("acctmap-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("state");
/// mapping_core::files::write_atomic(&path, b"secret", true).unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"secret");
/// #[cfg(unix)]
/// {
///     use std::os::unix::fs::PermissionsExt;
///     assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
/// }
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8], owner_only: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".acctmap-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    #[cfg(unix)]
    if !owner_only {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = owner_only;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Reads at most `limit` bytes of `path`; a longer file is an error without reading it (a
/// regular file's length is checked first) or without reading past the limit (a pipe or a
/// device such as `/dev/zero`, whose length says nothing).
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let too_big = |what: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{what} is larger than any message from a partner within your limits ({limit} bytes)"),
        )
    };
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > limit {
        return Err(too_big(format!("{} bytes", meta.len())));
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_big("the input".into()));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 11: the state file was written through a predictable temporary name opened
    /// without exclusive create; a pre-created 0644 file or a symlink there received the
    /// secret. Now neither is touched.
    #[cfg(unix)]
    #[test]
    fn planted_files_and_symlinks_receive_nothing() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("session.state");
        let planted = dir.path().join(format!(".session.state.tmp-{}", std::process::id()));
        std::fs::write(&planted, b"").unwrap();
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o644)).unwrap();
        let elsewhere = dir.path().join("attacker-reads-this");
        std::os::unix::fs::symlink(&elsewhere, dir.path().join(".acctmap-link")).unwrap();
        write_atomic(&target, b"key material", true).unwrap();
        assert_eq!(std::fs::read(&planted).unwrap(), b"");
        assert!(!elsewhere.exists());
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "no temporary file is left: {names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn endless_inputs_are_bounded() {
        let e = read_bounded(Path::new("/dev/zero"), 1000).unwrap_err();
        assert!(
            e.to_string().contains("larger than any message") && e.to_string().contains("(1000 bytes)"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m");
        std::fs::write(&p, [1u8; 1000]).unwrap();
        assert_eq!(read_bounded(&p, 1000).unwrap().len(), 1000);
    }
}
