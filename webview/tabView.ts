// What a tab of the graph editor is. Graph tabs (Model; later Forward, Backward, Optimizer, Whole step)
// are GraphViews; Schedule, Memory and Backends will be their own modules implementing this.

import type { InitMessage, LinkedItem, TrainingInfo } from '../src/protocol';

export interface TabView {
  el: HTMLElement;
  /** Called once, after `el` is in the document (so it can measure itself). */
  start(init: InitMessage, training?: TrainingInfo | null, linked?: LinkedItem[]): Promise<void>;
  /** The step was recompiled under a new scheme: update in place, keeping zoom and selection. */
  applyTraining?(info: TrainingInfo): Promise<void>;
  /** Items linked to the selection (in this or another tab). */
  setLinked?(items: LinkedItem[]): void;
  /** Shown again after a tab switch. */
  shown?(): void;
  /** Host requests; a tab that has nothing to reveal or fit leaves them out. */
  reveal?(id: string, path: string[]): Promise<void>;
  fit?(): void;
  focusSearch?(): void;
  setExpanded?(expanded: string[]): Promise<boolean>;
}
