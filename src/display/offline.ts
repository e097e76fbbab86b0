/**
 * Offline support, page side: registers public/sw.js (which caches the build and the models on
 * install) and reports when it is active, i.e. when a reload would work with the network cut.
 */

/** Registers the service worker (production builds only: Vite's dev server serves modules unbundled). */
async function registerOffline(): Promise<ServiceWorkerRegistration | null> {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return null;
  return navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`);
}

/** Resolves once a service worker that finished precaching is active for this page. */
async function offlineReady(): Promise<boolean> {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return false;
  await navigator.serviceWorker.ready;
  return true;
}

/** Registers the service worker; once it is active, marks the page (data-offline-ready, which the e2e tests wait for). */
export function startOffline(): void {
  void registerOffline()
    .then(offlineReady)
    .then((ready) => ready && document.documentElement.setAttribute('data-offline-ready', 'true'))
    .catch((err: Error) => console.warn(`offline mode unavailable: ${err.message}`));
}
