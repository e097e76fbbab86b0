/**
 * Where a bundle's files come from and how a listed model looks, shared by the served registry
 * (index.ts) and the bundles kept in this browser (local.ts), so neither imports the other's module.
 */
import type { Manifest } from './manifest.ts';

/** Reads files of one bundle by name; rejects with a message naming the file when it is missing. */
export interface BundleSource {
  /** Where the bundle lives (a folder or URL), for messages. */
  readonly label: string;
  read(name: string): Promise<Uint8Array>;
}

export interface RegistryEntry {
  id: string;
  manifest?: Manifest;
  /** Why the manifest could not be used (the model is then listed but not selectable). */
  error?: string;
  /** Kept in this browser (adapted here, local.ts) rather than served with the page. */
  local?: true;
}
