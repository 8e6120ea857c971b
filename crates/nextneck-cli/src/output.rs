//! Where a command's output goes: standard output, or a file written
//! atomically (a temporary file in the same directory, renamed into place),
//! so a failed run never leaves half a report behind. A path that names
//! something other than a file (`/dev/null`, `/dev/stdout`, a named pipe) is
//! written in place: renaming a file onto it would replace the device.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Context;

/// Runs `render` against standard output, or against `path` when given.
pub fn write_to(
    path: Option<&Path>,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    match path {
        None => {
            let mut out = BufWriter::new(io::stdout().lock());
            render(&mut out).context("could not write the report")?;
            out.flush().context("could not write the report")?;
            Ok(())
        }
        Some(path) if is_special(path) => write_in_place(path, render),
        Some(path) => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let mut builder = tempfile::Builder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                // What a plain file created under the usual umask gets.
                builder.permissions(std::fs::Permissions::from_mode(0o644));
            }
            let mut tmp = builder
                .tempfile_in(dir)
                .with_context(|| format!("could not create a file in {}; check that the directory exists and is writable", dir.display()))?;
            {
                let mut out = BufWriter::new(tmp.as_file_mut());
                render(&mut out).with_context(|| format!("could not write {}", path.display()))?;
                out.flush()
                    .with_context(|| format!("could not write {}", path.display()))?;
            }
            tmp.persist(path)
                .map_err(|e| e.error)
                .with_context(|| format!("could not write {}", path.display()))?;
            Ok(())
        }
    }
}

/// Whether `path` exists and is not a regular file (a device, a pipe, a
/// socket): such a target is opened and written, never replaced.
fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Writes straight into an existing non-file target such as `/dev/null`.
fn write_in_place(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("could not open {} for writing", path.display()))?;
    let mut out = BufWriter::new(file);
    render(&mut out).with_context(|| format!("could not write {}", path.display()))?;
    out.flush()
        .with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_written_in_place_never_replaced() {
        let null = Path::new("/dev/null");
        write_to(Some(null), |out: &mut dyn Write| out.write_all(b"report"))
            .expect("writing to /dev/null");
        let meta = std::fs::metadata(null).expect("/dev/null exists");
        assert!(!meta.is_file(), "/dev/null was replaced by a regular file");
    }

    #[test]
    fn a_file_is_written_whole() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("r.txt");
        write_to(Some(&path), |out: &mut dyn Write| out.write_all(b"report"))
            .expect("writing the file");
        assert_eq!(std::fs::read_to_string(&path).expect("read back"), "report");
    }
}
