/** The quantum layer's circuit as an SVG: one wire per qubit (q0 on top), gates with bound angles. */
import type { CircuitView, DrawnOp } from '../../core/head/circuit-view.ts';

const COL = 64;
const ROW = 40;
const PAD = 36;

/** Greedy column layout: each gate goes right after the last gate on any wire it spans. */
export function layoutColumns(ops: DrawnOp[], nQubits: number): number[] {
  const next = new Array<number>(nQubits).fill(0);
  return ops.map((op) => {
    const lo = Math.min(...op.qubits),
      hi = Math.max(...op.qubits);
    let col = 0;
    for (let q = lo; q <= hi; q++) col = Math.max(col, next[q]);
    for (let q = lo; q <= hi; q++) next[q] = col + 1;
    return col;
  });
}

const fmtAngle = (a: number) => (Math.abs(a) < 10 ? a.toFixed(2) : a.toExponential(1));

function Gate({ op, x }: { op: DrawnOp; x: number }) {
  const y = (q: number) => PAD / 2 + q * ROW;
  if (op.name === 'cx' || op.name === 'cz' || op.name === 'swap') {
    const [c, t] = op.qubits;
    return (
      <g className="gate">
        <line x1={x} x2={x} y1={y(c)} y2={y(t)} stroke="currentColor" />
        <circle cx={x} cy={y(c)} r={4} fill="currentColor" />
        {op.name === 'cx' ? (
          <g>
            <circle cx={x} cy={y(t)} r={9} fill="none" stroke="currentColor" />
            <line x1={x - 9} x2={x + 9} y1={y(t)} y2={y(t)} stroke="currentColor" />
            <line x1={x} x2={x} y1={y(t) - 9} y2={y(t) + 9} stroke="currentColor" />
          </g>
        ) : (
          <circle cx={x} cy={y(t)} r={4} fill="currentColor" />
        )}
      </g>
    );
  }
  const lo = Math.min(...op.qubits),
    hi = Math.max(...op.qubits);
  const label = op.name === 'amplitude' ? 'Amp' : op.name.toUpperCase();
  const title = `${op.name}(${op.angles.map((a) => a.toFixed(4)).join(', ')}) on q${op.qubits.join(', q')}`;
  return (
    <g className="gate">
      <title>{title}</title>
      <rect
        x={x - COL / 2 + 4}
        y={y(lo) - 14}
        width={COL - 8}
        height={y(hi) - y(lo) + 28}
        rx={3}
        className="gate-box"
      />
      <text x={x} y={(y(lo) + y(hi)) / 2 - (op.angles.length ? 2 : -4)} textAnchor="middle" fontSize={11}>
        {label}
      </text>
      {op.angles.length > 0 && (
        <text x={x} y={(y(lo) + y(hi)) / 2 + 10} textAnchor="middle" fontSize={9}>
          {op.angles.map(fmtAngle).join(',')}
        </text>
      )}
    </g>
  );
}

export function CircuitDiagram({ view }: { view: CircuitView }) {
  const cols = layoutColumns(view.ops, view.nQubits);
  const width = PAD * 2 + (Math.max(0, ...cols) + 1) * COL;
  const height = PAD + (view.nQubits - 1) * ROW;
  return (
    <div className="circuit-scroll">
      <svg
        data-testid="circuit-svg"
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`circuit with ${view.ops.length} gates on ${view.nQubits} qubits`}
      >
        {Array.from({ length: view.nQubits }, (_, q) => (
          <g key={q}>
            <text x={4} y={PAD / 2 + q * ROW + 4} fontSize={11}>
              q{q}
            </text>
            <line
              x1={PAD - 8}
              x2={width - 8}
              y1={PAD / 2 + q * ROW}
              y2={PAD / 2 + q * ROW}
              stroke="currentColor"
              strokeOpacity={0.5}
            />
          </g>
        ))}
        {view.ops.map((op, i) => (
          <Gate key={i} op={op} x={PAD + cols[i] * COL + COL / 2} />
        ))}
      </svg>
    </div>
  );
}
