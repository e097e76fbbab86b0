/**
 * Vite plugin: NiiVue 0.69 computes a gradient texture (a blur pass and a Sobel pass over the
 * whole background volume, 16 trilinear texture reads per voxel) on every layer refresh, although
 * its default volume renderer, the one QuMRI uses, never reads it: only gradient illumination
 * (setVolumeRenderIllumination > 0) or gradient opacity do. NiiVue's own sources already skip it
 * then (VolumeLayerRenderer.updateGradientTexture: `gradientTextureAmount > 0 &&
 * !useCustomGradientTexture`), and `setCustomGradientTexture` documents that a custom texture is
 * not overwritten, but the published 0.69 build calls gradientGL unconditionally in refreshLayers.
 * On a GPU that costs little; with a software GPU (SwiftShader, the only one on a CPU-only
 * machine) it was ~0.85 s of both cores for every refresh of a 320×320×48 scan.
 *
 * The patch guards that one call the way NiiVue's sources do (plus gradient opacity and the
 * gradient-values renderer, which read the texture too). Turning illumination on still computes
 * it: setVolumeRenderIllumination refreshes the background layer after setting the amount.
 * Applied to the production build and to the dev server's pre-bundled copy; a NiiVue whose code
 * differs fails the build instead of silently losing the patch.
 */
import type { Plugin } from 'vite';

const FILE = /[\\/]@niivue[\\/]niivue[\\/]build[\\/]niivue[\\/]index\.js$/;

const UNPATCHED = `    if (layer === 0) {
      this.volumeTexture = outTexture;
      this.gradientTexture = gradientGL({`;

const PATCHED = `    if (layer === 0) {
      this.volumeTexture = outTexture;
      const qumriGradientUsed = (this.gradientTextureAmount > 0 || this.opts.gradientOpacity > 0 || this.renderGradientValues) && !this.useCustomGradientTexture;
      if (qumriGradientUsed) this.gradientTexture = gradientGL({`;

/** The patched source of NiiVue's build; throws when the code to patch is not there exactly once. */
export function patchNiivue(code: string): string {
  const at = code.indexOf(UNPATCHED);
  if (at < 0 || code.indexOf(UNPATCHED, at + 1) >= 0) {
    throw new Error(
      'qumri-niivue-gradient: NiiVue changed (refreshLayers no longer calls gradientGL as 0.69 did); review tools/vite-niivue-patch.ts',
    );
  }
  return code.slice(0, at) + PATCHED + code.slice(at + UNPATCHED.length);
}

const transform = (code: string, id: string): string | null => (FILE.test(id.split('?')[0]) ? patchNiivue(code) : null);

/** The plugin for `plugins` (production build, and dev requests that bypass pre-bundling). */
export function niivuePatchPlugin(): Plugin {
  return { name: 'qumri-niivue-gradient', enforce: 'pre', transform };
}

/** The same transform for the dev server's dependency pre-bundling (optimizeDeps.rolldownOptions.plugins). */
export const niivuePatchForDeps = { name: 'qumri-niivue-gradient-deps', transform };
