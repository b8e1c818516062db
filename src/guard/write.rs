//! The write path: refuse, encode, write (FC6 for one register, one FC16 for
//! more), read back and confirm, log. Writes to one register are serialised,
//! and while one is on the wire only the newest waiting value is kept: a
//! slider dragged across a range sends its first and its last value.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::bounds::{encode_checked, write_range, NoRange, WriteRange, WriteValue};
use super::limits::Limits;
use super::{GuardError, Refusal};
use crate::codec::{self, RegisterType, Value};
use crate::frame::{self, Reply};
use crate::ledger::{decode_reading, Ledger, Register};
use crate::sync::lock;
use crate::transport::{Transport, TransportError};

type Outcome = Result<Value, GuardError>;

/// A value waiting to be written, and everyone waiting for it.
struct Job {
    words: Vec<u16>,
    waiters: Vec<oneshot::Sender<Outcome>>,
}

/// A register being written: at most one more value waits behind it.
#[derive(Default)]
struct Slot {
    next: Option<Job>,
}

struct Inner {
    transport: Transport,
    ledger: &'static Ledger,
    limits: Option<Limits>,
    slots: Mutex<HashMap<(u8, u16), Slot>>,
}

/// Writes registers of one GX within the user's limits (cheap to clone).
#[derive(Clone)]
pub struct Writer {
    inner: Arc<Inner>,
}

/// A register a write names.
struct Target {
    register: &'static Register,
    id: String,
}

fn show(value: &Value, register: &Register) -> String {
    let unit = register
        .ha
        .unit
        .as_deref()
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    match value {
        Value::Int(int) => format!("{int}{unit}"),
        Value::Float(float) => format!("{float}{unit}"),
        Value::Text(text) => format!("{text:?}"),
        Value::NotAvailable => "not available".to_owned(),
    }
}

