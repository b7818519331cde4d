// Entry of dist/webview/elk.js: ELK on its own. The graph webview loads it only when a group needs ELK
// (webview/graph/elkLoader.ts): inside graph.js its 1.5 MB cost ~250 ms of script compile on every first
// paint (measured: DOMContentLoaded 470-620 ms with it, 280-370 ms without), for a layout few groups use.
import ELK from 'elkjs/lib/elk.bundled.js';

(globalThis as { PockEngineELK?: typeof ELK }).PockEngineELK = ELK;
