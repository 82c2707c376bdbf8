// App-shell cache: the board opens (and reloads) without a network; data comes from the
// Tether client's IndexedDB cache and outbox. Same-origin GETs are served network-first and
// fall back to the last good copy; the WebSocket (/ws) and the server's APIs are never cached.
const CACHE = "kanban-shell-v1";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(["./", "./index.html"]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  const skip = ["/ws", "/healthz", "/metrics"];
  if (event.request.method !== "GET" || url.origin !== location.origin || skip.includes(url.pathname)) {
    return;
  }
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() =>
        caches
          .match(event.request, { ignoreSearch: true })
          .then((hit) => hit ?? caches.match("./index.html"))
          .then((hit) => hit ?? Response.error()),
      ),
  );
});
