//! The CI integrations: `scripts/ci/nextneck_ci.py` run with the
//! environment GitHub Actions and GitLab CI provide, against a local HTTP
//! stand-in for the comments and notes APIs that records every request; and
//! `action.yml` and the GitLab template checked against the required fields
//! of their schemas (GitHub's action metadata and GitLab's CI schema, whose
//! JSON Schema files cannot be fetched here, so the test checks the fields
//! those schemas require and the values they allow).

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{Repo, at};
use nextneck_testkit::http;
use serde_json::{Value, json};
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One request the stand-in received: method, path with query, the
/// authentication header, JSON body.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    auth: String,
    body: Value,
}

/// The comments (or notes) API of one pull (or merge) request: lists with
/// pages, creates, updates by id. `list` and `item` are the path prefixes.
#[derive(Default)]
struct StandIn {
    comments: Vec<Value>,
    seen: Vec<Seen>,
}

fn stand_in(
    list: &'static str,
    item: &'static str,
    existing: Vec<Value>,
) -> (String, Arc<Mutex<StandIn>>) {
    let state = Arc::new(Mutex::new(StandIn {
        comments: existing,
        seen: Vec::new(),
    }));
    let shared = state.clone();
    let url = http::receiver(move |request| {
        let body = request.json();
        let (method, path) = (request.method.clone(), request.target.clone());
        let auth = request
            .header("authorization")
            .or(request.header("private-token"))
            .unwrap_or("")
            .to_owned();
        let mut s = shared.lock().unwrap();
        s.seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            auth,
            body: body.clone(),
        });
        let (route, query) = path.split_once('?').unwrap_or((&path, ""));
        let (status, answer) = if method == "GET" && route == list {
            let page: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("page="))
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let per: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("per_page="))
                .and_then(|p| p.parse().ok())
                .unwrap_or(30);
            let chunk: Vec<Value> = s
                .comments
                .iter()
                .skip((page - 1) * per)
                .take(per)
                .cloned()
                .collect();
            (200, Value::Array(chunk))
        } else if method == "POST" && route == list {
            let id = 1000 + s.comments.len();
            let c = json!({"id": id, "body": body["body"]});
            s.comments.push(c.clone());
            (201, c)
        } else if let Some(id) = route.strip_prefix(item).and_then(|i| i.parse::<u64>().ok()) {
            match s.comments.iter_mut().find(|c| c["id"] == json!(id)) {
                Some(c) if method == "PATCH" || method == "PUT" => {
                    c["body"] = body["body"].clone();
                    (200, c.clone())
                }
                _ => (404, json!({"message": "Not Found"})),
            }
        } else {
            (404, json!({"message": "Not Found"}))
        };
        http::Reply::json(status, &answer)
    });
    (url, state)
}

/// A small repository with two releases.
fn repo() -> Repo {
    let mut repo = Repo::new();
    let a = repo.commit("first", at(0, 9), at(0, 10));
    repo.tag("v1.0.0", &a);
    let b = repo.commit("second", at(1, 9), at(1, 10));
    repo.tag("v1.1.0", &b);
    repo
}

/// Runs the script the way the CI runs it, with `env` and no other CI
/// variable; returns (exit code, stdout, stderr).
fn script(which: &str, cwd: &Path, env: &[(&str, String)]) -> (i32, String, String) {
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("scripts/ci/nextneck_ci.py"))
        .arg(which)
        .current_dir(cwd)
        .env("NEXTNECK_BIN", env!("CARGO_BIN_EXE_nextneck"))
        .env("NEXTNECK_ARGS", "--all")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_")
            || k.starts_with("CI_")
            || k.starts_with("NEXTNECK_") && k != "NEXTNECK_TEST_POSTGRES"
        {
            cmd.env_remove(&k);
        }
    }
    cmd.env("NEXTNECK_BIN", env!("CARGO_BIN_EXE_nextneck"))
        .env("NEXTNECK_ARGS", "--all");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn github_env(repo: &Repo, dir: &Path, api: &str, event: &Value) -> Vec<(&'static str, String)> {
    let event_path = dir.join("event.json");
    std::fs::write(&event_path, event.to_string()).unwrap();
    vec![
        (
            "GITHUB_STEP_SUMMARY",
            dir.join("summary.md").display().to_string(),
        ),
        ("GITHUB_EVENT_PATH", event_path.display().to_string()),
        ("GITHUB_EVENT_NAME", "pull_request".to_owned()),
        ("GITHUB_API_URL", api.to_owned()),
        ("GITHUB_REPOSITORY", "acme/shop".to_owned()),
        ("GITHUB_TOKEN", "ghs_test".to_owned()),
        ("NEXTNECK_PATH", repo.path().display().to_string()),
    ]
}

