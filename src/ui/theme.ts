// Light or dark: the user's choice (kept in localStorage), else the system's; index.html applies
// it before the first paint, this keeps it and the toggle.

import { signal } from './signal.ts';

export type Theme = 'light' | 'dark';

export const theme = signal<Theme>(document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light');

export function setTheme(next: Theme): void {
  document.documentElement.dataset.theme = next;
  localStorage.setItem('spate.theme', next);
  theme.value = next;
}
