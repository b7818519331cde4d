// Entry of the Run panel's webview bundle (dist/webview/run.js).
import type { RunFromWebviewMessage, RunToWebviewMessage } from '../src/protocol';
import { PanelHost } from './run/panelHost';
import { startRunView } from './run/runView';

startRunView(new PanelHost<RunToWebviewMessage, RunFromWebviewMessage>(), document.getElementById('app')!);
