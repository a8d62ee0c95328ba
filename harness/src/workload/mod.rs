//! The open-loop load generator.
//!
//! A pacer walks the [`Schedule`] and starts each request at its due
//! time, whether or not earlier requests have finished: a stalled system
//! gets the same arrivals a real one would, and every request's latency is
//! measured from its *due* time. Requests run on the tokio runtime and send
//! their records over a channel to one collector thread, which owns the
//! [`Timeline`] (windows, not raw records, stay in memory; raw records can
//! stream to a CSV file) and the write ledger.
//!
//! The pacer is a task on the runtime that sleeps on a timerfd
//! ([`pacer::PreciseTimer`], microseconds late) rather than tokio's timer
//! wheel (1 ms granularity); when it falls behind it starts every overdue
//! request at once: lateness is recorded per request and reported, never
//! hidden as a lower rate.

pub mod client;
pub mod pacer;
pub use faultline_core::workload::schedule;
pub mod verify;

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use serde::Serialize;
use tokio::sync::{mpsc, Semaphore};
use uuid::Uuid;

use crate::measure::{
    LedgerEntry, Op, Outcome, RequestRecord, Timeline, TimelineConfig, WriteOutcome,
};
pub use client::{Expect, HttpClient, SendError, Target};
pub use schedule::{Mix, Schedule};

/// A failure of the load generator itself.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The target URL does not parse.
    #[error("the load target {0:?} is not a valid http:// URL")]
    InvalidTarget(String),
    /// The raw-records file could not be written.
    #[error("writing raw records to {path}: {source}")]
    RawFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The pacer's timer failed.
    #[error("the load generator's timer failed: {0}")]
    Timer(std::io::Error),
    /// A generator thread died.
    #[error("the load generator's {0} thread panicked")]
    Thread(&'static str),
}

/// What to send, how fast, for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSpec {
    /// Rate, ramp and duration.
    pub schedule: Schedule,
    /// Longest a request may take, from its due time.
    pub timeout: Duration,
    /// The request kinds.
    pub mix: Mix,
    /// Seeds the op sequence (the schedule and the mix); order ids are
    /// fresh in every run, whatever the seed.
    pub seed: u64,
    /// Most requests in flight at once (the rest wait their turn, their
    /// latency still counted from their due time).
    pub max_in_flight: usize,
    /// Generator threads, each a single-threaded runtime that paces and
    /// sends every n-th request (1 is enough below ~20k req/s).
    pub threads: usize,
    /// The pacer's wake-up grid: a request is started at the first grid
    /// point at or after its due time. Zero wakes for every request (the
    /// most punctual, and a context switch per request); `None` picks zero
    /// up to 2,000 req/s and 1 ms above, where waking per request would cost
    /// more CPU than the requests. Lateness this adds is measured and
    /// included in every latency.
    pub timer_resolution: Option<Duration>,
}

impl LoadSpec {
    /// The wake-up grid in use (see [`LoadSpec::timer_resolution`]).
    pub fn resolution(&self) -> Duration {
        self.timer_resolution
            .unwrap_or(if self.schedule.rate <= 2_000.0 {
                Duration::ZERO
            } else {
                Duration::from_millis(1)
            })
    }
}

/// `offset` rounded up to a multiple of `grid` (unchanged for a zero grid).
pub fn round_up(offset: Duration, grid: Duration) -> Duration {
    if grid.is_zero() {
        return offset;
    }
    let g = grid.as_nanos();
    Duration::from_nanos((offset.as_nanos().div_ceil(g) * g) as u64)
}

/// The clock every part of a run shares: offsets are µs from `start`.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    /// The run's start.
    pub start: Instant,
    /// The same moment on the wall clock, ms since the Unix epoch.
    pub start_unix_ms: u64,
}

impl RunClock {
    /// A clock starting now.
    pub fn start_now() -> Self {
        RunClock {
            start: Instant::now(),
            start_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        }
    }

