// Entry of the graph editor's webview bundle (dist/webview/graph.js).
import { Host } from './host';
import { startApp } from './app';

startApp(new Host(), document.getElementById('app')!);
