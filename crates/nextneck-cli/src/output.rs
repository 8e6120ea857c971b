//! Where a command's output goes: standard output, or a file written
//! atomically (a temporary file in the same directory, renamed into place),
//! so a failed run never leaves half a report behind.

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
