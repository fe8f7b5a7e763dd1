/* Fluentio's service worker: makes the app installable and explains itself when offline.
 *
 * What it does, by kind of request:
 * - page navigations: always the network (pages are shells for the live app, and a stale
 *   copy would point at old build files after a deploy); if the network is down, the
 *   precached offline page instead of the browser's error screen;
 * - the app shell (offline page, manifest, icons): precached on install, then served from
 *   the cache while a fresh copy is fetched in the background;
 * - hashed build files under /assets/: cache-first, since a new build gets new names;
 * - everything else (the backend, auth, uploads, health checks, non-GET and cross-origin
 *   requests) is never answered by this worker, so it reaches the network untouched and
 *   nothing private or live ends up in a cache.
 *
 * Bump VERSION when the shell list, a shell file (the offline page) or the caching rules
 * change: the new worker installs and precaches afresh, and activation deletes every
 * Fluentio cache that does not carry the current version.
 */
"use strict";

const VERSION = "v2";
const CACHE_PREFIX = "fluentio-";
const SHELL_CACHE = `${CACHE_PREFIX}shell-${VERSION}`;
const ASSET_CACHE = `${CACHE_PREFIX}assets-${VERSION}`;
const CURRENT_CACHES = [SHELL_CACHE, ASSET_CACHE];

const OFFLINE_URL = "/offline.html";
const SHELL_URLS = [
  OFFLINE_URL,
  "/manifest.webmanifest",
  "/favicon.ico",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/icons/icon-maskable-512.png",
  "/icons/apple-touch-icon.png",
];
const SHELL_PATHS = new Set(SHELL_URLS);

// Each build adds a few new hashed files; keep the cache from growing forever.
const MAX_ASSET_ENTRIES = 200;

// The server adds "Vary: Origin, Accept-Encoding", but a cached file is the same bytes
// whoever asks: a module script (sent with Origin) and a plain fetch (without) must match.
const MATCH = { ignoreVary: true };

// Live, private or state-changing routes. Reflex's own endpoints (/_event websocket and
// polling, /_upload, /_health, /_all_routes) all start with "/_".
const NETWORK_ONLY = ["/api", "/healthz", "/ping", "/auth", "/login", "/logout", "/signup"];

function isNetworkOnly(pathname) {
  if (pathname.startsWith("/_")) return true;
  return NETWORK_ONLY.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      // "reload" skips the HTTP cache so a new worker never precaches an old copy.
      await cache.addAll(SHELL_URLS.map((url) => new Request(url, { cache: "reload" })));
      // Nothing cached here has to match the code of pages already open (build files are
      // cached by their hashed names), so a new worker can take over straight away.
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names
          .filter((name) => name.startsWith(CACHE_PREFIX) && !CURRENT_CACHES.includes(name))
          .map((name) => caches.delete(name)),
      );
      // Control the tab that registered us, so it works offline without a reload.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || request.headers.has("range")) return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || isNetworkOnly(url.pathname)) return;

  if (request.mode === "navigate") {
    event.respondWith(networkOrOfflinePage(request));
  } else if (SHELL_PATHS.has(url.pathname) && !url.search) {
    event.respondWith(staleWhileRevalidate(event, SHELL_CACHE));
  } else if (url.pathname.startsWith("/assets/")) {
    event.respondWith(cacheFirst(event, ASSET_CACHE));
  }
});

function cacheable(response) {
  return response.ok && response.type === "basic";
}

async function networkOrOfflinePage(request) {
  try {
    return await fetch(request);
  } catch (error) {
    // Only a failed connection lands here; a 404 or 500 from the server is a real answer.
    const offline = await caches.match(OFFLINE_URL, { ...MATCH, cacheName: SHELL_CACHE });
    if (offline) return offline;
    throw error;
  }
}

async function staleWhileRevalidate(event, cacheName) {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(event.request, MATCH);
  const refresh = fetch(event.request).then(async (response) => {
    if (cacheable(response)) await cache.put(event.request, response.clone());
    return response;
  });
  if (!cached) return refresh;
  event.waitUntil(refresh.catch(() => undefined));
  return cached;
}

async function cacheFirst(event, cacheName) {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(event.request, MATCH);
  if (cached) return cached;
  const response = await fetch(event.request);
  if (cacheable(response)) {
    event.waitUntil(cache.put(event.request, response.clone()).then(() => trim(cache, MAX_ASSET_ENTRIES)));
  }
  return response;
}

async function trim(cache, maxEntries) {
  // keys() lists entries oldest first.
  const keys = await cache.keys();
  await Promise.all(keys.slice(0, Math.max(0, keys.length - maxEntries)).map((key) => cache.delete(key)));
}
