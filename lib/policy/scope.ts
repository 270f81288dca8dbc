/**
 * Which requirements of a policy apply to an image: its transport's scopes, most specific first,
 * as containers/image's requirementsForImageRef with each transport's PolicyConfigurationIdentity
 * and PolicyConfigurationNamespaces. Pure: paths must be resolved beforehand (load.ts).
 */
import type { PolicyScopes } from '../ref/policy.js';
import type { Policy, Requirement } from './parse.js';

// An image's scopes are a property of its reference (containers/image's ImageReference methods): lib/ref/policy.ts.
export { imageDockerReference, policyScopes, type PolicyScopes } from '../ref/policy.js';

/** Applicable: the requirements that apply and the policy section they came from, for messages. */
export interface Applicable {
  requirements: Requirement[];
  section: string;
}

/** requirementsFor picks the first of: the exact scope, each namespace, the transport's "", the default. */
export function requirementsFor(policy: Policy, scopes: PolicyScopes): Applicable {
  const t = policy.transports.get(scopes.section);
  if (t) {
    for (const scope of [scopes.identity, ...scopes.namespaces, '']) {
      const reqs = t.get(scope);
      if (reqs) return { requirements: reqs, section: `transports.${scopes.section}[${JSON.stringify(scope)}]` };
    }
  }
  return { requirements: policy.default, section: 'default' };
}
