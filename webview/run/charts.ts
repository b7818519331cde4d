// chart.js for the Run and Fit panels: only the parts they use are registered (tree-shaken bundle), and
// colours come from VS Code's theme variables so the charts follow the user's theme.

import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, ScatterController, Tooltip } from 'chart.js';

let registered = false;

export function registerCharts(): typeof Chart {
  if (!registered) {
    Chart.register(LineController, ScatterController, BarController, BarElement, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);
    registered = true;
  }
  return Chart;
}

/** A theme colour from VS Code's CSS variables, with a fallback for a page without them. */
export function themeColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

export function chartTheme(): { fg: string; grid: string; blue: string; orange: string; green: string; red: string; font: string } {
  return {
    fg: themeColor('--vscode-foreground', '#cccccc'),
    grid: themeColor('--vscode-editorWidget-border', 'rgba(128,128,128,0.3)'),
    blue: themeColor('--vscode-charts-blue', '#3794ff'),
    orange: themeColor('--vscode-charts-orange', '#d18616'),
    green: themeColor('--vscode-charts-green', '#89d185'),
    red: themeColor('--vscode-charts-red', '#f14c4c'),
    font: themeColor('--vscode-font-family', 'sans-serif'),
  };
}
