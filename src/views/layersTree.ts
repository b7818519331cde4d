// The Layers view: the layer hierarchy of the model in the active graph editor, with operator and
// parameter counts. Clicking a layer reveals it in the graph; selecting a layer in the graph reveals it
// here. Each layer has a checkbox (checked: something in it trains under the scheme) and a context menu
// with the layer updates; both edit the scheme document (see schemeController.ts).

import * as vscode from 'vscode';
import type { LayerTree } from '../compiler/ir/layers';
import { nodesUnder, paramsUnder } from '../compiler/ir/layers';
import { layerLabel } from '../compiler/view/graphIndex';
import type { GraphEditorProvider } from './graphEditor';
import { layerScoreSuffix } from './fitScores';

export interface LayerItem {
  id: string;
}

export class LayersTreeProvider implements vscode.TreeDataProvider<LayerItem> {
  private readonly changed = new vscode.EventEmitter<LayerItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private items = new Map<string, LayerItem>();

  constructor(private readonly editors: GraphEditorProvider) {
    editors.onDidChangeActive(() => {
      this.items.clear();
      this.changed.fire(undefined);
    });
    // A recompile changes checkboxes and descriptions of many layers: refresh the tree.
    editors.onDidChangeTraining((doc) => {
      if (editors.activeGraph?.document === doc) this.changed.fire(undefined);
    });
  }

  /** Redraws every item (e.g. after a contribution analysis wrote its cache). */
  refresh(): void {
    this.changed.fire(undefined);
  }

  private tree(): LayerTree | null {
    const src = this.editors.activeGraph?.document.source;
    return src && 'loaded' in src ? src.loaded.layers : null;
  }

  /** One object per layer id, so reveal() finds the element the tree already holds. */
  item(id: string): LayerItem {
    let it = this.items.get(id);
    if (!it) {
      it = { id };
      this.items.set(id, it);
    }
    return it;
  }

  getChildren(element?: LayerItem): LayerItem[] {
    const tree = this.tree();
    if (!tree) return [];
    const layer = tree.layers.get(element ? element.id : '');
    return (layer?.children ?? []).filter((c) => nodesUnder(tree, c).length > 0).map((c) => this.item(c));
  }

  getParent(element: LayerItem): LayerItem | undefined {
    const parent = this.tree()?.layers.get(element.id)?.parent;
    return parent ? this.item(parent) : undefined;
  }

  getTreeItem(element: LayerItem): vscode.TreeItem {
    const tree = this.tree();
    const layer = tree?.layers.get(element.id);
    const hasChildren = !!layer?.children.some((c) => tree && nodesUnder(tree, c).length > 0);
    const item = new vscode.TreeItem(layerLabel(element.id), hasChildren ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    const active = this.editors.activeGraph;
    const src = active?.document.source;
    if (tree && src && 'loaded' in src) {
      // The same operator count the graph shows on the layer's box (folded Constants not counted).
      const ops = active.session.viewModel?.index.groups.get(`g:${element.id}`)?.opCount ?? nodesUnder(tree, element.id).length;
      let params = 0;
      for (const p of paramsUnder(tree, element.id)) params += src.loaded.model.graph.initializers.get(p)?.dims.reduce((a, d) => a * d, 1) ?? 0;
      item.description = `${ops} op${ops === 1 ? '' : 's'}${params ? ` · ${compact(params)} params` : ''}`;
      const training = active.document.training;
      if (training?.isCompiled && params) {
        const info = training.layerInfo(element.id);
        item.checkboxState = {
          state: training.layerTrains(element.id) ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked,
          tooltip: 'Checked: the layer trains. Unchecking freezes it.',
        };
        item.description += ` · ${info.update}`;
      }
      // The contribution analysis's score, when one is cached beside the model (Fit to budget…).
      item.description += layerScoreSuffix(active.document.uri.fsPath, element.id);
    }
    item.id = `layer:${element.id}`;
    item.tooltip = element.id;
    item.contextValue = 'layer';
    item.command = { command: 'pockengine.revealLayer', title: 'Show in Graph', arguments: [element.id] };
    return item;
  }
}

function compact(n: number): string {
  if (n < 1e3) return String(n);
  if (n < 1e6) return `${+(n / 1e3).toPrecision(3)}K`;
  if (n < 1e9) return `${+(n / 1e6).toPrecision(3)}M`;
  return `${+(n / 1e9).toPrecision(3)}B`;
}
