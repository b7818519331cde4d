// What the three plan views share: their stylesheet (adopted through the CSSOM, which the webview's CSP
// allows), the toolbar with the device picker, number formats and theme colours for canvases.

import type { PlanData } from '../../src/protocol';
import { h } from '../ui/dom';
import { dropdown, type Dropdown } from '../ui/toolkit';
import css from './plan.css';
import type { PlanStore } from './planStore';

let styled = false;

export function adoptPlanStyles(): void {
  if (styled) return;
  styled = true;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}

export interface PlanToolbar {
  el: HTMLElement;
  /** Right of the device picker: the view's own summary. */
  summary: HTMLElement;
  update(plan: PlanData): void;
}

/** The device picker (the same choice as the status bar's) and a summary slot. */
export function planToolbar(store: PlanStore, view: string): PlanToolbar {
  const picker: Dropdown = dropdown({ id: `device-${view}`, title: 'Device profile the plan is estimated for', onChange: (v) => store.setDevice(v) });
  const summary = h('div', { class: 'plan-summary', attrs: { id: `${view}-summary` } });
  const el = h('div', { class: 'toolbar plan-toolbar' }, h('span', { class: 'muted' }, 'Device'), picker.el, h('div', { class: 'sep' }), summary);
  let devices = '';
  return {
    el, summary,
    update(plan) {
      const key = plan.devices.map((d) => d.name).join(',');
      if (key !== devices) {
        devices = key;
        picker.setOptions(plan.devices.map((d) => ({ value: d.name, label: d.displayName })));
      }
      (picker.el as HTMLElement & { value: string }).value = plan.device;
      picker.el.dataset.device = plan.device;
    },
  };
}

export { formatMs } from './format';

export function themeColor(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/** A message in place of a view (the plan did not compile, or is compiling). */
export function planMessage(text: string, error = false): HTMLElement {
  return h('div', { class: `plan-message${error ? ' error-text' : ''}` }, text);
}

/** Sizes a canvas for the screen's pixel ratio and returns a cleared context in CSS pixels. */
export function canvasContext(c: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const dpr = window.devicePixelRatio || 1;
  c.width = width * dpr;
  c.height = height * dpr;
  const ctx = c.getContext('2d')!;
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}
