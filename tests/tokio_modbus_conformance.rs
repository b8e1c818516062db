//! tokio-modbus, an independent implementation of Modbus TCP, agrees with ours:
//! it reads what our transport reads from the simulator, writes what the
//! simulator's write log records, and gets the GX's exception codes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_modbus::client::{Context, Reader, Writer};
use tokio_modbus::prelude::{ExceptionCode, SlaveContext};
use tokio_modbus::Slave;
use victron_gx_modbus::discovery::{scan, ScanMode};
use victron_gx_modbus::frame::Reply;
use victron_gx_modbus::ledger::embedded;
use victron_gx_modbus::plan::{plan_all, tier_of, Block, Tier};
use victron_gx_modbus::sim::{Scenario, SimConfig, Simulator};
use victron_gx_modbus::transport::{Transport, TransportConfig};

async fn start(name: &str) -> Simulator {
    let mut config = SimConfig::new(Scenario::bundled(name).expect("scenario"));
    config.service_time = Duration::ZERO;
    Simulator::start(config).await.expect("simulator")
}

async fn reference(sim: &Simulator, unit: u8) -> Context {
    let addr = SocketAddr::from(([127, 0, 0, 1], sim.addr().port()));
    tokio_modbus::client::tcp::connect_slave(addr, Slave(unit))
        .await
        .expect("tokio-modbus connects")
}

fn ours(sim: &Simulator) -> Transport {
    let mut config = TransportConfig::new("127.0.0.1", sim.addr().port());
    config.max_rate = 0.0;
    Transport::new(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_clients_read_the_same_identity_of_every_device() {
    let sim = start("three-phase").await;
    let t = ours(&sim);
    let ledger = embedded().expect("ledger");
    let result = scan(&t, ledger, ScanMode::Quick, Arc::new(|_| {}))
        .await
        .expect("scan");
    let plan = plan_all(&result.plan_devices(ledger));
    let mut ctx = reference(&sim, 0).await;
    let (mut compared, mut words_compared, mut nonzero) = (0, 0, 0);
    // Identity registers hold constants (serials, product ids, names), so two
    // clients reading one after the other must see the same words there.
    let identity = |block: &Block, words: &[u16]| -> Vec<u16> {
        block
            .placements
            .iter()
            .filter(|p| tier_of(&plan.slots[p.slot].register) == Tier::Static)
            .flat_map(|p| {
                let register = &plan.slots[p.slot].register;
                let start = usize::from(p.offset);
                words[start..start + usize::from(register.register_type.words())].to_vec()
            })
            .collect()
    };
    for block in plan.blocks.iter().filter(|b| b.tier == Tier::Static) {
        let Reply::Words(ours) = t
            .read(block.unit, block.start, block.quantity)
            .await
            .expect("our read")
        else {
            panic!("unit {} block {} refused", block.unit, block.start);
        };
        ctx.set_slave(Slave(block.unit));
        let theirs = ctx
            .read_holding_registers(block.start, block.quantity)
            .await
            .expect("transport")
            .expect("no exception");
        assert_eq!(ours.len(), theirs.len());
        let constant = identity(block, &theirs);
        words_compared += constant.len();
        nonzero += constant.iter().filter(|w| **w != 0).count();
        assert_eq!(
            identity(block, &ours),
            identity(block, &theirs),
            "unit {} at {}",
            block.unit,
            block.start
        );
        let input = ctx
            .read_input_registers(block.start, block.quantity)
            .await
            .expect("transport")
            .expect("no exception");
        assert_eq!(
            identity(block, &input),
            identity(block, &theirs),
            "function codes 3 and 4 read one map"
        );
        compared += 1;
    }
    assert!(compared >= 10, "{compared} identity blocks compared");
    assert!(
        words_compared >= 100 && nonzero >= 50,
        "{words_compared} identity words compared, {nonzero} not zero"
    );
    t.close().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gx_exception_codes_reach_an_independent_client() {
    let sim = start("single-phase-ess").await;
    let mut ctx = reference(&sim, 100).await;
    // 259 is a battery register: no battery service at unit 100.
    let absent = ctx.read_holding_registers(259, 1).await.expect("transport");
    assert_eq!(absent, Err(ExceptionCode::GatewayPathUnavailable));
    let undefined = ctx.read_holding_registers(1, 1).await.expect("transport");
    assert_eq!(undefined, Err(ExceptionCode::IllegalDataAddress));
    let too_many = ctx
        .read_holding_registers(800, 126)
        .await
        .expect("transport");
    assert_eq!(too_many, Err(ExceptionCode::IllegalDataValue));
    // A read-only register refuses a write, before anything is written.
    let read_only = ctx.write_single_register(840, 1).await.expect("transport");
    assert_eq!(read_only, Err(ExceptionCode::IllegalDataAddress));
    assert_eq!(sim.stats().writes_total, 0);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_by_an_independent_client_arrive_as_sent() {
    let sim = start("single-phase-ess").await;
    let t = ours(&sim);
    let mut ctx = reference(&sim, 100).await;
    // FC6: the ESS grid setpoint (2700, int16 W), a negative value.
    let setpoint = (-1500_i16).to_be_bytes();
    let word = u16::from_be_bytes(setpoint);
    ctx.write_single_register(2700, word)
        .await
        .expect("transport")
        .expect("accepted");
    assert_eq!(
        t.read(100, 2700, 1).await.expect("read back"),
        Reply::Words(vec![word])
    );
    // FC16: a 32-bit per-phase ESS setpoint (vebus 96, int32 W), one request of two words.
    ctx.set_slave(Slave(227));
    let words: Vec<u16> = (-40_000_i32)
        .to_be_bytes()
        .chunks(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    ctx.write_multiple_registers(96, &words)
        .await
        .expect("transport")
        .expect("accepted");
    assert_eq!(
        t.read(227, 96, 2).await.expect("read back"),
        Reply::Words(words.clone())
    );
    let log = sim.stats().writes;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!((log[0].address, log[0].words.clone()), (2700, vec![word]));
    assert_eq!(
        (log[1].unit, log[1].address, log[1].words.clone()),
        (227, 96, words)
    );
    assert_eq!(log[1].value, Some(-40_000.0));
    t.close().await;
    sim.stop().await;
}
