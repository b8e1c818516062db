//! The GX's Modbus request semantics (dbus-modbustcp), in its order of checks:
//! function code (0x01), quantity (0x03), start address defined (0x02),
//! a service of that type at the unit (0x0A, or 0x0B on older firmware),
//! every address of the range defined and served at the unit (0x02), and for
//! writes every register writable and writes enabled (0x02) before anything
//! is written. Out-of-range values are accepted, as on a real GX.

use std::time::Instant;

use super::scenario::{GxSettings, Scenario, ScenarioError};
use super::site::Site;
use crate::codec::Value;
use crate::frame::{self, function, MAX_READ_QUANTITY, MAX_WRITE_QUANTITY};
use crate::ledger::{list_rank, Ledger};
use crate::unit_ids::table_instance;

/// Modbus exception codes the GX answers with.
pub mod exception {
    /// Function code not supported.
    pub const ILLEGAL_FUNCTION: u8 = 0x01;
    /// Address not defined, range crosses a gap, or register not writable.
    pub const ILLEGAL_ADDRESS: u8 = 0x02;
    /// Quantity or byte count out of range.
    pub const ILLEGAL_VALUE: u8 = 0x03;
    /// No service of the register's type at this unit (current firmware).
    pub const GATEWAY_PATH_UNAVAILABLE: u8 = 0x0A;
    /// The same on older firmware.
    pub const GATEWAY_TARGET_FAILED: u8 = 0x0B;
}

/// The unit-100 group whose former gaps read 0xFFFF since v1.0.95.
const SYSTEM_RANGE: std::ops::RangeInclusive<u16> = 800..=5819;
/// Gaps of the system range the server still leaves undefined (the server's baseline).
const SYSTEM_ACCEPTED_GAPS: &[(u16, u16)] = &[
    (920, 2699),
    (2725, 2899),
    (2904, 4700),
    (4705, 5399),
    (5408, 5419),
    (5431, 5699),
    (5708, 5799),
];

/// What one address of the server's map is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Undefined,
    Register {
        service: u16,
        index: u16,
        offset: u8,
    },
    Reserved {
        service: u16,
    },
}

/// A write the simulated GX accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRecord {
    /// Unit ID of the request.
    pub unit: u8,
    /// Device id in the scenario.
    pub device: String,
    /// Register key.
    pub key: String,
    /// Register address.
    pub address: u16,
    /// Words written to this register.
    pub words: Vec<u16>,
    /// The register's value after the write.
    pub value: Value,
}

/// The reply to one request and what it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Reply PDU.
    pub reply: Vec<u8>,
    /// The exception code, when the reply is one.
    pub exception: Option<u8>,
    /// Writes applied.
    pub writes: Vec<WriteRecord>,
}

impl Outcome {
    fn fail(function: u8, code: u8) -> Self {
        Self {
            reply: frame::exception_reply(function, code),
            exception: Some(code),
            writes: Vec::new(),
        }
    }
}

/// A simulated GX: its address map, settings and site.
#[derive(Debug)]
pub struct Gx {
    ledger: &'static Ledger,
    settings: GxSettings,
    map: Vec<Slot>,
    site: Site,
}

impl Gx {
    /// A GX serving a scenario.
    pub fn new(
        scenario: &Scenario,
        ledger: &'static Ledger,
        seed: u64,
    ) -> Result<Self, ScenarioError> {
        if ![
            exception::GATEWAY_PATH_UNAVAILABLE,
            exception::GATEWAY_TARGET_FAILED,
        ]
        .contains(&scenario.gx.absent_service_exception)
        {
            return Err(ScenarioError::Invalid {
                name: scenario.name.clone(),
                message: "absent_service_exception must be 10 (0x0A) or 11 (0x0B)".to_owned(),
            });
        }
        Ok(Self {
            ledger,
            settings: scenario.gx.clone(),
            map: build_map(ledger, &scenario.gx),
            site: Site::build(scenario, ledger, seed)?,
        })
    }

