import type { MilestoneStage } from '../../workflows/grant/shapes';

/** What the API answers an evidence or an approval with: the grant, and the milestone decided. */
export interface MilestoneDecisionAnswer {
  grantId: string;
  stage: string;
  granteeId?: string;
  milestone: {
    milestoneId: string;
    name: string;
    check: 'query' | 'sponsor_approval';
    stage: MilestoneStage;
    amount?: string;
    paid?: string;
  };
}

const CHECKED_BY = {
  query: "a query in the seller's perimeter",
  sponsor_approval: "the sponsor's approval",
} as const;

/** Where the tranche stands after the decision, in words, by the milestone's stage. */
function trancheState(answer: MilestoneDecisionAnswer): string {
  const { stage, paid } = answer.milestone;
  const status = `\`tusk sponsor grant status ${answer.grantId} --wait\``;
  switch (stage) {
    case 'released':
      return `paid ${paid} to ${answer.granteeId ?? 'the grantee'} (the platform fee taken from it)`;
    case 'met':
      return `met: settlement is releasing it to ${answer.granteeId ?? 'the grantee'}; ${status} shows it paid`;
    case 'checking':
      return `nothing paid yet: the seller's perimeter checks the milestone first; ${status} shows the verdict`;
    case 'open':
      return "nothing paid yet: it waits for the grantee's evidence or the sponsor's approval";
    case 'missed':
    case 'void':
      return `nothing paid: the milestone is ${stage}`;
  }
}

/** The lines `grant evidence` and `grant approve` print: the grant, which milestone, what was paid. */
export function milestoneDecisionLines(answer: MilestoneDecisionAnswer): string[] {
  const { milestone } = answer;
  return [
    `grant ${answer.grantId}: ${answer.stage}`,
    `  milestone ${milestone.milestoneId} "${milestone.name}" (checked by ${CHECKED_BY[milestone.check]}): ${milestone.stage}`,
    `  tranche ${milestone.amount ?? '(hidden)'}: ${trancheState(answer)}`,
  ];
}
