//! One proxied connection: two pumps (client → upstream, upstream →
//! client), each applying the toxics of its direction.
//!
//! A pump reads as fast as the source sends (up to a bounded queue), stamps
//! each chunk with its arrival time, and writes it when [`Effects`] says it
//! may go. Effects are recomputed from the proxy's *current* toxics every
//! time anything happens — a chunk arrives, a deadline passes, or the toxics
//! change (a `watch` channel wakes every pump at once) — so a new toxic acts
//! on open connections immediately, and a removed one never strands the
//! bytes already waiting: their release time is recomputed without it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::toxic::{unit_draw, ActiveToxic, Effects, Stream};

/// The toxics of one proxy, as every pump sees them.
pub type ToxicSet = Arc<Vec<ActiveToxic>>;

/// Bytes read at a time.
const CHUNK: usize = 64 * 1024;
/// Chunks a pump holds back before it stops reading (back-pressure).
const MAX_QUEUED: usize = 64;

/// How a connection ends early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abort {
    /// Close both sockets normally.
    Close,
    /// Reset both sockets (TCP RST).
    Reset,
}

struct Chunk {
    data: Bytes,
    read_at: Instant,
    draw: f64,
}

/// Relays one accepted client connection to `upstream` until either side
/// is done, applying `toxics`.
pub async fn relay(
    client: TcpStream,
    upstream: TcpStream,
    toxics: watch::Receiver<ToxicSet>,
    conn: u64,
) {
    let started = Instant::now();
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    let (abort_tx, abort_rx) = watch::channel(None::<Abort>);
    let abort_tx = Arc::new(abort_tx);
    let up = pump(
        client_read,
        upstream_write,
        Stream::Upstream,
        toxics.clone(),
        conn,
        started,
        abort_tx.clone(),
        abort_rx.clone(),
    );
    let down = pump(
        upstream_read,
        client_write,
        Stream::Downstream,
        toxics,
        conn,
        started,
        abort_tx,
        abort_rx,
    );
    tokio::join!(up, down);
}

#[allow(clippy::too_many_arguments)]
async fn pump(
    mut src: OwnedReadHalf,
    mut dst: OwnedWriteHalf,
    stream: Stream,
    mut toxics: watch::Receiver<ToxicSet>,
    conn: u64,
    started: Instant,
    abort_tx: Arc<watch::Sender<Option<Abort>>>,
    mut abort_rx: watch::Receiver<Option<Abort>>,
) {
    let mut queue: VecDeque<Chunk> = VecDeque::new();
    let mut buf = BytesMut::with_capacity(CHUNK);
    let mut eof = false;
    let mut previous: Option<Instant> = None;
    let mut forwarded: u64 = 0;
    let mut seq: u64 = 0;
    loop {
        let aborted = *abort_rx.borrow();
        if let Some(kind) = aborted {
            finish(dst, kind).await;
            return;
        }
        let effects = {
            let set = toxics.borrow();
            Effects::of(&set, stream, conn, started)
        };
        // Write every chunk that is due.
        let mut next_release = None;
        if !effects.hold {
            let now = Instant::now();
            while let Some(head) = queue.front() {
                let at = effects.release_at(head.read_at, head.data.len(), head.draw, previous);
                if at > now {
                    next_release = Some(at);
                    break;
                }
                let chunk = queue.pop_front().expect("front exists");
                match send(&mut dst, chunk.data, &effects, &mut forwarded).await {
                    Sent::All => previous = Some(at),
                    Sent::LimitReached => {
                        let _ = abort_tx.send(Some(Abort::Close));
                        finish(dst, Abort::Close).await;
                        return;
                    }
                    Sent::Failed => {
                        let _ = abort_tx.send(Some(Abort::Close));
                        return;
                    }
                }
            }
        }
        if eof && queue.is_empty() {
            if let Some(delay) = effects.slow_close {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = abort_rx.changed() => {}
                }
            }
            let _ = dst.shutdown().await;
            return;
        }
        let deadline = match (effects.close_at, effects.reset_at) {
            (Some(c), Some(r)) if r <= c => Some((r, Abort::Reset)),
            (Some(c), _) => Some((c, Abort::Close)),
            (None, Some(r)) => Some((r, Abort::Reset)),
            (None, None) => None,
        };
        let can_read = !eof && queue.len() < MAX_QUEUED;
        if buf.capacity() - buf.len() < CHUNK / 4 {
            buf.reserve(CHUNK);
        }
        tokio::select! {
            biased;
            _ = abort_rx.changed() => {}
            _ = toxics.changed() => {}
            _ = sleep_until_opt(deadline.map(|d| d.0)), if deadline.is_some() => {
                let kind = deadline.map(|d| d.1).unwrap_or(Abort::Close);
                let _ = abort_tx.send(Some(kind));
            }
            _ = sleep_until_opt(next_release), if next_release.is_some() => {}
            read = src.read_buf(&mut buf), if can_read => match read {
                Ok(0) | Err(_) => eof = true,
                Ok(_) => {
                    let data = buf.split().freeze();
                    if queue.is_empty() && effects.is_passthrough() {
                        // The fast path: no toxic, nothing waiting.
                        if dst.write_all(&data).await.is_err() {
                            let _ = abort_tx.send(Some(Abort::Close));
                            return;
                        }
                        forwarded += data.len() as u64;
                    } else {
                        queue.push_back(Chunk {
                            data,
                            read_at: Instant::now(),
                            draw: unit_draw(conn.wrapping_add(seq), "jitter"),
                        });
                        seq += 1;
                    }
                }
            },
        }
    }
}

enum Sent {
    All,
    LimitReached,
    Failed,
}

async fn send(
    dst: &mut OwnedWriteHalf,
    data: Bytes,
    effects: &Effects,
    forwarded: &mut u64,
) -> Sent {
    let (data, hit_limit) = match effects.limit {
        Some(limit) if *forwarded + data.len() as u64 >= limit => {
            let allowed = limit.saturating_sub(*forwarded) as usize;
            (data.slice(..allowed.min(data.len())), true)
        }
        _ => (data, false),
    };
    if dst.write_all(&data).await.is_err() {
        return Sent::Failed;
    }
    *forwarded += data.len() as u64;
    if hit_limit {
        Sent::LimitReached
    } else {
        Sent::All
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// Ends this pump's write side: a normal close, or a reset. For a reset,
/// SO_LINGER 0 makes the kernel send RST when the socket closes, and the
/// half is `forget`ten rather than dropped, because dropping a write half
/// sends a FIN first, and a peer that reads that FIN sees an orderly close.
async fn finish(mut dst: OwnedWriteHalf, kind: Abort) {
    match kind {
        Abort::Close => {
            let _ = dst.shutdown().await;
        }
        Abort::Reset => {
            let _ = socket2::SockRef::from(dst.as_ref()).set_linger(Some(Duration::ZERO));
            dst.forget();
        }
    }
}
