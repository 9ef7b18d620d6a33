// netpulse's service worker: keeps the app shell so the dashboard opens offline
// with the last values it showed. VERSION changes with every build, and a new
// worker deletes the caches of the old one when it activates.
const VERSION = "__VERSION__";
// The page, the built bundle (listed by the server from its pkg directory) and the icons.
const SHELL = `netpulse-shell-${VERSION}`;
const DATA = `netpulse-data-${VERSION}`;
// History answers, keyed by their URL (whose times change with every view), capped.
const HISTORY = `netpulse-history-${VERSION}`;
const HISTORY_ENTRIES = 8;
// The only other API answers kept: the latest snapshot and status, one entry each.
const DATA_PATHS = ["/api/snapshot", "/api/status"];
const SHELL_URLS = __SHELL_URLS__;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_URLS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((key) => key.startsWith("netpulse-") && !key.endsWith(VERSION)).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  // Streams and measurements must reach the network, never a cache.
  if (url.pathname === "/api/events" || url.pathname.startsWith("/speedtest")) return;
  // Only the dashboard is kept for offline use; the alerts page is always fresh.
  if (request.mode === "navigate" && url.pathname !== "/") return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(request, SHELL, "/"));
  } else if (DATA_PATHS.includes(url.pathname)) {
    event.respondWith(networkFirst(request, DATA));
  } else if (url.pathname === "/api/history") {
    event.respondWith(networkFirst(request, HISTORY, undefined, HISTORY_ENTRIES));
  } else if (url.pathname.startsWith("/api/")) {
    return;
  } else {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }
});

// The network's answer, kept for later; offline, the kept one (or `fallback`).
// With `limit`, the cache keeps only that many entries, dropping the oldest.
async function networkFirst(request, cacheName, fallback, limit) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const cache = await caches.open(cacheName);
      await cache.put(request, response.clone());
      if (limit) {
        const keys = await cache.keys();
        await Promise.all(keys.slice(0, Math.max(0, keys.length - limit)).map((key) => cache.delete(key)));
      }
    }
    return response;
  } catch (error) {
    const kept = (await caches.match(request)) || (fallback && (await caches.match(fallback)));
    if (kept) return kept;
    throw error;
  }
}