#[test]
fn github_writes_the_summary_and_keeps_one_pull_request_comment() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let other = json!({"id": 7, "body": "LGTM"});
    let (api, state) = stand_in(
        "/repos/acme/shop/issues/42/comments",
        "/repos/acme/shop/issues/comments/",
        vec![other],
    );
    let event = json!({"action": "synchronize", "number": 42, "pull_request": {"number": 42}});
    let env = github_env(&repo, dir.path(), &api, &event);
    // First run: no marked comment yet, so one is created.
    let (code, out, err) = script("github", dir.path(), &env);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created comment 1001"), "{out}");
    // Second run: the marked comment is updated, not duplicated.
    let (code, out, err) = script("github", dir.path(), &env);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("updated comment 1001"), "{out}");
    let s = state.lock().unwrap();
    let calls: Vec<String> = s
        .seen
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        calls,
        [
            "GET /repos/acme/shop/issues/42/comments?per_page=100&page=1",
            "POST /repos/acme/shop/issues/42/comments",
            "GET /repos/acme/shop/issues/42/comments?per_page=100&page=1",
            "PATCH /repos/acme/shop/issues/comments/1001",
        ]
    );
    assert!(s.seen.iter().all(|r| r.auth == "Bearer ghs_test"));
    assert_eq!(s.comments.len(), 2, "the other comment and ours");
    let ours = s.comments[1]["body"].as_str().unwrap();
    let report = ours.strip_prefix("<!-- nextneck-report -->\n").unwrap();
    assert!(report.starts_with("## nextneck report: "), "{report}");
    // Each run appended the same report to the job summary.
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert_eq!(summary, format!("{report}\n{report}\n"));
}

#[test]
fn github_finds_its_comment_on_a_later_page() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let mut existing: Vec<Value> = (0..150)
        .map(|i| json!({"id": i, "body": format!("comment {i}")}))
        .collect();
    existing.push(json!({"id": 150, "body": "<!-- nextneck-report -->\nold"}));
    let (api, state) = stand_in(
        "/repos/acme/shop/issues/5/comments",
        "/repos/acme/shop/issues/comments/",
        existing,
    );
    let event = json!({"pull_request": {"number": 5}});
    let env = github_env(&repo, dir.path(), &api, &event);
    let (code, out, err) = script("github", dir.path(), &env);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("updated comment 150"), "{out}");
    let s = state.lock().unwrap();
    assert_eq!(s.seen.len(), 3, "two pages, one update");
    assert_eq!(s.seen[2].method, "PATCH");
    assert!(
        s.seen[2].body["body"]
            .as_str()
            .unwrap()
            .contains("nextneck")
    );
}

#[test]
fn github_on_a_push_writes_only_the_summary() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let (api, state) = stand_in("/x", "/y/", vec![]);
    let mut env = github_env(&repo, dir.path(), &api, &json!({"ref": "refs/heads/main"}));
    env.push(("GITHUB_EVENT_NAME", "push".to_owned()));
    let (code, out, err) = script("github", dir.path(), &env);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("not a pull request"), "{out}");
    assert!(
        std::fs::read_to_string(dir.path().join("summary.md"))
            .unwrap()
            .starts_with("## nextneck report: ")
    );
    assert!(state.lock().unwrap().seen.is_empty());
}

#[test]
fn failures_are_reported_with_exit_1() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    // The API refuses (a read-only token): exit 1 naming the answer.
    let (api, _state) = stand_in("/elsewhere", "/y/", vec![]);
    let env = github_env(
        &repo,
        dir.path(),
        &api,
        &json!({"pull_request": {"number": 3}}),
    );
    let (code, _, err) = script("github", dir.path(), &env);
    assert_eq!(code, 1);
    assert!(
        err.contains("GET http://") && err.contains("answered HTTP 404"),
        "{err}"
    );
    // nextneck itself fails (not a repository): exit 1 with its message.
    let mut env = github_env(&repo, dir.path(), &api, &json!({}));
    env.push(("NEXTNECK_PATH", dir.path().display().to_string()));
    let (code, _, err) = script("github", dir.path(), &env);
    assert_eq!(code, 1);
    assert!(err.contains("nextneck report failed (exit 1)"), "{err}");
    // No token on a pull request.
    let mut env = github_env(
        &repo,
        dir.path(),
        &api,
        &json!({"pull_request": {"number": 3}}),
    );
    env.retain(|(k, _)| *k != "GITHUB_TOKEN");
    let (code, _, err) = script("github", dir.path(), &env);
    assert_eq!(code, 1);
    assert!(err.contains("GITHUB_TOKEN is not set"), "{err}");
}

