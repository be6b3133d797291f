import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces go through the payload codec too: a refusal's message can name a
 * party or an amount. Loaded by path (`failureConverterPath`) so the workflow bundle uses it as well.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
