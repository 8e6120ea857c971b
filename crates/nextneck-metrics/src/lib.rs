//! nextneck's metrics engine: from normalized facts to a [`Report`].
//!
//! Pure computation: no IO, no clock, no environment. Every figure's
//! definition is in `docs/metrics.md`; the functions here implement those
//! definitions and nothing else, so the same input always gives the same
//! report, and `--explain` can show the events behind every number.

pub mod code;
mod common;
pub mod delivery;
pub mod digest;
mod dora;
pub mod flow;
pub mod flow_events;
pub mod forecast;
pub mod git;
mod glob;
pub mod report;
pub mod stats;
pub mod tiers;
pub mod time;
pub mod types;
mod window;
mod words;

pub use code::{CodeReport, CodeSettings, code_report};
pub use delivery::{DeliverySettings, TracedEvent, delivery_report};
pub use git::{DeploySource, GitSettings, git_report};
pub use report::Report;
pub use types::{ReportError, WindowSpec};

/// The modules' imports form no loop: every `crate::x` a module (or its
/// folder) names outside its tests and comments, as a graph.
#[cfg(test)]
mod import_graph {
    use std::collections::BTreeMap;
    use std::path::Path;

    /// The source of each top-level module, its folder's files included,
    /// without comments and test modules.
    fn modules() -> BTreeMap<String, String> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut modules = BTreeMap::new();
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("src is readable") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let relative = path.strip_prefix(&src).expect("under src");
                let first = relative.components().next().expect("a component");
                let name = first.as_os_str().to_string_lossy().replace(".rs", "");
                let text = std::fs::read_to_string(&path).expect("a source file");
                let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
                let code: String = code
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                modules
                    .entry(name)
                    .or_insert_with(String::new)
                    .push_str(&code);
            }
        }
        modules.remove("lib");
        modules
    }

    fn edges(modules: &BTreeMap<String, String>) -> BTreeMap<&str, Vec<&str>> {
        modules
            .iter()
            .map(|(name, code)| {
                let mut to: Vec<&str> = code
                    .match_indices("crate::")
                    .filter_map(|(i, _)| {
                        let rest = &code[i + "crate::".len()..];
                        let end = rest
                            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .unwrap_or(rest.len());
                        let target = &rest[..end];
                        modules
                            .get_key_value(target)
                            .map(|(k, _)| k.as_str())
                            .filter(|t| t != name)
                    })
                    .collect();
                to.sort_unstable();
                to.dedup();
                (name.as_str(), to)
            })
            .collect()
    }

    #[test]
    fn the_modules_import_each_other_without_a_loop() {
        let modules = modules();
        let edges = edges(&modules);
        // Depth-first search, with the path so far to name a loop.
        fn visit<'a>(
            node: &'a str,
            edges: &BTreeMap<&'a str, Vec<&'a str>>,
            path: &mut Vec<&'a str>,
            done: &mut Vec<&'a str>,
        ) {
            if done.contains(&node) {
                return;
            }
            if let Some(at) = path.iter().position(|&n| n == node) {
                panic!("import loop: {} → {node}", path[at..].join(" → "));
            }
            path.push(node);
            for &next in edges.get(node).into_iter().flatten() {
                visit(next, edges, path, done);
            }
            path.pop();
            done.push(node);
        }
        let mut done = Vec::new();
        for &node in edges.keys() {
            visit(node, &edges, &mut Vec::new(), &mut done);
        }
        // The search saw the imports: git names common, common the report.
        assert!(edges["git"].contains(&"common"), "{edges:?}");
        assert!(edges["common"].contains(&"report"), "{edges:?}");
    }
}
