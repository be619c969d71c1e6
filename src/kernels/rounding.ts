/** Round half to even, as ONNX QuantizeLinear and IEEE default rounding do (Math.round rounds half up). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
