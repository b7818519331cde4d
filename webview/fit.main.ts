// Entry of the Fit panel's webview bundle (dist/webview/fit.js).
import type { FitFromWebviewMessage, FitToWebviewMessage } from '../src/protocol';
import { PanelHost } from './run/panelHost';
import { startFitView } from './fit/fitView';

startFitView(new PanelHost<FitToWebviewMessage, FitFromWebviewMessage>(), document.getElementById('app')!);
