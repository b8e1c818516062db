//! What the GX's system values say must exist, and whether the devices
//! found so far account for it: DC PV power for solar chargers, AC-coupled
//! PV power for PV inverters, DC system power for DC loads, VE.Bus power for
//! a VE.Bus device.

use std::collections::{BTreeMap, HashSet};

use crate::codec::Value;
use crate::ledger::{Ledger, Service};

/// Values read from one device, by register key.
pub(super) type Values = BTreeMap<String, Value>;

/// A power the system reports that some service type must account for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Claim {
    /// DC PV power (system 850): solar chargers.
    DcPv,
    /// AC-coupled PV power (system 808-816, 884-900): PV inverters.
    AcPv,
    /// DC system power (system 860): DC loads.
    DcSystem,
    /// VE.Bus DC power or current: a VE.Bus device.
    Vebus,
    /// AC consumption on the input side (system 872-877): AC loads and EV chargers.
    AcInput,
}

impl Claim {
    /// Every claim.
    pub const ALL: [Claim; 5] = [
        Claim::DcPv,
        Claim::AcPv,
        Claim::DcSystem,
        Claim::Vebus,
        Claim::AcInput,
    ];

    /// Whether devices of this service type count towards the claim.
    pub fn counts(self, service: &str) -> bool {
        service == self.service() || (self == Claim::AcInput && service == "evcharger")
    }

    /// The service type searched for while the claim is unexplained.
    pub fn service(self) -> &'static str {
        match self {
            Claim::DcPv => "solarcharger",
            Claim::AcPv => "pvinverter",
            Claim::DcSystem => "dcload",
            Claim::Vebus => "vebus",
            Claim::AcInput => "acload",
        }
    }

    fn system_paths(self, path: &str) -> bool {
        match self {
            Claim::DcPv => path == "/Dc/Pv/Power",
            Claim::AcPv => path.starts_with("/Ac/PvOn") && path.ends_with("/Power"),
            Claim::DcSystem => path == "/Dc/System/Power",
            Claim::Vebus => path == "/Dc/Vebus/Power" || path == "/Dc/Vebus/Current",
            Claim::AcInput => {
                path.starts_with("/Ac/ConsumptionOnInput/") && path.ends_with("/Power")
            }
        }
    }
}

fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Int(v) => Some(*v as f64),
        Value::Float(v) => Some(*v),
        _ => None,
    }
}

/// Sum of the values of the distinct D-Bus paths that `wanted` accepts (a
/// path served by two registers counts once).
fn path_sum(service: &Service, values: &Values, wanted: impl Fn(&str) -> bool) -> f64 {
    let mut seen = HashSet::new();
    let mut total = 0.0;
    for register in &service.registers {
        let Some(path) = register.dbus_path.as_deref() else {
            continue;
        };
        if !wanted(path) || seen.contains(path) {
            continue;
        }
        if let Some(value) = number(values.get(&register.key)) {
            seen.insert(path);
            total += value;
        }
    }
    total
}

/// The power (W) one found device contributes to a claim.
fn contribution(claim: Claim, service: &Service, values: &Values) -> f64 {
    match claim {
        Claim::DcPv => path_sum(service, values, |p| p == "/Yield/Power").abs(),
        Claim::AcPv | Claim::AcInput => path_sum(service, values, |p| {
            p == "/Ac/L1/Power" || p == "/Ac/L2/Power" || p == "/Ac/L3/Power"
        })
        .abs(),
        Claim::DcSystem => {
            let current = path_sum(service, values, |p| p == "/Dc/0/Current");
            let voltage = path_sum(service, values, |p| p == "/Dc/0/Voltage");
            (current * voltage).abs()
        }
        Claim::Vebus => f64::INFINITY,
    }
}

