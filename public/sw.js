/**
 * QuMRI's service worker: after one visit the page works offline. On install it caches every file
 * of the build listed in precache.json (written by tools/vite-precache.ts: the
 * page, its scripts and workers, the kernel and ONNX Runtime wasm, the demo scan) and every shipped
 * model bundle (from models/index.json and each manifest), and models/withdrawn.json. Same-origin GETs are then served
 * network-first with the cache as fallback, so a new build is picked up when online. Requests to
 * other origins are never touched: QuMRI makes none.
 */
const CACHE = 'qumri-offline-v1';

const scoped = (path) => new URL(path, self.registration.scope).href;
const sameOrigin = (url) => new URL(url, self.location.href).origin === self.location.origin;

async function json(path) {
  const res = await fetch(scoped(path), { cache: 'no-cache' });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

async function buildFiles() {
  try {
    return ((await json('precache.json')).files ?? []).map(scoped);
  } catch {
    return [scoped('./')];
  }
}

async function modelFiles() {
  try {
    const urls = [scoped('models/index.json'), scoped('models/withdrawn.json')];
    for (const id of (await json('models/index.json')).models ?? []) {
      try {
        const manifest = await json(`models/${id}/manifest.json`);
        // What the page loads (src/core/bundle INFERENCE_FILES); reference inputs stay on the server.
        urls.push(...['manifest.json', 'backbone.onnx', 'head.json'].filter((f) => f === 'manifest.json' || f in (manifest.files ?? {})).map((f) => scoped(`models/${id}/${f}`)));
      } catch {
        // A broken bundle is reported by the page; it is not cached.
      }
    }
    return urls;
  } catch {
    return [];
  }
}

async function cacheAll(urls) {
  const cache = await caches.open(CACHE);
  await Promise.all(
    [...new Set(urls)].filter(sameOrigin).map(async (url) => {
      try {
        // 'no-store': past the HTTP cache, which Cache Storage makes redundant here. On a first visit
        // the page fetches some of these files at the same moment; a second request through the HTTP
        // cache would share the page's cache entry, and where a large file does not fit it (a private
        // window's in-memory cache) Chromium fails one of the two with net::ERR_CACHE_WRITE_FAILURE:
        // the page's model load, or this copy, leaving the model uncached offline.
        const res = await fetch(url, { cache: 'no-store' });
        if (res.status === 200) await cache.put(url, res);
      } catch {
        // Unreachable now: the network-first handler fills it in on a later online visit.
      }
    }),
  );
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    await cacheAll([...(await buildFiles()), ...(await modelFiles())]);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(request);
    if (res.status === 200) await cache.put(request, res.clone());
    return res;
  } catch (err) {
    // ignoreVary: entries cached at install time were fetched without the Origin header that
    // module scripts send, and the server answers with `Vary: Origin`.
    const opts = { ignoreVary: true, ignoreSearch: request.mode === 'navigate' };
    const hit = (await cache.match(request, opts)) ?? (request.mode === 'navigate' ? await cache.match(scoped('./'), opts) : undefined);
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || !sameOrigin(request.url) || request.headers.has('range')) return;
  event.respondWith(networkFirst(request));
});
