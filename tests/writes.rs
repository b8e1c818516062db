//! Guarded writes against the simulator: ranges, encoding, function codes,
//! read-back, refusals that send nothing, coalescing, and a property test
//! whose evidence is the simulator's own write log.

use std::time::Duration;

use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use victron_gx_modbus::codec::{self, Value};
use victron_gx_modbus::frame::{self, function};
use victron_gx_modbus::guard::{
    write_range, Battery, GuardError, LimitOptions, Limits, Phases, PowerScope, WriteValue, Writer,
};
use victron_gx_modbus::ledger::{embedded, Register};
use victron_gx_modbus::sim::{Scenario, SimConfig, Simulator};
use victron_gx_modbus::transport::{Transport, TransportConfig};

const MULTI: u8 = 227;
const GX: u8 = 100;

fn options() -> LimitOptions {
    LimitOptions {
        ac_voltage: 230.0,
        phases: Phases::Single,
        ac_current: 25.0,
        dc_current: 100.0,
        battery: Battery::LiFePo4 { cells: 16 },
        power_limit: None,
        power_scope: PowerScope::PerPhase,
    }
}

fn limits(options: LimitOptions) -> Limits {
    Limits::new(options).expect("valid limits")
}

fn register(service: &str, key: &str) -> &'static Register {
    embedded()
        .expect("ledger")
        .service(service)
        .and_then(|s| s.register(key))
        .expect("register")
}

async fn start_with(writes_enabled: bool) -> Simulator {
    let mut scenario = Scenario::bundled("single-phase-ess").expect("scenario");
    scenario.gx.writes_enabled = writes_enabled;
    let mut config = SimConfig::new(scenario);
    config.service_time = Duration::ZERO;
    Simulator::start(config).await.expect("simulator")
}

fn transport_to(port: u16) -> Transport {
    let mut config = TransportConfig::new("127.0.0.1", port);
    config.max_rate = 0.0;
    config.request_timeout = Duration::from_millis(500);
    Transport::new(config)
}

fn writer(sim: &Simulator, limits: Option<Limits>) -> Writer {
    Writer::new(
        transport_to(sim.addr().port()),
        embedded().expect("ledger"),
        limits,
    )
}

fn writes_at(sim: &Simulator) -> u64 {
    let stats = sim.stats();
    [function::WRITE_SINGLE, function::WRITE_MULTIPLE]
        .iter()
        .map(|code| stats.by_function.get(code).copied().unwrap_or(0))
        .sum()
}

#[test]
fn ranges_follow_the_documented_formulas() {
    let three = limits(LimitOptions {
        phases: Phases::Three,
        ..options()
    });
    let range = |service, key| write_range(&three, register(service, key)).expect("range");
    let l1 = range("vebus", "hub4_l1_ac_power_setpoint");
    assert_eq!((l1.min, l1.max, l1.step), (-5750.0, 5750.0, 1.0));
    let grid = range("hub4", "overrides_setpoint");
    assert_eq!((grid.min, grid.max), (-17250.0, 17250.0));
    // Scale 0.01: one raw step is 100 W, so the ends sit on 100 W steps.
    let coarse = range("settings", "settings_cgwacs_ac_power_set_point_2703");
    assert_eq!(
        (coarse.min, coarse.max, coarse.step),
        (-17200.0, 17200.0, 100.0)
    );
    let feed_in = range("vebus", "hub4_l2_max_feed_in_power");
    assert_eq!((feed_in.min, feed_in.max), (0.0, 5700.0));
    let current = range("vebus", "ac_active_in_current_limit");
    assert_eq!((current.min, current.max, current.step), (0.0, 25.0, 0.1));
    let voltage = range("settings", "settings_system_setup_max_charge_voltage");
    assert_eq!((voltage.min, voltage.max), (40.0, 58.4));
    let u0 = range("vebus", "micro_grid_droop_mode_parameters_u0_value");
    assert_eq!((u0.min, u0.max), (207.0, 253.0));
    let pmin = range("vebus", "micro_grid_droop_mode_parameters_pmin_value");
    assert_eq!((pmin.min, pmin.max), (-100.0, 100.0));
    let soc = range("settings", "settings_dynamic_ess_schedule_0_soc");
    assert_eq!((soc.min, soc.max), (0.0, 100.0));
    let start = range("settings", "settings_dynamic_ess_schedule_0_start");
    assert_eq!((start.min, start.max), (0.0, 2_147_483_646.0));
    let mode = range("vebus", "mode");
    assert_eq!(mode.allowed, Some(vec![1, 2, 3, 4]));
    // A register without a user limit gets its ledger and type range.
    let capacity = range("settings", "settings_dynamic_ess_battery_capacity");
    assert_eq!((capacity.min, capacity.max), (0.0, 6553.4));
    // Split phase: 2 x 120 V legs; L3 does not exist.
    let split = limits(LimitOptions {
        ac_voltage: 120.0,
        phases: Phases::Split,
        ac_current: 30.0,
        ..options()
    });
    let total = write_range(&split, register("hub4", "overrides_setpoint")).expect("range");
    assert_eq!(total.max, 7200.0);
    let l3 = write_range(&split, register("vebus", "hub4_l3_ac_power_setpoint")).expect("range");
    assert_eq!((l3.min, l3.max), (0.0, 0.0));
}

