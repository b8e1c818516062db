//! The GX's identity (its serial and firmware, at unit 100) in the fewest
//! reads that no GX answers with an exception: a connection test that leaves
//! no ERROR line in the GX's log.
//!
//! Registers are merged into one read only across addresses every firmware
//! serves: registers of the oldest register list of the system service. Its
//! reserved blocks do not count, because firmware before dbus-modbustcp
//! v1.0.95 leaves them undefined (0x02): on the current ledger the serial
//! (800-805) and the firmware (834-835) are two reads, sent together. A GX
//! older than list 3.66 lacks the firmware registers: it answers that read
//! with 0x02 and its firmware stays unknown.

use std::collections::BTreeSet;

use tokio::task::JoinSet;

use crate::codec::{self, Value};
use crate::frame::MAX_READ_QUANTITY;
use crate::ledger::{Ledger, Register, Service};
use crate::poll::BlockResult;
use crate::transport::Transport;

use super::served::FIRMWARE_KEYS;
use super::validate::gx_firmware;
use super::{GxIdentity, ScanError, GX_UNIT};

/// D-Bus path of the GX's serial in the system service.
const SERIAL_PATH: &str = "/Serial";

/// One read: start address and quantity.
type Read = (u16, u16);

/// Addresses of the system service that every firmware serves: the
/// registers of its oldest register list that no revision dates later.
fn served_everywhere(service: &Service) -> BTreeSet<u32> {
    let oldest = service
        .registers
        .iter()
        .map(Register::first_appearance)
        .min();
    service
        .registers
        .iter()
        .filter(|r| Some(r.first_appearance()) == oldest)
        .flat_map(Register::span)
        .collect()
}

/// The fewest reads covering `wanted` whose every address is served by every
/// firmware, each at most [`MAX_READ_QUANTITY`] words.
fn identity_reads(service: &Service, wanted: &[&Register]) -> Vec<Read> {
    let served = served_everywhere(service);
    let mut spans: Vec<std::ops::Range<u32>> = wanted.iter().map(|r| r.span()).collect();
    spans.sort_by_key(|span| span.start);
    let mut reads: Vec<std::ops::Range<u32>> = Vec::new();
    for span in spans {
        if let Some(last) = reads.last_mut() {
            let gap_served = (last.end..span.start).all(|address| served.contains(&address));
            let end = last.end.max(span.end);
            if gap_served && end - last.start <= u32::from(MAX_READ_QUANTITY) {
                last.end = end;
                continue;
            }
        }
        reads.push(span);
    }
    reads
        .into_iter()
        .filter_map(|r| {
            let start = u16::try_from(r.start).ok()?;
            let quantity = u16::try_from(r.end - r.start).ok()?;
            Some((start, quantity))
        })
        .collect()
}

/// The words of `register` within the reads' results.
fn words_of<'a>(register: &Register, results: &'a [(Read, Vec<u16>)]) -> Option<&'a [u16]> {
    let span = register.span();
    results.iter().find_map(|((start, quantity), words)| {
        let start = u32::from(*start);
        if span.end > start + u32::from(*quantity) {
            return None;
        }
        let offset = usize::try_from(span.start.checked_sub(start)?).ok()?;
        let len = usize::try_from(span.end - span.start).ok()?;
        words.get(offset..offset + len)
    })
}

/// A serial as a GX has it: printable ASCII (its MAC address as text).
fn gx_serial(value: Option<Value>) -> Result<String, ScanError> {
    match value {
        Some(Value::Text(text)) => {
            let text = text.trim();
            if !text.is_empty() && text.chars().all(|c| c.is_ascii_graphic()) {
                Ok(text.to_owned())
            } else if text.is_empty() {
                Err(ScanError::NotAGx("unit 100 has an empty serial".into()))
            } else {
                Err(ScanError::NotAGx(format!(
                    "unit 100's serial {text:?} is not a GX's"
                )))
            }
        }
        _ => Err(ScanError::NotAGx("unit 100 has no readable serial".into())),
    }
}

