//! The shard's TCP sockets: epoll readiness collected by a driver task, so that a busy shard is
//! never interrupted by its sockets' completions ([`ring`]), and streams and listeners on it
//! ([`tcp`]).
//!
//! glommio stays the executor (tasks, timers, files); only socket readiness moved here, because
//! glommio's rings cannot be given the setup flags that keep completions from sending IPIs.

pub mod deadline;
pub mod listening;
pub mod ring;
pub mod tcp;

pub use ring::missed_wake_ups;
pub use tcp::{TcpListener, TcpStream};

/// glommio's preemption timer for executors that serve sockets through [`ring`]: while the
/// socket driver keeps finding work it never lets its task queue run dry, so glommio's own
/// timers, file I/O and cross-shard wake-ups are looked at when this timer preempts the queue.
/// glommio's default (100 ms) would let a timeout fire that late under load.
pub const PREEMPT: std::time::Duration = std::time::Duration::from_millis(2);

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use std::io::{Read, Write};
    use std::time::Duration;

    /// A small glommio executor on this thread (tests run in parallel under an 8 MiB memlock).
    pub(super) fn run_local<F: std::future::Future>(fut: F) -> F::Output {
        glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .io_memory(64 * 1024)
            .ring_depth(16)
            .make()
            .expect("a test executor")
            .run(fut)
    }

    #[test]
    fn a_connection_reads_writes_and_sees_the_peer_close() {
        run_local(async {
            let l = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = l.local_addr().unwrap();
            // The client writes in pieces with pauses, so the server waits for readiness
            // (and sleeps) between them.
            // A client thread, not a shard: sleeping is what it should do.
            #[allow(clippy::disallowed_methods)]
            let client = std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                for piece in [&b"hel"[..], b"lo ", b"mint"] {
                    std::thread::sleep(Duration::from_millis(20));
                    s.write_all(piece).unwrap();
                }
                s.shutdown(std::net::Shutdown::Write).unwrap();
                let mut answer = String::new();
                s.read_to_string(&mut answer).unwrap();
                answer
            });
            let mut c = l.accept().await.unwrap();
            assert_eq!(c.peer_addr().unwrap().ip(), addr.ip());
            let mut got = Vec::new();
            c.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"hello mint");
            c.write_all(b"bye").await.unwrap();
            c.close().await.unwrap();
            assert_eq!(client.join().unwrap(), "bye");
        });
    }

    #[test]
    fn connect_reaches_a_listener_and_a_closed_port_is_refused() {
        run_local(async {
            let l = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = l.local_addr().unwrap();
            let (client, server) = futures_lite::future::zip(
                TcpStream::connect_timeout(&addr, Duration::from_secs(5)),
                l.accept(),
            )
            .await;
            let (mut client, mut server) = (client.unwrap(), server.unwrap());
            client.write_all(&[7u8; 300_000]).await.unwrap();
            client.close().await.unwrap();
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.unwrap();
            assert_eq!(got.len(), 300_000);
            drop(l);
            let e = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .await
                .err()
                .expect("nothing listens any more");
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        });
    }

    #[test]
    fn the_writes_of_a_busy_pass_wait_for_its_end_and_a_lone_one_does_not() {
        use std::cell::RefCell;
        use std::rc::Rc;
        run_local(async {
            let l = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = l.local_addr().unwrap();
            let (go, went) = std::sync::mpsc::channel::<usize>();
            // The client sends one byte on the first `n` of its four connections when told to.
            let client = std::thread::spawn(move || {
                let mut socks: Vec<_> = (0..4)
                    .map(|_| std::net::TcpStream::connect(addr).unwrap())
                    .collect();
                while let Ok(n) = went.recv() {
                    for s in socks.iter_mut().take(n) {
                        s.write_all(b"x").unwrap();
                    }
                }
            });
            let mut conns = Vec::new();
            for _ in 0..4 {
                conns.push(l.accept().await.unwrap());
            }
            let fds: Vec<_> = conns.iter().map(std::os::fd::AsRawFd::as_raw_fd).collect();
            // Shard-blocking on purpose: returns once the first `n` connections hold their byte, so
            // that the driver's next turn finds them all ready and wakes their readers together.
            #[allow(clippy::disallowed_methods)]
            let arrive = |n: usize| {
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                while !fds[..n].iter().all(|&fd| matches!(tcp::peek(fd), Ok(1))) {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "the client's bytes never came"
                    );
                    std::thread::sleep(Duration::from_millis(1));
                }
            };

            // Four readers woken by one turn: each one's write comes after all four have read.
            let log = Rc::new(RefCell::new(Vec::new()));
            let tasks: Vec<_> = conns
                .into_iter()
                .enumerate()
                .map(|(i, mut c)| {
                    let log = log.clone();
                    glommio::spawn_local(async move {
                        let mut b = [0u8; 1];
                        c.read_exact(&mut b).await.unwrap();
                        log.borrow_mut().push(i);
                        ring::write_point().await;
                        log.borrow_mut().push(10 + i);
                        c
                    })
                })
                .collect();
            for _ in 0..4 {
                futures_lite::future::yield_now().await;
            }
            go.send(4).unwrap();
            arrive(4);
            let mut conns = Vec::new();
            for t in tasks {
                conns.push(t.await);
            }
            let log = log.borrow().clone();
            assert!(
                log[..4].iter().all(|&e| e < 10),
                "reads, then writes: {log:?}"
            );
            assert!(
                log[4..].iter().all(|&e| e >= 10),
                "reads, then writes: {log:?}"
            );

            // One reader woken alone: its write does not wait.
            let c = &mut conns[0];
            let lone = async {
                let mut b = [0u8; 1];
                c.read_exact(&mut b).await.unwrap();
                futures_lite::future::poll_once(ring::write_point()).await
            };
            let (waited, ()) = futures_lite::future::zip(lone, async {
                futures_lite::future::yield_now().await;
                go.send(1).unwrap();
                arrive(1);
            })
            .await;
            assert!(waited.is_some(), "a lone write went out at once");
            drop(go);
            client.join().unwrap();
        });
    }

    #[test]
    fn a_dropped_stream_closes_its_socket_and_more_sockets_than_one_batch_are_served() {
        run_local(async {
            let l = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = l.local_addr().unwrap();
            // 300 clients (more events than one epoll_wait takes) each send a byte and wait
            // for the server to close.
            let clients = std::thread::spawn(move || {
                let socks: Vec<_> = (0..300)
                    .map(|_| std::net::TcpStream::connect(addr).unwrap())
                    .collect();
                for mut s in &socks {
                    s.write_all(b"x").unwrap();
                }
                socks
                    .into_iter()
                    .map(|mut s| {
                        let mut rest = Vec::new();
                        s.read_to_end(&mut rest).unwrap();
                        rest
                    })
                    .collect::<Vec<_>>()
            });
            let mut conns = Vec::new();
            for _ in 0..300 {
                conns.push(l.accept().await.unwrap());
            }
            let tasks: Vec<_> = conns
                .into_iter()
                .map(|mut c| {
                    glommio::spawn_local(async move {
                        let mut b = [0u8; 1];
                        c.read_exact(&mut b).await.unwrap();
                        // Dropped here without a shutdown: the close alone must end it.
                    })
                })
                .collect();
            for t in tasks {
                t.await;
            }
            let rests = clients.join().unwrap();
            assert!(rests.iter().all(|r| r.is_empty()));
        });
    }

    /// A connection mint opened reads on readiness: a read that leaves it drained makes the
    /// next one wait for the driver's event (no `EAGAIN` syscall), and the peer's close that came
    /// right behind the data is not forgotten by that read.
    #[test]
    fn a_backend_connection_knows_it_is_drained_and_keeps_a_close_behind_its_data() {
        run_local(async {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
            // A peer thread, not a shard: blocking is what it should do.
            #[allow(clippy::disallowed_methods)]
            let peer = std::thread::spawn(move || {
                let (mut s, _) = l.accept().unwrap();
                s.write_all(b"one").unwrap();
                go_rx.recv().unwrap();
                // The answer and the close together.
                s.write_all(b"two").unwrap();
                s.shutdown(std::net::Shutdown::Write).unwrap();
            });
            let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .await
                .unwrap();
            let mut buf = [0u8; 64];
            let n = c.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"one");
            assert!(
                !c.may_be_readable(),
                "a short read leaves the socket known drained"
            );
            go_tx.send(()).unwrap();
            // Once the peer is done, the data and the FIN are both in the socket (loopback
            // delivers within the peer's calls); the read below waits for the driver's event.
            peer.join().unwrap();
            let n = c.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"two");
            assert!(
                c.may_be_readable(),
                "the close signalled with the data is kept after the drained read"
            );
            assert_eq!(c.read(&mut buf).await.unwrap(), 0);
        });
    }
}
