import type { AnyActionDefinition } from '../contract';
import { addDomain, removeDomain, setDomainServices, verifyDomain } from './graph-domains';
import { domainReferences } from './references';

/** Domain lifecycle and dependency check through Microsoft Graph (steps 57, 68, 74, 76, 78, 104–107). */
export const domainActions: AnyActionDefinition[] = [
  domainReferences,
  removeDomain,
  addDomain,
  verifyDomain,
  setDomainServices,
];
