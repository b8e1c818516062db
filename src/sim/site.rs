//! The simulated site: every device's register values and how they evolve.
//!
//! Each (device, register) is a node. Integrating models (counters, SoC,
//! random walks) step with elapsed time; curves follow the simulated hour;
//! derived models (sums, products, ratios) are evaluated in dependency order
//! so that totals always match their parts.

use std::collections::HashMap;
use std::f64::consts::PI;
use std::time::Instant;

use super::scenario::{DeviceIdentity, DeviceSpec, Scenario, ScenarioError, ValueModel, ValueRef};
use super::twins::value_holders;
use crate::codec::{self, RegisterType, Value};
use crate::ledger::{list_rank, Ledger, Register, Service};
use crate::rng::Rng;
use crate::unit_ids::unit_for_instance;

mod history;

pub use history::{History, Series};

/// A device of the site.
#[derive(Debug, Clone)]
pub struct SimDevice {
    /// Scenario id.
    pub id: String,
    /// Index of its service in the ledger.
    pub service: usize,
    /// Device instance.
    pub instance: u16,
    /// The unit ID clients use for it.
    pub unit: Option<u8>,
    /// Connected (absent devices answer like an unplugged one).
    pub present: bool,
    /// Rank of the register list of its firmware.
    pub list_rank: (u8, u32),
    /// Index of its first node.
    pub first_node: usize,
    /// What its service publishes about it (product, firmware, serial, name).
    pub identity: DeviceIdentity,
}

/// A model with its references resolved to node indices.
#[derive(Debug, Clone)]
enum Model {
    /// Holds its value until written (constants, text, written values).
    Fixed,
    Invalid,
    Sentinel,
    Pv {
        peak: f64,
        sunrise: f64,
        sunset: f64,
        noise: f64,
    },
    Load {
        base: f64,
        peak: f64,
        noise: f64,
    },
    Walk {
        step: f64,
        min: f64,
        max: f64,
    },
    Counter {
        power: usize,
        reverse: bool,
    },
    Soc {
        capacity_ah: f64,
        current: usize,
    },
    Product {
        of: Vec<usize>,
        factor: f64,
    },
    Sum {
        of: Vec<usize>,
        weights: Vec<f64>,
        offset: f64,
    },
    Ratio {
        num: usize,
        den: usize,
    },
}

impl Model {
    fn inputs(&self) -> Vec<usize> {
        match self {
            Self::Product { of, .. } | Self::Sum { of, .. } => of.clone(),
            Self::Ratio { num, den } => vec![*num, *den],
            _ => Vec::new(),
        }
    }

    /// Points every input at the node that holds its value.
    fn remap(&mut self, holder: &[usize]) {
        let map = |node: &mut usize| *node = holder[*node];
        match self {
            Self::Counter { power: n, .. } | Self::Soc { current: n, .. } => map(n),
            Self::Product { of, .. } | Self::Sum { of, .. } => of.iter_mut().for_each(map),
            Self::Ratio { num, den } => {
                map(num);
                map(den);
            }
            _ => {}
        }
    }

    fn is_integrator(&self) -> bool {
        matches!(
            self,
            Self::Counter { .. } | Self::Soc { .. } | Self::Walk { .. }
        )
    }
}

/// The current value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// A number in engineering units.
    Number(f64),
    /// Text.
    Text(String),
    /// Reads as 0 (invalid D-Bus value).
    Invalid,
    /// Reads as all ones.
    Sentinel,
}

/// All devices and values of a running scenario.
#[derive(Debug)]
pub struct Site {
    ledger: &'static Ledger,
    devices: Vec<SimDevice>,
    models: Vec<Model>,
    values: Vec<NodeValue>,
    /// The node holding each node's value (twins of one D-Bus path share one).
    holder: Vec<usize>,
    /// Nodes the scenario gave a model.
    modelled: Vec<bool>,
    derived_order: Vec<usize>,
    start_hour: f64,
    /// The GX clamps values its types cannot hold (else they wrap).
    clamps_values: bool,
    started: Instant,
    last_step: Instant,
    rng: Rng,
}