    /// µs from the start to `t` (0 before the start).
    pub fn offset_us(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.start).as_micros() as u64
    }

    /// µs from the start to now.
    pub fn now_us(&self) -> u64 {
        self.offset_us(Instant::now())
    }
}

/// Options of [`run`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// A request is good when it succeeds within this.
    pub good_latency: Duration,
    /// Stream every record to this CSV file.
    pub raw_csv: Option<PathBuf>,
    /// Set to stop scheduling early (Ctrl-C); in-flight requests finish.
    pub stop: Arc<AtomicBool>,
    /// Live counters for progress output.
    pub progress: Arc<Progress>,
}

/// Live counters a run prints as it goes (the collector updates them).
#[derive(Debug, Default)]
pub struct Progress {
    /// Requests completed.
    pub done: std::sync::atomic::AtomicU64,
    /// Of which failed.
    pub failed: std::sync::atomic::AtomicU64,
}

impl LoadOptions {
    /// Options with a bound, no raw file, and fresh stop flag and counters.
    pub fn new(good_latency: Duration) -> Self {
        LoadOptions {
            good_latency,
            raw_csv: None,
            stop: Arc::new(AtomicBool::new(false)),
            progress: Arc::new(Progress::default()),
        }
    }
}

/// What a load run produced.
#[derive(Debug, Clone)]
pub struct LoadOutput {
    /// The measurements.
    pub timeline: Timeline,
    /// Every create, with its outcome.
    pub ledger: Vec<LedgerEntry>,
    /// Requests started.
    pub sent: u64,
    /// Whether scheduling stopped before the schedule's end.
    pub stopped_early: bool,
    /// Wall time from the first due time to the last completion.
    pub elapsed: Duration,
}

/// The generator's view of its own punctuality.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lateness {
    /// Median lateness, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Worst, ms.
    pub max_ms: f64,
}

impl LoadOutput {
    /// Requests per second actually started over the schedule's span.
    pub fn achieved_rate(&self, duration: Duration) -> f64 {
        self.sent as f64 / duration.as_secs_f64().max(1e-9)
    }