    /// The ledger the GX serves.
    pub fn ledger(&self) -> &'static Ledger {
        self.ledger
    }

    /// The simulated site (devices and values).
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// The simulated site, for changes at run time.
    pub fn site_mut(&mut self) -> &mut Site {
        &mut self.site
    }

    fn service_of(slot: Slot) -> Option<u16> {
        match slot {
            Slot::Undefined => None,
            Slot::Register { service, .. } | Slot::Reserved { service } => Some(service),
        }
    }

    /// The present device of a service type that a unit ID reaches.
    fn resolve(&self, unit: u8, service: u16) -> Option<usize> {
        let devices = self.site.devices();
        let find = |instance: u16| {
            devices.iter().position(|d| {
                d.present && d.service == usize::from(service) && d.instance == instance
            })
        };
        find(u16::from(unit)).or_else(|| table_instance(unit).and_then(find))
    }

    /// Answers one request PDU addressed to a unit.
    pub fn handle(&mut self, unit: u8, pdu: &[u8], now: Instant) -> Outcome {
        let Some(&code) = pdu.first() else {
            return Outcome::fail(0, exception::ILLEGAL_FUNCTION);
        };
        match code {
            function::READ_HOLDING | function::READ_INPUT => self.read(unit, code, pdu, now),
            function::WRITE_SINGLE => self.write_single(unit, pdu, now),
            function::WRITE_MULTIPLE => self.write_multiple(unit, pdu, now),
            _ => Outcome::fail(code, exception::ILLEGAL_FUNCTION),
        }
    }

    /// Checks 3-5 of the GX for a range: returns the device serving each address.
    fn route(&self, unit: u8, start: u16, quantity: u16) -> Result<Vec<(Slot, Option<usize>)>, u8> {
        let first = self.map[usize::from(start)];
        let Some(first_service) = Self::service_of(first) else {
            return Err(exception::ILLEGAL_ADDRESS);
        };
        if self.resolve(unit, first_service).is_none() {
            return Err(self.settings.absent_service_exception);
        }
        let end = u32::from(start) + u32::from(quantity);
        if end > 0x1_0000 {
            return Err(exception::ILLEGAL_ADDRESS);
        }
        let mut routed = Vec::with_capacity(usize::from(quantity));
        let mut cache: Option<(u16, usize)> = None;
        for address in u32::from(start)..end {
            let slot = self.map[address as usize];
            let service = Self::service_of(slot).ok_or(exception::ILLEGAL_ADDRESS)?;
            let device = match cache {
                Some((cached, device)) if cached == service => device,
                _ => {
                    let device = self
                        .resolve(unit, service)
                        .ok_or(exception::ILLEGAL_ADDRESS)?;
                    cache = Some((service, device));
                    device
                }
            };
            routed.push((slot, Some(device)));
        }
        Ok(routed)
    }

    fn read(&mut self, unit: u8, code: u8, pdu: &[u8], now: Instant) -> Outcome {
        if pdu.len() != 5 {
            return Outcome::fail(code, exception::ILLEGAL_VALUE);
        }
        let start = u16::from_be_bytes([pdu[1], pdu[2]]);
        let quantity = u16::from_be_bytes([pdu[3], pdu[4]]);
        if !(1..=MAX_READ_QUANTITY).contains(&quantity) {
            return Outcome::fail(code, exception::ILLEGAL_VALUE);
        }
        let routed = match self.route(unit, start, quantity) {
            Ok(routed) => routed,
            Err(exception) => return Outcome::fail(code, exception),
        };
        self.site.advance(now);
        let mut words = Vec::with_capacity(usize::from(quantity));
        let mut current: Option<((usize, u16), Vec<u16>)> = None;
        for (slot, device) in routed {
            match (slot, device) {
                (Slot::Register { index, offset, .. }, Some(device)) => {
                    let fresh = !matches!(&current, Some((at, _)) if *at == (device, index));
                    if fresh {
                        current =
                            Some(((device, index), self.site.words(device, usize::from(index))));
                    }
                    let word = current
                        .as_ref()
                        .and_then(|(_, register_words)| register_words.get(usize::from(offset)))
                        .copied()
                        .unwrap_or(0);
                    words.push(word);
                }
                _ => words.push(0xFFFF),
            }
        }
        Outcome {
            reply: frame::read_reply(code, &words),
            exception: None,
            writes: Vec::new(),
        }
    }

    fn write_single(&mut self, unit: u8, pdu: &[u8], now: Instant) -> Outcome {
        if pdu.len() != 5 {
            return Outcome::fail(function::WRITE_SINGLE, exception::ILLEGAL_VALUE);
        }
        let address = u16::from_be_bytes([pdu[1], pdu[2]]);
        let word = u16::from_be_bytes([pdu[3], pdu[4]]);
        match self.apply_write(unit, address, &[word], now) {
            Ok(writes) => Outcome {
                reply: pdu.to_vec(),
                exception: None,
                writes,
            },
            Err(code) => Outcome::fail(function::WRITE_SINGLE, code),
        }
    }

    fn write_multiple(&mut self, unit: u8, pdu: &[u8], now: Instant) -> Outcome {
        let fc = function::WRITE_MULTIPLE;
        if pdu.len() < 6 {
            return Outcome::fail(fc, exception::ILLEGAL_VALUE);
        }
        let start = u16::from_be_bytes([pdu[1], pdu[2]]);
        let quantity = u16::from_be_bytes([pdu[3], pdu[4]]);
        let byte_count = usize::from(pdu[5]);
        let data = &pdu[6..];
        if !(1..=MAX_WRITE_QUANTITY).contains(&quantity)
            || byte_count != usize::from(quantity) * 2
            || data.len() != byte_count
        {
            return Outcome::fail(fc, exception::ILLEGAL_VALUE);
        }
        match self.apply_write(unit, start, &frame::words_of(data), now) {
            Ok(writes) => Outcome {
                reply: pdu[..5].to_vec(),
                exception: None,
                writes,
            },
            Err(code) => Outcome::fail(fc, code),
        }
    }

    fn apply_write(
        &mut self,
        unit: u8,
        start: u16,
        words: &[u16],
        now: Instant,
    ) -> Result<Vec<WriteRecord>, u8> {
        let quantity = u16::try_from(words.len()).map_err(|_| exception::ILLEGAL_VALUE)?;
        let routed = self.route(unit, start, quantity)?;
        let mut targets: Vec<(usize, u16, usize, Vec<u16>)> = Vec::new();
        for ((slot, device), &word) in routed.iter().zip(words) {
            let (
                Slot::Register {
                    service,
                    index,
                    offset,
                },
                Some(device),
            ) = (*slot, *device)
            else {
                return Err(exception::ILLEGAL_ADDRESS);
            };
            let register =
                &self.ledger.services[usize::from(service)].registers[usize::from(index)];
            if !register.writable || !self.settings.writes_enabled {
                return Err(exception::ILLEGAL_ADDRESS);
            }
            match targets.last_mut() {
                Some((d, i, _, written)) if *d == device && *i == index => written.push(word),
                _ => targets.push((device, index, usize::from(offset), vec![word])),
            }
        }
        self.site.advance(now);
        let mut records = Vec::with_capacity(targets.len());
        for (device, index, offset, written) in targets {
            let value = self
                .site
                .write(device, usize::from(index), offset, &written);
            let (register, _) = self.site.register(device, usize::from(index));
            records.push(WriteRecord {
                unit,
                device: self.site.devices()[device].id.clone(),
                key: register.key.clone(),
                address: register.address + u16::try_from(offset).unwrap_or(0),
                words: written,
                value,
            });
        }
        Ok(records)
    }
}

