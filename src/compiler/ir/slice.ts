// ONNX Slice's clamping rules for one axis, in one place: the reference runtime's SliceGrad, the ONNX
// lowering of SliceGrad and the code generators all index the same elements.

/** First index and element count that Slice(start, end, step) takes along an axis of length `dim`. */
export function sliceRange(dim: number, start: number, end: number, step: number): { first: number; count: number } {
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
  } else {
    s = clamp(s, 0, dim - 1);
    e = clamp(e, -1, dim - 1);
  }
  const count = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
  return { first: s, count };
}

/** The indices themselves, in the order Slice takes them. */
export function sliceIndices(dim: number, start: number, end: number, step: number): number[] {
  const { first, count } = sliceRange(dim, start, end, step);
  return Array.from({ length: count }, (_, i) => first + i * step);
}
