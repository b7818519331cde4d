// Types for codeServer.mjs, which plain-node scripts (npm start) and the TypeScript e2e test share.
import type { ChildProcess } from 'node:child_process';

export const CODE_SERVER_VERSION: string;
export const repoRoot: string;
export function toolsDir(): string;
export function codeServerDir(): string;
export function codeServerEntry(): string;
export function ensureCodeServer(opts?: { log?: (message: string) => void }): Promise<string>;
export function freePort(): Promise<number>;
export function installExtension(vsix: string, dirs: { extensionsDir: string; userDataDir: string }): string;

export interface CodeServer {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
  output(): string;
}
export function startCodeServer(opts: {
  port: number;
  extensionsDir: string;
  userDataDir: string;
  folder?: string;
  settings?: Record<string, unknown>;
  onOutput?: (chunk: string) => void;
  timeoutMs?: number;
}): Promise<CodeServer>;
export function workbenchUrl(base: string, folder: string): string;
export function stopProcessGroup(child: ChildProcess): Promise<void>;
export function openInWindow(file: string, dirs: { userDataDir: string }): Promise<boolean>;