#[test]
fn every_writable_register_has_a_range_under_typical_limits() {
    let limits = limits(LimitOptions {
        phases: Phases::Three,
        ..options()
    });
    let ledger = embedded().expect("ledger");
    let mut count = 0;
    for service in &ledger.services {
        for register in service.registers.iter().filter(|r| r.writable) {
            let range = write_range(&limits, register).unwrap_or_else(|err| {
                panic!("{}.{}: {err:?}", service.service_type(), register.key)
            });
            assert!(range.min <= range.max, "{}", register.key);
            count += 1;
        }
    }
    assert_eq!(count, 136);
}

#[tokio::test]
async fn a_32_bit_negative_setpoint_is_one_fc16_and_reads_back() {
    let sim = start_with(true).await;
    let writer = writer(&sim, Some(limits(options())));
    let back = writer
        .write(
            MULTI,
            "vebus",
            "hub4_l1_ac_power_setpoint",
            WriteValue::Number(-3500.0),
        )
        .await
        .expect("write");
    assert_eq!(back, Value::Int(-3500));
    let stats = sim.stats();
    assert_eq!(stats.by_function.get(&function::WRITE_MULTIPLE), Some(&1));
    assert_eq!(stats.by_function.get(&function::WRITE_SINGLE), None);
    let log: Vec<_> = stats.writes.iter().collect();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].address, log[0].words.clone()),
        (96, vec![0xFFFF, 0xF254])
    );
    // A 16-bit register goes by FC6, two's complement.
    let back = writer
        .write(
            MULTI,
            "vebus",
            "hub4_l1_ac_power_setpoint_37",
            WriteValue::Number(-35.0),
        )
        .await
        .expect("write");
    assert_eq!(back, Value::Int(-35));
    let stats = sim.stats();
    assert_eq!(stats.by_function.get(&function::WRITE_SINGLE), Some(&1));
    assert_eq!(
        stats.writes.back().map(|w| w.words.clone()),
        Some(vec![0xFFDD])
    );
}

#[tokio::test]
async fn scaled_values_are_rounded_to_the_step() {
    let sim = start_with(true).await;
    let writer = writer(&sim, Some(limits(options())));
    let back = writer
        .write(
            MULTI,
            "vebus",
            "ac_active_in_current_limit",
            WriteValue::Number(16.04),
        )
        .await
        .expect("write");
    assert_eq!(back, Value::Float(16.0));
    assert_eq!(
        sim.stats().writes.back().map(|w| w.words.clone()),
        Some(vec![160])
    );
}

#[tokio::test]
async fn refused_values_send_nothing() {
    let sim = start_with(true).await;
    let writer = writer(&sim, Some(limits(options())));
    let cases = [
        (
            "vebus",
            "hub4_l1_ac_power_setpoint",
            WriteValue::Number(5751.0),
        ),
        (
            "vebus",
            "hub4_l1_ac_power_setpoint",
            WriteValue::Number(-35000.0),
        ),
        (
            "vebus",
            "hub4_l1_ac_power_setpoint",
            WriteValue::Number(f64::NAN),
        ),
        (
            "vebus",
            "hub4_l2_ac_power_setpoint",
            WriteValue::Number(1.0),
        ),
        ("vebus", "mode", WriteValue::Number(5.0)),
        ("vebus", "mode", WriteValue::Number(2.5)),
        (
            "vebus",
            "custom_name",
            WriteValue::Text("seventeen letters".into()),
        ),
        ("vebus", "custom_name", WriteValue::Number(1.0)),
        ("vebus", "ac_active_in_l1_v", WriteValue::Number(230.0)),
        ("vebus", "no_such_key", WriteValue::Number(1.0)),
    ];
    for (service, key, value) in cases {
        let err = writer
            .write(MULTI, service, key, value.clone())
            .await
            .expect_err("refused");
        let GuardError::Refused(refusal) = err else {
            panic!("{key} {value}: {err:?}");
        };
        assert_eq!(refusal.register, format!("{MULTI}/{service}/{key}"));
    }
    let err = writer
        .write(
            MULTI,
            "vebus",
            "hub4_l1_ac_power_setpoint",
            WriteValue::Number(6000.0),
        )
        .await
        .expect_err("refused");
    let GuardError::Refused(refusal) = err else {
        panic!("{err:?}");
    };
    assert_eq!((refusal.min, refusal.max), (Some(-5750.0), Some(5750.0)));
    assert!(refusal.to_string().contains("6000"), "{refusal}");
    assert_eq!(sim.stats().requests, 0, "nothing reached the GX");
}

