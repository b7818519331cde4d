// The Python that serves PyTorch baselines: Debian's python3-torch lives under /usr/bin/python3, which a
// pyenv or venv `python3` earlier on PATH would hide.
import { spawnSync } from 'node:child_process';

let found: string | null | undefined;

export function torchPython(): string | null {
  if (found !== undefined) return found;
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
    if (r.status === 0) return (found = py);
  }
  return (found = null);
}
