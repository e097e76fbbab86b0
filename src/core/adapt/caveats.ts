/**
 * What adaptation does not change and a site should hear before it relies on the adapted model: the
 * guard's checks (src/core/guard) that will still withhold its class. The frozen backbone's features
 * stay what they were, so so does the OOD verdict on each scan; and a model that failed its real-scan
 * checks keeps that record, as the adapted head has not been measured on those scans.
 */
import type { Manifest } from '../bundle/manifest.ts';
import { oodScore } from '../guard/ood.ts';
import type { LabelledScan } from './samples.ts';

export function adaptationCaveats(
  manifest: Pick<Manifest, 'id' | 'ood' | 'real_scans'>,
  scans: readonly LabelledScan[],
): string[] {
  const caveats: string[] = [];
  const fails = manifest.real_scans?.fails ?? [];
  if (fails.length) {
    caveats.push(
      `${manifest.id} fails its checks on real scans (${fails.join('; ')}); the adapted model keeps that record, so its class is withheld on every scan but the demo phantoms (classify --no-model-check measures it)`,
    );
  }
  const { ood } = manifest;
  if (ood) {
    const out = scans.filter((s) => oodScore(s.features, ood) > ood.threshold);
    if (out.length) {
      const names =
        out
          .slice(0, 5)
          .map((s) => s.name)
          .join(', ') + (out.length > 5 ? ', …' : '');
      caveats.push(
        `${out.length} of ${scans.length} scans are unlike the model's training scans (OOD score above ${ood.threshold.toFixed(3)}: ${names}); adaptation does not change the backbone's features, so such scans' class stays withheld`,
      );
    }
  }
  return caveats;
}