/// Whether every found device that counts towards a claim has a value its
/// contribution is made of (a device whose power is not read cannot be said
/// to leave a claim unexplained).
pub(super) fn accountable(claim: Claim, ledger: &Ledger, found: &[(&str, &Values)]) -> bool {
    let contributes = |path: &str| match claim {
        Claim::DcPv => path == "/Yield/Power",
        Claim::AcPv | Claim::AcInput => {
            matches!(path, "/Ac/L1/Power" | "/Ac/L2/Power" | "/Ac/L3/Power")
        }
        Claim::DcSystem => path == "/Dc/0/Current",
        Claim::Vebus => true,
    };
    found
        .iter()
        .filter(|(kind, _)| claim.counts(kind))
        .all(|(kind, values)| {
            ledger.service(kind).is_some_and(|service| {
                service.registers.iter().any(|register| {
                    register.dbus_path.as_deref().is_some_and(contributes)
                        && values.contains_key(&register.key)
                })
            })
        })
}

/// Whether the found devices leave part of a claim unexplained: the system
/// value exceeds their sum by more than 10% and 25 W (values move between
/// the reads).
pub(super) fn unexplained(
    claim: Claim,
    ledger: &Ledger,
    system: &Values,
    found: &[(&str, &Values)],
) -> bool {
    let Some(system_service) = ledger.service("system") else {
        return false;
    };
    let claimed = path_sum(system_service, system, |p| claim.system_paths(p)).abs();
    if claimed == 0.0 {
        return false;
    }
    let explained: f64 = found
        .iter()
        .filter(|(kind, _)| claim.counts(kind))
        .filter_map(|(kind, values)| Some(contribution(claim, ledger.service(kind)?, values)))
        .sum();
    claimed - explained > (claimed * 0.1).max(25.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> &'static Ledger {
        crate::ledger::embedded().unwrap_or_else(|e| panic!("{e}"))
    }

    fn values(pairs: &[(&str, f64)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::Float(*v)))
            .collect()
    }

    #[test]
    fn dc_pv_is_explained_by_solar_chargers_yield() {
        let system = values(&[("dc_pv_power", 1500.0)]);
        let one = values(&[("yield_power_789", 700.0), ("yield_power", 700.0)]);
        let two = values(&[("yield_power_789", 790.0)]);
        assert!(unexplained(Claim::DcPv, ledger(), &system, &[]));
        assert!(unexplained(
            Claim::DcPv,
            ledger(),
            &system,
            &[("solarcharger", &one)]
        ));
        assert!(!unexplained(
            Claim::DcPv,
            ledger(),
            &system,
            &[("solarcharger", &one), ("solarcharger", &two)]
        ));
    }

    #[test]
    fn a_claim_is_accountable_only_when_its_devices_power_is_read() {
        let read = values(&[("yield_power", 700.0)]);
        let unread = values(&[("state", 3.0)]);
        assert!(accountable(
            Claim::DcPv,
            ledger(),
            &[("solarcharger", &read)]
        ));
        assert!(!accountable(
            Claim::DcPv,
            ledger(),
            &[("solarcharger", &read), ("solarcharger", &unread)]
        ));
        assert!(accountable(Claim::DcPv, ledger(), &[("battery", &unread)]));
        assert!(accountable(Claim::AcPv, ledger(), &[]));
    }

    #[test]
    fn twin_registers_count_once_and_zero_claims_nothing() {
        let system = values(&[
            ("ac_pv_on_grid_l1_power_811", 900.0),
            ("ac_pv_on_grid_l1_power", 900.0),
        ]);
        let inverter = values(&[("ac_l1_power_1029", 880.0), ("ac_l1_power", 880.0)]);
        assert!(!unexplained(
            Claim::AcPv,
            ledger(),
            &system,
            &[("pvinverter", &inverter)]
        ));
        assert!(unexplained(Claim::AcPv, ledger(), &system, &[]));
        assert!(!unexplained(Claim::DcPv, ledger(), &values(&[]), &[]));
    }
}
