// A TCP proxy between the browser and a server, to cut every connection (the page's sockets
// included) for a while and then let them back: what a phone losing its network looks like to
// both ends. While cut, new connections are accepted and closed at once.
import net from "node:net";

export async function startProxy(targetUrl) {
  const target = new URL(targetUrl);
  const port = Number(target.port || 80);
  const open = new Set();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    const upstream = net.connect(port, target.hostname);
    const pair = { client, upstream };
    open.add(pair);
    const drop = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Drops every connection and refuses new ones until `restore()`. */
    cut() {
      cut = true;
      for (const { client, upstream } of open) {
        client.destroy();
        upstream.destroy();
      }
      open.clear();
    },
    restore() {
      cut = false;
    },
    close: () => new Promise((resolve) => { for (const p of open) { p.client.destroy(); p.upstream.destroy(); } server.close(resolve); }),
  };
}
