import { z } from 'zod';

/** The Temporal codec server protocol: payloads in proto3 JSON, every bytes field base64. */
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
export const codecPayloads = z.object({
  // proto3 JSON leaves an empty list out altogether: the CLI sends `{}` for no payloads.
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() }))
    .max(1000)
    .default([]),
});
export type CodecPayloads = z.infer<typeof codecPayloads>;
export const codecParams = z.object({ token: z.string().min(1).max(200) });

/** Where the operator's Temporal Web UI is, for links to a lifecycle's history: nothing secret. */
export const temporalUiSettings = z.object({
  uiUrl: z.string(),
  namespace: z.string(),
  /** Whether `/codec/<TUSK_CODEC_TOKEN>/…` answers: the endpoint the UI's codec setting names. */
  codecTokenRoute: z.boolean(),
});
