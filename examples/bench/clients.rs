//! The Modbus TCP clients the benchmark compares on the same reads: our
//! pipelined transport (one connection, its default window of 8 requests in
//! flight, no rate cap) and tokio-modbus, which allows one request in flight
//! per context (one context, and a pool of 8 contexts sharing the work).
//!
//! A batch of reads is handed to a client at once and ends when every read
//! has ended; the clients send exactly the same FC3 requests. tokio-modbus
//! has no timeouts of its own, so each of its reads is bounded by our
//! transport's request timeout, and a context that timed out or failed is
//! dropped and connected again (a late reply would otherwise be taken for
//! the next request's: tokio-modbus issue #324).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_modbus::client::{Context, Reader};
use tokio_modbus::prelude::SlaveContext;
use tokio_modbus::Slave;
use victron_gx_modbus::frame::Reply;
use victron_gx_modbus::transport::{Transport, TransportConfig};

/// One FC3 read: unit, first register, quantity.
pub type Read = (u8, u16, u16);

/// Which client, and how many connections it opens to the GX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// Our transport: one connection, requests pipelined.
    Ours,
    /// tokio-modbus with this many contexts (one connection each).
    TokioModbus(usize),
}

/// The clients of every comparison, in the order of the rows.
pub const CLIENTS: [ClientKind; 3] = [
    ClientKind::Ours,
    ClientKind::TokioModbus(1),
    ClientKind::TokioModbus(8),
];

impl ClientKind {
    /// The row label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ours => "ours, pipelined (8 in flight)",
            Self::TokioModbus(1) => "tokio-modbus, 1 context",
            Self::TokioModbus(_) => "tokio-modbus, pool of 8 contexts",
        }
    }

    /// TCP connections the client keeps open to the GX.
    pub fn connections(self) -> usize {
        match self {
            Self::Ours => 1,
            Self::TokioModbus(contexts) => contexts,
        }
    }
}

/// What the reads of one or more batches came to.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Requests sent.
    pub requests: u64,
    /// Exception replies (each one an ERROR in the GX's log).
    pub exceptions: u64,
    /// Reads that got no usable reply (timeout, connection lost, malformed).
    pub errors: u64,
    /// Connections opened again after an error.
    pub reconnects: u64,
}

impl Outcome {
    /// Adds another batch's counts.
    pub fn add(&mut self, other: &Self) {
        self.requests += other.requests;
        self.exceptions += other.exceptions;
        self.errors += other.errors;
        self.reconnects += other.reconnects;
    }
}

/// A connected client under test.
pub enum Client {
    /// Our transport.
    Ours(Transport),
    /// A pool of tokio-modbus contexts (one, or several sharing the reads).
    TokioModbus {
        /// The simulator's address, for reconnects.
        addr: SocketAddr,
        /// The contexts, each connected.
        contexts: Vec<Context>,
    },
}

/// Our transport's timeout per request, used for tokio-modbus too.
fn request_timeout(port: u16) -> Duration {
    TransportConfig::new("127.0.0.1", port).request_timeout
}

impl Client {
    /// Connects a client to the simulator at `port` on loopback (before any
    /// timing starts, so that every row leaves connecting out).
    pub async fn connect(kind: ClientKind, port: u16) -> Result<Self, Box<dyn std::error::Error>> {
        match kind {
            ClientKind::Ours => {
                let mut config = TransportConfig::new("127.0.0.1", port);
                config.max_rate = 0.0;
                let transport = Transport::new(config);
                transport.connect().await?;
                Ok(Self::Ours(transport))
            }
            ClientKind::TokioModbus(pool) => {
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                let mut contexts = Vec::with_capacity(pool);
                for _ in 0..pool {
                    contexts.push(tokio_modbus::client::tcp::connect_slave(addr, Slave(0)).await?);
                }
                Ok(Self::TokioModbus { addr, contexts })
            }
        }
    }

    /// Sends every read of the batch and waits until all have ended. Our
    /// transport gets them all at once (its window bounds what is in flight);
    /// each tokio-modbus context takes the next read as soon as it is free.
    pub async fn read_batch(
        &mut self,
        reads: &[Read],
    ) -> Result<Outcome, Box<dyn std::error::Error>> {
        let reads: Arc<[Read]> = Arc::from(reads);
        let mut outcome = Outcome::default();
        match self {
            Self::Ours(transport) => {
                let mut tasks = JoinSet::new();
                for &(unit, start, quantity) in reads.iter() {
                    let transport = transport.clone();
                    tasks.spawn(async move { transport.read(unit, start, quantity).await });
                }
                let reconnects_before = transport.metrics().reconnects;
                while let Some(read) = tasks.join_next().await {
                    outcome.requests += 1;
                    match read? {
                        Ok(Reply::Exception(_)) => outcome.exceptions += 1,
                        Ok(_) => {}
                        Err(_) => outcome.errors += 1,
                    }
                }
                outcome.reconnects = transport.metrics().reconnects - reconnects_before;
            }
            Self::TokioModbus { addr, contexts } => {
                let next = Arc::new(AtomicUsize::new(0));
                let mut workers = JoinSet::new();
                for context in contexts.drain(..) {
                    let (reads, next, addr) = (Arc::clone(&reads), Arc::clone(&next), *addr);
                    workers.spawn(share_reads(context, addr, reads, next));
                }
                while let Some(worker) = workers.join_next().await {
                    let (context, done) = worker??;
                    contexts.push(context);
                    outcome.add(&done);
                }
            }
        }
        Ok(outcome)
    }

    /// Closes the client's connections.
    pub async fn close(self) {
        match self {
            Self::Ours(transport) => transport.close().await,
            Self::TokioModbus { contexts, .. } => drop(contexts),
        }
    }
}

/// One tokio-modbus context's share of a batch: it takes the next read
/// until none is left, and replaces itself after a read without a reply.
async fn share_reads(
    mut context: Context,
    addr: SocketAddr,
    reads: Arc<[Read]>,
    next: Arc<AtomicUsize>,
) -> Result<(Context, Outcome), std::io::Error> {
    let limit = request_timeout(addr.port());
    let mut outcome = Outcome::default();
    while let Some(&(unit, start, quantity)) = reads.get(next.fetch_add(1, Ordering::Relaxed)) {
        context.set_slave(Slave(unit));
        outcome.requests += 1;
        match timeout(limit, context.read_holding_registers(start, quantity)).await {
            Ok(Ok(Ok(_))) => {}
            Ok(Ok(Err(_exception))) => outcome.exceptions += 1,
            Ok(Err(_)) | Err(_) => {
                outcome.errors += 1;
                outcome.reconnects += 1;
                context = tokio_modbus::client::tcp::connect_slave(addr, Slave(unit)).await?;
            }
        }
    }
    Ok((context, outcome))
}
