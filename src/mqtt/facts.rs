//! What the GX's MQTT publishes about each device: its product, firmware,
//! serial and custom name (`N/<portal>/<service>/<instance>/ProductName`,
//! ...), read in the same full publish as the service list, so that a scan
//! over the list needs no Modbus request to name its devices.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{payload_value, ListedService};
use crate::discovery::FoundDevice;
use crate::firmware::{firmware_from_json, FirmwareStyle};
use crate::products::product_name;
use crate::unit_ids::table_instance;

/// The D-Bus paths read per device (each a topic under its service and instance).
pub const FACT_PATHS: [&str; 5] = [
    "ProductName",
    "ProductId",
    "FirmwareVersion",
    "Serial",
    "CustomName",
];

/// What one device's service publishes about it.
///
/// Each `None` when it publishes nothing there (or an empty text, or a null:
/// the GX's "not set").
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(rename = "PublishedDevice"))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceFacts {
    /// Service type (`solarcharger`).
    pub service: String,
    /// Device instance (the topic's instance; a unit ID reaches it through
    /// the GX's unit ID table).
    pub instance: u16,
    /// The unit ID the GX lists the service at.
    #[serde(default)]
    pub unit: u8,
    /// `/ProductName` ("SmartSolar MPPT VE.Can 250/100"); the product
    /// table's name of `product_id` when the service published none.
    #[serde(default)]
    pub product_name: Option<String>,
    /// `/ProductId` (0xA10B).
    #[serde(default)]
    pub product_id: Option<u32>,
    /// `/FirmwareVersion`, as the GX shows it ("v3.16").
    #[serde(default)]
    pub firmware: Option<String>,
    /// `/Serial`.
    #[serde(default)]
    pub serial: Option<String>,
    /// `/CustomName`, when the user set one.
    #[serde(default)]
    pub custom_name: Option<String>,
}

/// The device instance a unit ID reaches (its table entry, else itself),
/// which is the instance in the device's MQTT topics.
pub fn instance_of_unit(unit: u8) -> u16 {
    table_instance(unit).unwrap_or_else(|| u16::from(unit))
}

/// MQTT topic filters for the facts of every device of a portal.
pub fn filters(portal: &str) -> Vec<String> {
    FACT_PATHS
        .iter()
        .map(|path| format!("N/{portal}/+/+/{path}"))
        .collect()
}

