// A long run prints millions of steps; the Run panel (host and webview) keeps at most MAX_POINTS of them,
// evenly spaced over the whole run: every stride-th step is kept, and the stride doubles (dropping every
// other kept point) whenever the curve would grow past the limit. The newest step is always shown too.
// Memory and drawing stay bounded while the curve keeps its shape. Free of `vscode`.

export const MAX_POINTS = 4000;

export class PointThinner<T> {
  private kept: T[] = [];
  private stride = 1;
  private count = 0;
  private newest: T | undefined;

  constructor(private readonly max = MAX_POINTS) {}

  add(p: T): void {
    if (this.count % this.stride === 0) this.kept.push(p);
    this.count++;
    this.newest = p;
    // Kept points are arrivals 0, s, 2s, ...: keeping every other one leaves 0, 2s, 4s, ... (the new stride).
    while (this.kept.length > this.max) {
      this.stride *= 2;
      this.kept = this.kept.filter((_, i) => i % 2 === 0);
    }
  }

  /** Points received so far. */
  get received(): number {
    return this.count;
  }

  /** The evenly thinned curve, ending with the newest point. */
  points(): T[] {
    const last = this.kept[this.kept.length - 1];
    return this.newest !== undefined && last !== this.newest ? [...this.kept, this.newest] : this.kept.slice();
  }
}