#[tokio::test]
async fn without_limits_every_write_is_refused() {
    let sim = start_with(true).await;
    let writer = writer(&sim, None);
    let err = writer
        .write(
            MULTI,
            "vebus",
            "hub4_l1_ac_power_setpoint",
            WriteValue::Number(0.0),
        )
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("writes are not enabled"), "{err}");
    assert!(writer.range(MULTI, "vebus", "mode").is_err());
    assert_eq!(sim.stats().requests, 0);
}

#[tokio::test]
async fn an_exception_reply_is_a_device_error() {
    let sim = start_with(false).await;
    let writer = writer(&sim, Some(limits(options())));
    let err = writer
        .write(
            MULTI,
            "vebus",
            "hub4_l1_ac_power_setpoint",
            WriteValue::Number(10.0),
        )
        .await
        .expect_err("GX refuses");
    assert!(
        matches!(
            err,
            GuardError::Device {
                code: 0x02,
                address: 96,
                ..
            }
        ),
        "{err:?}"
    );
    // No such device at the unit: 0x0A, found by the read before the write.
    let sim = start_with(true).await;
    let writer = self::writer(&sim, Some(limits(options())));
    let err = writer
        .write(
            99,
            "vebus",
            "hub4_l1_ac_power_setpoint",
            WriteValue::Number(10.0),
        )
        .await
        .expect_err("no device");
    assert!(
        matches!(err, GuardError::Device { code: 0x0A, .. }),
        "{err:?}"
    );
    assert_eq!(writes_at(&sim), 0);
}

/// A server that acknowledges every write and always reads back 7.
async fn stubborn_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                while let Ok(Some(request)) = frame::read_frame(&mut socket).await {
                    let pdu = match request.pdu.first() {
                        Some(&function::READ_HOLDING) => {
                            frame::read_reply(function::READ_HOLDING, &[7])
                        }
                        _ => request.pdu.get(..5).map(<[u8]>::to_vec).unwrap_or_default(),
                    };
                    let reply = frame::Frame { pdu, ..request }.encode();
                    if socket.write_all(&reply).await.is_err() {
                        return;
                    }
                }
                let _ = socket.read(&mut [0; 1]).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_different_value_read_back_is_not_confirmed() {
    let port = stubborn_server().await;
    let writer = Writer::new(
        transport_to(port),
        embedded().expect("ledger"),
        Some(limits(options())),
    );
    let err = writer
        .write(
            MULTI,
            "vebus",
            "hub4_l1_ac_power_setpoint_37",
            WriteValue::Number(100.0),
        )
        .await
        .expect_err("not confirmed");
    assert!(
        matches!(&err, GuardError::NotConfirmed { written, read_back, .. } if written == "100 W" && read_back == "7 W"),
        "{err:?}"
    );
    // Within one step is confirmed.
    let back = writer
        .write(
            MULTI,
            "vebus",
            "hub4_l1_ac_power_setpoint_37",
            WriteValue::Number(8.0),
        )
        .await
        .expect("confirmed");
    assert_eq!(back, Value::Int(7));
}

#[tokio::test]
async fn a_burst_to_one_register_sends_only_the_last_value() {
    let mut scenario = Scenario::bundled("single-phase-ess").expect("scenario");
    scenario.gx.writes_enabled = true;
    let mut config = SimConfig::new(scenario);
    config.latency = Duration::from_millis(20);
    let sim = Simulator::start(config).await.expect("simulator");
    let writer = writer(&sim, Some(limits(options())));
    let runtime = tokio::runtime::Handle::current();
    // Queued in call order, as a slider's changes are.
    let burst: Vec<_> = (1..=20)
        .map(|step| {
            let value = WriteValue::Number(f64::from(step) * 100.0);
            writer
                .submit(
                    &runtime,
                    MULTI,
                    "vebus",
                    "hub4_l1_ac_power_setpoint",
                    &value,
                )
                .expect("queued")
        })
        .collect();
    let mut outcomes = Vec::new();
    for pending in burst {
        outcomes.push(pending.await.expect("write"));
    }
    let log: Vec<_> = sim.stats().writes.iter().map(|w| w.value).collect();
    assert!(log.len() <= 2, "{log:?}");
    assert_eq!(log.last(), Some(&Some(2000.0)));
    assert_eq!(outcomes.last(), Some(&Value::Int(2000)));
}

