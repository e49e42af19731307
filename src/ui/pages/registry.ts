// Every page of the UI: the hash path it answers (`:name` segments become params), its title, and
// where it sits in the navigation (pages without `nav` are reached by links, like a topic's detail).
// Each page is its own file in this folder; add a line here for it.

import type { FunctionComponent } from 'preact';
import { MessagesPage } from './messages.tsx';

export interface PageProps {
  /** The path's `:name` segments, decoded. */
  readonly params: Readonly<Record<string, string>>;
}

export interface Page {
  readonly path: string;
  readonly title: string;
  /** In the navigation bar, in `order`, labelled `label`. */
  readonly nav?: { readonly label: string; readonly order: number };
  readonly component: FunctionComponent<PageProps>;
}

export const pages: Page[] = [
  { path: '/topics/:topic/messages', title: 'Messages', component: MessagesPage },
];
