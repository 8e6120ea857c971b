//! Strict checks of JSON values by pointer: a path that does not exist is a
//! failure, never an implicit `null`, so renaming a field fails the tests
//! that read it.

use serde_json::Value;

/// Relative tolerance of number comparisons (absolute below 1).
const TOLERANCE: f64 = 1e-9;

/// Asserts each JSON pointer's value, listing every mismatch at once.
///
/// Numbers are equal within 1e-9 relative (absolute below 1); everything
/// else is compared exactly. A pointer that does not resolve fails with the
/// nearest parent that does and what it holds; an expected `null` must be
/// present as `null`.
#[track_caller]
pub fn check(report: &Value, expected: &[(&str, Value)]) {
    let failures: Vec<String> = expected
        .iter()
        .filter_map(|(pointer, want)| mismatch(report, pointer, want))
        .collect();
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

/// Asserts that none of the JSON pointers resolves (a field left out, an
/// index past the end), listing every one that does with its value.
#[track_caller]
pub fn check_absent(report: &Value, pointers: &[&str]) {
    let present: Vec<String> = pointers
        .iter()
        .filter_map(|pointer| {
            report
                .pointer(pointer)
                .map(|got| format!("{pointer}: present as {got}, want absent"))
        })
        .collect();
    assert!(present.is_empty(), "present:\n{}", present.join("\n"));
}

/// What is wrong at `pointer`, or `None` when it holds `want`.
fn mismatch(report: &Value, pointer: &str, want: &Value) -> Option<String> {
    match report.pointer(pointer) {
        None => Some(format!(
            "{pointer}: missing, want {want}; {}",
            nearest_parent(report, pointer)
        )),
        Some(got) if same(got, want) => None,
        Some(got) => Some(format!("{pointer}: got {got}, want {want}")),
    }
}

/// Equal, numbers within [`TOLERANCE`].
fn same(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => (a - b).abs() <= TOLERANCE * b.abs().max(1.0),
            _ => a == b,
        },
        _ => got == want,
    }
}

/// The longest prefix of `pointer` that resolves, described with what it
/// holds (an object's keys, an array's length, a scalar's value).
fn nearest_parent(report: &Value, pointer: &str) -> String {
    let mut parent = pointer;
    loop {
        parent = match parent.rfind('/') {
            Some(cut) => &parent[..cut],
            None => "",
        };
        if let Some(found) = report.pointer(parent) {
            let shown = if parent.is_empty() { "(root)" } else { parent };
            return format!("nearest existing parent {shown} {}", holds(found));
        }
    }
}

/// What a value holds, for a failure message.
fn holds(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            format!("has keys [{}]", keys.join(", "))
        }
        Value::Array(items) => format!("is an array of {} items", items.len()),
        scalar => format!("is {scalar}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).expect_err("the check fails");
        err.downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "(not a string)".to_owned())
    }

    #[test]
    fn present_values_pass_and_numbers_have_a_tolerance() {
        let v = json!({"a": {"b": null, "c": 1.0, "d": [1, "x"]}});
        check(
            &v,
            &[
                ("/a/b", Value::Null),
                ("/a/c", json!(1.0 + 1e-12)),
                ("/a/d/1", json!("x")),
                ("", v.clone()),
            ],
        );
        check_absent(&v, &["/a/e", "/a/d/2", "/b"]);
    }

    #[test]
    fn a_missing_path_fails_with_its_nearest_parent() {
        let v = json!({"a": {"b": null, "c": 1}});
        let got = message(|| check(&v, &[("/a/renamed/deeper", Value::Null)]));
        assert_eq!(
            got,
            "mismatches:\n/a/renamed/deeper: missing, want null; \
             nearest existing parent /a has keys [b, c]"
        );
        let got = message(|| check(&v, &[("/z", json!(1))]));
        assert!(
            got.ends_with("nearest existing parent (root) has keys [a]"),
            "{got}"
        );
        let got = message(|| check(&json!([1]), &[("/3", json!(1))]));
        assert!(got.ends_with("(root) is an array of 1 items"), "{got}");
    }

    #[test]
    fn wrong_values_and_present_absences_are_all_listed() {
        let v = json!({"a": 1, "b": "x"});
        let got = message(|| check(&v, &[("/a", json!(2)), ("/b", Value::Null)]));
        assert_eq!(
            got,
            "mismatches:\n/a: got 1, want 2\n/b: got \"x\", want null"
        );
        let got = message(|| check_absent(&v, &["/a", "/c"]));
        assert_eq!(got, "present:\n/a: present as 1, want absent");
    }
}
