//! Slow clients are timed out: a client that sends half a request's headers and stalls has its
//! connection closed after the header timeout, and one that sends headers but only part of its body gets
//! HTTP 408 after the body timeout, while the server keeps answering everyone else. Loopback only, and
//! every read in the test is bounded so a server without timeouts fails the test instead of hanging it.

use goodhart_sandbox::{Outcome, Program};
use goodhart_server::{AppState, Runner, ServerConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The test never runs a program: the requests it sends are refused before they reach the sandbox.
struct NoRunner;

impl Runner for NoRunner {
    fn run(&self, _program: &Program) -> Outcome {
        unreachable!("no request in this test reaches the sandbox")
    }
}

fn start(runtime: &tokio::runtime::Runtime) -> SocketAddr {
    let config = ServerConfig {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    };
    let state = Arc::new(AppState::new(Arc::new(NoRunner), config));
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(goodhart_server::serve(
            listener,
            state,
            std::future::pending(),
        ));
        addr
    })
}

/// Reads until the server closes the connection (or the test's own bound passes), returning what came.
fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> (String, Duration) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < bound {
        match stream.read(&mut buf) {
            Ok(0) => {
                return (
                    String::from_utf8_lossy(&got).into_owned(),
                    started.elapsed(),
                )
            }
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (
                    String::from_utf8_lossy(&got).into_owned(),
                    started.elapsed(),
                )
            }
            Err(_) => {}
        }
    }
    panic!(
        "the server still held the connection after {bound:?} (got {:?})",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn stalled_headers_and_bodies_are_timed_out() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let addr = start(&runtime);

    // Half a request line and one header, then silence.
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"POST /v1/grade HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    // Headers complete, a body of 100 bytes announced, 10 sent.
    let mut partial = TcpStream::connect(addr).unwrap();
    partial
        .write_all(
            b"POST /run_code HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"code\": \"",
        )
        .unwrap();

    let (_, waited) = read_until_closed(&mut half, Duration::from_secs(15));
    assert!(
        waited < Duration::from_secs(10),
        "headers timed out only after {waited:?}"
    );
    let (answer, waited) = read_until_closed(&mut partial, Duration::from_secs(15));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("--body-timeout"), "{answer}");
    assert!(
        waited < Duration::from_secs(10),
        "body timed out only after {waited:?}"
    );

    // The server still answers a well-behaved client.
    let mut ok = TcpStream::connect(addr).unwrap();
    ok.write_all(b"GET /v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (answer, _) = read_until_closed(&mut ok, Duration::from_secs(15));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("\"pong\""), "{answer}");
}
