//! Hands the outcomes of the core's tokio tasks to asyncio without a tokio
//! thread ever touching Python.
//!
//! A task's outcome (plain Rust data) goes into its bridge's queue, and one
//! byte into a socket pair whose other end the event loop watches
//! (`loop.add_reader`). The loop then takes the queue and turns each outcome
//! into Python objects on its own thread. A task that ends after its loop
//! closed, or while the interpreter finalizes, therefore calls nothing: its
//! outcome is dropped with the queue. Cancelling the awaiting Python future
//! aborts the task; dropping the bridge (its loop is gone) aborts all of its
//! tasks; closing a [`TaskGroup`] (a client, a simulator) ends its tasks and
//! waits for them.

use std::collections::HashMap;
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Poll;

use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};

use super::errors::CoreError;
use super::logs;
use super::runtime;
use crate::sync::lock;
use crate::transport::TransportError;

/// Turns a task's value into a Python object, on the event loop's thread.
type Convert = Box<dyn for<'py> FnOnce(Python<'py>) -> PyResult<Py<PyAny>> + Send>;

/// What a task hands over.
enum Payload {
    /// The task's result.
    Value(Convert),
    /// The task's failure.
    Error(CoreError),
    /// A progress event; the task goes on.
    Event(Convert),
}

/// Kinds of delivered items, as `take()` reports them to Python.
const KIND_VALUE: u8 = 0;
const KIND_ERROR: u8 = 1;
const KIND_EVENT: u8 = 2;

static NEXT_TICKET: AtomicU64 = AtomicU64::new(1);

/// The part of a bridge that tasks hold.
pub(super) struct Shared {
    queue: Mutex<Vec<(u64, Payload)>>,
    wake_pending: AtomicBool,
    waker: UnixStream,
    reader: UnixStream,
    tasks: Mutex<HashMap<u64, AbortHandle>>,
}

impl Shared {
    fn push(&self, ticket: u64, payload: Payload) {
        lock(&self.queue).push((ticket, payload));
        self.wake();
    }

    /// Makes the reader readable (once until the next `take`).
    pub(super) fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            // Non-blocking: a full buffer means a wake-up is already pending.
            let _ = (&self.waker).write(&[1]);
        }
    }
}

/// The bridge of one event loop (created by `victron_gx_modbus._bridge`).
#[pyclass(module = "victron_gx_modbus._core", frozen)]
pub struct BridgeCore {
    shared: Arc<Shared>,
}

#[pymethods]
impl BridgeCore {
    /// A bridge with its own wake-up socket pair.
    #[new]
    fn new() -> PyResult<Self> {
        let (waker, reader) = UnixStream::pair()?;
        waker.set_nonblocking(true)?;
        reader.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Vec::new()),
            wake_pending: AtomicBool::new(false),
            waker,
            reader,
            tasks: Mutex::new(HashMap::new()),
        });
        logs::wake_with(Arc::downgrade(&shared));
        Ok(Self { shared })
    }

    /// The file descriptor the event loop watches for readability.
    fn fileno(&self) -> i32 {
        self.shared.reader.as_raw_fd()
    }

    /// Takes every delivered item as `(ticket, kind, object)`: kind 0 a
    /// result, 1 an exception instance, 2 a progress event.
    fn take(&self, py: Python<'_>) -> PyResult<Vec<(u64, u8, Py<PyAny>)>> {
        let mut sink = [0_u8; 64];
        loop {
            match (&self.shared.reader).read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.shared.wake_pending.store(false, Ordering::Release);
        let items = std::mem::take(&mut *lock(&self.shared.queue));
        items
            .into_iter()
            .map(|(ticket, payload)| {
                Ok(match payload {
                    Payload::Value(convert) => (ticket, KIND_VALUE, convert(py)?),
                    Payload::Event(convert) => (ticket, KIND_EVENT, convert(py)?),
                    Payload::Error(err) => (
                        ticket,
                        KIND_ERROR,
                        err.into_pyerr(py).into_value(py).into_any(),
                    ),
                })
            })
            .collect()
    }

    /// Aborts a task (its awaiting future was cancelled); nothing is delivered.
    fn cancel(&self, ticket: u64) {
        if let Some(task) = lock(&self.shared.tasks).remove(&ticket) {
            task.abort();
        }
    }

    /// Tasks still running.
    fn pending(&self) -> usize {
        lock(&self.shared.tasks).len()
    }
}

impl Drop for BridgeCore {
    fn drop(&mut self) {
        for (_, task) in lock(&self.shared.tasks).drain() {
            task.abort();
        }
    }
}

/// Sends progress events of one task to Python.
#[derive(Clone)]
pub struct EventSink {
    shared: Weak<Shared>,
    ticket: u64,
}

impl EventSink {
    /// Delivers `event` (converted on the event loop's thread).
    pub fn send<T>(&self, event: T)
    where
        T: for<'py> IntoPyObject<'py> + Send + 'static,
    {
        if let Some(shared) = self.shared.upgrade() {
            shared.push(self.ticket, Payload::Event(convert(event)));
        }
    }
}

