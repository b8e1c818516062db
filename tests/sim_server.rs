//! The simulator over real TCP on loopback: GX exception semantics,
//! pipelining and every injectable fault, as a client observes them.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use victron_gx_modbus::frame::{self, function, read_frame, Frame, Reply};
use victron_gx_modbus::sim::{Malformation, ReplyFault, Scenario, SimConfig, Simulator};

async fn start(name: &str, tweak: impl FnOnce(&mut SimConfig)) -> Simulator {
    let mut config = SimConfig::new(Scenario::bundled(name).expect("scenario"));
    tweak(&mut config);
    Simulator::start(config).await.expect("simulator starts")
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

async fn send(stream: &mut TcpStream, transaction: u16, unit: u8, pdu: Vec<u8>) {
    let bytes = Frame {
        transaction,
        unit,
        pdu,
    }
    .encode();
    stream.write_all(&bytes).await.expect("write");
}

async fn receive(stream: &mut TcpStream) -> Frame {
    timeout(Duration::from_secs(5), read_frame(stream))
        .await
        .expect("reply in time")
        .expect("readable frame")
        .expect("connection open")
}

async fn request(stream: &mut TcpStream, unit: u8, pdu: Vec<u8>) -> Reply {
    let fc = pdu[0];
    let quantity = if fc == function::READ_HOLDING || fc == function::READ_INPUT {
        u16::from_be_bytes([pdu[3], pdu[4]])
    } else {
        1
    };
    send(stream, 7, unit, pdu).await;
    let reply = receive(stream).await;
    assert_eq!((reply.transaction, reply.unit), (7, unit));
    frame::parse_reply(fc, quantity, &reply.pdu).expect("well-formed reply")
}

fn read(start: u16, quantity: u16) -> Vec<u8> {
    frame::read_request(function::READ_HOLDING, start, quantity)
}

#[tokio::test]
async fn exception_codes_follow_the_gx_order_of_checks() {
    let sim = start("single-phase-ess", |_| {}).await;
    let mut s = connect(sim.addr()).await;
    // (1) unsupported function code.
    assert_eq!(
        request(&mut s, 100, vec![0x2B, 0x0E, 1, 0]).await,
        Reply::Exception(0x01)
    );
    // (2) quantity 0 and 126.
    assert_eq!(
        request(&mut s, 100, read(840, 0)).await,
        Reply::Exception(0x03)
    );
    assert_eq!(
        request(&mut s, 100, read(840, 126)).await,
        Reply::Exception(0x03)
    );
    // (3) undefined start address, even at a unit that has nothing.
    assert_eq!(
        request(&mut s, 100, read(0, 1)).await,
        Reply::Exception(0x02)
    );
    assert_eq!(
        request(&mut s, 77, read(0, 1)).await,
        Reply::Exception(0x02)
    );
    // (4) no battery at unit 100, no device at all at unit 77.
    assert_eq!(
        request(&mut s, 100, read(259, 1)).await,
        Reply::Exception(0x0A)
    );
    assert_eq!(
        request(&mut s, 77, read(840, 1)).await,
        Reply::Exception(0x0A)
    );
    // (5) a range running past the VE.Bus custom name (140-147) into a gap.
    assert_eq!(
        request(&mut s, 227, read(145, 10)).await,
        Reply::Exception(0x02)
    );
    // (6) writes to a read-only register are refused before anything is written.
    let refused = request(&mut s, 227, frame::write_multiple_request(22, &[160, 100])).await;
    assert_eq!(refused, Reply::Exception(0x02));
    assert_eq!(sim.stats().writes_total, 0);
    // Reserved blocks read 0xFFFF, and a read across them succeeds.
    match request(&mut s, 227, read(120, 12)).await {
        Reply::Words(words) => assert!(words[2..10].iter().all(|&w| w == 0xFFFF)),
        other => panic!("{other:?}"),
    }
    let stats = sim.stats();
    assert_eq!(stats.exceptions, 9);
    assert_eq!(stats.exceptions_by_code.get(&0x0A), Some(&2));
    sim.stop().await;
}

#[tokio::test]
async fn writes_are_accepted_out_of_range_and_read_back() {
    let sim = start("single-phase-ess", |_| {}).await;
    let mut s = connect(sim.addr()).await;
    // A 32-bit ESS setpoint of -2000 W as one FC16 of two registers.
    let ack = request(
        &mut s,
        227,
        frame::write_multiple_request(96, &[0xFFFF, 0xF830]),
    )
    .await;
    assert_eq!(ack, Reply::WriteAck);
    assert_eq!(
        request(&mut s, 227, read(96, 2)).await,
        Reply::Words(vec![0xFFFF, 0xF830])
    );
    // The GX does no range check: an absurd current limit is accepted (our guard must stop it).
    let ack = request(&mut s, 227, frame::write_single_request(22, 32000)).await;
    assert_eq!(ack, Reply::WriteAck);
    assert_eq!(
        request(&mut s, 227, read(22, 1)).await,
        Reply::Words(vec![32000])
    );
    let log = sim.stats().writes;
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].key, "hub4_l1_ac_power_setpoint");
    assert_eq!(log[0].value, Some(-2000.0));
    assert_eq!(log[1].value, Some(3200.0));
    sim.stop().await;
}