    /// How late the generator started requests.
    pub fn lateness(&self) -> Lateness {
        let h = &self.timeline.lateness;
        let ms = |us: u64| us as f64 / 1000.0;
        Lateness {
            p50_ms: ms(h.value_at_quantile(0.5)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// The last acknowledged order ids, for reads.
struct RecentIds {
    ids: VecDeque<Uuid>,
}

impl RecentIds {
    const CAPACITY: usize = 1024;

    fn push(&mut self, id: Uuid) {
        if self.ids.len() == Self::CAPACITY {
            self.ids.pop_front();
        }
        self.ids.push_back(id);
    }

    fn pick(&self, i: u64) -> Option<Uuid> {
        if self.ids.is_empty() {
            None
        } else {
            // A spread-out but deterministic choice among the recent ones.
            let idx = (i.wrapping_mul(2_654_435_761) % self.ids.len() as u64) as usize;
            Some(self.ids[idx])
        }
    }
}

/// What a request sends: one of the reference mix's kinds, or one of a
/// stack file's requests (by its place in the file).
#[derive(Debug, Clone, Copy)]
enum Pick {
    Op(Op),
    Request(usize),
}

/// A request's place, picked with probability weight / total weight.
fn pick_by_weight(
    requests: &[faultline_core::stack_file::Request],
    rng: &mut impl rand::Rng,
) -> usize {
    let total: f64 = requests.iter().map(|r| r.weight).sum();
    let mut x = rng.random::<f64>() * total;
    for (k, r) in requests.iter().enumerate() {
        if x < r.weight {
            return k;
        }
        x -= r.weight;
    }
    requests.len().saturating_sub(1)
}

struct Shared {
    target: Target,
    timeout: Duration,
    clock: RunClock,
    recent: Arc<Mutex<RecentIds>>,
    in_flight: Arc<Semaphore>,
}

struct Event {
    record: RequestRecord,
    write: Option<LedgerEntry>,
}

/// Runs the load to the end of its schedule (or until `stop`), then waits
/// for the requests in flight. Must be called on a multi-thread runtime.
pub async fn run(
    spec: &LoadSpec,
    target: Target,
    clock: RunClock,
    opts: LoadOptions,
) -> Result<LoadOutput, WorkloadError> {
    let probe_uri = target.probe_url();
    if probe_uri.parse::<hyper::Uri>().is_err() || !probe_uri.starts_with("http://") {
        return Err(WorkloadError::InvalidTarget(probe_uri));
    }
    let raw = match &opts.raw_csv {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|source| WorkloadError::RawFile {
                path: path.clone(),
                source,
            })?;
            let mut w = std::io::BufWriter::new(file);
            let _ = writeln!(w, "scheduled_us,latency_us,lateness_us,op,outcome");
            Some((w, path.clone()))
        }
        None => None,
    };
    let (tx, rx) = mpsc::unbounded_channel::<Event>();
    let config = TimelineConfig {
        good_latency_us: opts.good_latency.as_micros() as u64,
    };
    let collector = std::thread::Builder::new()
        .name("faultline-collector".into())
        .spawn({
            let progress = opts.progress.clone();
            move || collect(rx, config, raw, &progress)
        })
        .map_err(|_| WorkloadError::Thread("collector"))?;
    let recent = Arc::new(Mutex::new(RecentIds {
        ids: VecDeque::with_capacity(RecentIds::CAPACITY),
    }));
    let shards = spec.threads.max(1) as u64;
    let mut generators = Vec::new();
    for shard in 0..shards {
        let shared = Arc::new(Shared {
            target: target.clone(),
            timeout: spec.timeout,
            clock,
            recent: recent.clone(),
            in_flight: Arc::new(Semaphore::new(
                (spec.max_in_flight / shards as usize).max(1),
            )),
        });
        let (spec, tx, stop) = (spec.clone(), tx.clone(), opts.stop.clone());
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("faultline-load-{shard}"))
            .spawn(move || {
                let _ = done_tx.send(generate(spec, shared, tx, stop, shard, shards));
            })
            .map_err(|_| WorkloadError::Thread("generator"))?;
        generators.push(done_rx);
    }
    drop(tx);
    let mut sent = 0;
    let mut stopped_early = false;
    for done in generators {
        let (n, stopped) = done
            .await
            .map_err(|_| WorkloadError::Thread("generator"))?
            .map_err(WorkloadError::Timer)?;
        sent += n;
        stopped_early |= stopped;
    }
    let collected = tokio::task::spawn_blocking(move || collector.join())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or(WorkloadError::Thread("collector"))?;
    let (timeline, ledger, raw_error) = collected;
    if let Some((path, source)) = raw_error {
        return Err(WorkloadError::RawFile { path, source });
    }
    Ok(LoadOutput {
        timeline,
        ledger,
        sent,
        stopped_early,
        elapsed: clock.start.elapsed(),
    })
}

/// How often the collector drains the channel when it finds it empty.
const COLLECT_EVERY: Duration = Duration::from_millis(20);

type Collected = (
    Timeline,
    Vec<LedgerEntry>,
    Option<(PathBuf, std::io::Error)>,
);

fn collect(
    mut rx: mpsc::UnboundedReceiver<Event>,
    config: TimelineConfig,
    mut raw: Option<(std::io::BufWriter<std::fs::File>, PathBuf)>,
    progress: &Progress,
) -> Collected {
    let mut timeline = Timeline::new(config);
    let mut ledger = Vec::new();
    let mut raw_error = None;
    // Drain in batches: waking this thread for every record would cost a
    // futex call per request.
    let mut next_event = || loop {
        match rx.try_recv() {
            Ok(ev) => return Some(ev),
            Err(mpsc::error::TryRecvError::Empty) => std::thread::sleep(COLLECT_EVERY),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
        }
    };
    while let Some(ev) = next_event() {
        timeline.record(&ev.record);
        progress.done.fetch_add(1, Ordering::Relaxed);
        if ev.record.outcome != Outcome::Ok {
            progress.failed.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(w) = ev.write {
            ledger.push(w);
        }
        if let Some((w, path)) = raw.as_mut() {
            let r = &ev.record;
            if let Err(e) = writeln!(
                w,
                "{},{},{},{},{}",
                r.scheduled_us,
                r.latency_us,
                r.lateness_us,
                r.op.name(),
                r.outcome.name()
            ) {
                raw_error = Some((path.clone(), e));
                raw = None;
            }
        }
    }
    if let Some((mut w, path)) = raw {
        if let Err(e) = w.flush() {
            raw_error = Some((path, e));
        }
    }
    (timeline, ledger, raw_error)
}

/// Below this, the pacer starts a due request rather than sleep for it.
const SLEEP_THRESHOLD: Duration = Duration::from_micros(20);

/// One generator thread: a single-threaded runtime that paces requests
/// `shard`, `shard + shards`, … and runs them, so the timer's wake-up and
/// the requests it releases stay on one thread. Returns when every request
/// it started has finished.
fn generate(
    spec: LoadSpec,
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Event>,
    stop: Arc<AtomicBool>,
    shard: u64,
    shards: u64,
) -> std::io::Result<(u64, bool)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let timer = pacer::PreciseTimer::new()?;
        let base: hyper::Uri = shared
            .target
            .base()
            .parse()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let client = HttpClient::new(&base, spec.timeout.min(Duration::from_secs(5)))
            .await
            .map(std::rc::Rc::new)
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the target's host does not resolve",
                )
            })?;
        let permits = (spec.max_in_flight / shards as usize).max(1) as u32;
        let result = pace(
            &spec,
            shared.clone(),
            client,
            tx,
            timer,
            &stop,
            shard,
            shards,
        )
        .await;
        // Every request holds a permit while it runs: taking them all waits
        // for the last one (each ends by its timeout at the latest).
        let _ = shared.in_flight.acquire_many(permits).await;
        result
    })
}