fn invalid(scenario: &Scenario, message: String) -> ScenarioError {
    ScenarioError::Invalid {
        name: scenario.name.clone(),
        message,
    }
}

fn identity_models(spec: &DeviceSpec, service: &Service) -> Vec<(String, ValueModel)> {
    // An INTERNAL register's path names the value it converts (834 holds
    // /FirmwareVersion as hex digits), not a value served as it is.
    let by_path = |path: &str| {
        service
            .registers
            .iter()
            .find(|r| !r.internal && r.dbus_path.as_deref() == Some(path))
            .map(|r| r.key.clone())
    };
    let mut out = Vec::new();
    let mut push = |key: Option<String>, model: ValueModel| {
        if let Some(key) = key {
            out.push((key, model));
        }
    };
    if let Some(id) = spec.product_id {
        push(by_path("/ProductId"), ValueModel::Constant(f64::from(id)));
    }
    if let Some(serial) = &spec.serial {
        push(by_path("/Serial"), ValueModel::Text(serial.clone()));
    }
    if let Some(name) = &spec.custom_name {
        push(by_path("/CustomName"), ValueModel::Text(name.clone()));
    }
    if let Some(firmware) = spec.firmware {
        push(
            by_path("/FirmwareVersion"),
            ValueModel::Constant(f64::from(firmware)),
        );
        if service.service_type() == "system" {
            // Register 834 holds the version as hex digits (0x0360 = v3.60), 835 the beta number.
            push(
                Some("gx_firmware_major_version".to_owned()),
                ValueModel::Constant(f64::from((firmware >> 8) & 0xFFFF)),
            );
            push(
                Some("gx_firmware_beta_release".to_owned()),
                ValueModel::Constant(f64::from(firmware & 0xFF)),
            );
        }
    }
    out
}

impl Site {
    /// Builds a site from a scenario, checking every key, reference and type.
    pub fn build(
        scenario: &Scenario,
        ledger: &'static Ledger,
        seed: u64,
    ) -> Result<Self, ScenarioError> {
        let specs = scenario.expanded_devices();
        let mut devices = Vec::with_capacity(specs.len());
        let mut first_node = 0;
        let mut ids = HashMap::new();
        for spec in &specs {
            let service = ledger
                .services
                .iter()
                .position(|s| s.service_type() == spec.service)
                .ok_or_else(|| {
                    invalid(
                        scenario,
                        format!("{}: unknown service type {:?}", spec.id, spec.service),
                    )
                })?;
            let unit = unit_for_instance(spec.instance);
            if spec.unit.is_some() && spec.unit != unit {
                return Err(invalid(
                    scenario,
                    format!(
                        "{}: instance {} is reached as unit {unit:?}, not {:?}",
                        spec.id, spec.instance, spec.unit
                    ),
                ));
            }
            if ids.insert(spec.id.clone(), devices.len()).is_some() {
                return Err(invalid(
                    scenario,
                    format!("device id {} is not unique", spec.id),
                ));
            }
            devices.push(SimDevice {
                id: spec.id.clone(),
                service,
                instance: spec.instance,
                unit,
                present: spec.present,
                list_rank: list_rank(
                    spec.register_list
                        .as_deref()
                        .unwrap_or(&scenario.gx.register_list),
                ),
                first_node,
                identity: spec.identity(),
            });
            first_node += ledger.services[service].registers.len();
        }
        let mut models = vec![Model::Invalid; first_node];
        let mut values = vec![NodeValue::Invalid; first_node];
        let mut modelled = vec![false; first_node];
        let node_of = |device: usize, key: &str| -> Option<usize> {
            let dev = &devices[device];
            ledger.services[dev.service]
                .registers
                .iter()
                .position(|r| r.key == key)
                .map(|index| dev.first_node + index)
        };
        for (index, spec) in specs.iter().enumerate() {
            let service = &ledger.services[devices[index].service];
            let mut entries = identity_models(spec, service);
            entries.extend(spec.values.iter().map(|(k, m)| (k.clone(), m.clone())));
            for (key, model) in entries {
                let node = node_of(index, &key).ok_or_else(|| {
                    invalid(
                        scenario,
                        format!("{}: {} has no register {key:?}", spec.id, spec.service),
                    )
                })?;
                let resolve = |reference: &ValueRef| -> Result<usize, ScenarioError> {
                    let device = match &reference.device {
                        Some(id) => *ids.get(id).ok_or_else(|| {
                            invalid(
                                scenario,
                                format!("{}.{key}: unknown device {id:?}", spec.id),
                            )
                        })?,
                        None => index,
                    };
                    node_of(device, &reference.key).ok_or_else(|| {
                        invalid(
                            scenario,
                            format!(
                                "{}.{key}: no register {:?} on the referenced device",
                                spec.id, reference.key
                            ),
                        )
                    })
                };
                if let ValueModel::Sum {
                    of,
                    weights: Some(weights),
                    ..
                } = &model
                {
                    if weights.len() != of.len() {
                        return Err(invalid(
                            scenario,
                            format!(
                                "{}.{key}: sum has {} terms but {} weights",
                                spec.id,
                                of.len(),
                                weights.len()
                            ),
                        ));
                    }
                }
                let register = &service.registers[node - devices[index].first_node];
                let compiled = compile(&model, &resolve)?;
                check_kind(register, &model).map_err(|message| {
                    invalid(scenario, format!("{}.{key}: {message}", spec.id))
                })?;
                models[node] = compiled;
                values[node] = initial_value(&model);
                modelled[node] = true;
            }
        }
        let mut holder: Vec<usize> = (0..first_node).collect();
        for device in &devices {
            let service = &ledger.services[device.service];
            let span = device.first_node..device.first_node + service.registers.len();
            let local = value_holders(service, &modelled[span.clone()])
                .map_err(|message| invalid(scenario, format!("{}: {message}", device.id)))?;
            for (node, index) in span.zip(local) {
                holder[node] = device.first_node + index;
            }
        }
        for model in &mut models {
            model.remap(&holder);
        }
        let derived_order = derivation_order(&models).map_err(|node| {
            invalid(
                scenario,
                format!("value references form a cycle through node {node}"),
            )
        })?;
        let now = Instant::now();
        let mut site = Self {
            ledger,
            devices,
            models,
            values,
            holder,
            modelled,
            derived_order,
            start_hour: scenario.start_hour,
            clamps_values: scenario.gx.clamps_values,
            started: now,
            last_step: now,
            rng: Rng::new(seed),
        };
        site.evaluate_curves();
        site.evaluate_derived();
        Ok(site)
    }

