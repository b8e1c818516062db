//! A reply that is not Modbus TCP at all is a protocol error, not a lost
//! connection: another server on the port, garbage, or a spoiled frame.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use victron_gx_modbus::frame::Reply;
use victron_gx_modbus::sim::{Malformation, ReplyFault, Scenario, SimConfig, Simulator};
use victron_gx_modbus::transport::{Transport, TransportConfig, TransportError};

/// A server that answers every connection with `answer` (after reading a
/// request, or at once with `speak_first`) and then closes it.
async fn foreign_server(answer: &'static [u8], speak_first: bool) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                if !speak_first {
                    let mut request = [0_u8; 64];
                    let _ = socket.read(&mut request).await;
                }
                let _ = socket.write_all(answer).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (addr, task)
}

fn transport(addr: SocketAddr) -> Transport {
    let mut config = TransportConfig::new("127.0.0.1", addr.port());
    config.request_timeout = Duration::from_secs(2);
    Transport::new(config)
}

#[tokio::test]
async fn an_http_server_on_the_port_is_a_protocol_error() {
    let (addr, server) = foreign_server(b"HTTP/1.1 400 Bad Request\r\n\r\n", false).await;
    let t = transport(addr);
    for _ in 0..3 {
        let started = Instant::now();
        let outcome = t.read(100, 840, 1).await;
        assert!(
            matches!(&outcome, Err(TransportError::Protocol(_))),
            "{outcome:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "no waiting for a timeout"
        );
    }
    // Each attempt replaced the connection.
    let metrics = t.metrics();
    assert_eq!(
        (metrics.disconnects, metrics.reconnects),
        (3, 2),
        "{metrics:?}"
    );
    t.close().await;
    server.abort();
}

#[tokio::test]
async fn a_server_that_speaks_first_or_sends_garbage_is_a_protocol_error() {
    // An SSH-like banner arrives before the request is even written.
    let (addr, server) = foreign_server(b"SSH-2.0-OpenSSH_9.6\r\n", true).await;
    let t = transport(addr);
    let outcome = t.read(100, 840, 1).await;
    assert!(
        matches!(&outcome, Err(TransportError::Protocol(_))),
        "{outcome:?}"
    );
    t.close().await;
    server.abort();
    // Garbage with a Modbus-looking start but an impossible length.
    let (addr, server) = foreign_server(&[0, 1, 0, 0, 0xFF, 0xFF, 100, 3, 2, 0, 0], false).await;
    let t = transport(addr);
    let outcome = t.read(100, 840, 1).await;
    assert!(
        matches!(&outcome, Err(TransportError::Protocol(_))),
        "{outcome:?}"
    );
    t.close().await;
    server.abort();
}

#[tokio::test]
async fn a_server_that_closes_mid_reply_is_still_a_lost_connection() {
    let (addr, server) = foreign_server(&[0, 1, 0, 0, 0, 5, 100, 3], false).await;
    let t = transport(addr);
    let outcome = t.read(100, 840, 1).await;
    assert!(
        matches!(&outcome, Err(TransportError::ConnectionLost(_))),
        "{outcome:?}"
    );
    t.close().await;
    server.abort();
}

#[tokio::test]
async fn a_spoiled_frame_fails_the_pending_requests_and_the_connection_is_replaced() {
    let mut config = SimConfig::new(Scenario::bundled("minimal").expect("scenario"));
    config.latency = Duration::from_millis(5);
    let sim = Simulator::start(config).await.expect("simulator");
    let t = transport(sim.addr());
    assert!(matches!(t.read(100, 2700, 1).await, Ok(Reply::Words(_))));
    sim.inject(ReplyFault::Malformed(Malformation::BadProtocol), 1);
    let outcome = t.read(100, 2700, 1).await;
    assert!(
        matches!(&outcome, Err(TransportError::Protocol(_))),
        "{outcome:?}"
    );
    assert!(matches!(t.read(100, 2700, 1).await, Ok(Reply::Words(_))));
    assert_eq!(t.metrics().reconnects, 1);
    t.close().await;
    sim.stop().await;
}
