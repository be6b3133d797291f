import type { QueryTemplate } from './template';

/** What the buyer declares about its use of the answer; the template says what it allows. */
export interface DealCompliance {
  jurisdiction: string;
  purpose: string;
  acceptedDataClasses: string[];
}

/** The deal's declared use against what the seller's template allows; the reason names what differs. */
export function complianceProblem(template: QueryTemplate, deal: DealCompliance): string | undefined {
  const allowed = template.compliance;
  if (!allowed.jurisdictions.includes(deal.jurisdiction)) {
    return `jurisdiction ${deal.jurisdiction} is not allowed (allowed: ${allowed.jurisdictions.join(', ')})`;
  }
  if (!allowed.purposes.includes(deal.purpose)) {
    return `purpose ${deal.purpose} is not allowed (allowed: ${allowed.purposes.join(', ')})`;
  }
  const missing = allowed.dataClasses.filter((dataClass) => !deal.acceptedDataClasses.includes(dataClass));
  if (missing.length > 0) return `the buyer must accept data classes: ${missing.join(', ')}`;
  return undefined;
}
