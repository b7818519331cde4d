// Shapes whose dimensions may be symbolic. A dimension is a non-negative integer, or a string that names
// it (a `dim_param` such as "batch", or a name shape inference made up such as "unk_3"). A shape of
// `null` means even the rank is unknown.

export type Dim = number | string;
export type Shape = Dim[] | null;

export function isStatic(shape: Shape): shape is number[] {
  return shape !== null && shape.every((d) => typeof d === 'number');
}

/** Number of elements, or null when some dimension is symbolic. */
export function numElements(shape: Shape): number | null {
  if (!isStatic(shape)) return null;
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeToString(shape: Shape): string {
  return shape === null ? '?' : `[${shape.join(', ')}]`;
}

export function dimsEqual(a: Dim, b: Dim): boolean {
  return a === b;
}
