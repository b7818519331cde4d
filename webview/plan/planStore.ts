// One plan per webview, shared by the Schedule, Memory and Backends tabs: it asks the host once, follows
// PlanUpdate notifications, and keeps the plan views' selection. The selection is linked both ways with the
// graph tabs: a click here is the graph's Selected message (graph 'step', item `n:<node>`), so the host's
// Linked answer highlights the node in every graph tab; a selection in a graph tab arrives as Linked.

import { MessageType, type PlanData, type PlanReply } from '../../src/protocol';
import type { Host } from '../host';

export interface PlanSelection {
  /** Nodes to highlight; `primary` is the one to scroll to. */
  nodes: Set<string>;
  primary: string | null;
  /** A layer selected as a box in a graph tab (its steps are highlighted). */
  layer: string | null;
}

type Listener<T> = (v: T) => void;

export class PlanStore {
  private reply: PlanReply | null = null;
  private pending: Promise<PlanReply> | null = null;
  private readonly planListeners = new Set<Listener<PlanReply>>();
  private readonly selListeners = new Set<Listener<PlanSelection>>();
  selection: PlanSelection = { nodes: new Set(), primary: null, layer: null };

  constructor(readonly host: Host) {
    host.on(MessageType.PlanUpdate, (msg) => {
      const { type: _t, ...r } = msg;
      this.reply = r as PlanReply;
      for (const l of this.planListeners) l(this.reply);
    });
    host.on(MessageType.Linked, (msg) => {
      const nodes = new Set<string>();
      let primary: string | null = null;
      let layer: string | null = null;
      for (const list of Object.values(msg.items)) {
        for (const it of list ?? []) {
          if (it.id.startsWith('n:')) {
            nodes.add(it.id.slice(2));
            primary ??= it.id.slice(2);
          } else if (it.id.startsWith('g:')) layer ??= it.id.slice(2);
        }
      }
      // The item selected, when it is an operator, is the step to show (not the forward node it links to).
      if (msg.selected?.startsWith('n:')) {
        primary = msg.selected.slice(2);
        nodes.add(primary);
      } else if (msg.selected?.startsWith('g:')) layer = msg.selected.slice(2);
      this.setSelection({ nodes, primary, layer });
    });
  }

  get current(): PlanReply | null {
    return this.reply;
  }

  /** The plan (asks the host the first time; the host compiles it then). */
  load(): Promise<PlanReply> {
    if (this.reply) return Promise.resolve(this.reply);
    this.pending ??= this.host.request({ type: MessageType.GetPlan }).then((r) => {
      this.reply ??= r;
      return this.reply;
    }, (e: Error) => ({ error: e.message }));
    return this.pending;
  }

  onPlan(l: Listener<PlanReply>): void {
    this.planListeners.add(l);
  }

  onSelection(l: Listener<PlanSelection>): void {
    this.selListeners.add(l);
  }

  /** A plan view selected a step: tell the host (graph tabs and the Layers tree follow) and the other plan views. */
  selectNode(node: string | null, plan: PlanData): void {
    const row = node === null ? undefined : plan.schedule.find((s) => s.node === node);
    this.setSelection({ nodes: new Set(node ? [node] : []), primary: node, layer: null });
    this.host.notify({ type: MessageType.Selected, graph: 'step', id: node ? `n:${node}` : null, layer: row?.layer ?? null });
  }

  setDevice(device: string): void {
    this.host.notify({ type: MessageType.SetDevice, device });
  }

  private setSelection(s: PlanSelection): void {
    this.selection = s;
    for (const l of this.selListeners) l(s);
  }
}

const stores = new WeakMap<Host, PlanStore>();

export function planStore(host: Host): PlanStore {
  let s = stores.get(host);
  if (!s) {
    s = new PlanStore(host);
    stores.set(host, s);
  }
  return s;
}

/** Whether a step belongs to a layer selected as a box (the layer itself or a sub-layer). */
export function inLayer(stepLayer: string, layer: string): boolean {
  return layer === '' || stepLayer === layer || stepLayer.startsWith(`${layer}.`) || stepLayer.startsWith(`${layer}/`);
}
