//! TCP listeners and streams on the shard's ring ([`super::ring`]): non-blocking sockets read and
//! written with direct syscalls, waiting for readiness only after `EAGAIN`.

use std::io;
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::{AsyncRead, AsyncWrite};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::ring::{Registration, READABLE, WRITABLE};

/// The accept queue each shard's listener asks for (glommio used 1024 as well).
const BACKLOG: i32 = 1024;

/// The result of a syscall returning a length or -1.
fn cvt(r: isize) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// Looks at the next byte of socket `fd` without taking it and without waiting: `Ok(1)` when data
/// is there, `Ok(0)` when the peer has closed and nothing is left, `WouldBlock` when neither.
pub fn peek(fd: RawFd) -> io::Result<usize> {
    let mut byte = 0u8;
    // SAFETY: recv writes at most one byte, into a local; MSG_PEEK leaves it in the socket.
    cvt(unsafe {
        libc::recv(
            fd,
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    })
}

/// A listening socket with `SO_REUSEPORT`, so that every shard can bind the same port.
pub struct TcpListener {
    // Field order: the registration (the kernel's poll on the socket) goes before the socket.
    reg: Registration,
    sock: OwnedFd,
}

impl TcpListener {
    /// Binds `addr` with `SO_REUSEADDR` and `SO_REUSEPORT` and listens.
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        let sk = Socket::new(
            Domain::for_address(addr),
            Type::STREAM.nonblocking().cloexec(),
            Some(Protocol::TCP),
        )?;
        // As nginx: connections of a server that stopped (TIME_WAIT) do not keep the port from
        // another server.
        sk.set_reuse_address(true)?;
        sk.set_reuse_port(true)?;
        sk.bind(&SockAddr::from(addr))?;
        sk.listen(BACKLOG)?;
        // SAFETY: the descriptor comes out of the socket that owned it.
        let sock = unsafe { OwnedFd::from_raw_fd(sk.into_raw_fd()) };
        let reg = Registration::new(sock.as_raw_fd())?;
        Ok(TcpListener { reg, sock })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        inet(sock_ref(&self.sock).local_addr()?)
    }

    /// Accepts one connection.
    pub async fn accept(&self) -> io::Result<TcpStream> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    fn poll_accept(&self, cx: &Context<'_>) -> Poll<io::Result<TcpStream>> {
        let fd = std::task::ready!(poll_syscall(
            &self.reg,
            cx,
            READABLE,
            Some(libc::ECONNABORTED),
            // SAFETY: accept4 with null address pointers only returns a new descriptor.
            || unsafe {
                libc::accept4(
                    self.sock.as_raw_fd(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                ) as isize
            },
        ));
        // SAFETY: `fd` is a new descriptor owned by nobody else.
        let sock = fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        Poll::Ready(sock.and_then(TcpStream::from_fd))
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

fn sock_ref(fd: &OwnedFd) -> socket2::SockRef<'_> {
    socket2::SockRef::from(fd)
}

/// An address socket2 returned, as an internet one.
fn inet(addr: SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket()
        .ok_or_else(|| io::Error::other("not an inet socket"))
}

/// Runs `syscall` (a length, or -1 with `errno`) until it succeeds, fails, or answers `EAGAIN`
/// with the socket not ready for `interest`: then the task waits for the driver's event. Retries
/// on `EINTR`, and on the `extra` errno (an aborted connection, for `accept`).
fn poll_syscall(
    reg: &Registration,
    cx: &Context<'_>,
    interest: u8,
    extra: Option<i32>,
    mut syscall: impl FnMut() -> isize,
) -> Poll<io::Result<usize>> {
    loop {
        match cvt(syscall()) {
            Ok(n) => return Poll::Ready(Ok(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if extra.is_some() && e.raw_os_error() == extra => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                reg.clear(interest);
                if reg.poll_ready(cx, interest).is_pending() {
                    return Poll::Pending;
                }
            }
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

/// A connected TCP socket.
pub struct TcpStream {
    reg: Registration,
    sock: OwnedFd,
    /// Reads wait for the driver's event instead of trying the socket, when a read since the
    /// last event found it drained (see [`TcpStream::poll_read_uninit`]).
    reads_on_readiness: bool,
}

impl TcpStream {
    fn from_fd(sock: OwnedFd) -> io::Result<TcpStream> {
        let reg = Registration::new(sock.as_raw_fd())?;
        Ok(TcpStream {
            reg,
            sock,
            reads_on_readiness: false,
        })
    }

    /// Connects to `addr`, failing with `TimedOut` after `timeout`.
    pub async fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        let sk = Socket::new(
            Domain::for_address(*addr),
            Type::STREAM.nonblocking().cloexec(),
            Some(Protocol::TCP),
        )?;
        let in_progress = match sk.connect(&SockAddr::from(*addr)) {
            Ok(()) => false,
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => true,
            Err(e) => return Err(e),
        };
        // SAFETY: the descriptor comes out of the socket that owned it.
        let mut stream = TcpStream::from_fd(unsafe { OwnedFd::from_raw_fd(sk.into_raw_fd()) })?;
        // A backend connection: see `poll_read_uninit`.
        stream.reads_on_readiness = true;
        if in_progress {
            stream.reg.clear(WRITABLE);
            let connected = std::future::poll_fn(|cx| stream.reg.poll_ready(cx, WRITABLE));
            let timed_out = glommio::timer::sleep(timeout);
            if futures_lite::future::or(
                async {
                    connected.await;
                    false
                },
                async {
                    timed_out.await;
                    true
                },
            )
            .await
            {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection timed out",
                ));
            }
            if let Some(e) = sock_ref(&stream.sock).take_error()? {
                return Err(e);
            }
        }
        Ok(stream)
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        sock_ref(&self.sock).set_tcp_nodelay(on)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        inet(sock_ref(&self.sock).peer_addr()?)
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        inet(sock_ref(&self.sock).local_addr()?)
    }

    /// Reads into possibly uninitialised memory; the first `n` bytes are initialised when
    /// `Ready(Ok(n))` is returned.
    ///
    /// On a connection mint opened (to a backend), a read that returns less than the buffer
    /// found the socket drained, and the next read waits for the driver's event instead of
    /// asking the kernel first (as tokio does): TCP signals every arrival with a new
    /// edge-triggered event, so nothing that comes after the drained read is missed. That
    /// saves the `EAGAIN` read after each request is sent, before its answer is in. A client's
    /// socket keeps reading first: a request that is already in is then found at once rather
    /// than at the driver's next turn (Session 16 measured the p99 that costs).
    pub fn poll_read_uninit(
        &self,
        cx: &Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        if self.reads_on_readiness && self.reg.poll_ready(cx, READABLE).is_pending() {
            return Poll::Pending;
        }
        // SAFETY: recv writes at most `buf.len()` bytes into the buffer and reads none.
        let r = poll_syscall(&self.reg, cx, READABLE, None, || unsafe {
            libc::recv(self.sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0)
        });
        if self.reads_on_readiness {
            // Not after an end of stream (0), which every later read must see at once.
            if let Poll::Ready(Ok(n)) = r {
                if n > 0 && n < buf.len() {
                    self.reg.drained();
                }
            }
        }
        r
    }

    /// Whether something (data, the peer's close, an error) may have arrived since a read found
    /// this socket drained, as of the driver's last turn. Always true on a socket whose reads do
    /// not track that (a client's).
    pub fn may_be_readable(&self) -> bool {
        !self.reads_on_readiness || self.reg.may_be_ready(READABLE)
    }

    /// Notes that a non-blocking look answered `EAGAIN`: nothing to read, and no close.
    pub fn found_drained(&self) {
        if self.reads_on_readiness {
            self.reg.clear(READABLE);
        }
    }

    fn poll_send(&self, cx: &Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        poll_syscall(&self.reg, cx, WRITABLE, None, || {
            if bufs.len() == 1 {
                // SAFETY: send reads at most `len` bytes of the slice.
                unsafe {
                    libc::send(
                        self.sock.as_raw_fd(),
                        bufs[0].as_ptr().cast(),
                        bufs[0].len(),
                        libc::MSG_NOSIGNAL,
                    )
                }
            } else {
                // SAFETY: IoSlice is ABI-compatible with iovec; sendmsg only reads the slices.
                unsafe {
                    let mut msg: libc::msghdr = std::mem::zeroed();
                    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
                    msg.msg_iovlen = bufs.len().min(libc::UIO_MAXIOV as usize) as _;
                    libc::sendmsg(self.sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
                }
            }
        })
    }

    /// Shuts the socket down in `how`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        sock_ref(&self.sock).shutdown(how)
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: an initialised buffer is a valid uninitialised one; recv only writes to it.
        let uninit = unsafe {
            std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<MaybeUninit<u8>>(), buf.len())
        };
        self.poll_read_uninit(cx, uninit)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, &[io::IoSlice::new(buf)])
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match bufs.iter().position(|b| !b.is_empty()) {
            None => Poll::Ready(Ok(0)),
            Some(first) => self.poll_send(cx, &bufs[first..]),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}
