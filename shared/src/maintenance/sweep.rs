//! The sweep over a due-index queue, one loop for expiry, decay and reminders: publish what
//! the sweep's outbox still holds, then page through the items due by the run's start within
//! the budget, each sweep doing its own step per item and tallying into the run's [`Report`].
//!
//! A page source rather than a function taking the step as a closure: the step borrows the
//! report and the sweep's own state across awaits, which an async closure cannot do and stay
//! `Send` (the local ticker spawns these runs).

use super::{Budget, Maintenance, Pages, Report, Sweep, outbox};
use crate::store::Item;

/// A sweep over one due-index queue, under way.
pub(super) struct DueSweep<'m> {
    m: &'m Maintenance,
    queue: &'static str,
    /// The queue as the note says it when it cannot be read ("the expiry queue").
    what: &'static str,
    /// The run's start: items due by then are swept.
    pub now: i64,
    pages: Pages,
    cursor: Option<String>,
    finished: bool,
}

impl<'m> DueSweep<'m> {
    /// Starts `sweep` over `queue` within `budget`: its report, with what earlier runs left in
    /// its outbox published first.
    pub async fn start(
        m: &'m Maintenance,
        sweep: Sweep,
        counts: &[&'static str],
        queue: &'static str,
        what: &'static str,
        budget: Budget,
    ) -> (Self, Report) {
        let mut report = Report::new(sweep, counts);
        let mut pages = budget.pages();
        outbox::drain(m, sweep, &mut pages, &mut report).await;
        let due = Self {
            m,
            queue,
            what,
            now: m.now(),
            pages,
            cursor: None,
            finished: false,
        };
        (due, report)
    }

    /// The next page of due items; `None` once the queue is done, unreadable (noted as a
    /// failure), or the budget has no room for another page (the report says more is left).
    /// Handled items leave the queue; the cursor only steps past those left alone this run.
    pub async fn next_page(&mut self, report: &mut Report) -> Option<Vec<Item>> {
        if self.finished {
            return None;
        }
        if !self.pages.another() {
            report.more = true;
            self.finished = true;
            return None;
        }
        let request = self.m.page(self.cursor.take());
        let page = match self.m.store.due_by(self.queue, self.now, request).await {
            Ok(page) => page,
            Err(error) => {
                report.add("failed", 1);
                report.note(format!("could not read {}: {error}", self.what));
                self.finished = true;
                return None;
            }
        };
        match page.cursor {
            Some(next) => self.cursor = Some(next),
            None => self.finished = true,
        }
        Some(page.items)
    }
}