#[test]
fn gitlab_writes_the_artifact_and_keeps_one_merge_request_note() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let (api, state) = stand_in(
        "/api/v4/projects/99/merge_requests/12/notes",
        "/api/v4/projects/99/merge_requests/12/notes/",
        vec![json!({"id": 1, "body": "a review note"})],
    );
    let env = vec![
        ("CI_API_V4_URL", format!("{api}/api/v4")),
        ("CI_PROJECT_ID", "99".to_owned()),
        ("CI_MERGE_REQUEST_IID", "12".to_owned()),
        ("CI_PIPELINE_SOURCE", "merge_request_event".to_owned()),
        ("NEXTNECK_GITLAB_TOKEN", "glpat-test".to_owned()),
        ("NEXTNECK_PATH", repo.path().display().to_string()),
    ];
    for (run, want) in [(1, "created comment 1001"), (2, "updated comment 1001")] {
        let (code, out, err) = script("gitlab", dir.path(), &env);
        assert_eq!(code, 0, "run {run}: {err}");
        assert!(out.contains(want), "run {run}: {out}");
    }
    let artifact = std::fs::read_to_string(dir.path().join("nextneck-report.md")).unwrap();
    assert!(artifact.starts_with("## nextneck report: "), "{artifact}");
    let s = state.lock().unwrap();
    let calls: Vec<String> = s
        .seen
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        calls,
        [
            "GET /api/v4/projects/99/merge_requests/12/notes?per_page=100&page=1",
            "POST /api/v4/projects/99/merge_requests/12/notes",
            "GET /api/v4/projects/99/merge_requests/12/notes?per_page=100&page=1",
            "PUT /api/v4/projects/99/merge_requests/12/notes/1001",
        ]
    );
    assert!(s.seen.iter().all(|r| r.auth == "glpat-test"));
    assert_eq!(
        s.comments[1]["body"],
        json!(format!("<!-- nextneck-report -->\n{artifact}"))
    );
    // A branch pipeline: the artifact only.
    drop(s);
    let branch: Vec<(&str, String)> = env
        .iter()
        .filter(|(k, _)| *k != "CI_MERGE_REQUEST_IID")
        .cloned()
        .collect();
    let (code, out, _) = script("gitlab", dir.path(), &branch);
    assert_eq!(code, 0);
    assert!(out.contains("not a merge request pipeline"), "{out}");
}

fn yaml(path: &str) -> Yaml {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(docs.len(), 1, "{path}: one document");
    docs.remove(0)
}

