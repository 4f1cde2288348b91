//! `gavel job run expire|decay|cleanup|reminders|automod-audit`: one maintenance job, once, by hand, on the
//! store `gavel serve` uses, with the platform clients `serve` would choose (real ones where
//! tokens or API bases are set, else recording ones that log the calls). Prints what it did.
//!
//! The jobs it hands the worker (an unban, a reminder, a mod-log post) are carried out in this
//! process before it exits, as the worker function would on AWS.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use gavel_shared::clock::{Clock, SystemClock};
use gavel_shared::maintenance::{Budget, Maintenance, Report, Sweep};
use gavel_shared::store::Store;
use gavel_shared::worker::{InProcessBus, Worker};

use crate::serve::{ServeParts, StoreKind, open_store};

#[derive(Subcommand)]
pub enum JobCommand {
    /// Run one maintenance job once and print what it did.
    Run {
        /// The job (on AWS each runs on its own schedule; see docs/operations.md).
        job: JobArg,
        /// Where the embedded store lives (as for `gavel serve`).
        #[arg(long, default_value = "./.gavel")]
        data: PathBuf,
        /// `embedded` (the data folder's, as `gavel serve`) or `dynamodb` (GAVEL_TABLE and
        /// the standard AWS environment: a deployed stack's table).
        #[arg(long, value_enum, default_value = "embedded")]
        store: StoreKind,
        /// Stop after this many pages (the next run continues where this one stopped).
        #[arg(long)]
        max_pages: Option<u32>,
        /// Stop taking new pages after this many seconds.
        #[arg(long, default_value_t = 600)]
        max_seconds: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum JobArg {
    Expire,
    Decay,
    Cleanup,
    Reminders,
    AutomodAudit,
}

impl From<JobArg> for Sweep {
    fn from(job: JobArg) -> Self {
        match job {
            JobArg::Expire => Sweep::Expire,
            JobArg::Decay => Sweep::Decay,
            JobArg::Cleanup => Sweep::Cleanup,
            JobArg::Reminders => Sweep::Reminders,
            JobArg::AutomodAudit => Sweep::AutomodAudit,
        }
    }
}

pub async fn run(command: JobCommand) -> Result<()> {
    match command {
        JobCommand::Run {
            job,
            data,
            store,
            max_pages,
            max_seconds,
        } => {
            let (store, _) = open_store(store, &data).await?;
            let mut budget = Budget::for_secs(max_seconds);
            if let Some(pages) = max_pages {
                budget = budget.with_max_pages(pages);
            }
            let report = run_once(store, ServeParts::from_env()?, job.into(), budget).await;
            println!("{report}");
            Ok(())
        }
    }
}

/// Runs `job` once over `store`, its platform work done by a worker with `parts`' clients
/// before this returns.
pub async fn run_once(
    store: Arc<dyn Store>,
    parts: ServeParts,
    job: Sweep,
    budget: Budget,
) -> Report {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let worker = Worker::new(
        Arc::clone(&store),
        Arc::clone(&clock),
        parts.discord_api,
        parts.slack_api,
    );
    let bus = InProcessBus::start(Arc::new(worker), 1);
    let maintenance = Maintenance::new(store, bus.clone(), clock);
    let report = maintenance.run(job, budget).await;
    drop(maintenance);
    bus.stop().await;
    report
}
