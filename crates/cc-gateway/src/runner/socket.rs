//! The runner's unix socket (`<runtime_dir>/sessions/<id>.sock`, mode 0600): the daemon connects
//! here and speaks the same GatewayCommand / GatewayEvent frames as NDJSON. Each connection is
//! a reader feeding the session actor and a writer draining what the actor sends it.

use std::path::Path;

use shared_types::codec::decode_command;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::session::Input;

/// Binds the socket with mode 0600 (the umask is narrowed around `bind`, so there is no moment
/// when others could connect).
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(path); // stale: we hold the session's lock
    // SAFETY: umask(2) only changes this process's file-creation mask.
    let old = unsafe { libc::umask(0o177) };
    let listener = UnixListener::bind(path);
    unsafe { libc::umask(old) };
    listener
}

/// Accepts connections until aborted. Every connection's writer holds a clone of `drained`, so
/// the runner can wait, before it exits, for what it sent to be written out.
pub async fn serve(listener: UnixListener, inputs: mpsc::UnboundedSender<Input>, drained: mpsc::Sender<()>) {
    let mut next = 0u64;
    while let Ok((stream, _)) = listener.accept().await {
        next += 1;
        tokio::spawn(connection(next, stream, inputs.clone(), drained.clone()));
    }
}

async fn connection(conn: u64, stream: UnixStream, inputs: mpsc::UnboundedSender<Input>, drained: mpsc::Sender<()>) {
    let (read, mut write) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    if inputs.send(Input::Open { conn, tx }).is_err() {
        return;
    }
    let writer = tokio::spawn(async move {
        let _drained = drained;
        while let Some(mut line) = rx.recv().await {
            line.push('\n');
            if write.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let input = match decode_command(&line) {
            Ok(command) => Input::Frame { conn, command },
            Err(e) => Input::BadFrame { conn, code: e.code(), message: e.to_string() },
        };
        if inputs.send(input).is_err() {
            break;
        }
    }
    let _ = inputs.send(Input::Close { conn });
    writer.abort();
}
