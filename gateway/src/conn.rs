//! Connection-level defences, before pingora parses a single header.
//!
//! * **Header deadline** (slowloris): pingora's read timeout restarts with every read, so a
//!   client trickling one header byte every few seconds holds a connection forever.
//!   [`HeaderDeadline`] wraps the connection's stream and gives every HTTP/1 request head a
//!   total deadline, armed at the request's first byte and lifted at the blank line that ends
//!   it. The next request on a kept-alive connection arms it again (after the gateway has
//!   written its response). HTTP/2 connections (preface `PRI * HTTP/2.0`) are left alone: their
//!   framing is not lines, and h2 has its own flow control.
//! * **Connections per client address**: [`ConnectionLimit`] counts open connections per
//!   address (of the TCP peer) and closes new ones over the cap at once.
//!
//! [`Connections`] is the pingora `ServerApp` that applies both around the proxy.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use pingora::apps::ServerApp;
use pingora::protocols::l4::socket::SocketAddr;
use pingora::protocols::raw_connect::ProxyDigest;
use pingora::protocols::tls::SslDigest;
use pingora::protocols::{
    ALPN, GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl,
    Stream, TimingDigest, UniqueID, UniqueIDType,
};
use pingora::server::ShutdownWatch;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Connection limits of a gateway (the same for every site: the site is not known before
/// the request head has been read).
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Total time allowed for a request head, from its first byte to its blank line.
    pub header_deadline: Duration,
    /// How long an idle kept-alive connection waits for its next request.
    pub keepalive: Duration,
    /// Open connections allowed per client address (0: no cap).
    pub max_per_ip: u32,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        Self {
            header_deadline: Duration::from_secs(10),
            keepalive: Duration::from_secs(60),
            max_per_ip: 256,
        }
    }
}

/// Wraps a pingora `ServerApp` (the proxy) with the header deadline and the per-address
/// connection cap.
pub struct Connections<A> {
    pub app: Arc<A>,
    pub header_deadline: Duration,
    pub limit: ConnectionLimit,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Connections cut off before a request was read are access-log lines too.
    pub logs: crate::logs::LogSink,
    pub node: String,
}

impl<A> Connections<A> {
    /// An access-log line for a connection refused or cut off before any request was routed.
    fn log_refusal(&self, peer: Option<IpAddr>, status: u16, served_by: &str, started: Instant) {
        self.logs.access(sitegroup_contract::log::AccessRecord {
            time: chrono::Utc::now().to_rfc3339(),
            node: self.node.clone(),
            request_id: crate::proxy::new_request_id(),
            site_id: None,
            client_ip: peer.map(|p| p.to_string()).unwrap_or_default(),
            method: String::new(),
            host: String::new(),
            path: String::new(),
            query: None,
            status,
            bytes_received: 0,
            bytes_sent: 0,
            duration_ns: u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            served_by: served_by.to_string(),
            upstream: None,
            upstream_ms: None,
            waf: String::new(),
            user_agent: String::new(),
            referrer: String::new(),
            tls_version: None,
        });
    }
}

#[async_trait]
impl<A: ServerApp + Send + Sync + 'static> ServerApp for Connections<A> {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let started = Instant::now();
        let peer = peer_ip(&stream);
        let _slot = match peer {
            Some(ip) => match self.limit.acquire(ip) {
                Some(slot) => Some(slot),
                None => {
                    tracing::debug!("connection from {ip} refused: too many open connections");
                    self.log_refusal(peer, 0, "connection_limit", started);
                    return None;
                }
            },
            None => None,
        };
        if let Some(tls) = stream.get_ssl_digest() {
            self.metrics
                .tls_connection(&crate::proxy::tls_version(&tls.version));
        }
        // The keep-alive loop runs here rather than in pingora's listener, so that the
        // connection is wrapped once and its slot is held for as long as it is open.
        let deadline = HeaderDeadline::new(stream, self.header_deadline);
        let timed_out = deadline.timed_out.clone();
        let mut next = self.app.process_new(Box::new(deadline), shutdown).await;
        while let Some(stream) = next {
            next = self.app.process_new(stream, shutdown).await;
        }
        if timed_out.load(std::sync::atomic::Ordering::Relaxed) {
            self.log_refusal(peer, 408, "header_deadline", started);
        }
        None
    }

    async fn cleanup(&self) {
        self.app.cleanup().await;
    }
}

