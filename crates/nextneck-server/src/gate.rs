//! The limit on report computations: at most `max_reports` run at once
//! (each holds a store read, the events and the report in memory), at most
//! `report_queue` more wait for one of them to finish, and none waits longer
//! than `report_wait`. A request beyond the queue, or one that waited too
//! long, is answered at once `503 busy` with `Retry-After`
//! ([`RETRY_AFTER_SECONDS`]), so concurrent dashboards and API clients cannot
//! exhaust memory and every request gets an answer in bounded time.
//!
//! Waiting is first come, first served (tokio's semaphore is fair). The
//! permit covers the computation (store read, metrics, render) and is given
//! back before the response body is written.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ApiError;

/// What a refused request is told to wait before retrying, in seconds. A
/// refusal costs the server almost nothing (no store read, no computation),
/// so a short fixed wait lets a client take the first permit that frees
/// instead of an estimate from past computations, which a growing store
/// makes wrong.
pub(crate) const RETRY_AFTER_SECONDS: u32 = 1;

/// Why a request was refused, as `/metrics` labels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The queue was full when it arrived.
    QueueFull,
    /// It waited `report_wait` without a permit freeing.
    WaitTimeout,
}

impl Refusal {
    /// Every reason, in exposition order.
    pub(crate) const ALL: [Refusal; 2] = [Refusal::QueueFull, Refusal::WaitTimeout];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Refusal::QueueFull => "queue_full",
            Refusal::WaitTimeout => "wait_timeout",
        }
    }
}

/// The semaphore of running computations and the count of waiters.
#[derive(Debug)]
pub(crate) struct ReportGate {
    permits: Arc<Semaphore>,
    max: usize,
    queue: usize,
    wait: Duration,
    waiting: AtomicUsize,
    queue_full: AtomicU64,
    wait_timeout: AtomicU64,
}

/// The right to compute a report; dropping it lets the next waiter in.
#[derive(Debug)]
pub struct ReportPermit {
    _permit: OwnedSemaphorePermit,
}

/// Takes a waiter out of the count when it leaves the queue, served, timed
/// out or cancelled (its client went away).
struct InQueue<'a>(&'a AtomicUsize);

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ReportGate {
    /// `max` running at once (at least 1), `queue` waiting, each at most
    /// `wait`.
    pub(crate) fn new(max: usize, queue: usize, wait: Duration) -> ReportGate {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        ReportGate {
            permits: Arc::new(Semaphore::new(max)),
            max,
            queue,
            wait,
            waiting: AtomicUsize::new(0),
            queue_full: AtomicU64::new(0),
            wait_timeout: AtomicU64::new(0),
        }
    }

    /// A permit now, or after waiting in the queue; `503 busy` when the
    /// queue is full or the wait is over.
    pub(crate) async fn admit(&self) -> Result<ReportPermit, ApiError> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(ReportPermit { _permit: permit });
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(self.refuse(Refusal::QueueFull));
        }
        let _in_queue = InQueue(&self.waiting);
        match tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(ReportPermit { _permit: permit }),
            // The semaphore is never closed; a timeout and a closed one are
            // both "not now".
            Ok(Err(_)) | Err(_) => Err(self.refuse(Refusal::WaitTimeout)),
        }
    }

    /// A permit, waiting as long as it takes and outside the queue's count
    /// (for tests that hold the only one).
    pub(crate) async fn hold(&self) -> Option<ReportPermit> {
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .ok()
            .map(|permit| ReportPermit { _permit: permit })
    }

    fn refuse(&self, why: Refusal) -> ApiError {
        let counter = match why {
            Refusal::QueueFull => &self.queue_full,
            Refusal::WaitTimeout => &self.wait_timeout,
        };
        counter.fetch_add(1, Ordering::SeqCst);
        let message = match why {
            Refusal::QueueFull => format!(
                "the server is computing as many reports as it may ({} at once, {} waiting: max_reports and report_queue in [server]); retry after {RETRY_AFTER_SECONDS} s",
                self.max, self.queue
            ),
            Refusal::WaitTimeout => format!(
                "the server is computing as many reports as it may ({} at once) and none finished within {} s; retry after {RETRY_AFTER_SECONDS} s, or raise max_reports in [server]",
                self.max,
                self.wait.as_secs_f64()
            ),
        };
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message)
            .retry_after(RETRY_AFTER_SECONDS)
    }

    /// Computations running now.
    pub(crate) fn running(&self) -> usize {
        self.max.saturating_sub(self.permits.available_permits())
    }

    /// Requests waiting for a permit now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// The most computations run at once.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Requests refused so far for `why`.
    pub(crate) fn refused(&self, why: Refusal) -> u64 {
        match why {
            Refusal::QueueFull => self.queue_full.load(Ordering::SeqCst),
            Refusal::WaitTimeout => self.wait_timeout.load(Ordering::SeqCst),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Refusals' messages name the setting to change and the wait.
    #[test]
    fn refusals_name_the_settings_and_the_wait() {
        let gate = ReportGate::new(2, 8, Duration::from_secs(30));
        let full = gate.refuse(Refusal::QueueFull);
        assert_eq!(
            (full.status.as_u16(), full.code, full.message.as_str()),
            (
                503,
                "busy",
                "the server is computing as many reports as it may (2 at once, 8 waiting: max_reports and report_queue in [server]); retry after 1 s"
            )
        );
        let late = gate.refuse(Refusal::WaitTimeout);
        assert_eq!(
            late.message,
            "the server is computing as many reports as it may (2 at once) and none finished within 30 s; retry after 1 s, or raise max_reports in [server]"
        );
        assert_eq!(
            (
                gate.refused(Refusal::QueueFull),
                gate.refused(Refusal::WaitTimeout)
            ),
            (1, 1)
        );
        assert_eq!(ReportGate::new(0, 0, Duration::ZERO).max(), 1);
    }
}
