// What a tab of the graph editor is. Graph tabs (Model; later Forward, Backward, Optimizer, Whole step)
// are GraphViews; Schedule, Memory and Backends will be their own modules implementing this.

import type { InitMessage } from '../src/protocol';

export interface TabView {
  el: HTMLElement;
  /** Called once, after `el` is in the document (so it can measure itself). */
  start(init: InitMessage): Promise<void>;
  /** Host requests; a tab that has nothing to reveal or fit leaves them out. */
  reveal?(id: string, path: string[]): Promise<void>;
  fit?(): void;
  focusSearch?(): void;
  setExpanded?(expanded: string[]): Promise<boolean>;
}
