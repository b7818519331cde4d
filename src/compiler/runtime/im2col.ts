// Convolution geometry and the im2col / col2im transforms that turn a convolution into one GEMM per
// image and group. 1-D and 2-D convolutions run as 3-D ones with leading spatial dims of size 1.

export interface ConvGeometry {
  /** Spatial sizes of the input, e.g. [H, W]. */
  inSpatial: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
  outSpatial: number[];
}

export interface ConvAttrs {
  strides?: number[];
  dilations?: number[];
  /** ONNX layout: all begins, then all ends. */
  pads?: number[];
  autoPad?: string;
}

/** Padding for auto_pad SAME_UPPER/SAME_LOWER: the output is ceil(in / stride). */
export function samePads(inSize: number, k: number, s: number, d: number, upper: boolean): [number, number, number] {
  const out = Math.ceil(inSize / s);
  const total = Math.max(0, (out - 1) * s + (k - 1) * d + 1 - inSize);
  const small = Math.floor(total / 2);
  return upper ? [small, total - small, out] : [total - small, small, out];
}

export function convGeometry(inSpatial: number[], kernel: number[], a: ConvAttrs): ConvGeometry {
  const r = inSpatial.length;
  const strides = a.strides ?? new Array<number>(r).fill(1);
  const dilations = a.dilations ?? new Array<number>(r).fill(1);
  const pads = a.pads ?? new Array<number>(2 * r).fill(0);
  const autoPad = a.autoPad ?? 'NOTSET';
  const padsBegin: number[] = [];
  const padsEnd: number[] = [];
  const outSpatial: number[] = [];
  for (let i = 0; i < r; i++) {
    const ek = (kernel[i] - 1) * dilations[i] + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const [b, e, o] = samePads(inSpatial[i], kernel[i], strides[i], dilations[i], autoPad === 'SAME_UPPER');
      padsBegin.push(b);
      padsEnd.push(e);
      outSpatial.push(o);
    } else {
      const b = autoPad === 'VALID' ? 0 : pads[i];
      const e = autoPad === 'VALID' ? 0 : pads[i + r];
      padsBegin.push(b);
      padsEnd.push(e);
      outSpatial.push(Math.floor((inSpatial[i] + b + e - ek) / strides[i]) + 1);
    }
    if (outSpatial[i] <= 0) throw new Error(`the kernel (${kernel[i]}, dilation ${dilations[i]}) is larger than the padded input (${inSpatial[i]}) on spatial axis ${i}`);
  }
  return { inSpatial, kernel, strides, dilations, padsBegin, padsEnd, outSpatial };
}

/** The geometry as exactly three spatial dims (leading ones of size 1 added). */
export function lift3(g: ConvGeometry): ConvGeometry {
  const r = g.inSpatial.length;
  if (r === 3) return g;
  if (r > 3) throw new Error(`convolutions over ${r} spatial dims are not supported (at most 3)`);
  const pad = <T>(xs: T[], v: T): T[] => [...new Array<T>(3 - r).fill(v), ...xs];
  return {
    inSpatial: pad(g.inSpatial, 1), kernel: pad(g.kernel, 1), strides: pad(g.strides, 1), dilations: pad(g.dilations, 1),
    padsBegin: pad(g.padsBegin, 0), padsEnd: pad(g.padsEnd, 0), outSpatial: pad(g.outSpatial, 1),
  };
}

/**
 * col[(c·KD·KH·KW + kd·KH·KW + kh·KW + kw), (od·OH·OW + oh·OW + ow)] = x[c, id, ih, iw] (0 in the padding).
 * x holds C images' channels starting at xOff; col must hold C·prod(kernel)·prod(outSpatial) elements.
 */
export function im2col(x: Float32Array, xOff: number, C: number, geo: ConvGeometry, col: Float32Array): void {
  const g = lift3(geo);
  const [D, H, W] = g.inSpatial;
  const [KD, KH, KW] = g.kernel;
  const [sd, sh, sw] = g.strides;
  const [dd, dh, dw] = g.dilations;
  const [pd, ph, pw] = g.padsBegin;
  const [OD, OH, OW] = g.outSpatial;
  const cols = OD * OH * OW;
  let row = 0;
  for (let c = 0; c < C; c++) {
    const xc = xOff + c * D * H * W;
    for (let kd = 0; kd < KD; kd++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++, row++) {
      let o = row * cols;
      // Output columns whose input index iw = ow·sw − pw + kw·dw falls inside [0, W).
      const wOff = kw * dw - pw;
      const owLo = Math.max(0, Math.ceil(-wOff / sw));
      const owHi = Math.min(OW, Math.floor((W - 1 - wOff) / sw) + 1);
      for (let od = 0; od < OD; od++) {
        const id = od * sd - pd + kd * dd;
        for (let oh = 0; oh < OH; oh++, o += OW) {
          const ih = oh * sh - ph + kh * dh;
          if (id < 0 || id >= D || ih < 0 || ih >= H || owLo >= owHi) {
            col.fill(0, o, o + OW);
            continue;
          }
          const base = xc + (id * H + ih) * W + wOff;
          if (owLo > 0) col.fill(0, o, o + owLo);
          if (sw === 1) for (let ow = owLo; ow < owHi; ow++) col[o + ow] = x[base + ow];
          else for (let ow = owLo; ow < owHi; ow++) col[o + ow] = x[base + ow * sw];
          if (owHi < OW) col.fill(0, o + Math.max(owHi, 0), o + OW);
        }
      }
    }
  }
}

/** The adjoint of im2col: adds each col entry into x[c, id, ih, iw] (entries in the padding are dropped). */
export function col2im(col: Float32Array, C: number, geo: ConvGeometry, x: Float32Array, xOff: number): void {
  const g = lift3(geo);
  const [D, H, W] = g.inSpatial;
  const [KD, KH, KW] = g.kernel;
  const [sd, sh, sw] = g.strides;
  const [dd, dh, dw] = g.dilations;
  const [pd, ph, pw] = g.padsBegin;
  const [OD, OH, OW] = g.outSpatial;
  const cols = OD * OH * OW;
  let row = 0;
  for (let c = 0; c < C; c++) {
    const xc = xOff + c * D * H * W;
    for (let kd = 0; kd < KD; kd++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++, row++) {
      let o = row * cols;
      const wOff = kw * dw - pw;
      const owLo = Math.max(0, Math.ceil(-wOff / sw));
      const owHi = Math.min(OW, Math.floor((W - 1 - wOff) / sw) + 1);
      for (let od = 0; od < OD; od++) {
        const id = od * sd - pd + kd * dd;
        for (let oh = 0; oh < OH; oh++, o += OW) {
          const ih = oh * sh - ph + kh * dh;
          if (id < 0 || id >= D || ih < 0 || ih >= H) continue;
          const base = xc + (id * H + ih) * W + wOff;
          for (let ow = owLo; ow < owHi; ow++) x[base + ow * sw] += col[o + ow];
        }
      }
    }
  }
}
