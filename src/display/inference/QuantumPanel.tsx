/** The quantum layer for this scan (the one picked when the head has several): circuit with bound angles, ⟨Z⟩/⟨X⟩, the basis-state histogram (exact or seeded shots), OpenQASM 3 download. */
import { useEffect, useState } from 'react';
import { useStore } from '../store/index.ts';
import * as bridge from './bridge.ts';
import { CircuitDiagram } from './CircuitDiagram.tsx';
import { WrappingSelect } from '../panels/WrappingSelect.tsx';
import type { QuantumDetails } from '../../core/head/kernel-engine.ts';
import type { CircuitView } from '../../core/head/circuit-view.ts';

type Details = QuantumDetails & { view: CircuitView };

function Histogram({ probs, n }: { probs: number[]; n: number }) {
  const W = 300,
    H = 100,
    bw = W / probs.length;
  return (
    <svg
      data-testid="prob-histogram"
      className="histogram"
      width={W}
      height={H + 16}
      viewBox={`0 0 ${W} ${H + 16}`}
      role="img"
      aria-label="basis-state probabilities"
    >
      {probs.map((p, i) => (
        <g key={i}>
          <title>{`|${i.toString(2).padStart(n, '0')}⟩: ${p.toFixed(4)}`}</title>
          <rect x={i * bw + 1} y={H - p * H} width={Math.max(1, bw - 2)} height={p * H} className="hist-bar" />
          {probs.length <= 16 && (
            <text x={i * bw + bw / 2} y={H + 12} fontSize={9} textAnchor="middle">
              {i.toString(2).padStart(n, '0')}
            </text>
          )}
        </g>
      ))}
    </svg>
  );
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function QuantumPanel() {
  const runs = useStore((s) => s.runs);
  const scanVersion = useStore((s) => s.scanVersion);
  const shots = useStore((s) => s.shots);
  const setShots = useStore((s) => s.setShots);
  const run = runs.find((r) => r.scanVersion === scanVersion && r.result.quantum.length > 0);
  const [details, setDetails] = useState<Details | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Which quantum layer is shown when the head has several (index among the quantum layers).
  const [picked, setPicked] = useState(0);
  const nLayers = run?.result.quantum.length ?? 0;
  const layer = picked < nLayers ? picked : 0;
  const input = run?.result.quantum[layer]?.input;

  useEffect(() => {
    setDetails(null);
    setError(null);
    if (!run || !input) return;
    let live = true;
    bridge
      .quantumDetails(
        run.modelId,
        input,
        shots.mode === 'shots' ? { count: shots.count, seed: shots.seed } : null,
        layer,
      )
      .then(
        (d) => live && setDetails(d),
        (e: Error) => live && setError(e.message),
      );
    return () => {
      live = false;
    };
  }, [run, input, layer, shots.mode, shots.count, shots.seed]);

  if (!run) {
    return (
      <section className="panel" data-testid="quantum-panel">
        <h2>Quantum layer</h2>
        <p className="muted">Appears after classification with a quantum model.</p>
      </section>
    );
  }
  const n = details?.view.nQubits ?? 0;
  const layerName = (i: number) =>
    `quantum layer ${i + 1} of ${nLayers} (${run.result.quantum[i].input.length} inputs → ${run.result.quantum[i].outputs.length} outputs)`;
  return (
    <section className="panel" data-testid="quantum-panel">
      <h2>Quantum layer</h2>
      {nLayers > 1 && (
        <div className="field">
          <label htmlFor="quantum-layer">Layer</label>
          <WrappingSelect
            id="quantum-layer"
            data-testid="quantum-layer-select"
            text={layerName(layer)}
            value={layer}
            onChange={(e) => setPicked(Number(e.target.value))}
          >
            {run.result.quantum.map((_, i) => (
              <option key={i} value={i}>
                {layerName(i)}
              </option>
            ))}
          </WrappingSelect>
        </div>
      )}
      <p className="small">
        Input angles for this scan: [
        {Array.from(input ?? [])
          .map((v) => v.toFixed(3))
          .join(', ')}
        ] · readout {details?.view.readout ?? '…'} ={' '}
        <span data-testid="quantum-readout">{details?.readout.map((v) => v.toFixed(4)).join(', ')}</span>
      </p>
      <div className="shots-toggle">
        <label>
          <input
            type="radio"
            name="shots"
            data-testid="mode-exact"
            checked={shots.mode === 'exact'}
            onChange={() => setShots({ mode: 'exact' })}
          />{' '}
          Exact (statevector)
        </label>
        <label>
          <input
            type="radio"
            name="shots"
            data-testid="mode-shots"
            checked={shots.mode === 'shots'}
            onChange={() => setShots({ mode: 'shots' })}
          />{' '}
          Shots
        </label>
        {shots.mode === 'shots' && (
          <>
            <input
              type="number"
              min={1}
              max={1_000_000}
              value={shots.count}
              data-testid="shots-count"
              onChange={(e) => setShots({ count: Math.max(1, Math.floor(Number(e.target.value)) || 1) })}
            />
            <label>
              seed{' '}
              <input
                type="number"
                value={shots.seed}
                data-testid="shots-seed"
                onChange={(e) => setShots({ seed: Math.floor(Number(e.target.value)) || 0 })}
              />
            </label>
          </>
        )}
      </div>
      {error && (
        <p className="warn" role="alert">
          {error}
        </p>
      )}
      {details && (
        <>
          <CircuitDiagram view={details.view} />
          <table className="expectations" data-testid="expectations">
            <thead>
              <tr>
                <th>qubit</th>
                <th>⟨Z⟩</th>
                <th>⟨X⟩</th>
              </tr>
            </thead>
            <tbody>
              {details.z.map((z, q) => (
                <tr key={q}>
                  <td>q{q}</td>
                  <td>{z.toFixed(4)}</td>
                  <td>{details.x[q].toFixed(4)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Histogram probs={details.probabilities} n={n} />
          <p className="muted small">
            {details.shots ? `${details.shots} shots, seed ${shots.seed}` : 'Exact probabilities'}; qubit 0 is the
            rightmost bit.
          </p>
          <button
            type="button"
            data-testid="qasm-download"
            onClick={() =>
              download(nLayers > 1 ? `${run.modelId}-quantum${layer + 1}.qasm` : `${run.modelId}.qasm`, details.qasm)
            }
          >
            Download OpenQASM 3
          </button>
          <pre className="qasm" data-testid="qasm-text" hidden>
            {details.qasm}
          </pre>
        </>
      )}
    </section>
  );
}
