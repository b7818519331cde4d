// The graph editor's shell: a tab strip (Model now; Forward, Backward, Optimizer, Whole step, Schedule,
// Memory, Backends as they arrive) over one content area. A tab is a TabView made by a factory registered
// in TAB_FACTORIES, so a later view is one new module plus one line here.

import { MessageType, type GraphId, type LinkedItem, type TabId, type TrainingInfo } from '../src/protocol';
import type { Host } from './host';
import { clear, h } from './ui/dom';
import { registerToolkit, tabStrip } from './ui/toolkit';
import { GraphView } from './graph/graphView';
import type { TabView } from './tabView';
import { ScheduleView } from './plan/scheduleView';
import { MemoryView } from './plan/memoryView';
import { BackendsView } from './plan/backendsView';

const TAB_FACTORIES: Partial<Record<TabId, (host: Host) => TabView>> = {
  model: (host) => new GraphView(host, 'model'),
  forward: (host) => new GraphView(host, 'forward'),
  backward: (host) => new GraphView(host, 'backward'),
  optimizer: (host) => new GraphView(host, 'optimizer'),
  step: (host) => new GraphView(host, 'step'),
  schedule: (host) => new ScheduleView(host),
  memory: (host) => new MemoryView(host),
  backends: (host) => new BackendsView(host),
};

export function startApp(host: Host, root: HTMLElement): void {
  registerToolkit();
  let active: TabView | null = null;
  const views = new Map<TabId, TabView>();
  const content = h('div', { class: 'tab-content' });
  // The latest recompile and selection links, kept for tabs opened later (select in Forward, open Backward).
  let training: TrainingInfo | null = null;
  let linked: Partial<Record<GraphId, LinkedItem[]>> = {};

  host.on(MessageType.TrainingUpdate, (info) => {
    training = info;
    for (const v of views.values()) void v.applyTraining?.(info);
  });
  host.on(MessageType.Linked, (msg) => {
    linked = msg.items;
    for (const [id, v] of views) v.setLinked?.(msg.items[id as GraphId] ?? []);
  });

  host.on(MessageType.Init, (init) => {
    training = init.training ?? null;
    clear(root);
    const strip = tabStrip(
      init.tabs.map((t) => ({ id: t.id, title: t.title, enabled: t.enabled, tooltip: t.reason })),
      'model',
      (id) => void activate(id as TabId),
    );
    root.append(h('header', { class: 'tabs' }, strip), content);
    const activate = async (id: TabId): Promise<void> => {
      const make = TAB_FACTORIES[id];
      if (!make) return;
      let v = views.get(id);
      const fresh = !v;
      if (!v) {
        v = make(host);
        views.set(id, v);
      }
      for (const other of views.values()) other.el.classList.toggle('hidden', other !== v);
      if (fresh) content.append(v.el);
      active = v;
      root.dataset.activeTab = id;
      if (fresh) await v.start(init, training, linked[id as GraphId] ?? []);
      else {
        v.shown?.();
        v.setLinked?.(linked[id as GraphId] ?? []);
      }
    };
    void activate('model');
  });

  host.on(MessageType.LoadError, (err) => {
    clear(root);
    // #graph stays present, in the "error" state, so tests from outside can tell failure from slowness.
    root.append(h('div', { class: 'load-error', attrs: { id: 'graph', 'data-state': 'error', 'data-node-count': '0' } },
      h('h2', {}, `Cannot open ${err.fileName}`),
      h('pre', { attrs: { id: 'load-error-message' } }, err.message)));
  });

  host.on(MessageType.Reveal, (msg) => void (async () => {
    const tab = root.dataset.activeTab as GraphId | undefined;
    // The Layers tree names a layer of the model; a training tab shows it under its own ids.
    if (tab && tab !== msg.graph && msg.layer !== undefined && ['forward', 'backward', 'optimizer', 'step'].includes(tab)) {
      const where = await host.request({ type: MessageType.Locate, graph: tab, layer: msg.layer }).catch(() => null);
      if (where) await active?.reveal?.(where.id, where.path);
      return;
    }
    await active?.reveal?.(msg.id, msg.path);
  })());
  host.on(MessageType.Command, (msg) => {
    if (msg.command === 'fit') active?.fit?.();
    else if (msg.command === 'focusSearch') active?.focusSearch?.();
    else if (msg.command === 'collapseAll') void active?.setExpanded?.([]);
  });

  window.addEventListener('error', (e) => host.notify({ type: MessageType.WebviewError, message: String(e.message) }));
  window.addEventListener('unhandledrejection', (e) => host.notify({ type: MessageType.WebviewError, message: String((e as PromiseRejectionEvent).reason) }));
  host.notify({ type: MessageType.Ready });
}
