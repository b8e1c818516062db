//! The diagnostics' raw dump: every served register, in reads the GX
//! answers, with the named registers blanked; refused and late blocks carry
//! their error and spoil nothing else.

// Uses only `common::start`.
#[allow(dead_code)]
mod common;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use victron_gx_modbus::discovery::{scan, ScanMode};
use victron_gx_modbus::dump::{dump, TOO_LATE};
use victron_gx_modbus::frame::MAX_READ_QUANTITY;
use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::sim::Simulator;
use victron_gx_modbus::transport::{Transport, TransportConfig};

fn transport(sim: &Simulator) -> Transport {
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    config.request_timeout = Duration::from_secs(3);
    Transport::new(config)
}

fn redact(keys: &[&str]) -> HashSet<String> {
    keys.iter().map(|key| (*key).to_owned()).collect()
}

#[tokio::test]
async fn the_dump_reads_every_served_register_and_blanks_the_named_ones() {
    let sim = common::start("old-firmware").await;
    let t = transport(&sim);
    let ledger = embedded().expect("ledger");
    let result = scan(&t, ledger, ScanMode::Quick, Arc::new(|_| {}))
        .await
        .expect("scan");
    let devices = result.plan_devices(ledger);
    assert!(devices.iter().any(|device| !device.unsupported.is_empty()));
    sim.reset_stats();
    let deadline = Instant::now() + Duration::from_secs(10);
    let dumped = dump(&t, &devices, &redact(&["serial"]), deadline).await;

    let stats = sim.stats();
    assert_eq!(
        stats.exceptions, 0,
        "the dump asked for what the GX refuses"
    );
    let blocks: usize = dumped.iter().map(|device| device.blocks.len()).sum();
    assert_eq!(stats.requests, blocks as u64);
    assert_eq!(dumped.len(), devices.len());
    for (device, planned) in dumped.iter().zip(&devices) {
        assert_eq!(device.unit, planned.unit);
        let covered: BTreeSet<u32> = device
            .blocks
            .iter()
            .flat_map(|block| {
                u32::from(block.start)..u32::from(block.start) + u32::from(block.count)
            })
            .collect();
        for register in &planned.service.registers {
            let served = !planned.unsupported.contains(&register.key);
            let inside = register.span().all(|address| covered.contains(&address));
            assert_eq!(inside, served, "{} {}", device.service, register.key);
        }
        for block in &device.blocks {
            assert!(block.count > 0 && block.count <= MAX_READ_QUANTITY);
            let words = block.words.as_ref().expect("every block read");
            assert_eq!(words.len(), usize::from(block.count));
        }
        if let Some(serial) = planned.service.registers.iter().find(|r| r.key == "serial") {
            for address in serial.span() {
                let block = device
                    .blocks
                    .iter()
                    .find(|b| {
                        u32::from(b.start) <= address && address < u32::from(b.start + b.count)
                    })
                    .expect("the serial is dumped");
                let offset = (address - u32::from(block.start)) as usize;
                assert_eq!(
                    block.words.as_ref().expect("read")[offset],
                    None,
                    "serial not blanked"
                );
            }
        }
    }
    let blanked: usize = dumped
        .iter()
        .flat_map(|device| &device.blocks)
        .flat_map(|block| block.words.iter().flatten())
        .filter(|word| word.is_none())
        .count();
    assert!(blanked > 0);
}

#[tokio::test]
async fn refused_and_late_blocks_carry_their_error() {
    let sim = common::start("three-phase").await;
    let t = transport(&sim);
    let ledger = embedded().expect("ledger");
    let result = scan(&t, ledger, ScanMode::Quick, Arc::new(|_| {}))
        .await
        .expect("scan");
    let devices = result.plan_devices(ledger);
    let evcharger = sim
        .devices()
        .await
        .expect("devices")
        .into_iter()
        .find(|device| device.service == "evcharger")
        .expect("an EV charger");
    sim.set_present(&evcharger.id, false).await.expect("unplug");
    let deadline = Instant::now() + Duration::from_secs(10);
    let dumped = dump(&t, &devices, &HashSet::new(), deadline).await;
    for device in &dumped {
        for block in &device.blocks {
            if device.service == "evcharger" {
                assert_eq!(block.error.as_deref(), Some("exception 0x0A"));
                assert!(block.words.is_none());
            } else {
                assert!(
                    block.error.is_none(),
                    "{}: {:?}",
                    device.service,
                    block.error
                );
            }
        }
    }
    let json = serde_json::to_value(&dumped).expect("json");
    assert!(
        json[0]["blocks"][0].get("error").is_none(),
        "no empty error key"
    );

    sim.stall(1000);
    let dumped = dump(
        &t,
        &devices,
        &HashSet::new(),
        Instant::now() + Duration::from_millis(200),
    )
    .await;
    let errors: BTreeSet<_> = dumped
        .iter()
        .flat_map(|device| &device.blocks)
        .map(|block| block.error.as_deref())
        .collect();
    assert_eq!(errors, BTreeSet::from([Some(TOO_LATE)]));
}
