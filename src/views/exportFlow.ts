// The Export for device… flow without VS Code: where the export goes by default, the question asked
// before an earlier export is replaced, and one run of the export API with progress, cancellation and the
// compiler's log. exportCommand.ts supplies the dialogs; the test supplies answers. The export API itself
// is atomic (a temporary folder renamed into place), so a cancelled or failed run leaves the old export.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultOutDir, EXPORT_TARGETS, exportTraining, targetProfile, type ExportFormat, type ExportOptions, type ExportResult, type ExportTarget } from '../compiler/export/exportTraining';
import { schemePathFor } from './schemeDocument';

export { EXPORT_TARGETS, targetProfile, type ExportFormat, type ExportTarget };

export const EXPORT_FORMATS: { format: ExportFormat; label: string; detail: string }[] = [
  { format: 'binary', label: 'Binary', detail: 'C sources, weights, manifest and the built `train` binary (needs the target\'s C compiler)' },
  { format: 'c', label: 'C sources', detail: 'C sources, Makefile, weights and manifest; build on the device with `make`' },
  { format: 'onnx', label: 'ONNX training step', detail: 'one ONNX model (data, labels, parameters, optimizer state → loss and updated values) plus the C sources' },
];

/** The default output folder: beside the model, named after it and the target (as the CLI names it). */
export function defaultExportFolder(model: string, target: string): string {
  return defaultOutDir(model, target);
}

/** An earlier export sits there (a non-empty folder), so replacing it must be asked. */
export function holdsExport(out: string): boolean {
  try {
    return fs.statSync(out).isDirectory() && fs.readdirSync(out).length > 0;
  } catch {
    return false;
  }
}

/** The modal question before an earlier export is replaced. */
export function overwriteQuestion(out: string): string {
  const manifest = path.join(out, 'manifest.json');
  let what = 'files';
  try {
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { target?: string; format?: string; model?: { name?: string } };
    what = `an export of ${m.model?.name ?? 'a model'} for ${m.target ?? 'a device'} (${m.format ?? 'unknown format'})`;
  } catch {
    // not an export of ours, or an unreadable manifest: say "files"
  }
  return `${out} already holds ${what}. Replace it? The new export is written completely first; the old one is removed only when the new one is in place.`;
}

/** The scheme the export uses: the one in effect in the open editor, else the scheme file beside the model, else full. */
export function exportScheme(model: string, inEffect?: ExportOptions['scheme']): ExportOptions['scheme'] {
  if (inEffect) return inEffect;
  const file = schemePathFor(model);
  return fs.existsSync(file) ? file : 'full';
}

export interface ExportRequest {
  model: string;
  target: ExportTarget;
  format: ExportFormat;
  out: string;
  scheme?: ExportOptions['scheme'];
  /** The Backends view's unit overrides, when they were made for this target's device. */
  backendOverrides?: ExportOptions['backendOverrides'];
}

export interface ExportUi {
  /** The modal question; true: replace. */
  confirmOverwrite(question: string): Promise<boolean>;
  progress(message: string): void;
  log(line: string): void;
  signal?: AbortSignal;
}

export type ExportOutcome =
  | { kind: 'done'; result: ExportResult; summary: string; warning?: string }
  | { kind: 'declined'; summary: string }
  | { kind: 'cancelled'; summary: string }
  | { kind: 'failed'; summary: string };

export async function runExportFlow(req: ExportRequest, ui: ExportUi): Promise<ExportOutcome> {
  const out = path.resolve(req.out);
  let overwrite = false;
  if (holdsExport(out)) {
    if (!(await ui.confirmOverwrite(overwriteQuestion(out)))) return { kind: 'declined', summary: `Export not written: ${out} was kept as it is.` };
    overwrite = true;
  }
  ui.log(`=== export ${path.basename(req.model)} for ${req.target} (${req.format}) -> ${out}`);
  const ov = req.backendOverrides;
  if (ov && ((ov.layers?.length ?? 0) + Object.keys(ov.ops ?? {}).length) > 0) ui.log('backend overrides from the Backends view are applied');
  try {
    const result = await exportTraining(
      { model: req.model, target: req.target, format: req.format, out, overwrite, scheme: exportScheme(req.model, req.scheme), backendOverrides: req.backendOverrides },
      { signal: ui.signal, onProgress: (p) => { ui.progress(p.message); ui.log(`[${p.stage}] ${p.message}`); } },
    );
    for (const l of result.log) for (const line of l.split('\n')) if (line.trim()) ui.log(line);
    ui.log(`wrote ${result.files.length} files to ${result.out}; plan peak ${result.manifest.plan.peakBytes} bytes`);
    const summary = `Exported ${path.basename(req.model)} for ${req.target} to ${result.out}${result.binary ? ' (binary built)' : ''}.`;
    if (result.buildSkipped) return { kind: 'done', result, summary, warning: `The sources are written, but no binary was built: ${result.buildSkipped}` };
    return { kind: 'done', result, summary };
  } catch (e) {
    const message = (e as Error).message;
    ui.log(`export failed: ${message}`);
    if (ui.signal?.aborted) return { kind: 'cancelled', summary: `Export cancelled; ${holdsExport(out) ? 'the previous export in ' + out + ' is unchanged' : 'nothing was written'}.` };
    return { kind: 'failed', summary: `Export failed: ${message}` };
  }
}
