/** Minimal complex-number helpers for the gate table, the dense reference and the tests. */

export type Complex = readonly [re: number, im: number];
/** A square complex matrix, row-major rows of [re, im]. */
export type CMatrix = Complex[][];

export const c = (re: number, im = 0): Complex => [re, im];
export const cexp = (phase: number): Complex => [Math.cos(phase), Math.sin(phase)];

/** Matrix product A·B of square complex matrices. */
export function matmul(a: CMatrix, b: CMatrix): CMatrix {
  const n = a.length;
  const out: CMatrix = [];
  for (let i = 0; i < n; i++) {
    const row: Complex[] = [];
    for (let j = 0; j < n; j++) {
      let re = 0;
      let im = 0;
      for (let k = 0; k < n; k++) {
        const x = a[i][k];
        const y = b[k][j];
        re += x[0] * y[0] - x[1] * y[1];
        im += x[0] * y[1] + x[1] * y[0];
      }
      row.push([re, im]);
    }
    out.push(row);
  }
  return out;
}

/** Conjugate transpose. */
export function dagger(a: CMatrix): CMatrix {
  return a.map((_, i) => a.map((row) => [row[i][0], -row[i][1]] as Complex));
}

/** Identity of size d. */
export function identity(d: number): CMatrix {
  return Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => c(i === j ? 1 : 0)));
}

/** Largest entry-wise modulus of A − B. */
export function maxDiff(a: CMatrix, b: CMatrix): number {
  let m = 0;
  a.forEach((row, i) =>
    row.forEach((x, j) => {
      m = Math.max(m, Math.hypot(x[0] - b[i][j][0], x[1] - b[i][j][1]));
    }),
  );
  return m;
}
