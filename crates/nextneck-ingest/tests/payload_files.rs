//! A saved GitHub payload (no `X-GitHub-Event` header, as `nextneck import`
//! reads it) gives the same event type and events as the webhook delivery.

#![allow(clippy::unwrap_used, missing_docs)]

use nextneck_ingest::{Provider, convert};

#[test]
fn saved_github_payloads_are_recognised_by_their_shape() {
    let dir = nextneck_testkit::fixtures().join("github");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let event = name.strip_prefix("octokit__").unwrap_or(&name);
        let event = event.split("__").next().unwrap();
        let body = std::fs::read(&path).unwrap();
        let with_header = convert(
            Provider::Github,
            &[("x-github-event".to_owned(), event.to_owned())],
            &body,
        )
        .unwrap();
        let from_file = convert(Provider::Github, &[], &body).unwrap();
        assert_eq!(from_file, with_header, "{name}");
        assert_eq!(from_file.event_type, format!("github:{event}"), "{name}");
        checked += 1;
    }
    assert_eq!(checked, 17);
}