    /// The devices of the site.
    pub fn devices(&self) -> &[SimDevice] {
        &self.devices
    }

    /// Marks a device connected or unplugged; the system's sums follow at once.
    pub fn set_present(&mut self, device: usize, present: bool) {
        if let Some(dev) = self.devices.get_mut(device) {
            dev.present = present;
        }
        self.evaluate_derived();
    }

    /// Holds a device's register at `value` from now on, as if the site had
    /// changed (a battery run down, the grid gone): its model is replaced by
    /// the fixed value, and values derived from it follow.
    pub fn hold(&mut self, device: usize, key: &str, value: f64) -> Result<(), String> {
        let dev = self
            .devices
            .get(device)
            .ok_or_else(|| format!("no device {device}"))?;
        let service = &self.ledger.services[dev.service];
        let index = service
            .registers
            .iter()
            .position(|r| r.key == key)
            .ok_or_else(|| {
                format!(
                    "{}: {} has no register {key:?}",
                    dev.id,
                    service.service_type()
                )
            })?;
        if matches!(service.registers[index].register_type, RegisterType::Str(_)) {
            return Err(format!("{}.{key} holds text, not a number", dev.id));
        }
        if !value.is_finite() {
            return Err(format!("{}.{key}: {value} is not a finite number", dev.id));
        }
        let node = self.holder[dev.first_node + index];
        self.models[node] = Model::Fixed;
        self.values[node] = NodeValue::Number(value);
        self.evaluate_derived();
        Ok(())
    }

    /// The ledger register of a device's register index and the node that
    /// holds its value (shared by every register of its D-Bus path).
    pub fn register(&self, device: usize, index: usize) -> (&'static Register, usize) {
        let dev = &self.devices[device];
        (
            &self.ledger.services[dev.service].registers[index],
            self.holder[dev.first_node + index],
        )
    }