impl Writer {
    /// A writer; without limits every write is refused.
    pub fn new(transport: Transport, ledger: &'static Ledger, limits: Option<Limits>) -> Self {
        Self {
            inner: Arc::new(Inner {
                transport,
                ledger,
                limits,
                slots: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The limits, when writes are enabled.
    pub fn limits(&self) -> Option<&Limits> {
        self.inner.limits.as_ref()
    }

    fn target(
        &self,
        unit: u8,
        service: &str,
        key: &str,
        value: Option<&WriteValue>,
    ) -> Result<Target, GuardError> {
        let id = format!("{unit}/{service}/{key}");
        let register = self
            .inner
            .ledger
            .service(service)
            .and_then(|s| s.register(key));
        match register {
            Some(register) => Ok(Target { register, id }),
            None => Err(GuardError::refused(
                id,
                0,
                value.cloned(),
                "no such register in the ledger".to_owned(),
            )),
        }
    }

    fn range_of(
        &self,
        target: &Target,
        value: Option<&WriteValue>,
    ) -> Result<WriteRange, GuardError> {
        let refuse = |reason: String| {
            GuardError::refused(
                target.id.clone(),
                target.register.address,
                value.cloned(),
                reason,
            )
        };
        let Some(limits) = &self.inner.limits else {
            return Err(refuse(
                "writes are not enabled (the client has no limits)".to_owned(),
            ));
        };
        match write_range(limits, target.register) {
            Ok(range) => Ok(range),
            Err(NoRange::ReadOnly) => Err(refuse("the register is read-only".to_owned())),
            Err(NoRange::Empty(why)) => Err(refuse(format!("no value is allowed: {why}"))),
        }
    }

    /// The range a register accepts under the limits.
    pub fn range(&self, unit: u8, service: &str, key: &str) -> Result<WriteRange, GuardError> {
        let target = self.target(unit, service, key, None)?;
        self.range_of(&target, None)
    }

    /// Checks and encodes a value; nothing is sent.
    fn prepare(
        &self,
        unit: u8,
        service: &str,
        key: &str,
        value: &WriteValue,
    ) -> Result<(Target, Vec<u16>), GuardError> {
        let target = self.target(unit, service, key, Some(value))?;
        let range = self.range_of(&target, Some(value))?;
        match encode_checked(&range, target.register, value) {
            Ok(words) => Ok((target, words)),
            Err(why) => {
                let numeric = !range.text;
                Err(GuardError::Refused(Box::new(Refusal {
                    register: target.id.clone(),
                    address: target.register.address,
                    value: Some(value.clone()),
                    min: numeric.then_some(range.min),
                    max: numeric.then_some(range.max),
                    step: numeric.then_some(range.step),
                    allowed: range.allowed.clone(),
                    reason: format!("{why} ({})", range.reason),
                })))
            }
        }
    }

    /// Writes a value and returns what the GX reads back. A value outside
    /// the register's range is refused before anything is sent; a write
    /// replaced by a newer one before it was sent resolves with the newer
    /// write's outcome. Must run inside a tokio runtime.
    pub async fn write(
        &self,
        unit: u8,
        service: &str,
        key: &str,
        value: WriteValue,
    ) -> Result<Value, GuardError> {
        let pending = self.submit(&Handle::current(), unit, service, key, &value)?;
        pending.await
    }

    /// Checks a value and queues it at once (so the order of calls is the
    /// order of values, whatever task awaits them); the returned future
    /// resolves with what the GX reads back. The queue of each register runs
    /// on `runtime`, so a caller that gives up never strands the values
    /// behind it.
    pub fn submit(
        &self,
        runtime: &Handle,
        unit: u8,
        service: &str,
        key: &str,
        value: &WriteValue,
    ) -> Result<PendingWrite, GuardError> {
        let (target, words) = self.prepare(unit, service, key, value)?;
        let (tx, rx) = oneshot::channel();
        let slot_key = (unit, target.register.address);
        let start = {
            let mut slots = lock(&self.inner.slots);
            match slots.get_mut(&slot_key) {
                Some(slot) => {
                    let mut waiters = slot.next.take().map(|job| job.waiters).unwrap_or_default();
                    waiters.push(tx);
                    slot.next = Some(Job { words, waiters });
                    None
                }
                None => {
                    slots.insert(slot_key, Slot::default());
                    Some(Job {
                        words,
                        waiters: vec![tx],
                    })
                }
            }
        };
        if let Some(job) = start {
            runtime.spawn(drive(Arc::clone(&self.inner), unit, target, job));
        }
        Ok(PendingWrite { rx })
    }
}

/// A queued write; resolves with the value read back.
pub struct PendingWrite {
    rx: oneshot::Receiver<Outcome>,
}

impl std::future::Future for PendingWrite {
    type Output = Outcome;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Outcome> {
        std::pin::Pin::new(&mut self.rx)
            .poll(cx)
            .map(|outcome| outcome.unwrap_or(Err(GuardError::Transport(TransportError::Closed))))
    }
}

/// Writes a register's jobs one after another until none waits.
async fn drive(inner: Arc<Inner>, unit: u8, target: Target, first: Job) {
    let slot_key = (unit, target.register.address);
    let mut job = first;
    loop {
        let outcome = perform(&inner.transport, unit, &target, &job.words).await;
        for waiter in job.waiters.drain(..) {
            let _ = waiter.send(outcome.clone());
        }
        let mut slots = lock(&inner.slots);
        match slots.get_mut(&slot_key).and_then(|slot| slot.next.take()) {
            Some(next) => job = next,
            None => {
                slots.remove(&slot_key);
                return;
            }
        }
    }
}

async fn read_words(
    transport: &Transport,
    unit: u8,
    target: &Target,
) -> Result<Vec<u16>, GuardError> {
    let register = target.register;
    let quantity = register.register_type.words();
    match transport.read(unit, register.address, quantity).await? {
        Reply::Words(words) if words.len() == usize::from(quantity) => Ok(words),
        Reply::Exception(code) => Err(device(target, unit, code)),
        _ => Err(TransportError::Malformed("unexpected reply to a read".to_owned()).into()),
    }
}

fn device(target: &Target, unit: u8, code: u8) -> GuardError {
    GuardError::Device {
        register: target.id.clone(),
        unit,
        address: target.register.address,
        code,
    }
}

/// The read-back value as polls show it (sentinels and saturated readings unknown).
fn decoded(register: &Register, words: &[u16]) -> Value {
    decode_reading(register, words).unwrap_or(Value::NotAvailable)
}

/// Whether the words read back confirm the words written (within one raw step).
fn confirms(register_type: RegisterType, written: &[u16], read: &[u16]) -> bool {
    if let RegisterType::Str(_) = register_type {
        return codec::decode_text(register_type, written).ok()
            == codec::decode_text(register_type, read).ok();
    }
    match (
        codec::decode_raw(register_type, written),
        codec::decode_raw(register_type, read),
    ) {
        (Ok(Some(a)), Ok(Some(b))) => (a - b).abs() <= 1,
        _ => false,
    }
}

/// Reads the old value, writes, reads back and logs.
async fn perform(transport: &Transport, unit: u8, target: &Target, words: &[u16]) -> Outcome {
    let register = target.register;
    let old = decoded(register, &read_words(transport, unit, target).await?);
    let pdu = match words {
        [word] => frame::write_single_request(register.address, *word),
        _ => frame::write_multiple_request(register.address, words),
    };
    match transport.request(unit, pdu).await? {
        Reply::WriteAck => {}
        Reply::Exception(code) => return Err(device(target, unit, code)),
        Reply::Words(_) => {
            return Err(TransportError::Malformed("read reply to a write".to_owned()).into())
        }
    }
    let read = read_words(transport, unit, target).await?;
    let written = decoded(register, words);
    if !confirms(register.register_type, words, &read) {
        return Err(GuardError::NotConfirmed {
            register: target.id.clone(),
            written: show(&written, register),
            read_back: show(&decoded(register, &read), register),
        });
    }
    let new = decoded(register, &read);
    log::info!(
        "wrote {} (address {}): {} -> {}",
        target.id,
        register.address,
        show(&old, register),
        show(&new, register)
    );
    Ok(new)
}