/// Keys of the GX firmware registers (834-835, system service).
const FIRMWARE_KEYS: [&str; 2] = ["gx_firmware_major_version", "gx_firmware_beta_release"];

fn build_map(ledger: &Ledger, settings: &GxSettings) -> Vec<Slot> {
    let mut map = vec![Slot::Undefined; 0x1_0000];
    let server_rank = list_rank(&settings.register_list);
    let mut system = None;
    for (service_index, service) in ledger.services.iter().enumerate() {
        let service_id = u16::try_from(service_index).unwrap_or(u16::MAX);
        if service.service_type() == "system" {
            system = Some(service_id);
        }
        for (index, register) in service.registers.iter().enumerate() {
            let later = |revision: u32| register.added_in.is_some_and(|added| added > revision);
            let firmware = FIRMWARE_KEYS.contains(&register.key.as_str());
            if list_rank(&register.since) > server_rank
                || settings.revision.is_some_and(later)
                || (firmware && !settings.firmware_registers)
            {
                continue;
            }
            for (offset, address) in register.span().enumerate() {
                if let Some(slot) = map.get_mut(address as usize) {
                    *slot = Slot::Register {
                        service: service_id,
                        index: u16::try_from(index).unwrap_or(u16::MAX),
                        offset: u8::try_from(offset).unwrap_or(u8::MAX),
                    };
                }
            }
        }
        // Older firmware leaves the system range's reserved words undefined.
        let serve_reserved = settings.system_gaps_reserved || service.service_type() != "system";
        for block in service.reserved.iter().filter(|_| serve_reserved) {
            for address in block[0]..=block[1] {
                map[usize::from(address)] = Slot::Reserved {
                    service: service_id,
                };
            }
        }
    }
    if let (true, Some(system)) = (settings.system_gaps_reserved, system) {
        for address in SYSTEM_RANGE {
            let accepted = SYSTEM_ACCEPTED_GAPS
                .iter()
                .any(|&(a, b)| (a..=b).contains(&address));
            let slot = &mut map[usize::from(address)];
            if *slot == Slot::Undefined && !accepted {
                *slot = Slot::Reserved { service: system };
            }
        }
    }
    map
}
