// Atomic output folders: an export is built in a temporary folder beside its target and renamed into
// place only when complete, so a cancelled or failed export leaves the previous one exactly as it was.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../onnx/errors';

/** A fresh temporary folder beside `target` (same file system, so the final rename is atomic). */
export function tempBeside(target: string): string {
  const parent = path.dirname(path.resolve(target));
  fs.mkdirSync(parent, { recursive: true });
  return fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.partial-`));
}

/** Refuses an existing non-empty target unless overwrite is set. */
export function checkTarget(target: string, overwrite: boolean): void {
  if (!fs.existsSync(target)) return;
  if (!fs.statSync(target).isDirectory()) throw new ModelError(`${target} exists and is not a folder; choose another output folder`);
  if (!overwrite && fs.readdirSync(target).length > 0) throw new ModelError(`${target} already holds an export; pass overwrite (--overwrite) to replace it`);
}

/** Moves the finished `temp` folder to `target`, replacing it (the old one is removed only after the swap). */
export function commitDir(temp: string, target: string): void {
  const abs = path.resolve(target);
  if (fs.existsSync(abs)) {
    const old = `${temp}.old`;
    fs.renameSync(abs, old);
    try {
      fs.renameSync(temp, abs);
    } catch (e) {
      fs.renameSync(old, abs);
      throw e;
    }
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(temp, abs);
  }
}

export function discardDir(temp: string): void {
  fs.rmSync(temp, { recursive: true, force: true });
}