fn convert<T>(value: T) -> Convert
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    Box::new(move |py| value.into_py_any(py))
}

/// The tasks of one owner (a client, a simulator): closing it ends them
/// with "closed" and waits for them; dropping it aborts them.
pub struct TaskGroup {
    state: Arc<GroupState>,
}

struct GroupState {
    tasks: Mutex<HashMap<u64, JoinHandle<()>>>,
    closing: watch::Sender<bool>,
}

impl TaskGroup {
    /// An open group.
    pub fn new() -> Self {
        Self {
            state: Arc::new(GroupState {
                tasks: Mutex::new(HashMap::new()),
                closing: watch::Sender::new(false),
            }),
        }
    }

    /// Whether `close` was called.
    pub fn is_closing(&self) -> bool {
        *self.state.closing.borrow()
    }

    /// Ends every task of the group (each resolves with "closed") and waits
    /// for them; later spawns fail. Resolves at once when nothing runs.
    pub fn close(&self) -> impl Future<Output = ()> + Send + 'static {
        self.state.closing.send_replace(true);
        let tasks: Vec<JoinHandle<()>> = lock(&self.state.tasks).drain().map(|(_, t)| t).collect();
        async move {
            for task in tasks {
                let _ = task.await;
            }
        }
    }
}

impl Drop for TaskGroup {
    fn drop(&mut self) {
        self.state.closing.send_replace(true);
        for (_, task) in lock(&self.state.tasks).drain() {
            task.abort();
        }
    }
}

/// Runs `future`, turning a panic while polling it into an
/// [`CoreError::Internal`] outcome, so the awaiting Python call gets an
/// exception instead of waiting forever.
async fn unwind_to_error<T, F>(future: F) -> Result<T, CoreError>
where
    F: Future<Output = Result<T, CoreError>>,
{
    let mut future = pin!(future);
    std::future::poll_fn(move |cx| {
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a task panicked".to_owned());
                Poll::Ready(Err(CoreError::Internal(message)))
            }
        }
    })
    .await
}

/// Starts `task` on the core's runtime and returns its ticket; its outcome
/// is delivered through `bridge`. With a `group`, closing the group ends it.
pub fn spawn<T, F>(
    bridge: &BridgeCore,
    group: Option<&TaskGroup>,
    task: impl FnOnce(EventSink) -> F,
) -> Result<u64, CoreError>
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
    F: Future<Output = Result<T, CoreError>> + Send + 'static,
{
    let runtime = runtime::handle()?;
    let ticket = NEXT_TICKET.fetch_add(1, Ordering::Relaxed);
    let shared = Arc::clone(&bridge.shared);
    let future = task(EventSink {
        shared: Arc::downgrade(&shared),
        ticket,
    });
    let group_state = group.map(|group| Arc::clone(&group.state));
    let mut closing = group_state.as_ref().map(|state| state.closing.subscribe());
    let mut group_tasks = match &group_state {
        Some(state) if *state.closing.borrow() => return Err(TransportError::Closed.into()),
        Some(state) => Some(lock(&state.tasks)),
        None => None,
    };
    let owner = group_state.clone();
    let done = Arc::clone(&shared);
    let future = unwind_to_error(future);
    let wrapped = async move {
        let outcome = match closing.as_mut() {
            Some(closing) => tokio::select! {
                outcome = future => outcome,
                _ = closing.wait_for(|closing| *closing) => Err(TransportError::Closed.into()),
            },
            None => future.await,
        };
        lock(&done.tasks).remove(&ticket);
        if let Some(owner) = owner {
            lock(&owner.tasks).remove(&ticket);
        }
        let payload = match outcome {
            Ok(value) => Payload::Value(convert(value)),
            Err(err) => Payload::Error(err),
        };
        done.push(ticket, payload);
    };
    // Both maps stay locked until the handles are in, so a task that ends at
    // once cannot leave a stale entry behind.
    let mut bridge_tasks = lock(&shared.tasks);
    let handle = runtime.spawn(wrapped);
    bridge_tasks.insert(ticket, handle.abort_handle());
    match group_tasks.as_mut() {
        Some(tasks) => {
            tasks.insert(ticket, handle);
        }
        None => drop(handle),
    }
    Ok(ticket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_becomes_an_internal_error() {
        let outcome: Result<(), CoreError> = unwind_to_error(async {
            tokio::task::yield_now().await;
            panic!("boom in a task");
        })
        .await;
        match outcome {
            Err(CoreError::Internal(message)) => assert_eq!(message, "boom in a task"),
            other => panic!("not an internal error: {other:?}"),
        }
        let formatted: Result<u8, CoreError> =
            unwind_to_error(async { panic!("rate {}", 1) }).await;
        assert!(matches!(formatted, Err(CoreError::Internal(m)) if m == "rate 1"));
        assert!(matches!(unwind_to_error(async { Ok(7_u8) }).await, Ok(7)));
    }
}
