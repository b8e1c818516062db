//! Device information from the GX: with MQTT, every device's product name
//! and ID, firmware, serial and custom name come from what its service
//! publishes, read in the same MQTT session as the service list; without
//! MQTT, from the registers of the services that serve them, a product ID
//! named from the compiled-in product table. Against the simulator over
//! loopback TCP, on every bundled scenario.

mod common;

use std::sync::Arc;

use victron_gx_modbus::discovery::{scan, FoundDevice, ScanMode, ScanResult};
use victron_gx_modbus::firmware::{firmware_text, FirmwareStyle};
use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::mqtt::{instance_of_unit, read_services, scan_with_mqtt, FACT_PATHS};
use victron_gx_modbus::products::product_name;
use victron_gx_modbus::sim::{DeviceInfo, BUNDLED};

/// The simulated device a found device is (same service, same instance).
fn simulated<'a>(devices: &'a [DeviceInfo], found: &FoundDevice) -> &'a DeviceInfo {
    let instance = instance_of_unit(found.unit);
    devices
        .iter()
        .find(|d| d.service == found.service && d.instance == instance)
        .unwrap_or_else(|| panic!("no simulated device for {}/{}", found.unit, found.service))
}

/// Whether the ledger has a register of this D-Bus path for the service.
fn serves(service: &str, path: &str) -> bool {
    embedded()
        .expect("ledger")
        .service(service)
        .is_some_and(|s| {
            s.registers
                .iter()
                .any(|r| !r.internal && r.dbus_path.as_deref() == Some(path))
        })
}

/// The custom name as its register serves it: cut to the register's
/// characters (two a word), trailing spaces dropped.
fn served_name(device: &DeviceInfo) -> Option<String> {
    let name = device.identity.custom_name.as_deref()?;
    let register = embedded()
        .expect("ledger")
        .service(&device.service)?
        .registers
        .iter()
        .find(|r| r.dbus_path.as_deref() == Some("/CustomName"))?;
    let chars = usize::from(register.register_type.words()) * 2;
    let served: String = name.chars().take(chars).collect();
    Some(served.trim_end().to_owned()).filter(|n| !n.is_empty())
}

