import { ApplicationFailure } from '@temporalio/activity';
import type { RegisteredKeys } from '../../lib/key-log';
import { checkTemplateSignature, templateSignature } from '../../query-policies/signature';
import { queryTemplate } from '../../query-policies/template';
import { issuesOnOneLine } from '../../lib/zod-issues';

const refuse = (message: string) => ApplicationFailure.nonRetryable(message, 'ApprovalRefused');

/**
 * A seller's approval of a proposed template, checked before the review counts it: a valid template,
 * of this seller, signed by the key the transparency log registers for it as a seller (never the key
 * inside the signature, never the operator's registry file). Returns the hash deals will pin.
 */
export function createTemplateApprovalActivities(deps: { keys: RegisteredKeys }) {
  async function verifyTemplateApproval(input: {
    sellerId: string;
    template: unknown;
    signature: unknown;
  }): Promise<{ templateHash: string }> {
    const template = queryTemplate.safeParse(input.template);
    if (!template.success)
      throw refuse(`not a valid template: ${issuesOnOneLine(template.error, 'template')}`);
    const signature = templateSignature.safeParse(input.signature);
    if (!signature.success) throw refuse('the approval carries no template signature');
    if (template.data.seller !== input.sellerId)
      throw refuse(`the template names seller ${template.data.seller}, not ${input.sellerId}`);
    const seller = await deps.keys.currentKey(input.sellerId);
    if (!seller || seller.role !== 'seller') throw refuse(`${input.sellerId} is not a registered seller`);
    const check = checkTemplateSignature(template.data, signature.data, seller.publicKey);
    if (!check.ok) throw refuse(`the approval is not seller ${input.sellerId}'s: ${check.reason}`);
    return { templateHash: check.hash };
  }
  return { verifyTemplateApproval };
}