    /// Whether the scenario declares a device's register invalid (the
    /// product does not publish that D-Bus path), as opposed to not modelling it.
    pub fn declared_invalid(&self, device: usize, index: usize) -> bool {
        let (_, node) = self.register(device, index);
        self.modelled[node] && matches!(self.models[node], Model::Invalid)
    }

    /// What a device's service publishes about it: the scenario's identity
    /// with its custom name as it is now (one D-Bus value serves MQTT and
    /// the custom name register, which the scenario's values or a write
    /// may have set).
    pub fn identity(&self, device: usize) -> DeviceIdentity {
        let dev = &self.devices[device];
        let mut identity = dev.identity.clone();
        let registers = &self.ledger.services[dev.service].registers;
        let custom_name = registers
            .iter()
            .position(|r| !r.internal && r.dbus_path.as_deref() == Some("/CustomName"));
        if let Some(index) = custom_name {
            let (_, node) = self.register(device, index);
            if let NodeValue::Text(name) = self.value(node) {
                let name = name.trim_end_matches(['\0', ' ']);
                identity.custom_name = (!name.is_empty()).then(|| name.to_owned());
            }
        }
        identity
    }

    /// The current value of a node.
    pub fn value(&self, node: usize) -> &NodeValue {
        &self.values[node]
    }

    /// Simulated hour of day.
    pub fn hour_of_day(&self, now: Instant) -> f64 {
        (self.start_hour + now.duration_since(self.started).as_secs_f64() / 3600.0).rem_euclid(24.0)
    }

