//! `nextneck completions SHELL` and `nextneck man`: shell completion
//! scripts and the manual page, generated from the same clap definition
//! that parses the command line, so they never miss a subcommand or flag.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory, ValueEnum};

/// `nextneck completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish or powershell.
    #[arg(value_enum)]
    shell: Shell,
}

/// The shells completion scripts are written for.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Shell {
    /// Bash: `source <(nextneck completions bash)`.
    Bash,
    /// Zsh: save as `_nextneck` in a directory of `$fpath`.
    Zsh,
    /// Fish: save as `~/.config/fish/completions/nextneck.fish`.
    Fish,
    /// PowerShell: `nextneck completions powershell | Out-String | Invoke-Expression`.
    Powershell,
}

/// `nextneck man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (nextneck.1, nextneck-report.1, ...) into
    /// this directory instead of printing the single page on standard output.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    use clap_complete::shells;
    let mut cmd = crate::Cli::command();
    let name = cmd.get_name().to_owned();
    match shell {
        Shell::Bash => clap_complete::generate(shells::Bash, &mut cmd, name, out),
        Shell::Zsh => clap_complete::generate(shells::Zsh, &mut cmd, name, out),
        Shell::Fish => clap_complete::generate(shells::Fish, &mut cmd, name, out),
        Shell::Powershell => clap_complete::generate(shells::PowerShell, &mut cmd, name, out),
    }
}

/// The single manual page: the top-level page, then each subcommand's
/// synopsis, description and options under a heading of its own.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = crate::Cli::command().disable_help_subcommand(true);
    cmd.build();
    clap_mangen::Man::new(cmd.clone()).render(out)?;
    subcommand_sections(&cmd, cmd.get_name(), out)
}

/// Each subcommand of `cmd`, and theirs in turn (`sync github`), as a
/// section headed by its full name.
fn subcommand_sections(
    cmd: &clap::Command,
    path: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{path} {}", sub.get_name());
        writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
        let page = clap_mangen::Man::new(sub.clone());
        page.render_synopsis_section(out)?;
        page.render_description_section(out)?;
        page.render_options_section(out)?;
        subcommand_sections(sub, &name, out)?;
    }
    Ok(())
}

pub fn run_completions(args: CompletionsArgs) -> anyhow::Result<()> {
    crate::output::write_to(None, |out| {
        completions(args.shell, out);
        Ok(())
    })
}

pub fn run_man(args: ManArgs) -> anyhow::Result<()> {
    match args.dir {
        None => crate::output::write_to(None, man),
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
            clap_mangen::generate_to(crate::Cli::command(), &dir)
                .with_context(|| format!("could not write the pages into {}", dir.display()))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every subcommand's name and every long flag of every command, from
    /// the clap tree.
    fn names() -> Vec<(String, Vec<String>)> {
        fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<(String, Vec<String>)>) {
            let flags = cmd
                .get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long().map(str::to_owned))
                .collect();
            out.push((path.to_owned(), flags));
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), out);
            }
        }
        let mut cmd = crate::Cli::command().disable_help_subcommand(true);
        cmd.build();
        let mut out = Vec::new();
        walk(&cmd, "nextneck", &mut out);
        out
    }

    /// Checks that `text` names every subcommand and, `with_flags`, every
    /// long flag (as `--flag`, or `\-\-flag` in roff).
    fn check(what: &str, text: &str) {
        let tree = names();
        assert!(tree.len() > 10, "the tree has the subcommands: {tree:?}");
        for (path, flags) in &tree {
            let sub = path.rsplit(' ').next().unwrap();
            assert!(text.contains(sub), "{what} does not name `{path}`");
            for flag in flags {
                let plain = format!("--{flag}");
                let roff = format!("\\-\\-{}", flag.replace('-', "\\-"));
                assert!(
                    text.contains(&plain) || text.contains(&roff),
                    "{what} does not name `{path} --{flag}`"
                );
            }
        }
    }

    #[test]
    fn every_shell_completes_every_subcommand_and_flag() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell] {
            let mut out = Vec::new();
            completions(shell, &mut out);
            let text = String::from_utf8(out).unwrap();
            // Fish names flags without dashes (`-l since`).
            let text = if matches!(shell, Shell::Fish) {
                text.replace("-l ", "--")
            } else {
                text
            };
            check(&format!("{shell:?}"), &text);
        }
    }

    #[test]
    fn the_man_page_names_every_subcommand_and_flag() {
        let mut out = Vec::new();
        man(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(".ie \\n(.g .ds Aq") || text.contains(".TH nextneck 1"));
        check("man", &text);
        assert!(text.contains(".SH \"NEXTNECK REPORT\""));
    }

    #[test]
    fn one_page_per_command_in_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        run_man(ManArgs {
            dir: Some(dir.path().join("man1")),
        })
        .unwrap();
        let mut all = String::new();
        for (path, _) in names() {
            let file = dir
                .path()
                .join("man1")
                .join(format!("{}.1", path.replace(' ', "-")));
            all.push_str(&std::fs::read_to_string(&file).unwrap_or_else(|e| {
                panic!("{}: {e}", file.display());
            }));
        }
        check("man --dir", &all);
    }
}