/// Registers of the single-phase-ess scenario the property test writes.
const TARGETS: &[(u8, &str, &str)] = &[
    (MULTI, "vebus", "hub4_l1_ac_power_setpoint"),
    (MULTI, "vebus", "hub4_l2_ac_power_setpoint"),
    (MULTI, "vebus", "hub4_l1_ac_power_setpoint_37"),
    (MULTI, "vebus", "hub4_l1_max_feed_in_power"),
    (MULTI, "vebus", "ac_active_in_current_limit"),
    (MULTI, "vebus", "settings_inverter_output_voltage"),
    (
        MULTI,
        "vebus",
        "micro_grid_droop_mode_parameters_pmin_value",
    ),
    (MULTI, "vebus", "micro_grid_droop_mode_parameters_f0_value"),
    (MULTI, "vebus", "mode"),
    (GX, "settings", "settings_cgwacs_ac_power_set_point"),
    (GX, "settings", "settings_cgwacs_ac_power_set_point_2703"),
    (GX, "settings", "settings_cgwacs_max_feed_in_power"),
    (GX, "settings", "settings_system_setup_max_charge_current"),
    (GX, "settings", "settings_system_setup_max_charge_voltage"),
    (GX, "settings", "settings_cgwacs_ac_input_limit"),
    (GX, "system", "relay_0_state"),
];

fn battery() -> impl Strategy<Value = Battery> {
    prop_oneof![
        prop::sample::select(vec![4u8, 8, 16]).prop_map(|cells| Battery::LiFePo4 { cells }),
        prop::sample::select(vec![12u8, 24, 48]).prop_map(|nominal| Battery::LeadAcid { nominal }),
        (8.0..40.0f64, 1.0..30.0f64).prop_map(|(min, span)| Battery::Custom {
            min,
            max: (min + span).min(70.0)
        }),
    ]
}

fn any_options() -> impl Strategy<Value = LimitOptions> {
    (
        prop::sample::select(vec![120.0, 208.0, 230.0, 240.0, 100.0, 260.0, 127.5]),
        prop::sample::select(vec![Phases::Single, Phases::Split, Phases::Three]),
        0.5..400.0f64,
        0.5..2000.0f64,
        battery(),
        prop::option::of(100.0..50_000.0f64),
        any::<bool>(),
    )
        .prop_map(
            |(ac_voltage, phases, ac_current, dc_current, battery, power_limit, per_phase)| {
                LimitOptions {
                    ac_voltage,
                    phases,
                    ac_current,
                    dc_current,
                    battery,
                    power_limit,
                    power_scope: if per_phase {
                        PowerScope::PerPhase
                    } else {
                        PowerScope::Total
                    },
                }
            },
        )
}

/// A value near or past a range's ends (or anywhere), so both sides are hit.
fn pick(min: f64, max: f64, step: f64, choice: u8, fraction: f64) -> f64 {
    let span = (max - min).max(step);
    match choice % 6 {
        0 => min,
        1 => max,
        2 => min - step,
        3 => max + step,
        4 => min + (fraction * span / step).round() * step,
        _ => min - span + fraction * 3.0 * span,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_write_log_holds_every_accepted_value_and_no_refused_one(
        options in any_options(),
        target in prop::sample::select(TARGETS.to_vec()),
        choice in any::<u8>(),
        fraction in 0.0..1.0f64,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let sim = start_with(true).await;
            let limits = limits(options);
            let (unit, service, key) = target;
            let register = register(service, key);
            let range = write_range(&limits, register).expect("range");
            let value = pick(range.min, range.max, range.step, choice, fraction);
            // Float noise of a millionth of a step past an end counts as the end.
            let tolerance = range.step * 1e-6;
            let inside = range.min - tolerance <= value && value <= range.max + tolerance
                && range.allowed.as_ref().is_none_or(|codes| codes.contains(&(value as i64)) && value.fract() == 0.0);
            let writer = writer(&sim, Some(limits));
            let outcome = writer.write(unit, service, key, WriteValue::Number(value)).await;
            let log: Vec<_> = sim.stats().writes.into_iter().collect();
            if inside {
                prop_assert!(outcome.is_ok(), "{key} {value} in {range:?}: {outcome:?}");
                let raw = (value * register.scale).round() as i128;
                let words = codec::encode_raw(register.register_type, raw).expect("words");
                prop_assert_eq!(log.len(), 1);
                prop_assert_eq!(&log[0].words, &words);
                prop_assert_eq!(log[0].address, register.address);
                let arrived = codec::decode_raw(register.register_type, &log[0].words).expect("raw");
                prop_assert!(arrived.is_some_and(|raw| (range.raw_min..=range.raw_max).contains(&raw)));
            } else {
                prop_assert!(matches!(outcome, Err(GuardError::Refused(_))), "{key} {value}: {outcome:?}");
                prop_assert!(log.is_empty(), "refused {value} reached the GX: {log:?}");
                prop_assert_eq!(writes_at(&sim), 0);
            }
            Ok(())
        })?;
    }
}
