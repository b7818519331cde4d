// The scheme file `<model>.pockengine.json` as a real document: layer actions and presets become one
// WorkspaceEdit on its TextDocument (undoable with Ctrl+Z) and are saved; typing in the file, or changing
// it on disk, recompiles every open view of the model. An invalid file shows a problem in the Problems
// panel and the last valid scheme stays in effect.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LayerUpdate } from '../compiler/sparse/scheme';
import { parseSchemeText, SchemeError, type Scheme } from '../compiler/sparse/scheme';
import { minimalEdit, replaceSchemeKeepingExtras, schemePathFor, setLayerUpdate } from './schemeDocument';
import type { GraphEditorProvider } from './graphEditor';

export class SchemeController implements vscode.Disposable {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('pockengine-scheme');
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly editors: GraphEditorProvider, private readonly log: vscode.OutputChannel) {
    this.subs.push(
      this.diagnostics,
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length) this.schemeChanged(e.document.uri, e.document.getText());
      }),
      vscode.workspace.onDidOpenTextDocument((d) => this.schemeChanged(d.uri, d.getText())),
    );
    // Changes made outside VS Code (git checkout, a script): read from disk unless the document is open
    // (then its text, possibly unsaved, is what counts and onDidChangeTextDocument reports it).
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.pockengine.json');
    const fromDisk = async (uri: vscode.Uri, gone = false): Promise<void> => {
      if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString() && !d.isClosed)) return;
      if (gone) return this.schemeChanged(uri, null);
      try {
        this.schemeChanged(uri, Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8'));
      } catch {
        this.schemeChanged(uri, null);
      }
    };
    this.subs.push(watcher, watcher.onDidChange((u) => void fromDisk(u)), watcher.onDidCreate((u) => void fromDisk(u)), watcher.onDidDelete((u) => void fromDisk(u, true)));
  }

  dispose(): void {
    this.subs.forEach((s) => s.dispose());
  }

  schemeUri(modelUri: vscode.Uri): vscode.Uri {
    return vscode.Uri.file(schemePathFor(modelUri.fsPath));
  }

  /** Recompiles the open models whose scheme file this is. `text` null: the file is gone (default scheme). */
  private schemeChanged(uri: vscode.Uri, text: string | null): void {
    if (uri.scheme !== 'file' || !uri.fsPath.endsWith('.pockengine.json')) return;
    const docs = this.editors.documents().filter((d) => d.training && schemePathFor(d.uri.fsPath) === uri.fsPath);
    if (!docs.length) return;
    this.diagnostics.delete(uri);
    if (text !== null) {
      try {
        parseSchemeText(text);
      } catch (e) {
        const message = `${(e as Error).message}. The last valid scheme stays in effect.`;
        const line = /line (\d+)/.exec((e as Error).message);
        const at = line ? Number(line[1]) - 1 : 0;
        const d = new vscode.Diagnostic(new vscode.Range(at, 0, at, 1000), message, vscode.DiagnosticSeverity.Error);
        d.source = 'PockEngine';
        this.diagnostics.set(uri, [d]);
      }
    }
    for (const doc of docs) {
      const info = doc.training!.setSchemeText(text, text === null ? 'full (default: no scheme file)' : path.basename(uri.fsPath));
      this.log.appendLine(`${path.basename(doc.uri.fsPath)}: scheme ${info.schemeError ? `invalid (${info.schemeError})` : `applied, recompiled in ${info.compileMs} ms`}`);
    }
  }

  /** The scheme document's text now (open document, else disk), or null when there is no file. */
  private async currentText(uri: vscode.Uri): Promise<{ doc: vscode.TextDocument | null; text: string | null }> {
    try {
      const doc = await vscode.workspace.openTextDocument(uri);
      return { doc, text: doc.getText() };
    } catch {
      return { doc: null, text: null };
    }
  }

  /** Writes `next` over the scheme document as one undoable edit, creating the file if needed, and saves it. */
  private async write(modelUri: vscode.Uri, make: (text: string | null) => string): Promise<void> {
    const uri = this.schemeUri(modelUri);
    let { doc, text } = await this.currentText(uri);
    let next: string;
    try {
      next = make(text);
    } catch (e) {
      const msg = e instanceof SchemeError ? `${path.basename(uri.fsPath)}: ${e.message}. Fix the file, then try again.` : (e as Error).message;
      void vscode.window.showErrorMessage(`PockEngine: ${msg}`);
      return;
    }
    if (!doc) {
      const create = new vscode.WorkspaceEdit();
      create.createFile(uri, { ignoreIfExists: true });
      await vscode.workspace.applyEdit(create);
      ({ doc, text } = await this.currentText(uri));
      if (!doc) throw new Error(`could not create ${uri.fsPath}`);
    }
    const cur = doc.getText();
    const e = minimalEdit(cur, next);
    if (!e) return;
    const edit = new vscode.WorkspaceEdit();
    edit.replace(uri, new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset + e.length)), e.text);
    await vscode.workspace.applyEdit(edit);
    await doc.save();
  }

  async applyLayerUpdate(modelUri: vscode.Uri, layer: string, update: LayerUpdate): Promise<void> {
    await this.write(modelUri, (text) => setLayerUpdate(text, layer, update));
  }

  async applyScheme(modelUri: vscode.Uri, scheme: Scheme): Promise<void> {
    await this.write(modelUri, (text) => replaceSchemeKeepingExtras(text, scheme));
  }
}
