// Every page of the UI: the hash path it answers (`:name` segments become params), its title, and
// where it sits in the navigation (pages without `nav` are reached by links, like a topic's detail).
// Each page is its own file in this folder; add a line here for it.

import type { FunctionComponent } from 'preact';
import { ClusterOpsPage } from './cluster-ops.tsx';
import { OverviewPage } from './overview.tsx';
import { GroupPage } from './group.tsx';
import { GroupsPage } from './groups.tsx';
import { AclsPage } from './security-acls.tsx';
import { QuotasPage } from './security-quotas.tsx';
import { UsersPage } from './security-users.tsx';
import { TenantPage } from './tenant.tsx';
import { TenantsPage } from './tenants.tsx';
import { TopicPage } from './topic.tsx';
import { TopicsPage } from './topics.tsx';
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
  { path: '/overview', title: 'Overview', nav: { label: 'Overview', order: 10 }, component: OverviewPage },
  { path: '/cluster', title: 'Cluster operations', nav: { label: 'Cluster', order: 90 }, component: ClusterOpsPage },
  { path: '/groups', title: 'Consumer groups', nav: { label: 'Groups', order: 30 }, component: GroupsPage },
  { path: '/groups/:group', title: 'Consumer group', component: GroupPage },
  { path: '/security/users', title: 'Users', nav: { label: 'Security', order: 40 }, component: UsersPage },
  { path: '/security/acls', title: 'ACLs', component: AclsPage },
  { path: '/security/quotas', title: 'Quotas', component: QuotasPage },
  { path: '/tenants', title: 'Tenants', nav: { label: 'Tenants', order: 50 }, component: TenantsPage },
  { path: '/tenants/:tenant', title: 'Tenant', component: TenantPage },
  { path: '/topics', title: 'Topics', nav: { label: 'Topics', order: 20 }, component: TopicsPage },
  { path: '/topics/:topic', title: 'Topic', component: TopicPage },
  { path: '/topics/:topic/messages', title: 'Messages', component: MessagesPage },
];
