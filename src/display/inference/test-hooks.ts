/**
 * window.qumriInference, the page's one console/test handle: the e2e tests lose the WebGPU device
 * (between or during runs) through it, bench/e2e.ts times the backbone, the float16 e2e feeds
 * bundles' reference inputs (floats no PNG can carry) through the slice panel's path, and the adapt
 * e2e holds an adaptation where its fine-tuning starts, to cancel it there. Installed in
 * production builds too, since the e2e tests and the benchmark drive the built page (vite preview).
 */
import * as bridge from './bridge.ts';

export function installTestHooks(): void {
  Object.assign(window, {
    qumriInference: {
      loseWebGpuDevice: bridge.loseDevice,
      armWebGpuDeviceLoss: bridge.armDeviceLoss,
      webGpuDeviceLossReport: bridge.deviceLossReport,
      benchBackbone: bridge.benchBackbone,
      holdNextAdaptation: bridge.holdNextAdaptation,
      classifySliceInput: async (modelId: string, input: ArrayLike<number>) => {
        const { result } = await bridge.classifySliceInput(modelId, Float32Array.from(input));
        return { probability: result.probability, backend: result.backend };
      },
    },
  });
}
