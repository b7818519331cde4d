// The only module that knows the webview UI toolkit (stylesheets address its elements through the ui-*
// classes set here, never by tag name). Views ask for a button, a text field, a dropdown, a
// tab strip or a progress ring here and get plain HTMLElements back; moving from the deprecated
// @vscode/webview-ui-toolkit to @vscode-elements/elements means rewriting this file only.

import {
  provideVSCodeDesignSystem, vsCodeButton, vsCodeDivider, vsCodeDropdown, vsCodeOption, vsCodePanels, vsCodePanelTab,
  vsCodePanelView, vsCodeProgressRing, vsCodeTextField, vsCodeBadge,
} from '@vscode/webview-ui-toolkit';

let registered = false;

export function registerToolkit(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(
    vsCodeButton(), vsCodeDivider(), vsCodeDropdown(), vsCodeOption(), vsCodePanels(), vsCodePanelTab(), vsCodePanelView(),
    vsCodeProgressRing(), vsCodeTextField(), vsCodeBadge(),
  );
}

export interface ButtonOptions {
  title: string;
  /** 'primary' | 'secondary' | 'icon' (a compact glyph button). */
  appearance?: 'primary' | 'secondary' | 'icon';
  id?: string;
  onClick: () => void;
}

export function button(label: string, opts: ButtonOptions): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.title = opts.title;
  b.setAttribute('aria-label', opts.title);
  b.setAttribute('appearance', opts.appearance ?? 'secondary');
  if (opts.id) b.id = opts.id;
  b.addEventListener('click', () => {
    if (!b.hasAttribute('disabled')) opts.onClick();
  });
  return b;
}

export function setDisabled(el: HTMLElement, disabled: boolean): void {
  el.toggleAttribute('disabled', disabled);
}

export interface TextFieldOptions {
  placeholder: string;
  id?: string;
  onInput?: (value: string) => void;
  onEnter?: (value: string) => void;
}

export function textField(opts: TextFieldOptions): HTMLElement & { value: string } {
  const f = document.createElement('vscode-text-field') as HTMLElement & { value: string };
  f.classList.add('ui-text-field');
  f.setAttribute('placeholder', opts.placeholder);
  f.setAttribute('aria-label', opts.placeholder);
  if (opts.id) f.id = opts.id;
  f.addEventListener('input', () => opts.onInput?.(f.value));
  f.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Enter') opts.onEnter?.(f.value);
  });
  return f;
}

export interface Dropdown {
  el: HTMLElement;
  /** Replaces the options; values are opaque ids, labels are shown as text. */
  setOptions(options: { value: string; label: string }[]): void;
  value(): string;
}

export function dropdown(opts: { id?: string; title: string; onChange: (value: string) => void }): Dropdown {
  const d = document.createElement('vscode-dropdown') as HTMLElement & { value: string };
  d.classList.add('ui-dropdown');
  if (opts.id) d.id = opts.id;
  d.title = opts.title;
  d.setAttribute('aria-label', opts.title);
  d.addEventListener('change', () => opts.onChange(d.value));
  return {
    el: d,
    setOptions(options) {
      while (d.firstChild) d.firstChild.remove();
      for (const o of options) {
        const opt = document.createElement('vscode-option');
        opt.setAttribute('value', o.value);
        opt.textContent = o.label;
        d.append(opt);
      }
    },
    value: () => d.value,
  };
}

export interface TabSpec {
  id: string;
  title: string;
  enabled: boolean;
  tooltip?: string;
}

/** A tab strip; the content of each tab is managed by the caller (the strip only reports the choice). */
export function tabStrip(tabs: TabSpec[], active: string, onSelect: (id: string) => void): HTMLElement {
  const panels = document.createElement('vscode-panels');
  panels.classList.add('ui-tabs');
  panels.setAttribute('activeid', `tab-${active}`);
  panels.setAttribute('aria-label', 'Views');
  for (const t of tabs) {
    const tab = document.createElement('vscode-panel-tab');
    tab.id = `tab-${t.id}`;
    tab.textContent = t.title;
    if (!t.enabled) tab.setAttribute('disabled', '');
    if (t.tooltip) tab.title = t.tooltip;
    panels.append(tab);
  }
  for (const t of tabs) {
    const view = document.createElement('vscode-panel-view');
    view.classList.add('ui-tab-panel');
    view.id = `view-${t.id}`;
    panels.append(view);
  }
  panels.addEventListener('change', (e) => {
    const id = (e.target as HTMLElement & { activeid?: string }).activeid;
    if (id?.startsWith('tab-')) onSelect(id.slice(4));
  });
  return panels;
}

export function progressRing(): HTMLElement {
  const r = document.createElement('vscode-progress-ring');
  r.classList.add('ui-progress');
  return r;
}

export function badge(text: string): HTMLElement {
  const b = document.createElement('vscode-badge');
  b.textContent = text;
  return b;
}

export function divider(): HTMLElement {
  return document.createElement('vscode-divider');
}