fn peer_ip(stream: &Stream) -> Option<IpAddr> {
    match stream.get_socket_digest()?.peer_addr()? {
        SocketAddr::Inet(addr) => Some(addr.ip()),
        _ => None,
    }
}

/// Open connections per client address, with a cap (0: no cap).
#[derive(Clone, Default)]
pub struct ConnectionLimit {
    per_ip: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl ConnectionLimit {
    pub fn new(per_ip: u32) -> Self {
        Self {
            per_ip,
            open: Arc::default(),
        }
    }

    /// A slot for one more connection from `ip`, or none when it has `per_ip` open already.
    pub fn acquire(&self, ip: IpAddr) -> Option<ConnectionSlot> {
        if self.per_ip == 0 {
            return Some(ConnectionSlot(None));
        }
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= self.per_ip {
            return None;
        }
        *n += 1;
        Some(ConnectionSlot(Some((self.clone(), ip))))
    }

    /// Connections open from `ip` now.
    pub fn open(&self, ip: IpAddr) -> u32 {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&ip).copied().unwrap_or(0)
    }
}

/// Held while a connection is open; gives its place back when dropped.
pub struct ConnectionSlot(Option<(ConnectionLimit, IpAddr)>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Some((limit, ip)) = self.0.take() {
            let mut open = limit.open.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = open.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&ip);
                }
            }
        }
    }
}

/// Where a connection is in its current request, as far as the deadline cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Head {
    /// Between requests: no deadline (pingora's keep-alive timeout applies).
    Idle,
    /// Reading a request head; `tail` holds its last bytes (to find `\r\n\r\n` across reads).
    Reading { tail: [u8; 3], len: u8 },
    /// The head is complete; the body and the response follow.
    Done,
    /// HTTP/2 (or the deadline is off): never armed.
    Off,
}

/// A stream whose HTTP/1 request heads must arrive in full within a deadline.
pub struct HeaderDeadline {
    inner: Stream,
    deadline: Duration,
    head: Head,
    timer: Option<Pin<Box<Sleep>>>,
    /// Set when the deadline cut the connection.
    pub timed_out: Arc<std::sync::atomic::AtomicBool>,
}

impl HeaderDeadline {
    pub fn new(inner: Stream, deadline: Duration) -> Self {
        let h2 = inner.selected_alpn_proto() == Some(ALPN::H2);
        Self {
            inner,
            deadline,
            head: if h2 || deadline.is_zero() {
                Head::Off
            } else {
                Head::Idle
            },
            timer: None,
            timed_out: Arc::default(),
        }
    }

    /// Follows the bytes just read through the request head.
    fn saw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let (mut tail, mut len) = match self.head {
            Head::Idle => {
                if bytes.starts_with(b"PRI * HTTP/2") {
                    self.head = Head::Off;
                    return;
                }
                let at = Instant::now() + self.deadline;
                match &mut self.timer {
                    Some(t) => t.as_mut().reset(at),
                    None => self.timer = Some(Box::pin(tokio::time::sleep_until(at))),
                }
                ([0u8; 3], 0u8)
            }
            Head::Reading { tail, len } => (tail, len),
            Head::Done | Head::Off => return,
        };
        for &b in bytes {
            // The head ends at an empty line: "\r\n\r\n", or "\n\n" (bare line feeds, which
            // pingora's parser accepts too).
            let prev = &tail[3 - len as usize..];
            if b == b'\n' && (prev.ends_with(b"\n") || prev.ends_with(b"\n\r")) {
                self.head = Head::Done;
                self.timer = None;
                return;
            }
            tail = [tail[1], tail[2], b];
            len = (len + 1).min(3);
        }
        self.head = Head::Reading { tail, len };
    }
}

impl fmt::Debug for HeaderDeadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderDeadline")
            .field("inner", &self.inner)
            .field("head", &self.head)
            .finish()
    }
}