    /// Steps every model to `now` (no-op when no time has passed).
    pub fn advance(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last_step).as_secs_f64();
        if dt < 0.05 {
            return;
        }
        self.last_step = now;
        for node in 0..self.models.len() {
            if self.models[node].is_integrator() {
                self.values[node] = self.integrate(node, dt);
            }
        }
        self.evaluate_curves();
        self.evaluate_derived();
    }

    /// Whether the device a node belongs to is connected: the GX's system
    /// values sum connected devices only.
    fn connected(&self, node: usize) -> bool {
        let after = self.devices.partition_point(|dev| dev.first_node <= node);
        after
            .checked_sub(1)
            .and_then(|device| self.devices.get(device))
            .is_none_or(|dev| dev.present)
    }

    fn number(&self, node: usize) -> f64 {
        match &self.values[node] {
            NodeValue::Number(value) => *value,
            _ => 0.0,
        }
    }

    fn integrate(&mut self, node: usize, dt: f64) -> NodeValue {
        let current = self.number(node);
        let next = match self.models[node].clone() {
            Model::Counter { power, reverse } => {
                let watts = self.number(power);
                let flow = if reverse {
                    (-watts).max(0.0)
                } else {
                    watts.max(0.0)
                };
                current + flow * dt / 3_600_000.0
            }
            Model::Soc {
                capacity_ah,
                current: amps,
            } => {
                let change = self.number(amps) * dt / 3600.0 / capacity_ah * 100.0;
                (current + change).clamp(0.0, 100.0)
            }
            Model::Walk { step, min, max } => {
                (current + step * dt.min(10.0) * self.rng.symmetric()).clamp(min, max)
            }
            _ => current,
        };
        NodeValue::Number(next)
    }

    fn evaluate_curves(&mut self) {
        let hour = self.hour_of_day(self.last_step);
        for node in 0..self.models.len() {
            let value = match &self.models[node] {
                Model::Pv {
                    peak,
                    sunrise,
                    sunset,
                    noise,
                } => {
                    let daylight = (hour - sunrise) / (sunset - sunrise);
                    if (0.0..=1.0).contains(&daylight) {
                        let noise = 1.0 + noise * self.rng.symmetric();
                        (peak * (PI * daylight).sin() * noise).max(0.0)
                    } else {
                        0.0
                    }
                }
                Model::Load { base, peak, noise } => {
                    let bump = |centre: f64, width: f64| (-((hour - centre) / width).powi(2)).exp();
                    let shape = 0.45 * bump(7.5, 1.3) + bump(19.0, 1.8) + 0.25 * bump(13.0, 2.5);
                    (base + peak * shape) * (1.0 + noise * self.rng.symmetric())
                }
                _ => continue,
            };
            self.values[node] = NodeValue::Number(value);
        }
    }

    fn evaluate_derived(&mut self) {
        for index in 0..self.derived_order.len() {
            let node = self.derived_order[index];
            let value = match &self.models[node] {
                Model::Product { of, factor } => {
                    of.iter().map(|&n| self.number(n)).product::<f64>() * factor
                }
                Model::Sum {
                    of,
                    weights,
                    offset,
                } => {
                    offset
                        + of.iter()
                            .zip(weights)
                            .filter(|(&n, _)| self.connected(n))
                            .map(|(&n, w)| self.number(n) * w)
                            .sum::<f64>()
                }
                Model::Ratio { num, den } => {
                    let den = self.number(*den);
                    if den.abs() < 1e-9 {
                        0.0
                    } else {
                        self.number(*num) / den
                    }
                }
                _ => continue,
            };
            self.values[node] = NodeValue::Number(value);
        }
    }

    /// The register words of a node as the GX would serve them.
    pub fn words(&self, device: usize, index: usize) -> Vec<u16> {
        let (register, node) = self.register(device, index);
        let words = usize::from(register.register_type.words());
        if list_rank(&register.since) > self.devices[device].list_rank {
            return vec![0; words];
        }
        encode_value(register, &self.values[node], self.clamps_values)
            .unwrap_or_else(|| vec![0; words])
    }

    /// Stores written words into a register (merging a partial write) and
    /// returns the value it now holds.
    pub fn write(&mut self, device: usize, index: usize, offset: usize, written: &[u16]) -> Value {
        let mut words = self.words(device, index);
        for (slot, word) in words.iter_mut().skip(offset).zip(written) {
            *slot = *word;
        }
        let (register, node) = self.register(device, index);
        let value = codec::decode(register.register_type, register.scale, &words)
            .unwrap_or(Value::NotAvailable);
        let (model, stored) = match &value {
            Value::Int(int) => (Model::Fixed, NodeValue::Number(*int as f64)),
            Value::Float(float) => (Model::Fixed, NodeValue::Number(*float)),
            Value::Text(text) => (Model::Fixed, NodeValue::Text(text.clone())),
            Value::NotAvailable => (Model::Sentinel, NodeValue::Sentinel),
        };
        self.models[node] = model;
        self.values[node] = stored;
        self.evaluate_derived();
        value
    }
}

fn encode_value(register: &Register, value: &NodeValue, clamps: bool) -> Option<Vec<u16>> {
    let words = usize::from(register.register_type.words());
    match (value, register.register_type) {
        (NodeValue::Invalid, _) => Some(vec![0; words]),
        (NodeValue::Sentinel, RegisterType::I16) => Some(vec![0x7FFF]),
        (NodeValue::Sentinel, RegisterType::I32) => Some(vec![0x7FFF, 0xFFFF]),
        (NodeValue::Sentinel, _) => Some(vec![0xFFFF; words]),
        (NodeValue::Text(text), RegisterType::Str(_)) => {
            let latin1: String = text
                .chars()
                .filter(|c| u32::from(*c) <= 0xFF)
                .take(words * 2)
                .collect();
            codec::encode_text(register.register_type, &latin1).ok()
        }
        (NodeValue::Number(number), _) if !clamps => wrapped(register, *number),
        (NodeValue::Number(number), _) => {
            // The GX clamps values to what the type holds (max - 1).
            let (low, high) = codec::value_bounds(register.register_type, register.scale)?;
            codec::encode(
                register.register_type,
                register.scale,
                number.clamp(low, high),
            )
            .ok()
        }
        (NodeValue::Text(_), _) => None,
    }
}

/// Older firmware: `round(value x scale)` cut to the type's width, so a value
/// out of the type's range wraps (two's complement, high word first).
fn wrapped(register: &Register, number: f64) -> Option<Vec<u16>> {
    let words = usize::from(register.register_type.words());
    if matches!(register.register_type, RegisterType::Str(_)) || !number.is_finite() {
        return None;
    }
    let raw = (number * codec::effective_scale(register.scale)).round() as i64;
    let bits = raw as u64;
    Some(
        (0..words)
            .rev()
            .map(|index| (bits >> (16 * index)) as u16)
            .collect(),
    )
}