#[tokio::test]
async fn pipelined_requests_are_all_answered_possibly_out_of_order() {
    let sim = start("single-phase-ess", |c| {
        c.latency = Duration::from_millis(2);
        c.jitter = Duration::from_millis(30);
    })
    .await;
    let mut s = connect(sim.addr()).await;
    for transaction in 0..24u16 {
        send(&mut s, transaction, 100, read(840, 4)).await;
    }
    let mut order = Vec::new();
    for _ in 0..24 {
        order.push(receive(&mut s).await.transaction);
    }
    let unique: HashSet<_> = order.iter().copied().collect();
    assert_eq!(unique.len(), 24);
    assert!(
        order.windows(2).any(|w| w[0] > w[1]),
        "replies came strictly in order: {order:?}"
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_stalled_request_gets_no_reply_and_the_next_one_does() {
    let sim = start("minimal", |_| {}).await;
    let mut s = connect(sim.addr()).await;
    sim.stall(1);
    send(&mut s, 1, 100, read(840, 1)).await;
    assert!(timeout(Duration::from_millis(300), read_frame(&mut s))
        .await
        .is_err());
    send(&mut s, 2, 100, read(840, 1)).await;
    assert_eq!(receive(&mut s).await.transaction, 2);
    sim.stop().await;
}

#[tokio::test]
async fn a_reply_cut_in_half_closes_the_connection() {
    let sim = start("minimal", |_| {}).await;
    let mut s = connect(sim.addr()).await;
    sim.inject(ReplyFault::DropMidReply, 1);
    send(&mut s, 1, 100, read(840, 10)).await;
    let mut bytes = Vec::new();
    let read = timeout(Duration::from_secs(5), s.read_to_end(&mut bytes)).await;
    assert!(matches!(read, Ok(Ok(_))), "connection closed");
    assert_eq!(bytes.len(), (7 + 2 + 20) / 2, "half a frame arrived");
    sim.stop().await;
}

#[tokio::test]
async fn malformed_replies_look_as_promised() {
    let sim = start("minimal", |_| {}).await;
    let mut s = connect(sim.addr()).await;
    sim.inject(ReplyFault::Malformed(Malformation::WrongTransaction), 1);
    send(&mut s, 10, 100, read(840, 1)).await;
    assert_eq!(receive(&mut s).await.transaction, 11);
    sim.inject(ReplyFault::Malformed(Malformation::WrongUnit), 1);
    send(&mut s, 12, 100, read(840, 1)).await;
    assert_eq!(receive(&mut s).await.unit, 101);
    sim.inject(ReplyFault::Malformed(Malformation::BadProtocol), 1);
    send(&mut s, 13, 100, read(840, 1)).await;
    assert!(timeout(Duration::from_secs(5), read_frame(&mut s))
        .await
        .expect("in time")
        .is_err());
    let mut s = connect(sim.addr()).await;
    sim.inject(ReplyFault::Malformed(Malformation::BadLength), 1);
    send(&mut s, 14, 100, read(840, 1)).await;
    // The length claims 7 more bytes than come: the frame never completes.
    assert!(timeout(Duration::from_millis(300), read_frame(&mut s))
        .await
        .is_err());
    assert_eq!(sim.stats().faults_injected, 4);
    sim.stop().await;
}

#[tokio::test]
async fn a_reboot_closes_connections_and_refuses_new_ones_for_a_while() {
    let sim = start("minimal", |_| {}).await;
    let addr = sim.addr();
    let mut s = connect(addr).await;
    sim.reboot(Duration::from_millis(400));
    let mut rest = Vec::new();
    let closed = timeout(Duration::from_secs(2), s.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "existing connection closed"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "refused while rebooting"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut s = connect(addr).await;
    assert!(matches!(
        request(&mut s, 100, read(840, 1)).await,
        Reply::Words(_)
    ));
    assert_eq!(sim.stats().reboots, 1);
    sim.stop().await;
}

#[tokio::test]
async fn an_unplugged_device_answers_0x0a_until_it_is_back() {
    let sim = start("single-phase-ess", |_| {}).await;
    let mut s = connect(sim.addr()).await;
    assert!(matches!(
        request(&mut s, 20, read(3004, 1)).await,
        Reply::Words(_)
    ));
    sim.set_present("water", false).await.expect("known device");
    assert_eq!(
        request(&mut s, 20, read(3004, 1)).await,
        Reply::Exception(0x0A)
    );
    sim.set_present("water", true).await.expect("known device");
    assert!(matches!(
        request(&mut s, 20, read(3004, 1)).await,
        Reply::Words(_)
    ));
    assert!(sim.set_present("nope", false).await.is_err());
    sim.stop().await;
}

#[tokio::test]
async fn old_firmware_answers_0x0b_and_lacks_newer_registers() {
    let sim = start("old-firmware", |_| {}).await;
    let mut s = connect(sim.addr()).await;
    assert_eq!(
        request(&mut s, 100, read(259, 1)).await,
        Reply::Exception(0x0B)
    );
    // VE.Bus 110-121 (relay test flags) came after list 3.66: undefined on this GX.
    assert_eq!(
        request(&mut s, 246, read(110, 1)).await,
        Reply::Exception(0x02)
    );
    assert!(matches!(
        request(&mut s, 246, read(3, 3)).await,
        Reply::Words(_)
    ));
    // Without gap filling, a former gap of the system range is still a gap.
    assert_eq!(
        request(&mut s, 100, read(826, 4)).await,
        Reply::Exception(0x02)
    );
    sim.stop().await;
}

#[tokio::test]
async fn the_connection_limit_turns_away_extra_clients() {
    let sim = start("minimal", |c| c.max_connections = Some(1)).await;
    let mut first = connect(sim.addr()).await;
    assert!(matches!(
        request(&mut first, 100, read(840, 1)).await,
        Reply::Words(_)
    ));
    let mut second = connect(sim.addr()).await;
    let mut rest = Vec::new();
    let closed = timeout(Duration::from_secs(2), second.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))));
    assert_eq!(sim.stats().connections_rejected, 1);
    sim.stop().await;
}
