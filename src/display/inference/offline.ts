/**
 * Offline support, page side: registers public/sw.js (which caches the build and the models on
 * install) and reports when it is active, i.e. when a reload would work with the network cut.
 */

/** Registers the service worker (production builds only: Vite's dev server serves modules unbundled). */
export async function registerOffline(): Promise<ServiceWorkerRegistration | null> {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return null;
  return navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`);
}

/** Resolves once a service worker that finished precaching is active for this page. */
export async function offlineReady(): Promise<boolean> {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return false;
  await navigator.serviceWorker.ready;
  return true;
}