#[allow(clippy::too_many_arguments)]
async fn pace(
    spec: &LoadSpec,
    shared: Arc<Shared>,
    client: std::rc::Rc<HttpClient>,
    tx: mpsc::UnboundedSender<Event>,
    timer: pacer::PreciseTimer,
    stop: &AtomicBool,
    shard: u64,
    shards: u64,
) -> std::io::Result<(u64, bool)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(spec.seed.wrapping_add(shard));
    let grid = spec.resolution();
    let mut i = shard;
    let mut started = 0u64;
    while let Some(offset) = spec.schedule.offset(i) {
        if stop.load(Ordering::Relaxed) {
            return Ok((started, true));
        }
        let due = shared.clock.start + offset;
        if due > Instant::now() + SLEEP_THRESHOLD {
            timer
                .sleep_until(shared.clock.start + round_up(offset, grid))
                .await?;
        }
        // Taken here, not in the task, so that waiting for every permit at
        // the end waits for every request started.
        let Ok(permit) = shared.in_flight.clone().acquire_owned().await else {
            break;
        };
        let pick = match &shared.target {
            Target::Requests { requests, .. } => Pick::Request(pick_by_weight(requests, &mut rng)),
            _ => Pick::Op(spec.mix.pick(&mut rng)),
        };
        // Never from the seed: a replay with the same seed on a stack that
        // kept an earlier run's rows would find this run's lost writes
        // "present" (same ids), and read them as kept. The seed fixes the
        // schedule and the mix; every run writes ids of its own.
        let new_id = Uuid::new_v4();
        let scheduled_us = offset.as_micros() as u64;
        tokio::task::spawn_local(one_request(
            shared.clone(),
            client.clone(),
            tx.clone(),
            permit,
            i,
            due,
            scheduled_us,
            pick,
            new_id,
        ));
        i += shards;
        started += 1;
    }
    Ok((started, false))
}