/// A text value: trimmed, `None` when empty or not a text.
fn text(value: Option<serde_json::Value>) -> Option<String> {
    let text = value?.as_str()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// The facts collected so far, by (service type, instance).
#[derive(Debug, Default)]
pub struct FactsCollector {
    devices: BTreeMap<(String, u16), DeviceFacts>,
}

impl FactsCollector {
    /// Takes one message whose topic, after `N/<portal>/`, is `rest`
    /// (`solarcharger/279/ProductName`); returns whether it was a fact.
    pub fn take(&mut self, rest: &str, bytes: &[u8]) -> bool {
        let mut levels = rest.split('/');
        let (Some(service), Some(instance), Some(path), None) =
            (levels.next(), levels.next(), levels.next(), levels.next())
        else {
            return false;
        };
        let Ok(instance) = instance.parse::<u16>() else {
            return false;
        };
        if service.is_empty() || !FACT_PATHS.contains(&path) {
            return false;
        }
        let value = payload_value(bytes);
        let facts = self
            .devices
            .entry((service.to_owned(), instance))
            .or_insert_with(|| DeviceFacts {
                service: service.to_owned(),
                instance,
                ..DeviceFacts::default()
            });
        match path {
            "ProductName" => facts.product_name = text(value),
            "ProductId" => {
                facts.product_id = value
                    .and_then(|v| v.as_u64())
                    .and_then(|id| u32::try_from(id).ok())
                    .filter(|&id| id != 0);
            }
            "FirmwareVersion" => {
                facts.firmware =
                    value.and_then(|v| firmware_from_json(&v, FirmwareStyle::of(service)));
            }
            "Serial" => facts.serial = text(value),
            _ => facts.custom_name = text(value),
        }
        true
    }

    /// The facts of the listed services (active or not) that published
    /// any, each with the unit the GX lists it at; a product ID published
    /// without a name is named from the product table.
    pub fn of_listed(self, services: &[ListedService]) -> Vec<DeviceFacts> {
        let mut out = Vec::new();
        for mut facts in self.devices.into_values() {
            if facts == DeviceFacts::new(&facts.service, facts.instance) {
                continue;
            }
            let listed = services.iter().find(|s| {
                s.service_type() == Some(facts.service.as_str())
                    && instance_of_unit(s.unit) == facts.instance
            });
            let Some(listed) = listed else { continue };
            facts.unit = listed.unit;
            if facts.product_name.is_none() {
                facts.product_name = facts.product_id.and_then(product_name).map(str::to_owned);
            }
            out.push(facts);
        }
        out
    }
}

impl DeviceFacts {
    /// Facts of a device that published nothing yet.
    fn new(service: &str, instance: u16) -> Self {
        Self {
            service: service.to_owned(),
            instance,
            ..Self::default()
        }
    }
}

/// Fills each found device in from what its service published over MQTT
/// (the GX's own values win over what Modbus registers gave); a product ID
/// without a name is named from the product table.
pub fn apply_facts(devices: &mut [FoundDevice], facts: &[DeviceFacts]) {
    for device in devices.iter_mut() {
        let instance = instance_of_unit(device.unit);
        let Some(published) = facts
            .iter()
            .find(|f| f.instance == instance && f.service == device.service)
        else {
            continue;
        };
        if published.product_id.is_some() {
            device.product_id = published.product_id;
        }
        let named = published
            .product_name
            .clone()
            .or_else(|| device.product_id.and_then(product_name).map(str::to_owned));
        if named.is_some() {
            device.product_name = named;
        }
        if published.firmware.is_some() {
            device.firmware.clone_from(&published.firmware);
        }
        if published.serial.is_some() {
            device.serial.clone_from(&published.serial);
        }
        if published.custom_name.is_some() {
            device.name.clone_from(&published.custom_name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(name: &str, unit: u8) -> ListedService {
        ListedService {
            name: name.to_owned(),
            unit,
            active: true,
        }
    }

    fn found(unit: u8, service: &str) -> FoundDevice {
        FoundDevice::new(unit, service)
    }

    #[test]
    fn facts_are_collected_per_service_and_instance() {
        let mut collector = FactsCollector::default();
        assert!(collector.take(
            "solarcharger/279/ProductName",
            br#"{"value": "SmartSolar MPPT 250/60"}"#
        ));
        assert!(collector.take("solarcharger/279/ProductId", br#"{"value": 41054}"#));
        assert!(collector.take("solarcharger/279/FirmwareVersion", br#"{"value": 358}"#));
        assert!(collector.take("solarcharger/279/Serial", br#"{"value": "HQ2219XKJ4T"}"#));
        assert!(collector.take("solarcharger/279/CustomName", br#"{"value": ""}"#));
        assert!(collector.take("vebus/276/FirmwareVersion", br#"{"value": 1282}"#));
        assert!(collector.take("tank/20/CustomName", br#"{"value": "Fresh water"}"#));
        assert!(collector.take("tank/20/ProductId", br#"{"value": 41312}"#));
        // Not facts: other paths, deeper topics, bad instances.
        assert!(!collector.take("solarcharger/279/Dc/0/Voltage", b"{}"));
        assert!(!collector.take("solarcharger/279/Yield", b"{}"));
        assert!(!collector.take("solarcharger/x/ProductName", b"{}"));
        assert!(!collector.take("modbustcp/0/Services/3/UnitId", b"{}"));
        // Published by a service the list does not name: left out.
        assert!(collector.take("adc/0/ProductName", br#"{"value": "ADC"}"#));
        let services = [
            listed("com.victronenergy.solarcharger.ttyS7", 226),
            listed("com.victronenergy.vebus.ttyS4", 227),
            listed("com.victronenergy.tank.socketcan_can0_vi0_uc20", 20),
        ];
        let facts = collector.of_listed(&services);
        assert_eq!(facts.len(), 3, "{facts:?}");
        let mppt = &facts[0];
        assert_eq!(
            (mppt.service.as_str(), mppt.instance),
            ("solarcharger", 279)
        );
        assert_eq!(mppt.product_name.as_deref(), Some("SmartSolar MPPT 250/60"));
        assert_eq!(mppt.product_id, Some(41054));
        assert_eq!(mppt.firmware.as_deref(), Some("v1.66"));
        assert_eq!(mppt.serial.as_deref(), Some("HQ2219XKJ4T"));
        assert_eq!(mppt.custom_name, None);
        assert_eq!(mppt.unit, 226);
        assert_eq!(facts[1].custom_name.as_deref(), Some("Fresh water"));
        // A product ID published without a name is named from the table.
        assert_eq!(facts[1].product_name.as_deref(), Some("Tank sensor"));
        assert_eq!(facts[1].unit, 20);
        assert_eq!(facts[2].unit, 227);
        assert_eq!(facts[2].firmware.as_deref(), Some("v502"));
    }

    #[test]
    fn facts_fill_the_devices_they_name() {
        let mut devices = vec![
            found(226, "solarcharger"),
            found(0, "vebus"),
            found(20, "tank"),
        ];
        devices[2].name = Some("Tank 20".to_owned());
        devices[2].product_id = Some(0xA160);
        let facts = vec![
            DeviceFacts {
                product_name: Some("SmartSolar MPPT 250/60".into()),
                serial: Some("HQ1".into()),
                firmware: Some("v1.66".into()),
                custom_name: Some("Roof".into()),
                ..DeviceFacts::new("solarcharger", 279)
            },
            // Unit 0 and unit 100 both reach instance 0.
            DeviceFacts {
                product_id: Some(0x2623),
                ..DeviceFacts::new("vebus", 0)
            },
            // No name published: the table names the register's product ID.
            DeviceFacts {
                serial: Some("T1".into()),
                ..DeviceFacts::new("tank", 20)
            },
            // Same instance, another service: not the tank's.
            DeviceFacts {
                custom_name: Some("Wrong".into()),
                ..DeviceFacts::new("temperature", 20)
            },
        ];
        apply_facts(&mut devices, &facts);
        let mppt = &devices[0];
        assert_eq!(mppt.product_name.as_deref(), Some("SmartSolar MPPT 250/60"));
        assert_eq!(mppt.name.as_deref(), Some("Roof"));
        assert_eq!(mppt.firmware.as_deref(), Some("v1.66"));
        assert_eq!(mppt.serial.as_deref(), Some("HQ1"));
        assert_eq!(devices[1].product_id, Some(0x2623));
        assert_eq!(
            devices[1].product_name.as_deref(),
            Some("MultiPlus-II 48/5000/70-50")
        );
        let tank = &devices[2];
        assert_eq!(tank.product_name.as_deref(), Some("Tank sensor"));
        assert_eq!(tank.name.as_deref(), Some("Tank 20"));
        assert_eq!(tank.serial.as_deref(), Some("T1"));
    }

    #[test]
    fn units_reach_the_instances_of_their_topics() {
        assert_eq!(instance_of_unit(100), 0);
        assert_eq!(instance_of_unit(0), 0);
        assert_eq!(instance_of_unit(227), 276);
        assert_eq!(instance_of_unit(225), 512);
        assert_eq!(instance_of_unit(20), 20);
        assert_eq!(filters("abc")[0], "N/abc/+/+/ProductName".to_owned());
    }
}
