//! The recorded payloads in `../shared/fixtures` beside the workspace root:
//! read there, never copied or edited; missing is a failure, not a skip.

use std::path::PathBuf;

/// `../shared/fixtures` beside the workspace root; missing is a failure.
pub fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    assert!(
        dir.is_dir(),
        "{} is missing: the tests read the recorded payloads there",
        dir.display()
    );
    dir
}

/// The bytes of one fixture, by its path below the fixtures folder.
pub fn fixture(rel: &str) -> Vec<u8> {
    let path = fixtures().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The files of one fixtures folder (not its subfolders' files), sorted by
/// name; an empty or missing folder is a failure.
pub fn fixture_files(rel: &str) -> Vec<PathBuf> {
    let dir = fixtures().join(rel);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no fixture", dir.display());
    files
}
