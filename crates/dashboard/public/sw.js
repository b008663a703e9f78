// Duraclaw's service worker: caches the app shell (index.html, the js, the wasm, the manifest
// and icons) so the dashboard opens offline or on a flaky network, and never touches /api (the
// API and the session sockets always go to the network). Registered as /sw.js?v=<build>, so each
// build gets its own cache and the old one is dropped when the new worker activates.
const CACHE = "duraclaw-shell-" + new URL(self.location.href).searchParams.get("v");
const SHELL = ["/", "/manifest.webmanifest", "/icon.svg", "/icon-192.png", "/icon-512.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("duraclaw-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (req.mode === "navigate") {
    // network first, so a deploy shows at once; the cached shell when offline (every route is the SPA)
    event.respondWith(fetch(req).catch(() => caches.match("/", { cacheName: CACHE })));
    return;
  }
  if (url.pathname === "/health") return;
  // the js and wasm are versioned (?v=<build>): cache first, filled on first use
  event.respondWith(
    caches.match(req, { cacheName: CACHE }).then((hit) => hit || fetch(req).then((res) => {
      if (res.ok) {
        const copy = res.clone();
        caches.open(CACHE).then((c) => c.put(req, copy));
      }
      return res;
    })),
  );
});

// A tap on a "Claude needs you" notification opens that session: in an open dashboard window if
// there is one, else in a new one.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || "/", self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((wins) => {
      const win = wins.find((w) => new URL(w.url).origin === self.location.origin);
      return win ? win.navigate(url).then((w) => (w || win).focus()) : self.clients.openWindow(url);
    }),
  );
});