fn compile(
    model: &ValueModel,
    resolve: &dyn Fn(&ValueRef) -> Result<usize, ScenarioError>,
) -> Result<Model, ScenarioError> {
    Ok(match model {
        ValueModel::Constant(_) | ValueModel::Text(_) => Model::Fixed,
        ValueModel::Invalid => Model::Invalid,
        ValueModel::Sentinel => Model::Sentinel,
        ValueModel::Pv {
            peak,
            sunrise,
            sunset,
            noise,
        } => Model::Pv {
            peak: *peak,
            sunrise: *sunrise,
            sunset: sunset.max(sunrise + 1.0),
            noise: *noise,
        },
        ValueModel::Load { base, peak, noise } => Model::Load {
            base: *base,
            peak: *peak,
            noise: *noise,
        },
        ValueModel::Walk { step, min, max, .. } => Model::Walk {
            step: *step,
            min: min.min(*max),
            max: max.max(*min),
        },
        ValueModel::Counter { power, reverse, .. } => Model::Counter {
            power: resolve(power)?,
            reverse: *reverse,
        },
        ValueModel::Soc {
            capacity_ah,
            current,
            ..
        } => Model::Soc {
            capacity_ah: capacity_ah.max(1.0),
            current: resolve(current)?,
        },
        ValueModel::Product { of, factor } => Model::Product {
            of: of.iter().map(resolve).collect::<Result<_, _>>()?,
            factor: *factor,
        },
        ValueModel::Sum {
            of,
            weights,
            offset,
        } => Model::Sum {
            of: of.iter().map(resolve).collect::<Result<_, _>>()?,
            weights: weights.clone().unwrap_or_else(|| vec![1.0; of.len()]),
            offset: *offset,
        },
        ValueModel::Ratio { num, den } => Model::Ratio {
            num: resolve(num)?,
            den: resolve(den)?,
        },
    })
}

fn check_kind(register: &Register, model: &ValueModel) -> Result<(), String> {
    let is_text = matches!(register.register_type, RegisterType::Str(_));
    match model {
        ValueModel::Text(_) if !is_text => {
            Err(format!("text for a {} register", register.register_type))
        }
        ValueModel::Invalid | ValueModel::Sentinel | ValueModel::Text(_) => Ok(()),
        _ if is_text => Err("a number for a string register".to_owned()),
        _ => Ok(()),
    }
}

fn initial_value(model: &ValueModel) -> NodeValue {
    match model {
        ValueModel::Constant(v) => NodeValue::Number(*v),
        ValueModel::Walk { start, .. }
        | ValueModel::Counter { start, .. }
        | ValueModel::Soc { start, .. } => NodeValue::Number(*start),
        ValueModel::Text(t) => NodeValue::Text(t.clone()),
        ValueModel::Invalid => NodeValue::Invalid,
        ValueModel::Sentinel => NodeValue::Sentinel,
        _ => NodeValue::Number(0.0),
    }
}

/// Derived nodes ordered so that each comes after its inputs; `Err(node)`
/// names a node on a cycle.
fn derivation_order(models: &[Model]) -> Result<Vec<usize>, usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        node: usize,
        models: &[Model],
        marks: &mut [Mark],
        order: &mut Vec<usize>,
    ) -> Result<(), usize> {
        match marks[node] {
            Mark::Done => return Ok(()),
            Mark::Active => return Err(node),
            Mark::New => {}
        }
        marks[node] = Mark::Active;
        for input in models[node].inputs() {
            visit(input, models, marks, order)?;
        }
        marks[node] = Mark::Done;
        if !models[node].inputs().is_empty() {
            order.push(node);
        }
        Ok(())
    }
    let mut marks = vec![Mark::New; models.len()];
    let mut order = Vec::new();
    for node in 0..models.len() {
        visit(node, models, &mut marks, &mut order)?;
    }
    Ok(order)
}
