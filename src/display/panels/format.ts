/** Number formatting shared by the panels. */
export function fmt(v: number, digits = 2): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toFixed(digits)).toString();
}
