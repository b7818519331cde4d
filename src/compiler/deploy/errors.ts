// A deploy step that failed for a reason the user can fix (unknown host key, unreachable host, refused
// key, missing remote tool). `kind` lets the VS Code side react (e.g. offer to trust a new host key).

import { ModelError } from '../onnx/errors';

export type SshErrorKind = 'unknown-host-key' | 'changed-host-key' | 'unreachable' | 'auth' | 'timeout' | 'remote' | 'local';

export class SshError extends ModelError {
  constructor(message: string, readonly kind: SshErrorKind, readonly target: string, readonly stderr = '') {
    super(message);
    this.name = 'SshError';
  }
}