fn firmware(device: &DeviceInfo) -> Option<String> {
    let raw = device.identity.firmware?;
    firmware_text(u64::from(raw), FirmwareStyle::of(&device.service))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_mqtt_every_device_is_named_as_the_gx_publishes_it() {
    every_device_is_named_as_the_gx_publishes_it(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_mqtt_with_tls_every_device_is_named_as_the_gx_publishes_it() {
    every_device_is_named_as_the_gx_publishes_it(true).await;
}

/// On every bundled scenario, over plaintext MQTT or (`tls`) over TLS with
/// the certificate trusted, each found device carries what its service publishes.
async fn every_device_is_named_as_the_gx_publishes_it(tls: bool) {
    let mut problems = Vec::new();
    let mut named = 0;
    for (name, _) in BUNDLED {
        let (sim, options) = if tls {
            let sim = common::start_with_mqtt_tls(name).await;
            let options = common::pinned_mqtt(&sim);
            (sim, options)
        } else {
            let sim = common::start_with_mqtt(name, None).await;
            let options = common::plaintext_mqtt(&sim);
            (sim, options)
        };
        let t = common::patient_transport(&sim);
        let ledger = embedded().expect("ledger");
        let (result, discovery) = scan_with_mqtt(&t, ledger, &options, Arc::new(|_| {}))
            .await
            .expect("scan");
        t.close().await;
        assert_eq!(discovery.used, "mqtt", "{name}: {:?}", discovery.fallback);
        let devices = sim.devices().await.expect("devices");
        for found in &result.devices {
            let device = simulated(&devices, found);
            let identity = &device.identity;
            let gx_service =
                ["system", "settings", "hub4", "platform"].contains(&found.service.as_str());
            let mut check = |what: &str, got: Option<String>, want: Option<String>| {
                if got != want {
                    problems.push(format!(
                        "{name} {}/{} {what}: {got:?}, published {want:?}",
                        found.unit, found.service
                    ));
                }
            };
            check(
                "product",
                found.product_name.clone(),
                identity.product_name.clone(),
            );
            check(
                "product id",
                found.product_id.map(|id| id.to_string()),
                identity.product_id.map(|id| id.to_string()),
            );
            check(
                "firmware",
                found.firmware.clone(),
                firmware(device).or_else(|| found.firmware.clone().filter(|_| gx_service)),
            );
            if !gx_service {
                check("serial", found.serial.clone(), identity.serial.clone());
                check("name", found.name.clone(), identity.custom_name.clone());
            }
            named += usize::from(found.product_name.is_some());
        }
        sim.stop().await;
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(named > 50, "{named} devices named");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_carries_every_published_fact_joined_to_its_unit() {
    let sim = common::start_with_mqtt("large", None).await;
    let list = read_services(&common::plaintext_mqtt(&sim))
        .await
        .expect("list");
    let devices = sim.devices().await.expect("devices");
    // One topic per published fact; the system's serial is the portal ID.
    let published = |d: &DeviceInfo| {
        let i = &d.identity;
        let serial = i.serial.is_some() && d.service != "system";
        [
            i.product_name.is_some(),
            i.product_id.is_some(),
            i.firmware.is_some(),
            serial,
            i.custom_name.is_some(),
        ]
    };
    let topics: usize = devices
        .iter()
        .map(|d| published(d).iter().filter(|&&p| p).count())
        .sum();
    let carried: usize = list
        .published
        .iter()
        .map(|f| {
            // The system's serial arrives on its own topic, which the facts' filter also matches.
            let serial = f.serial.is_some() && f.service != "system";
            [
                f.product_name.is_some(),
                f.product_id.is_some(),
                f.firmware.is_some(),
                serial,
                f.custom_name.is_some(),
            ]
            .iter()
            .filter(|&&p| p)
            .count()
        })
        .sum();
    assert_eq!(carried, topics);
    assert_eq!(
        list.published.len(),
        devices
            .iter()
            .filter(|d| published(d).contains(&true))
            .count()
    );
    for facts in &list.published {
        assert_eq!(instance_of_unit(facts.unit), facts.instance, "{facts:?}");
        let listed = list
            .services
            .iter()
            .any(|s| s.unit == facts.unit && s.service_type() == Some(facts.service.as_str()));
        assert!(listed, "{facts:?}");
    }
    assert_eq!(FACT_PATHS.len(), 5, "the README counts five topic filters");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_mqtt_the_product_id_registers_name_their_devices() {
    let mut problems = Vec::new();
    let mut named = 0;
    for name in ["three-phase", "large", "boat"] {
        let sim = common::start_with_mqtt(name, None).await;
        let t = common::patient_transport(&sim);
        let result: ScanResult = scan(
            &t,
            embedded().expect("ledger"),
            ScanMode::Deep,
            Arc::new(|_| {}),
        )
        .await
        .expect("scan");
        t.close().await;
        let devices = sim.devices().await.expect("devices");
        for found in &result.devices {
            let device = simulated(&devices, found);
            let identity = &device.identity;
            // A service with a product ID register is named from the table
            // (as the GX names its product); the others stay unnamed.
            let want = if serves(&found.service, "/ProductId") {
                identity
                    .product_id
                    .and_then(|id| product_name(u32::from(id)))
                    .map(str::to_owned)
            } else {
                None
            };
            if found.product_name != want || (want.is_some() && want != identity.product_name) {
                problems.push(format!(
                    "{name} {}/{}: {:?}, want {want:?} (published {:?})",
                    found.unit, found.service, found.product_name, identity.product_name
                ));
            }
            if serves(&found.service, "/FirmwareVersion")
                && found.service != "system"
                && found.firmware != firmware(device)
            {
                problems.push(format!(
                    "{name} {}/{} firmware {:?}",
                    found.unit, found.service, found.firmware
                ));
            }
            if serves(&found.service, "/Serial")
                && found.service != "system"
                && found.serial != identity.serial
            {
                problems.push(format!(
                    "{name} {}/{} serial {:?}",
                    found.unit, found.service, found.serial
                ));
            }
            if serves(&found.service, "/CustomName") && found.name != served_name(device) {
                problems.push(format!(
                    "{name} {}/{} name {:?}",
                    found.unit, found.service, found.name
                ));
            }
            named += usize::from(found.product_name.is_some());
        }
        sim.stop().await;
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(named >= 10, "{named} devices named over Modbus");
}
