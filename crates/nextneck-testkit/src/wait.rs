//! Waiting with a deadline: every loop that waits for a server, a child
//! process or another thread ends, failing with what was awaited and what
//! was last seen, instead of hanging the suite.

use std::io::BufRead;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a test waits for a server by default: generous, since the
/// suite shares a loaded machine; only a hang reaches it.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(20);

/// A point in time after which waiting for `what` is a failure.
pub struct Deadline {
    what: String,
    until: Instant,
}

impl Deadline {
    /// `within` from now, waiting for `what` (as a failure will name it).
    pub fn new(what: impl Into<String>, within: Duration) -> Deadline {
        Deadline {
            what: what.into(),
            until: Instant::now() + within,
        }
    }

    /// Fails, naming what was awaited and `seen`, once the deadline passed.
    #[track_caller]
    pub fn check(&self, seen: impl std::fmt::Display) {
        assert!(
            Instant::now() < self.until,
            "timed out waiting for {}; last seen: {seen}",
            self.what
        );
    }

    /// The time left, or a failure naming `seen` when none is.
    #[track_caller]
    pub fn left(&self, seen: impl std::fmt::Display) -> Duration {
        self.check(&seen);
        self.until.saturating_duration_since(Instant::now())
    }
}

/// Polls `probe` until it returns `Ok`; `Err` carries what it saw, which a
/// failure after `within` shows.
#[track_caller]
pub fn wait_until<T>(
    what: &str,
    within: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Deadline::new(what, within);
    loop {
        match probe() {
            Ok(found) => return found,
            Err(seen) => deadline.check(seen),
        }
        std::thread::sleep(POLL);
    }
}

/// The lines of a reader (a child's stdout or stderr), read on a thread of
/// their own so that waiting for one can have a deadline.
pub struct Lines {
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    /// Starts reading `reader` line by line (with their `\n`).
    pub fn spawn(reader: impl std::io::Read + Send + 'static) -> Lines {
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(reader);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) if send.send(line).is_err() => return,
                    Ok(_) => {}
                }
            }
        });
        Lines {
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line, waiting at most `within`; a failure names `what` and
    /// the lines read so far.
    #[track_caller]
    pub fn next_line(&mut self, what: &str, within: Duration) -> String {
        self.until(what, within, |_| true)
    }

    /// The first line from here on that `wanted` accepts, waiting at most
    /// `within` in all; the stream ending first is a failure too.
    #[track_caller]
    pub fn until(
        &mut self,
        what: &str,
        within: Duration,
        mut wanted: impl FnMut(&str) -> bool,
    ) -> String {
        let deadline = Deadline::new(what, within);
        loop {
            let left = deadline.left(self.shown());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("timed out waiting for {what}; read: {}", self.shown())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the output ended before {what}; read: {}", self.shown())
                }
            }
        }
    }

    /// Every line left until the output ends (the child exited), waiting at
    /// most `within` in all.
    #[track_caller]
    pub fn rest(&mut self, what: &str, within: Duration) -> String {
        let deadline = Deadline::new(what, within);
        let mut rest = String::new();
        loop {
            match self.lines.recv_timeout(deadline.left(self.shown())) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    rest.push_str(&line);
                }
                Err(RecvTimeoutError::Disconnected) => return rest,
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "timed out waiting for the end of {what}; read: {}",
                        self.shown()
                    )
                }
            }
        }
    }

    /// The lines read so far, for a failure message.
    fn shown(&self) -> String {
        format!("{:?}", self.seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).expect_err("the wait fails");
        err.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn a_wait_ends_with_what_was_awaited_and_seen() {
        let mut n = 0;
        assert_eq!(
            wait_until("three", PATIENCE, || {
                n += 1;
                if n == 3 { Ok(n) } else { Err(n.to_string()) }
            }),
            3
        );
        let got = message(|| {
            wait_until("the queue to drain", Duration::from_millis(50), || {
                Err::<(), _>("backlog 7".to_owned())
            })
        });
        assert_eq!(
            got,
            "timed out waiting for the queue to drain; last seen: backlog 7"
        );
    }

    #[test]
    fn lines_are_awaited_with_a_deadline() {
        let mut lines = Lines::spawn(&b"one\ntwo\nthree\n"[..]);
        assert_eq!(lines.next_line("a first line", PATIENCE), "one\n");
        assert_eq!(
            lines.until("three", PATIENCE, |l| l.starts_with("th")),
            "three\n"
        );
        let got = message(move || {
            lines.next_line("a fourth line", PATIENCE);
        });
        assert_eq!(
            got,
            "the output ended before a fourth line; read: [\"one\\n\", \"two\\n\", \"three\\n\"]"
        );
    }
}
