// Failure messages and stack traces go through the payload codec too: a refusal's message can name a
// party or an amount. Plain CommonJS because Temporal loads it by path (`failureConverterPath`) with
// `require` in every process, tests included, and bundles it into the workflow code as well.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