#[allow(clippy::too_many_arguments)]
async fn one_request(
    sh: Arc<Shared>,
    http: std::rc::Rc<HttpClient>,
    tx: mpsc::UnboundedSender<Event>,
    _permit: tokio::sync::OwnedSemaphorePermit,
    i: u64,
    due: Instant,
    scheduled_us: u64,
    pick: Pick,
    new_id: Uuid,
) {
    let recent = |i| sh.recent.lock().ok().and_then(|r| r.pick(i));
    let (req, write_key) = match (pick, &sh.target) {
        (Pick::Op(op), target) => {
            let read_id = if op == Op::GetOrder { recent(i) } else { None };
            (client::prepare(target, op, new_id, read_id), None)
        }
        (Pick::Request(k), Target::Requests { base, requests }) => {
            let mut r = &requests[k];
            let mut recent_id = None;
            let writer = requests.iter().find(|q| q.writes.is_some());
            if r.needs_recent_id() {
                // As the write stored it (`order-<id>` for
                // `writes = "order-{{id}}"`).
                recent_id = recent(i).map(|id| {
                    writer
                        .and_then(|w| client::write_key(w, id))
                        .unwrap_or_else(|| id.to_string())
                });
                // Nothing acknowledged yet to read: write first (the stack
                // file has a writing request whenever one needs a recent id).
                if recent_id.is_none() {
                    if let Some(w) = writer {
                        r = w;
                    }
                }
            }
            (
                client::prepare_request(base, r, new_id, i, recent_id),
                client::write_key(r, new_id),
            )
        }
        (Pick::Request(_), _) => (None, None),
    };
    let Some(req) = req else {
        return;
    };
    let started = Instant::now();
    let deadline = tokio::time::Instant::from_std(due + sh.timeout);
    let path = req.uri.path_and_query().map_or("/", |p| p.as_str());
    let result = tokio::time::timeout_at(
        deadline,
        http.send(req.method.clone(), path, &req.headers, req.body.clone()),
    )
    .await;
    let done = Instant::now();
    let mut acked_by = None;
    let mut acknowledged = false;
    let (outcome, latency) = match result {
        Err(_) => (Outcome::Timeout, sh.timeout),
        Ok(Err(SendError::Connect)) => (Outcome::Connect, done - due),
        Ok(Err(SendError::Io)) => (Outcome::Io, done - due),
        Ok(Ok((status, body))) => {
            if req.op == Op::CreateOrder && status.is_success() {
                acked_by = client::acknowledging_node(&body);
            }
            acknowledged = req.expect.acknowledges(status);
            (client::judge(&req, status, &body), done - due)
        }
    };
    let writes = matches!(req.op, Op::CreateOrder | Op::Write);
    let write = writes.then(|| {
        let outcome = match outcome {
            _ if acknowledged => WriteOutcome::Acked {
                at_us: sh.clock.offset_us(done),
            },
            Outcome::Http4xx => WriteOutcome::Rejected,
            _ => WriteOutcome::Unknown,
        };
        LedgerEntry {
            id: new_id,
            key: write_key,
            scheduled_us,
            outcome,
            acked_by,
        }
    });
    if outcome == Outcome::Ok && writes {
        if let Ok(mut r) = sh.recent.lock() {
            r.push(new_id);
        }
    }
    let record = RequestRecord {
        scheduled_us,
        latency_us: latency.as_micros() as u64,
        lateness_us: started.saturating_duration_since(due).as_micros() as u64,
        op: req.op,
        outcome,
    };
    let _ = tx.send(Event { record, write });
}
