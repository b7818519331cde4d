// Colours from the VS Code theme: the webview gets the theme as CSS variables (--vscode-*), which canvas
// drawing cannot use directly, so they are read here and turned into a cytoscape stylesheet. Re-read when
// VS Code switches theme (it rewrites the variables and the body class).

export interface Palette {
  background: string;
  foreground: string;
  muted: string;
  border: string;
  groupFill: string;
  groupOpenFill: string;
  focus: string;
  error: string;
  edge: string;
  ioFill: string;
  /** Underlay of items linked to the selection in another tab. */
  linked: string;
  categories: Record<OpCategory, string>;
  /** Colours of a device's units, by the unit's position in its profile (CPU first, then GPU, ...). */
  units: string[];
  font: string;
}

/** A unit's colour: its position in the profile's list of units (stable when the device changes). */
export function unitColor(p: Palette, index: number): string {
  return p.units[(index < 0 ? 0 : index) % p.units.length];
}

export type OpCategory = 'conv' | 'matmul' | 'norm' | 'activation' | 'elementwise' | 'shape' | 'pool' | 'reduce' | 'other';

const CATEGORY: [RegExp, OpCategory][] = [
  [/^(Conv|ConvTranspose|ConvInteger|QLinearConv)$/, 'conv'],
  [/^(MatMul|Gemm|MatMulInteger|QLinearMatMul|Einsum)$/, 'matmul'],
  [/Normalization$|^(LRN|SimplifiedLayerNormalization|SkipLayerNormalization)$/, 'norm'],
  [/^(Relu|LeakyRelu|PRelu|Clip|Sigmoid|HardSigmoid|HardSwish|Tanh|Gelu|Erf|Softmax|LogSoftmax|Elu|Selu|Celu|Mish|Softplus|Softsign|ThresholdedRelu)$/, 'activation'],
  [/^(Add|Sub|Mul|Div|Pow|Sqrt|Neg|Exp|Log|Abs|Reciprocal|Where|Equal|Less|Greater|And|Or|Not|Max|Min|Mod|Sin|Cos|Floor|Ceil|Round|Sign)$/, 'elementwise'],
  [/^(Reshape|Transpose|Flatten|Squeeze|Unsqueeze|Concat|Split|Slice|Gather|GatherElements|Expand|Shape|Cast|Identity|Tile|Pad|Range|Size|ConstantOfShape|ScatterND|Trilu|Dropout)$/, 'shape'],
  [/Pool$/, 'pool'],
  [/^Reduce|^(ArgMax|ArgMin|CumSum|TopK)$/, 'reduce'],
];

export function opCategory(opType: string): OpCategory {
  for (const [re, c] of CATEGORY) if (re.test(opType)) return c;
  return 'other';
}

export function readPalette(): Palette {
  const cs = getComputedStyle(document.body);
  const v = (name: string, fallback: string): string => cs.getPropertyValue(name).trim() || fallback;
  return {
    background: v('--vscode-editor-background', '#1e1e1e'),
    foreground: v('--vscode-editor-foreground', '#d4d4d4'),
    muted: v('--vscode-descriptionForeground', '#9d9d9d'),
    border: v('--vscode-panel-border', '#555555'),
    groupFill: v('--vscode-editorWidget-background', '#252526'),
    groupOpenFill: v('--vscode-sideBar-background', '#1b1b1c'),
    focus: v('--vscode-focusBorder', '#007fd4'),
    error: v('--vscode-editorError-foreground', '#f14c4c'),
    edge: v('--vscode-editorLineNumber-foreground', '#858585'),
    ioFill: v('--vscode-charts-green', '#89d185'),
    linked: v('--vscode-charts-orange', '#d18616'),
    categories: {
      conv: v('--vscode-charts-blue', '#3794ff'),
      matmul: v('--vscode-charts-purple', '#b180d7'),
      norm: v('--vscode-charts-yellow', '#cca700'),
      activation: v('--vscode-charts-orange', '#d18616'),
      elementwise: v('--vscode-terminal-ansiCyan', '#11a8cd'),
      shape: v('--vscode-disabledForeground', '#8b949e'),
      pool: v('--vscode-charts-green', '#89d185'),
      reduce: v('--vscode-terminal-ansiMagenta', '#bc3fbc'),
      other: v('--vscode-charts-foreground', '#cccccc'),
    },
    // Blue and orange first: the pair most readers tell apart, in dark and light themes alike.
    units: [
      v('--vscode-charts-blue', '#3794ff'), v('--vscode-charts-orange', '#d18616'), v('--vscode-charts-purple', '#b180d7'),
      v('--vscode-charts-green', '#89d185'), v('--vscode-charts-red', '#f14c4c'), v('--vscode-charts-yellow', '#cca700'),
    ],
    font: v('--vscode-font-family', 'system-ui, sans-serif'),
  };
}

/** Calls back when the theme changes (VS Code swaps the body class and the --vscode-* variables). */
export function onThemeChange(cb: () => void): void {
  const obs = new MutationObserver(() => cb());
  obs.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });
}
