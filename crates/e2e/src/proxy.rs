//! A TCP proxy in front of the gateway that can go half-open: `freeze` stops forwarding on
//! every open connection without closing it (what a dead NAT or a stuck tunnel does), while new
//! connections are forwarded normally.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct Proxy {
    pub port: u16,
    /// Connections with a generation below this are frozen.
    frozen_below: Arc<AtomicU64>,
    accepted: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Forwards 127.0.0.1:<a free port> to 127.0.0.1:`target`.
    pub async fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let frozen_below = Arc::new(AtomicU64::new(0));
        let accepted = Arc::new(AtomicU64::new(0));
        let (frozen, count) = (frozen_below.clone(), accepted.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let generation = count.fetch_add(1, Ordering::SeqCst);
                let frozen = frozen.clone();
                tokio::spawn(async move {
                    let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)).await else { return };
                    let (cr, cw) = client.into_split();
                    let (ur, uw) = upstream.into_split();
                    let a = tokio::spawn(pump(cr, uw, generation, frozen.clone()));
                    let b = tokio::spawn(pump(ur, cw, generation, frozen));
                    let _ = tokio::join!(a, b);
                });
            }
        });
        Proxy { port, frozen_below, accepted, task }
    }

    /// Every connection open now stops forwarding (both ways) and is never closed by the proxy.
    pub fn freeze(&self) {
        self.frozen_below.store(self.accepted.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// How many connections the proxy has accepted.
    pub fn connections(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    generation: u64,
    frozen_below: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if generation < frozen_below.load(Ordering::SeqCst) {
            // Half-open: swallow everything, keep both sockets open, forever.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