fn keys(y: &Yaml) -> Vec<String> {
    y.as_hash()
        .map(|h| {
            h.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// GitHub's action metadata schema: `name`, `description` and `runs` are
/// required; a composite action's `runs.steps` each `run` a script with a
/// `shell` or `uses` an action; inputs have descriptions; composite outputs
/// have a `value`; branding takes one of its colours. Every `inputs.NAME` the
/// steps use is declared, and the files the steps run exist.
#[test]
fn action_yml_has_what_the_action_schema_requires() {
    let a = yaml("action.yml");
    let allowed = [
        "name",
        "author",
        "description",
        "inputs",
        "outputs",
        "runs",
        "branding",
    ];
    for k in keys(&a) {
        assert!(allowed.contains(&k.as_str()), "unknown key {k}");
    }
    for k in ["name", "description"] {
        assert!(a[k].as_str().is_some_and(|s| !s.is_empty()), "{k}");
    }
    assert_eq!(a["runs"]["using"].as_str(), Some("composite"));
    let steps = a["runs"]["steps"].as_vec().unwrap();
    assert!(!steps.is_empty());
    let inputs = keys(&a["inputs"]);
    let mut used = BTreeMap::new();
    for step in steps {
        let run = step["run"].as_str();
        assert!(
            run.is_some() != step["uses"].as_str().is_some(),
            "run or uses: {step:?}"
        );
        if run.is_some() {
            assert_eq!(
                step["shell"].as_str(),
                Some("bash"),
                "a composite run step needs a shell"
            );
        }
        let text = format!("{step:?}");
        for (i, _) in text.match_indices("inputs.") {
            let name: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            used.insert(name, ());
        }
        if let Some(r) = run {
            for (i, _) in r.match_indices("github.action_path }}/") {
                let rel: String = r[i + 22..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"')
                    .collect();
                assert!(root().join(&rel).exists(), "{rel}");
            }
        }
    }
    for name in used.keys() {
        assert!(inputs.contains(name), "inputs.{name} is not declared");
    }
    for name in &inputs {
        assert!(
            a["inputs"][name.as_str()]["description"].as_str().is_some(),
            "input {name}"
        );
    }
    for name in keys(&a["outputs"]) {
        assert!(
            a["outputs"][name.as_str()]["value"].as_str().is_some(),
            "output {name}"
        );
    }
    let colors = [
        "white",
        "black",
        "yellow",
        "blue",
        "green",
        "orange",
        "red",
        "purple",
        "gray-dark",
    ];
    assert!(colors.contains(&a["branding"]["color"].as_str().unwrap()));
    assert!(root().join("crates/nextneck-cli/Cargo.toml").is_file());
}

/// GitLab's CI schema: a job (any top-level key that is not a global
/// keyword) needs a `script` (or `trigger`/`extends`); its keys are job
/// keywords; `variables` are strings; each rule has `if` (or `changes`,
/// `exists`, `when`); `artifacts.paths` is a list.
#[test]
fn the_gitlab_template_has_what_the_ci_schema_requires() {
    let t = yaml("ci/gitlab/nextneck.gitlab-ci.yml");
    let global = [
        "default",
        "include",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
    ];
    let job_keys = [
        "after_script",
        "allow_failure",
        "artifacts",
        "before_script",
        "cache",
        "coverage",
        "dependencies",
        "environment",
        "except",
        "extends",
        "id_tokens",
        "image",
        "inherit",
        "interruptible",
        "needs",
        "only",
        "parallel",
        "release",
        "resource_group",
        "retry",
        "rules",
        "script",
        "secrets",
        "services",
        "stage",
        "tags",
        "timeout",
        "trigger",
        "variables",
        "when",
        "hooks",
        "pages",
    ];
    let jobs: Vec<String> = keys(&t)
        .into_iter()
        .filter(|k| !global.contains(&k.as_str()) && !k.starts_with('.'))
        .collect();
    assert_eq!(jobs, ["nextneck"]);
    let job = &t["nextneck"];
    for k in keys(job) {
        assert!(job_keys.contains(&k.as_str()), "unknown job keyword {k}");
    }
    let script = job["script"].as_vec().unwrap();
    assert!(!script.is_empty() && script.iter().all(|s| s.as_str().is_some()));
    assert!(
        job["before_script"]
            .as_vec()
            .unwrap()
            .iter()
            .all(|s| s.as_str().is_some())
    );
    assert!(job["stage"].as_str().is_some() && job["image"].as_str().is_some());
    for (k, v) in job["variables"].as_hash().unwrap() {
        assert!(v.as_str().is_some(), "variable {k:?} is a string");
    }
    for rule in job["rules"].as_vec().unwrap() {
        assert!(
            keys(rule)
                .iter()
                .any(|k| ["if", "changes", "exists", "when"].contains(&k.as_str()))
        );
    }
    assert_eq!(
        job["artifacts"]["paths"][0].as_str(),
        Some("nextneck-report.md")
    );
    let text = format!("{script:?}");
    assert!(text.contains("scripts/ci/nextneck_ci.py gitlab"), "{text}");
    assert!(root().join("scripts/ci/nextneck_ci.py").is_file());
}

/// The container image: two stages, a non-root numeric user, the store on
/// a volume, `nextneck serve` as the entry point and a health check on
/// `/healthz` (hadolint and dclint ran on them here; no image was built,
/// as this machine has no container engine).
#[test]
fn the_dockerfile_and_compose_file_run_serve_as_documented() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let instructions: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && !l.trim().is_empty())
        .collect();
    let from: Vec<&&str> = instructions
        .iter()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(from.len(), 2, "a build stage and a runtime stage");
    assert!(from[0].ends_with(" AS build") && from[1].contains("-slim"));
    let runtime = &instructions[instructions.iter().position(|l| l == from[1]).unwrap()..];
    let has = |prefix: &str| runtime.iter().find(|l| l.starts_with(prefix)).copied();
    assert_eq!(has("USER "), Some("USER 10001:10001"));
    assert_eq!(has("VOLUME "), Some("VOLUME [\"/var/lib/nextneck\"]"));
    assert_eq!(
        has("ENTRYPOINT "),
        Some("ENTRYPOINT [\"nextneck\", \"serve\"]")
    );
    assert!(has("HEALTHCHECK ").is_some());
    assert!(text.contains("/healthz"));
    assert!(text.contains("NEXTNECK_DB=sqlite:/var/lib/nextneck/nextneck.db"));
    let c = yaml("deploy/compose.yaml");
    let services = keys(&c["services"]);
    assert_eq!(services, ["nextneck", "postgres"]);
    let n = &c["services"]["nextneck"];
    assert!(
        n["environment"]["NEXTNECK_DB"]
            .as_str()
            .unwrap()
            .starts_with("postgres://")
    );
    assert_eq!(
        n["depends_on"]["postgres"]["condition"].as_str(),
        Some("service_healthy")
    );
    assert_eq!(n["build"]["context"].as_str(), Some(".."));
    assert!(
        c["services"]["postgres"]["healthcheck"]["test"]
            .as_vec()
            .is_some()
    );
}
