//! One upload stream, counted where the peer has acknowledged the bytes: what
//! was written to the socket less what the kernel still holds for it (unsent or
//! unacknowledged, `SIOCOUTQ`), read at each sample. Counting bytes as they are
//! handed to the socket instead runs ahead by whatever the send buffer holds,
//! and TCP grows that buffer while a test runs: by up to 5% at 1 Gbit/s and
//! 100 ms RTT. Reading the count only when the client writes was off by what
//! accrued while a blocked writer waited: 1.3% high at 200 Mbit/s.

use std::{
    convert::Infallible,
    io,
    os::fd::{AsFd, AsRawFd, BorrowedFd},
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    task::{ready, Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::{body::Frame, header, Request};
use hyper_util::rt::TokioIo;
use reqwest::Url;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_util::{sync::CancellationToken, task::AbortOnDropHandle};

use crate::server::{
    monitor::{check, connect, http},
    speed::{
        measure::{phase::Meter, request_error::describe_error},
        payload,
    },
};

/// Bodies are written in pieces of this size.
const UPLOAD_PIECE: usize = 64 * 1024;

/// A TCP stream the meter watches while it lives: it counts the bytes written
/// to it, and the meter reads, at each sample, how many of them its peer has acknowledged.
struct AckCounted {
    inner: TcpStream,
    meter: Arc<Meter>,
    written: Arc<AtomicU64>,
    watch: u64,
}

impl AckCounted {
    fn new(inner: TcpStream, meter: Arc<Meter>) -> io::Result<Self> {
        let written = Arc::new(AtomicU64::new(0));
        // The meter holds its own descriptor of the socket, so it can never read a closed or reused one.
        let watch = meter.watch(inner.as_fd().try_clone_to_owned()?, written.clone());
        Ok(Self { inner, meter, written, watch })
    }
}

impl Drop for AckCounted {
    fn drop(&mut self) {
        self.meter.unwatch(self.watch);
    }
}

/// Bytes written to a TCP socket that its peer has not acknowledged yet (Linux's `SIOCOUTQ`).
#[cfg(target_os = "linux")]
pub(super) fn unacknowledged(socket: BorrowedFd<'_>) -> Option<u64> {
    let mut queued: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one int; `socket` is open for as long as it is borrowed.
    let asked = unsafe { libc::ioctl(socket.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
    (asked == 0).then_some(queued.max(0) as u64)
}

/// Elsewhere, bytes count as they are written.
#[cfg(not(target_os = "linux"))]
pub(super) fn unacknowledged(_socket: BorrowedFd<'_>) -> Option<u64> {
    Some(0)
}

impl AsyncRead for AckCounted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for AckCounted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let written = ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
        self.written.fetch_add(written as u64, Ordering::Release);
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// HTTPS uploads trust Mozilla's roots, as the other requests do, and speak HTTP/1.1.
pub fn tls_connector() -> tokio_rustls::TlsConnector {
    check::tls_connector_offering(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }, &[b"http/1.1"])
}

/// Runs POSTs of `request_bytes` (as the budget allows) to `url` on one connection until stopped.
pub async fn upload(
    tls: tokio_rustls::TlsConnector,
    url: Url,
    block: Bytes,
    request_bytes: u64,
    meter: Arc<Meter>,
    stop: CancellationToken,
    timeout: Duration,
) -> Result<(), String> {
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let at = format!(" ({host}:{port})");
    let fail = |err: &(dyn std::error::Error + 'static)| describe_error(err, &at, timeout);
    let work = async {
        // The monitors' connect: each address in turn, IPv6 and IPv4 interleaved, the next after 250 ms.
        let connecting = tokio::time::timeout(timeout, connect::connect(&host, port));
        let stream = connecting
            .await
            .map_err(|_| format!("timed out after {} ms{at}", timeout.as_millis()))?
            .map_err(|reason| match reason.starts_with("DNS lookup") {
                // The same words as the download's; the connect's other reasons already name the address.
                true => format!("DNS lookup failed{at}"),
                false => reason,
            })?
            .stream;
        let _ = stream.set_nodelay(true);
        let counted = AckCounted::new(stream, meter.clone()).map_err(|err| fail(&err))?;
        if url.scheme() == "https" {
            let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|_| format!("TLS failure{at}: invalid server name"))?;
            let shaking = tokio::time::timeout(timeout, tls.connect(name, counted));
            let secured = shaking.await.map_err(|_| format!("timed out after {} ms{at}", timeout.as_millis()))?.map_err(|err| fail(&err))?;
            requests(TokioIo::new(secured), &url, &block, request_bytes, &meter, &at, &fail).await
        } else {
            requests(TokioIo::new(counted), &url, &block, request_bytes, &meter, &at, &fail).await
        }
    };
    tokio::select! {
        _ = stop.cancelled() => Ok(()),
        outcome = work => outcome,
    }
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

async fn requests<I>(
    io: I,
    url: &Url,
    block: &Bytes,
    request_bytes: u64,
    meter: &Meter,
    at: &str,
    fail: &impl Fn(&(dyn std::error::Error + 'static)) -> String,
) -> Result<(), String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(|err| fail(&err))?;
    // Its errors reach the requests below. Stopped with the stream, so that a
    // stopped upload neither sends on nor keeps its socket watched.
    let _connection = AbortOnDropHandle::new(tokio::spawn(connection));
    let (path, authority) = http::path_and_authority(url);
    // A target URL's `user:password@` is sent as Basic auth, as the download's client sends it.
    let credentials = (!url.username().is_empty() || url.password().is_some()).then(|| {
        use base64::Engine;
        let pair = format!("{}:{}", percent_decode(url.username()), percent_decode(url.password().unwrap_or_default()));
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
    });
    loop {
        let size = meter.reserve(request_bytes);
        if size == 0 {
            return Ok(());
        }
        let pieces = futures_util::stream::iter(payload::slices(block, size, UPLOAD_PIECE)).map(|piece| Ok::<_, Infallible>(Frame::data(piece)));
        let mut request = Request::post(path.as_str());
        if let Some(credentials) = &credentials {
            request = request.header(header::AUTHORIZATION, credentials.as_str());
        }
        let request = request
            .header(header::HOST, authority.as_str())
            .header(header::USER_AGENT, concat!("netpulse/", env!("CARGO_PKG_VERSION")))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::CONTENT_LENGTH, size)
            .body(StreamBody::new(pieces))
            .map_err(|err| format!("cannot build the request{at}: {err}"))?;
        sender.ready().await.map_err(|err| fail(&err))?;
        let response = sender.send_request(request).await.map_err(|err| fail(&err))?;
        if !response.status().is_success() {
            return Err(format!("unexpected status {} from {}", response.status().as_u16(), crate::server::speed::target::shown(url)));
        }
        // The answer is empty or short; read it so the connection can carry the next request.
        response.into_body().collect().await.map_err(|err| fail(&err))?;
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn the_meter_counts_what_the_peer_acknowledged_not_what_was_written() {
        let listening = tokio::net::TcpSocket::new_v4().unwrap();
        // A small receive buffer, so that written bytes wait unacknowledged in the sender's queue.
        listening.set_recv_buffer_size(16 * 1024).unwrap();
        listening.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = listening.listen(1).unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let meter = Arc::new(Meter::new(u64::MAX));
        let mut counted = AckCounted::new(client, meter.clone()).unwrap();
        let chunk = vec![7u8; 64 * 1024];
        let mut written = 0usize;
        for _ in 0..200 {
            match tokio::time::timeout(Duration::from_millis(50), counted.write(&chunk)).await {
                Ok(Ok(n)) => written += n,
                _ => break,
            }
        }
        meter.refresh();
        let before = meter.remaining();
        assert!(u64::MAX - before < written as u64, "what the server has not taken is not counted yet");
        let mut sink = vec![0u8; written];
        tokio::time::timeout(Duration::from_secs(5), server.read_exact(&mut sink)).await.unwrap().unwrap();
        // Acknowledgements may be delayed: wait for them, within a bound.
        for _ in 0..100 {
            meter.refresh();
            if u64::MAX - meter.remaining() == written as u64 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(u64::MAX - meter.remaining(), written as u64, "once read, every byte is acknowledged and counted");
        drop(counted);
        assert!(meter.uploads_watched() == 0, "a dropped stream is no longer watched");
    }
}