/// Reads the GX's serial and (with `firmware`) its firmware at unit 100,
/// nothing else: the fewest reads no firmware refuses, sent concurrently
/// (one read for the serial alone). Unit 100 answering an exception or
/// values no GX has (an empty serial) is [`ScanError::NotAGx`]; no reply is
/// the transport's error.
pub async fn identify(
    transport: &Transport,
    ledger: &Ledger,
    firmware: bool,
) -> Result<GxIdentity, ScanError> {
    let missing = |what: &str| ScanError::NotAGx(format!("the ledger has no GX {what} register"));
    let system = ledger.service("system").ok_or_else(|| missing("system"))?;
    let serial = system
        .registers
        .iter()
        .find(|r| r.dbus_path.as_deref() == Some(SERIAL_PATH))
        .ok_or_else(|| missing("serial"))?;
    let [major, beta] = FIRMWARE_KEYS.map(|key| system.register(key));
    let (major, beta) = major.zip(beta).ok_or_else(|| missing("firmware"))?;
    let wanted: &[&Register] = if firmware {
        &[serial, major, beta]
    } else {
        &[serial]
    };
    let reads = identity_reads(system, wanted);
    let mut tasks = JoinSet::new();
    for (start, quantity) in reads.iter().copied() {
        let transport = transport.clone();
        tasks.spawn(async move {
            let outcome = transport.read(GX_UNIT, start, quantity).await;
            (
                (start, quantity),
                BlockResult::from_reply(outcome, quantity),
            )
        });
    }
    let mut results = Vec::with_capacity(reads.len());
    let serial_span = serial.span();
    let has_serial = |(start, quantity): Read| {
        let start = u32::from(start);
        start < serial_span.end && serial_span.start < start + u32::from(quantity)
    };
    while let Some(joined) = tasks.join_next().await {
        let Ok((read, result)) = joined else { continue };
        match result {
            BlockResult::Words(words) => results.push((read, words)),
            // Firmware older than list 3.66 has no firmware registers.
            BlockResult::Exception(0x02) if !has_serial(read) => {}
            BlockResult::Exception(code) => {
                return Err(ScanError::NotAGx(format!(
                    "unit 100 answered exception {code:#04x} to a read at {}",
                    read.0
                )));
            }
            BlockResult::Failed(err) => return Err(err.into()),
        }
    }
    let serial = words_of(serial, &results)
        .and_then(|words| codec::decode(serial.register_type, serial.scale, words).ok());
    let serial = gx_serial(serial)?;
    let word = |register: &Register| words_of(register, &results).and_then(|w| w.first().copied());
    let firmware = match (word(major), word(beta)) {
        (Some(0), _) | (None, _) => None,
        (Some(version), beta) => Some(gx_firmware(version, beta.unwrap_or(0))),
    };
    Ok(GxIdentity {
        serial: Some(serial),
        firmware,
        absent_exception: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::embedded;

    fn system() -> &'static Service {
        embedded()
            .ok()
            .and_then(|ledger| ledger.service("system"))
            .expect("system service")
    }

    #[test]
    fn reads_merge_only_across_addresses_every_firmware_serves() {
        let system = system();
        let register = |key: &str| system.register(key).expect("register");
        let firmware = [
            register("gx_firmware_major_version"),
            register("gx_firmware_beta_release"),
        ];
        assert_eq!(identity_reads(system, &firmware), vec![(834, 2)]);
        // 806-826 are registers of the oldest list: one read.
        let serial_and_relay = [register("serial"), register("ac_active_in_source")];
        assert_eq!(identity_reads(system, &serial_and_relay), vec![(800, 27)]);
        // The reserved 827-829 lie between the serial and the firmware: two reads.
        let identity = [register("serial"), firmware[0], firmware[1]];
        assert_eq!(identity_reads(system, &identity), vec![(800, 6), (834, 2)]);
    }

    #[test]
    fn a_serial_must_look_like_a_gx_serial() {
        assert_eq!(
            gx_serial(Some(Value::Text("c0619ab1e2f4 ".into()))).ok(),
            Some("c0619ab1e2f4".to_owned())
        );
        for bad in [
            Some(Value::Text(String::new())),
            Some(Value::Text("\u{1}\u{2}".into())),
            Some(Value::Int(7)),
            None,
        ] {
            assert!(matches!(gx_serial(bad), Err(ScanError::NotAGx(_))));
        }
    }
}
