// The service worker: keeps the app shell (page, scripts, styles, icons) so the app opens without a
// network. It never touches /api/: postings go through the outbox in the page, which needs every answer
// of the server itself (a cached or invented answer would drop or double a posting).
// Served at /app/sw.js (scope /app/) with the file list and a version that changes with any file.

const BUILD = /* the server writes the build here */ null;
const CACHE = `app-shell-${BUILD.version}`;

self.addEventListener("install", (event) => {
  // All or nothing: a shell missing one file would not open offline. "no-cache" asks the server each
  // time (never a stale file), and a file the page has just loaded comes back as a small 304.
  event.waitUntil(caches.open(CACHE).then((cache) =>
    cache.addAll(BUILD.shell.map((url) => new Request(url, { cache: "no-cache" })))));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("app-shell-") && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

// The page says when a waiting new version may take over (not in the middle of a form).
self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith("/app/") || url.pathname === "/app/sw.js") {
    return;  // the API, the wall, anything else: straight to the network
  }
  const key = request.mode === "navigate" ? "/app/" : url.pathname;
  event.respondWith(caches.open(CACHE).then(async (cache) => (await cache.match(key)) || fetch(request)));
});