impl AsyncRead for HeaderDeadline {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let this = &mut *self;
                this.saw(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if matches!(self.head, Head::Reading { .. })
                    && let Some(timer) = &mut self.timer
                    && timer.as_mut().poll(cx).is_ready()
                {
                    self.timed_out
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "request header not complete within the deadline",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for HeaderDeadline {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // A response is on its way: what is read next belongs to the next request.
        if self.head == Head::Done {
            self.head = Head::Idle;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.head == Head::Done {
            self.head = Head::Idle;
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[async_trait]
impl Shutdown for HeaderDeadline {
    async fn shutdown(&mut self) {
        self.inner.shutdown().await
    }
}

impl UniqueID for HeaderDeadline {
    fn id(&self) -> UniqueIDType {
        self.inner.id()
    }
}

impl Ssl for HeaderDeadline {
    fn get_ssl(&self) -> Option<&pingora::protocols::tls::TlsRef> {
        self.inner.get_ssl()
    }
    fn get_ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.inner.get_ssl_digest()
    }
    fn selected_alpn_proto(&self) -> Option<ALPN> {
        self.inner.selected_alpn_proto()
    }
}

impl GetTimingDigest for HeaderDeadline {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_timing_digest()
    }
    fn get_read_pending_time(&self) -> Duration {
        self.inner.get_read_pending_time()
    }
    fn get_write_pending_time(&self) -> Duration {
        self.inner.get_write_pending_time()
    }
}

impl GetProxyDigest for HeaderDeadline {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_proxy_digest()
    }
    fn set_proxy_digest(&mut self, digest: ProxyDigest) {
        self.inner.set_proxy_digest(digest)
    }
}

impl GetSocketDigest for HeaderDeadline {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_socket_digest()
    }
    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.inner.set_socket_digest(digest)
    }
}

#[async_trait]
impl Peek for HeaderDeadline {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.inner.try_peek(buf).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn read(s: &mut HeaderDeadline) -> io::Result<Vec<u8>> {
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).await?;
        Ok(buf[..n].to_vec())
    }

    #[tokio::test(start_paused = true)]
    async fn an_unfinished_head_times_out_at_the_deadline() {
        let (mut client, server) = tokio::io::duplex(1024);
        let mut s = HeaderDeadline::new(Box::new(server), Duration::from_secs(2));
        let started = Instant::now();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n")
            .await
            .unwrap();
        read(&mut s).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        client.write_all(b"X-A: 1\r\n").await.unwrap();
        read(&mut s).await.unwrap();
        let e = read(&mut s).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn complete_heads_lift_the_deadline_until_the_next_request() {
        for end in [&b"\r\n\r\n"[..], b"\n\n", b"\r\n\n"] {
            let (mut client, server) = tokio::io::duplex(1024);
            let mut s = HeaderDeadline::new(Box::new(server), Duration::from_secs(2));
            // The blank line split across two reads.
            client.write_all(b"POST / HTTP/1.1\r\nA: b").await.unwrap();
            read(&mut s).await.unwrap();
            client.write_all(&end[..1]).await.unwrap();
            read(&mut s).await.unwrap();
            client.write_all(&end[1..]).await.unwrap();
            read(&mut s).await.unwrap();
            // A slow body is not the head deadline's business.
            let body = tokio::time::timeout(Duration::from_secs(30), read(&mut s)).await;
            assert!(
                body.is_err(),
                "no data, no error: the read is still waiting"
            );
            client.write_all(b"body").await.unwrap();
            assert_eq!(read(&mut s).await.unwrap(), b"body");
            // The response goes out; the next request's head is timed again.
            s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await; // idle: no deadline
            client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
            read(&mut s).await.unwrap();
            let e = read(&mut s).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn http2_connections_are_left_alone() {
        let (mut client, server) = tokio::io::duplex(1024);
        let mut s = HeaderDeadline::new(Box::new(server), Duration::from_secs(2));
        client.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
        read(&mut s).await.unwrap();
        let r = tokio::time::timeout(Duration::from_secs(30), read(&mut s)).await;
        assert!(r.is_err(), "an h2 connection is not timed");
    }

    #[test]
    fn connections_per_address_are_capped_and_given_back() {
        let limit = ConnectionLimit::new(2);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let a = limit.acquire(ip).unwrap();
        let _b = limit.acquire(ip).unwrap();
        assert!(limit.acquire(ip).is_none());
        assert!(limit.acquire("192.0.2.2".parse().unwrap()).is_some());
        drop(a);
        assert_eq!(limit.open(ip), 1);
        assert!(limit.acquire(ip).is_some());
        assert!(ConnectionLimit::new(0).acquire(ip).is_some());
    }
}
